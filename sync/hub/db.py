"""The hub store's base: its engine (SQLite or PostgreSQL), transactions, and the small types
and helpers every part of the store shares."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Connection, Engine, create_engine, event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from app.paths import data_dir
from sync.hub.crypto import (
    ENV_KEY_FILE,
    ENV_KEYS,
    TEXT_PREFIX,
    MasterKeys,
    Sealer,
    rewrap_all,
    scope_of,
)
from sync.hub.errors import HubError
from sync.hub.fastsql import fast_capable
from sync.hub.models import HubDataKey, HubEvent, HubStation

log = logging.getLogger("intake.hub")


@dataclass(frozen=True)
class Department:
    name: str
    items: frozenset[str] | None  # the items pushed to it; None: every item

    def sees(self, item: str) -> bool:
        return self.items is None or item in self.items


@dataclass(frozen=True)
class Principal:
    station_id: int
    station_code: str
    token_id: str
    store_id: str
    scope: str = "hub"  # the county whose data key seals this station's data


def sha_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def export_key_for(token: str) -> str:
    """The key a station's USB exports are signed with (derived from its token, one-way)."""
    return hmac.new(token.encode(), b"intake-usb-export-v1", hashlib.sha256).hexdigest()


def owner_of(p: Principal) -> str:
    """Whose partial uploads these are (BlobStore's OWNER): the station."""
    return f"s{p.station_id}"


def normalise_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


# Seconds a request waits for a free database connection before it is answered 503 with retry.
POOL_WAIT = 10


def make_hub_engine(url: str, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"isolation_level": None, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _rec: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # No ping before each checkout (a round trip per transaction, several per submission): after
    # a database restart the first request on a dead connection is answered 503 with retry (the
    # OperationalError handler) and SQLAlchemy drops the whole stale pool at once. No overflow:
    # `db_pool_size` is the ceiling the operator sizes PostgreSQL's max_connections by.
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=POOL_WAIT, pool_pre_ping=False
    )
    if fast_capable(engine):

        @event.listens_for(engine, "do_connect")
        def _connect(_dialect: Any, _rec: Any, cargs: Any, cparams: Any) -> Any:
            return KeepPrepared.connect(*cargs, **cparams)

    return engine


class KeepPrepared(psycopg.Connection[Any]):
    """psycopg's connection, except that a ROLLBACK of a sound transaction keeps the prepared
    statements. psycopg forgets them (DEALLOCATE ALL) on every rollback, in case it undid DDL
    they depend on; but every read through a Session or a Connection ends in one here (catalog
    polls, the notice sender), so the hot path's statements (sync/hub/fastsql.py) would be
    prepared again all the time. The hub runs no DDL on these connections after its migrations,
    and PostgreSQL keeps prepared statements over a ROLLBACK. A failed transaction, a pipeline
    or a broken connection take psycopg's own rollback."""

    def rollback(self) -> None:
        pg = self.pgconn
        if (
            pg.transaction_status == pq.TransactionStatus.INTRANS
            and pg.pipeline_status == pq.PipelineStatus.OFF
        ):
            with self.lock:
                if pg.exec_(b"ROLLBACK").status == pq.ExecStatus.COMMAND_OK:
                    return
        super().rollback()


