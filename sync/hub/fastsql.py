"""The hub's hot-path statements, each as a SQLAlchemy Core statement and the same statement as
plain SQL for psycopg, side by side so the two cannot drift (a test runs both on PostgreSQL and
compares what they read and write).

On PostgreSQL through psycopg the plain SQL runs on the driver connection under the SQLAlchemy
one, in its transaction, as server-side prepared statements, with rows read as tuples: Core's own
work per statement (~0.5 ms of CPU here) was several times the round trip it wraps (~0.1 ms),
and an intake runs about fifteen (docs/hub-sizing.md). Every other engine (SQLite, for small
counties and most tests) runs the Core statements. IN lists are arrays (`= ANY`) in the plain
SQL, so one prepared statement serves every list length.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Executable, Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sync.hub.models import (
    HubEvent,
    HubFeed,
    HubManifestPage,
    HubPageHolder,
    HubStation,
    HubSubmission,
    HubToken,
)

EVENTS = cast(Table, HubEvent.__table__)
MANIFEST_PAGES = cast(Table, HubManifestPage.__table__)
SUBS = cast(Table, HubSubmission.__table__)
HOLDERS = cast(Table, HubPageHolder.__table__)
FEED = cast(Table, HubFeed.__table__)
STATIONS = cast(Table, HubStation.__table__)
TOKENS = cast(Table, HubToken.__table__)
PROJECTED = ("stage", "number", "items_json", "received_at", "updated_at", "listed_at")
_SUB_COLUMNS = ("id", "station_id", "created_at", *PROJECTED)
_EVENT_COLUMNS = tuple(c.name for c in EVENTS.columns)


@dataclass(frozen=True)
class Pair:
    """One statement twice: CORE (per dialect name when it differs) and SQL, psycopg's text with
    %(name)s parameters named as CORE's bind parameters, so both take the same parameters."""

    name: str
    core: Executable | Mapping[str, Executable]
    sql: str

    def core_for(self, dialect: str) -> Executable:
        if isinstance(self.core, Mapping):
            return self.core[dialect]
        return self.core


def _insert_sql(table: str, columns: Sequence[str], tail: str = "") -> str:
    names = ", ".join(columns)
    values = ", ".join(f"%({c})s" for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values}){tail}"


# The hot path's statements are built once, with expanding IN parameters: building a statement
# and its cache key on every call was a large part of its CPU (SQLAlchemy memoizes the key of a
# statement object, not of an equal one built again).

HELD = Pair(
    "held",
    select(HOLDERS.c.sha256).where(
        HOLDERS.c.station_id == bindparam("station"),
        HOLDERS.c.sha256.in_(bindparam("shas", expanding=True)),
    ),
    "SELECT sha256 FROM hub_page_holders WHERE station_id = %(station)s AND sha256 = ANY(%(shas)s)",
)
ADD_HOLDER = Pair(
    "add_holder",
    {
        "postgresql": pg_insert(HOLDERS).on_conflict_do_nothing(),
        "sqlite": sqlite_insert(HOLDERS).on_conflict_do_nothing(),
    },
    _insert_sql("hub_page_holders", ("station_id", "sha256"), " ON CONFLICT DO NOTHING"),
)
SUBS_AND_PAGES = Pair(
    "subs_and_pages",
    select(SUBS.c.id, SUBS.c.station_id, MANIFEST_PAGES.c.sha256)
    .outerjoin(MANIFEST_PAGES, MANIFEST_PAGES.c.submission_id == SUBS.c.id)
    .where(SUBS.c.id.in_(bindparam("sids", expanding=True))),
    "SELECT s.id, s.station_id, m.sha256 FROM hub_submissions s"
    " LEFT OUTER JOIN hub_manifest_pages m ON m.submission_id = s.id"
    " WHERE s.id = ANY(%(sids)s)",
)
INSERT_MANIFEST_PAGES = Pair(
    "insert_manifest_pages",
    insert(MANIFEST_PAGES),
    _insert_sql("hub_manifest_pages", ("submission_id", "sha256", "size", "missing")),
)
CLEAR_MISSING = Pair(
    "clear_missing",
    update(MANIFEST_PAGES)
    .where(
        MANIFEST_PAGES.c.missing,
        MANIFEST_PAGES.c.sha256.in_(bindparam("shas", expanding=True)),
        MANIFEST_PAGES.c.submission_id.in_(
            select(SUBS.c.id).where(SUBS.c.station_id == bindparam("station"))
        ),
    )
    .values(missing=False),
    "UPDATE hub_manifest_pages SET missing = false WHERE missing AND sha256 = ANY(%(shas)s)"
    " AND submission_id IN (SELECT id FROM hub_submissions WHERE station_id = %(station)s)",
)
INSERT_SUBS = Pair(
    "insert_subs",
    insert(SUBS),
    _insert_sql("hub_submissions", _SUB_COLUMNS),
)
UPDATE_SUB = Pair(
    "update_sub",
    update(SUBS)
    .where(SUBS.c.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in PROJECTED}),
    "UPDATE hub_submissions SET "
    + ", ".join(f"{c} = %(b_{c})s" for c in PROJECTED)
    + " WHERE id = %(b_id)s",
)
INSERT_EVENTS = Pair(
    "insert_events",
    insert(EVENTS),
    _insert_sql("hub_events", _EVENT_COLUMNS),
)
KNOWN_EVENTS = Pair(
    "known_events",
    select(
        EVENTS.c.id, EVENTS.c.digest, EVENTS.c.station_id, EVENTS.c.store_id, EVENTS.c.seq
    ).where(
        or_(
            EVENTS.c.id.in_(bindparam("ids", expanding=True)),
            and_(
                EVENTS.c.station_id == bindparam("station"),
                EVENTS.c.store_id == bindparam("store"),
                EVENTS.c.seq.in_(bindparam("seqs", expanding=True)),
            ),
        )
    ),
    "SELECT id, digest, station_id, store_id, seq FROM hub_events"
    " WHERE id = ANY(%(ids)s)"
    " OR (station_id = %(station)s AND store_id = %(store)s AND seq = ANY(%(seqs)s))",
)
KNOWN_SUBS = Pair(
    "known_subs",
    select(SUBS.c.id, SUBS.c.station_id, *(SUBS.c[x] for x in PROJECTED)).where(
        SUBS.c.id.in_(bindparam("sids", expanding=True))
    ),
    f"SELECT id, station_id, {', '.join(PROJECTED)} FROM hub_submissions WHERE id = ANY(%(sids)s)",
)
FEED_PAGE = Pair(
    "feed_page",
    select(
        FEED.c.cursor,
        FEED.c.submission_id,
        SUBS.c.number,
        FEED.c.item_id,
        FEED.c.decision,
        FEED.c.reason,
        FEED.c.department,
        FEED.c.decided_at,
    )
    .join(SUBS, SUBS.c.id == FEED.c.submission_id)
    .where(FEED.c.station_id == bindparam("station"), FEED.c.cursor > bindparam("after"))
    .order_by(FEED.c.cursor)
    .limit(bindparam("limit")),
    "SELECT f.cursor, f.submission_id, s.number, f.item_id, f.decision, f.reason,"
    " f.department, f.decided_at FROM hub_feed f JOIN hub_submissions s ON s.id = f.submission_id"
    " WHERE f.station_id = %(station)s AND f.cursor > %(after)s ORDER BY f.cursor LIMIT %(limit)s",
)
FEED_END = Pair(
    "feed_end",
    select(STATIONS.c.feed_seq).where(STATIONS.c.id == bindparam("station")),
    "SELECT feed_seq FROM hub_stations WHERE id = %(station)s",
)
TOKEN = Pair(
    "token",
    select(
        TOKENS.c.id,
        TOKENS.c.station_id,
        TOKENS.c.store_id,
        TOKENS.c.revoked_at,
        STATIONS.c.code,
        STATIONS.c.county,
    )
    .join(STATIONS, STATIONS.c.id == TOKENS.c.station_id)
    .where(TOKENS.c.token_hash == bindparam("hash")),
    "SELECT t.id, t.station_id, t.store_id, t.revoked_at, s.code, s.county FROM hub_tokens t"
    " JOIN hub_stations s ON s.id = t.station_id WHERE t.token_hash = %(hash)s",
)
PAIRS = (
    HELD,
    ADD_HOLDER,
    SUBS_AND_PAGES,
    INSERT_MANIFEST_PAGES,
    CLEAR_MISSING,
    INSERT_SUBS,
    UPDATE_SUB,
    INSERT_EVENTS,
    KNOWN_EVENTS,
    KNOWN_SUBS,
    FEED_PAGE,
    FEED_END,
    TOKEN,
)