class StoreBase:
    # Parts of HubStore that others call (catalog.py, receipt_keys.py), declared here for them.
    def current_catalog(self) -> tuple[str, str, bytes] | None:
        raise NotImplementedError

    def _add_receipt_key(self, s: Session, station_id: int, key: object, now: dt.datetime) -> str:
        raise NotImplementedError

    def __init__(
        self,
        url: str,
        *,
        create: bool = True,
        masters: MasterKeys | None = None,
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.engine = make_hub_engine(url, pool_size)
        self.sqlite = url.startswith("sqlite")
        # the hot path as psycopg's prepared statements (sync/hub/fastsql.py); False: Core
        self.fast_sql = fast_capable(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            from sync.hub.schema import migrate

            migrate(self.engine)
        if masters is None:
            masters = MasterKeys.load(default_file=data_dir() / "hub-master.keys")
        self.sealer = Sealer(masters, self._data_key, self._new_data_key)
        self._check_masters(masters)

    def _check_masters(self, masters: MasterKeys) -> None:
        """Refuse to start with master keys that wrap none of the database's data keys (a
        shell without the service's key configuration would seal new data no hub can read)."""
        with self.sessions() as s:
            used = set(s.scalars(select(HubDataKey.master_key_id).distinct()))
        known = {kid for kid, _ in masters.keys}
        if used and not used & known:
            raise HubError(
                500,
                "hub.master_key",
                f"平台数据库的数据密钥由主密钥 {'、'.join(sorted(used))} 包装，"
                f"本进程未配置其中任何一个：请按平台服务的配置设置 {ENV_KEYS} 或 {ENV_KEY_FILE}",
            )

    def payload_of(self, event_id: str, stored: str) -> dict[str, Any]:
        """A stored event payload, opened."""
        return json.loads(self.sealer.open_text(stored, event_id))  # type: ignore[no-any-return]

    def rewrap(self, blobs: Any = None) -> dict[str, Any]:
        """Re-wrap every data key under the newest master key (old master keys can then be
        retired), and seal what a migrated hub still holds in clear (event payloads; pages in
        BLOBS when given)."""
        masters = self.sealer.masters
        with self.write() as s:
            rows = [(k.id, k.master_key_id, k.wrapped) for k in s.scalars(select(HubDataKey))]
            new = rewrap_all(masters, rows)
            for dkid, mid, wrapped in new:
                s.execute(
                    update(HubDataKey)
                    .where(HubDataKey.id == dkid)
                    .values(master_key_id=mid, wrapped=wrapped)
                )
        self.sealer.forget()
        events = self._seal_clear_events()
        pages = blobs.seal_clear() if blobs is not None else 0
        log.info("data keys re-wrapped under %s: %d of %d", masters.current[0], len(new), len(rows))
        return {
            "master_key": masters.current[0],
            "data_keys": len(rows),
            "rewrapped": len(new),
            "sealed_events": events,
            "sealed_pages": pages,
        }

    def _seal_clear_events(self) -> int:
        n = 0
        while True:
            with self.sessions() as s:
                batch = s.execute(
                    select(HubEvent.id, HubEvent.payload, HubStation.county)
                    .join(HubStation, HubStation.id == HubEvent.station_id)
                    .where(HubEvent.payload.not_like(TEXT_PREFIX + "%"))
                    .limit(500)
                ).all()
            if not batch:
                return n
            for _eid, _payload, county in batch:
                self.sealer.prepare(scope_of(county))
            with self.write() as s:
                for eid, payload, county in batch:
                    sealed = self.sealer.seal_text(scope_of(county), payload, eid)
                    s.execute(update(HubEvent).where(HubEvent.id == eid).values(payload=sealed))
            n += len(batch)

    def _data_key(self, dkid: str) -> tuple[str, bytes] | None:
        with self.sessions() as s:
            row = s.get(HubDataKey, dkid)
            return (row.master_key_id, row.wrapped) if row is not None else None

    def _new_data_key(self, dkid: str, county: str, master_id: str, wrapped: bytes) -> None:
        ins = (pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert)(HubDataKey)
        row = {
            "id": dkid,
            "county": county,
            "master_key_id": master_id,
            "wrapped": wrapped,
            "created_at": self.now(),
        }
        with self.write() as s:  # two processes making the same key: the first one wins
            s.execute(ins.values(row).on_conflict_do_nothing())

    def close(self) -> None:
        self.engine.dispose()

    @staticmethod
    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.sessions.begin() as s:
            if self.sqlite:
                s.connection(execution_options={"immediate": True})
            yield s

    @contextmanager
    def read_core(self) -> Iterator[Connection]:
        """A read on a plain connection, ended by COMMIT: psycopg forgets its prepared
        statements on every ROLLBACK, which is how the pool would end it. Begun explicitly:
        SQLAlchemy does not see the fast path's statements, so would not commit them."""
        with self.engine.connect() as c, c.begin():
            yield c

    @contextmanager
    def write_core(self) -> Iterator[Connection]:
        """A write transaction on a plain connection: the hot path's statements (manifests,
        events, page holders) skip the ORM's per-statement and per-object bookkeeping."""
        with self.engine.connect() as c:
            if self.sqlite:
                c.execution_options(immediate=True)
            with c.begin():
                yield c


def chunks(seq: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