def fast_capable(c: Connection | Any) -> bool:
    """Whether ENGINE (or a connection's engine) can take the plain-SQL path: psycopg 3."""
    dialect = c.dialect
    return bool(dialect.name == "postgresql" and dialect.driver == "psycopg")


class Sql:
    """The hot path's statements on one SQLAlchemy connection: on psycopg (FAST) plain SQL on
    the driver connection underneath, in the same transaction; otherwise Core."""

    __slots__ = ("c", "dialect", "raw")

    def __init__(self, c: Connection, fast: bool) -> None:
        self.c = c
        self.dialect = c.dialect.name
        self.raw: psycopg.Connection[Any] | None = c.connection.driver_connection if fast else None

    def rows(self, pair: Pair, params: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
        if self.raw is None:
            return [tuple(r) for r in self.c.execute(pair.core_for(self.dialect), params)]
        with self._translated(pair, params), self.raw.cursor() as cur:
            cur.execute(pair.sql, params, prepare=True)
            return cur.fetchall()

    def scalars(self, pair: Pair, params: Mapping[str, Any]) -> list[Any]:
        return [r[0] for r in self.rows(pair, params)]

    def many(self, pair: Pair, params: Sequence[Mapping[str, Any]]) -> None:
        """Execute PAIR once per parameter set (psycopg: prepared and pipelined)."""
        if not params:
            return
        if self.raw is None:
            self.c.execute(pair.core_for(self.dialect), params)
            return
        with self._translated(pair, params), self.raw.cursor() as cur:
            if len(params) == 1:  # executemany's pipeline costs more than it saves for one
                cur.execute(pair.sql, params[0], prepare=True)
                return
            failed: psycopg.Error | None = None
            try:
                with self.raw.pipeline():
                    try:
                        cur.executemany(pair.sql, params)
                    except psycopg.Error as e:  # caught inside: psycopg would log a warning
                        failed = e  # for the pipeline's own failure to end after it
            except psycopg.Error as e:
                failed = failed or e
            if failed is not None:
                raise failed

    @contextmanager
    def _translated(self, pair: Pair, params: Any) -> Iterator[None]:
        """psycopg's errors as SQLAlchemy raises them (IntegrityError, OperationalError...),
        with SQLAlchemy's handling of a connection the server dropped: this connection and the
        rest of the stale pool invalidated, as a Core statement's failure would do (the hub
        answers 503 with retry, the next request gets a fresh connection)."""
        try:
            yield
        except psycopg.Error as e:
            self.c._handle_dbapi_exception(e, pair.sql, params, None, None)
