"""The hub's storage operations: enrollment, tokens, events, manifests, status feed, catalog,
the copy of each station's audit log, and the stations' receipt-signing keys.

Every write is idempotent: an event is keyed by its client id (the same content again is a
duplicate, different content is a conflict), a page by its hash, a manifest is a set, a decision by
its decision id, an audit entry by its station id (and checked against the chain), a receipt key by
its key id. One station can never write to another station's submissions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.audit import GENESIS, chain_hash
from app.catalog_files import packed_bytes, read_packed
from app.catalog_load import build_catalog
from app.errors import CatalogError
from app.numbering import parse_intake_number, parse_receipt_payload
from app.receipts import key_id, key_to_text, load_public_key, verify_receipt
from app.validators import mask_name, mask_resident_id
from sync.hub.blobs import BlobStore
from sync.hub.models import (
    HubAuditEntry,
    HubCatalog,
    HubDeptKey,
    HubEnrollCode,
    HubEvent,
    HubFeed,
    HubImport,
    HubItemDecision,
    HubManifestPage,
    HubPageHolder,
    HubReceiptKey,
    HubStation,
    HubSubmission,
    HubToken,
)
from sync.protocol import (
    DECISIONS,
    MAX_AUDIT_PER_BATCH,
    MAX_BLOB_SIZE,
    MAX_EVENTS_PER_BATCH,
    MAX_REASON,
    canonical,
    check_audit_entry,
    check_event,
    event_digest,
    is_int,
    is_sha256,
    is_uuid,
    ranges,
)

log = logging.getLogger("intake.hub")

CODE_CHARS = "ABCDEFGHJKLMNPQRTUWXY3456789"
_STAGE_OF = {
    "created": "draft",
    "notified": "notified",
    "received": "received",
    "digitised": "digitised",
    "pushed": "pushed",
    "withdrawn": "withdrawn",
    "discarded": "discarded",
    "delivered": "delivered",
}
_ORDER = {None: ("accepted", "rejected"), "accepted": ("completed", "rejected")}


class HubError(Exception):
    """A refusal the API turns into an HTTP status and a JSON error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry: bool = False,
        retry_after: float | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry = retry
        self.retry_after = retry_after
        self.details = details

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "retry": self.retry,
                **self.details,
            }
        }


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


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def export_key_for(token: str) -> str:
    """The key a station's USB exports are signed with (derived from its token, one-way)."""
    return hmac.new(token.encode(), b"intake-usb-export-v1", hashlib.sha256).hexdigest()


def owner_of(p: Principal) -> str:
    """Whose partial uploads these are (BlobStore's OWNER): the station."""
    return f"s{p.station_id}"


def normalise_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def make_hub_engine(url: str) -> Engine:
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
    return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)


class HubStore:
    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.engine = make_hub_engine(url)
        self.sqlite = url.startswith("sqlite")
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            from sync.hub.schema import migrate

            migrate(self.engine)

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

    # ------------------------------------------------------------------ administration

    def _station(self, s: Session, code: str, name: str = "") -> HubStation:
        st = s.scalars(select(HubStation).where(HubStation.code == code)).first()
        if st is None:
            st = HubStation(code=code, name=name, feed_seq=0, created_at=self.now())
            s.add(st)
            s.flush()
        elif name and not st.name:
            st.name = name
        return st

    def issue_enroll_code(self, station_code: str, name: str = "", valid_hours: float = 72) -> str:
        """A one-time code the administrator hands to the station (printed, or read out)."""
        code = station_code.strip().upper()
        if not code or len(code) > 8 or not code.isalnum():
            raise HubError(400, "station.code", "站点编码应为2～8位数字或大写字母")
        raw = "".join(secrets.choice(CODE_CHARS) for _ in range(12))
        now = self.now()
        with self.write() as s:
            st = self._station(s, code, name)
            s.add(
                HubEnrollCode(
                    code_hash=_sha(raw),
                    station_id=st.id,
                    created_at=now,
                    expires_at=now + dt.timedelta(hours=valid_hours),
                )
            )
        log.info("enrollment code issued for station %s", code)
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    def enroll(
        self, code: str, store_id: str, station_code: str | None = None, receipt_key: object = None
    ) -> dict[str, Any]:
        """Exchange a one-time code for a station token. Sending the same code again from the
        same store (the answer was lost) issues a fresh token and revokes the one never received.
        RECEIPT_KEY ({key_id, public_key}), when sent, is enrolled for the station; a key the hub
        refuses does not stop the enrollment (the answer says why; the station sends it again
        through POST /v1/receipt-keys)."""
        if not is_uuid(store_id):
            raise HubError(400, "enroll.store_id", "store_id 应为 UUID")
        now = self.now()
        with self.write() as s:
            row = s.get(HubEnrollCode, _sha(normalise_code(code)))
            if row is None or row.expires_at.astimezone(dt.UTC) < now:
                raise HubError(
                    403, "enroll.code_invalid", "登记码无效或已过期，请向县行政审批局重新索取"
                )
            if row.used_at is not None and row.used_store_id != store_id:
                raise HubError(403, "enroll.code_used", "登记码已被使用，请向县行政审批局重新索取")
            st = s.get(HubStation, row.station_id)
            assert st is not None
            if station_code and station_code.strip().upper() != st.code:
                raise HubError(
                    409,
                    "enroll.station_mismatch",
                    f"该登记码属于站点 {st.code}，与本机站点编码 {station_code} 不符",
                )
            if row.token_id:
                old = s.get(HubToken, row.token_id)
                if old is not None and old.revoked_at is None:
                    old.revoked_at = now
            token = "ist1." + secrets.token_urlsafe(32)
            tid = str(uuid.uuid4())
            s.add(
                HubToken(
                    id=tid,
                    station_id=st.id,
                    store_id=store_id,
                    token_hash=_sha(token),
                    export_key=export_key_for(token),
                    created_at=now,
                )
            )
            row.used_at, row.used_store_id, row.token_id = now, store_id, tid
            code_out = st.code
            key_status: dict[str, Any] | None = None
            if receipt_key is not None:
                try:  # checked before anything is added: a refusal leaves the session clean
                    key_status = {"status": self._add_receipt_key(s, st.id, receipt_key, now)}
                except HubError as exc:
                    key_status = {"status": "refused", "code": exc.code, "message": exc.message}
        log.info("station %s enrolled (token %s)", code_out, tid)
        out: dict[str, Any] = {"station_code": code_out, "token": token, "token_id": tid}
        if key_status is not None:
            out["receipt_key"] = key_status
        return out

    def revoke(self, station_code: str) -> int:
        now = self.now()
        with self.write() as s:
            st = s.scalars(
                select(HubStation).where(HubStation.code == station_code.upper())
            ).first()
            if st is None:
                return 0
            res = s.execute(
                update(HubToken)
                .where(HubToken.station_id == st.id, HubToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            n = getattr(res, "rowcount", 0)
        log.info("tokens of station %s revoked: %s", station_code, n)
        return int(n or 0)

    def issue_dept_key(self, name: str, items: Sequence[str] | None = None) -> str:
        """A department's API key; ITEMS: the item ids pushed to it (None: every item)."""
        key = "idk1." + secrets.token_urlsafe(32)
        scope = json.dumps(sorted(set(items)), ensure_ascii=False) if items is not None else None
        with self.write() as s:
            s.add(HubDeptKey(name=name, key_hash=_sha(key), created_at=self.now(), items=scope))
        return key

    # ------------------------------------------------------------------ authentication

    def authenticate(self, token: str) -> Principal:
        with self.sessions() as s:
            row = s.execute(
                select(HubToken, HubStation.code)
                .join(HubStation, HubStation.id == HubToken.station_id)
                .where(HubToken.token_hash == _sha(token))
            ).first()
        if row is None:
            raise HubError(401, "auth.invalid", "站点凭据无效")
        tok, code = row
        if tok.revoked_at is not None:
            raise HubError(401, "auth.revoked", "站点凭据已被吊销")
        return Principal(tok.station_id, code, tok.id, tok.store_id)

    def authenticate_dept(self, key: str) -> Department:
        with self.sessions() as s:
            row = s.scalars(select(HubDeptKey).where(HubDeptKey.key_hash == _sha(key))).first()
        if row is None or row.revoked_at is not None:
            raise HubError(401, "auth.dept", "部门接口密钥无效")
        return Department(
            row.name, frozenset(json.loads(row.items)) if row.items is not None else None
        )

    # ------------------------------------------------------------------ pages per station

    def held_pages(self, p: Principal, shas: Sequence[str]) -> set[str]:
        """Which of SHAS this station has sent the bytes of (the only pages that exist for it)."""
        out: set[str] = set()
        with self.sessions() as s:
            for chunk in _chunks(list(set(shas)), 500):
                out.update(
                    s.scalars(
                        select(HubPageHolder.sha256).where(
                            HubPageHolder.station_id == p.station_id,
                            HubPageHolder.sha256.in_(chunk),
                        )
                    )
                )
        return out

    def add_holder(self, p: Principal, shas: Sequence[str]) -> None:
        """Record that the station sent these pages whole (after they are durable)."""
        if not shas:
            return
        ins = (pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert)(
            HubPageHolder
        )
        with self.write() as s:
            s.execute(
                ins.on_conflict_do_nothing(),
                [{"station_id": p.station_id, "sha256": x} for x in set(shas)],
            )

    # ------------------------------------------------------------------ station exchange

    def received_ranges(self, p: Principal, from_seq: int, to_seq: int) -> list[list[int]]:
        with self.sessions() as s:
            seqs = s.scalars(
                select(HubEvent.seq)
                .where(
                    HubEvent.station_id == p.station_id,
                    HubEvent.store_id == p.store_id,
                    HubEvent.seq >= from_seq,
                    HubEvent.seq <= to_seq,
                )
                .order_by(HubEvent.seq)
            )
            return ranges(seqs)

    def manifests(self, p: Principal, manifests: object, blobs: BlobStore) -> dict[str, Any]:
        if not isinstance(manifests, list) or len(manifests) > 2000:
            raise HubError(400, "manifest.shape", "manifests 应为不超过 2000 项的列表")
        wanted: dict[str, dict[str, str | int]] = {}
        for m in manifests:
            if (
                not isinstance(m, dict)
                or not is_uuid(m.get("submission_id"))
                or not isinstance(m.get("pages"), list)
            ):
                raise HubError(400, "manifest.shape", "清单项应含 submission_id 与 pages")
            for pg in m["pages"]:
                if (
                    not isinstance(pg, dict)
                    or not is_sha256(pg.get("sha256"))
                    or not is_int(pg.get("size"))
                    or not 0 <= pg["size"] <= MAX_BLOB_SIZE
                ):
                    raise HubError(400, "manifest.page", "页面应含 sha256 与 size（不超过上限）")
        refused: list[dict[str, str]] = []
        held = self.held_pages(p, [pg["sha256"] for m in manifests for pg in m["pages"]])
        with self.write() as s:
            sids = [m["submission_id"] for m in manifests]
            subs = {
                x.id: x for x in s.scalars(select(HubSubmission).where(HubSubmission.id.in_(sids)))
            }
            have = {
                (a, b)
                for a, b in s.execute(
                    select(HubManifestPage.submission_id, HubManifestPage.sha256).where(
                        HubManifestPage.submission_id.in_(sids)
                    )
                )
            }
            now = self.now()
            rows = []
            for m in manifests:
                sid = m["submission_id"]
                sub = subs.get(sid)
                if sub is not None and sub.station_id != p.station_id:
                    refused.append(
                        {
                            "submission_id": sid,
                            "code": "submission.forbidden",
                            "message": "该受理记录属于其他站点",
                        }
                    )
                    continue
                if sub is None:
                    sub = HubSubmission(
                        id=sid,
                        station_id=p.station_id,
                        stage="draft",
                        items_json="[]",
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(sub)
                    subs[sid] = sub
                for pg in m["pages"]:
                    key = (sid, pg["sha256"])
                    if key not in have:
                        have.add(key)
                        rows.append(
                            {"submission_id": sid, "sha256": pg["sha256"], "size": pg["size"]}
                        )
                    if pg["sha256"] not in held or not blobs.has(pg["sha256"], pg["size"]):
                        wanted[pg["sha256"]] = {"sha256": pg["sha256"], "size": pg["size"]}
            s.flush()
            if rows:
                s.execute(insert(HubManifestPage), rows)
        needed = []
        for w in wanted.values():
            off = blobs.partial_offset(str(w["sha256"]), owner_of(p))
            needed.append({**w, "offset": off if off <= int(w["size"]) else 0})
        return {"needed": needed, "refused": refused}

    def ingest_events(
        self, p: Principal, store_id: object, events: object, blobs: BlobStore, via: str = "online"
    ) -> dict[str, Any]:
        if store_id != p.store_id:
            raise HubError(403, "store.mismatch", "本批事件的 store_id 与站点凭据不符")
        if not isinstance(events, list) or len(events) > MAX_EVENTS_PER_BATCH:
            raise HubError(
                413 if isinstance(events, list) else 400,
                "events.batch",
                f"events 应为不超过 {MAX_EVENTS_PER_BATCH} 项的列表",
            )
        for _attempt in range(3):
            try:
                return self._ingest(p, events, blobs, via)
            except IntegrityError:  # a concurrent copy of the same batch won the race: redo
                log.info("event batch raced a concurrent copy; re-checking")
        raise HubError(503, "hub.busy", "平台繁忙，请稍后重试", retry=True, retry_after=1)

    def _ingest(
        self, p: Principal, events: list[Any], blobs: BlobStore, via: str
    ) -> dict[str, Any]:
        results: list[dict[str, Any] | None] = [None] * len(events)
        for i, ev in enumerate(events):
            problem = check_event(ev)
            if problem:
                results[i] = {
                    "id": ev.get("id") if isinstance(ev, dict) else None,
                    "status": "refused",
                    "code": problem[0],
                    "message": problem[1],
                    "retry": False,
                }
        ok = [ev for ev, r in zip(events, results, strict=True) if r is None]
        held = self.held_pages(
            p, [ev["payload"]["sha256"] for ev in ok if ev["type"] == "page_attached"]
        )
        now = self.now()
        touched: dict[str, HubSubmission] = {}
        with self.write() as s:
            existing: dict[str, tuple[str, int]] = {}
            taken: dict[int, str] = {}
            subs: dict[str, HubSubmission] = {}
            for chunk in _chunks(ok, 500):
                ids = [ev["id"] for ev in chunk]
                for eid, digest, station in s.execute(
                    select(HubEvent.id, HubEvent.digest, HubEvent.station_id).where(
                        HubEvent.id.in_(ids)
                    )
                ):
                    existing[eid] = (digest, station)
                for seq, eid in s.execute(
                    select(HubEvent.seq, HubEvent.id).where(
                        HubEvent.station_id == p.station_id,
                        HubEvent.store_id == p.store_id,
                        HubEvent.seq.in_([ev["seq"] for ev in chunk]),
                    )
                ):
                    taken[seq] = eid
                sids = list({ev["submission_id"] for ev in chunk} - set(subs))
                for sub in s.scalars(select(HubSubmission).where(HubSubmission.id.in_(sids))):
                    subs[sub.id] = sub
            rows: list[dict[str, Any]] = []
            stop = False
            for i, ev in enumerate(events):
                if results[i] is not None:
                    continue
                eid, sid = ev["id"], ev["submission_id"]
                if stop:
                    results[i] = {"id": eid, "status": "skipped", "retry": True}
                    continue
                found = subs.get(sid)
                if found is not None and found.station_id != p.station_id:
                    results[i] = {
                        "id": eid,
                        "status": "refused",
                        "code": "submission.forbidden",
                        "message": "该受理记录属于其他站点",
                        "retry": False,
                    }
                    continue
                digest = event_digest(ev)
                if eid in existing:
                    same = existing[eid] == (digest, p.station_id)
                    results[i] = (
                        {"id": eid, "status": "duplicate"}
                        if same
                        else {
                            "id": eid,
                            "status": "refused",
                            "code": "event.conflict",
                            "message": "同一事件 id 已有不同内容",
                            "retry": False,
                        }
                    )
                    continue
                if taken.get(ev["seq"], eid) != eid:
                    results[i] = {
                        "id": eid,
                        "status": "refused",
                        "code": "event.seq_conflict",
                        "message": "该序号已被另一事件占用",
                        "retry": False,
                    }
                    continue
                if ev["type"] == "page_attached":
                    pg = ev["payload"]
                    if pg["sha256"] not in held or not blobs.has(pg["sha256"], pg["size"]):
                        results[i] = {
                            "id": eid,
                            "status": "refused",
                            "code": "page.missing",
                            "message": "页面尚未上传，请先上传页面",
                            "retry": True,
                            "sha256": pg["sha256"],
                        }
                        stop = via == "online"  # online: keep order; an import goes on past it
                        continue
                if found is None:
                    found = HubSubmission(
                        id=sid,
                        station_id=p.station_id,
                        stage="draft",
                        items_json="[]",
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(found)
                    subs[sid] = found
                _project(found, ev, now)
                touched[sid] = found
                rows.append(
                    {
                        "id": eid,
                        "station_id": p.station_id,
                        "store_id": p.store_id,
                        "seq": ev["seq"],
                        "submission_id": sid,
                        "type": ev["type"],
                        "payload": canonical(ev["payload"]).decode(),
                        "clerk_id": ev["clerk_id"],
                        "at": ev["at"],
                        "digest": digest,
                        "via": via,
                        "arrived_at": now,
                    }
                )
                existing[eid] = (digest, p.station_id)
                taken[ev["seq"]] = eid
                results[i] = {"id": eid, "status": "stored"}
            s.flush()
            if rows:
                s.execute(insert(HubEvent), rows)
            states = []
            for sid, sub in touched.items():
                states.append(
                    {
                        "submission_id": sid,
                        "number": sub.number,
                        "stage": sub.stage,
                        "received": sub.received_at is not None,
                    }
                )
        if any(r["status"] == "stored" for r in results if r):
            log.info(
                "station %s: %d events stored (%s)",
                p.station_code,
                sum(1 for r in results if r and r["status"] == "stored"),
                via,
            )
        return {"results": results, "submissions": states}

    def feed(self, p: Principal, after: int, limit: int) -> dict[str, Any]:
        limit = max(1, min(limit, 1000))
        with self.sessions() as s:
            rows = s.execute(
                select(HubFeed, HubSubmission.number)
                .join(HubSubmission, HubSubmission.id == HubFeed.submission_id)
                .where(HubFeed.station_id == p.station_id, HubFeed.cursor > after)
                .order_by(HubFeed.cursor)
                .limit(limit)
            ).all()
        updates = [
            {
                "cursor": f.cursor,
                "submission_id": f.submission_id,
                "number": number,
                "item_id": f.item_id,
                "decision": f.decision,
                "reason": f.reason,
                "department": f.department,
                "decided_at": f.decided_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            for f, number in rows
        ]
        return {
            "updates": updates,
            "next_cursor": updates[-1]["cursor"] if updates else after,
            "more": len(updates) == limit,
        }

    # ------------------------------------------------------------------ audit copy

    def ingest_audit(self, p: Principal, store_id: object, entries: object) -> dict[str, Any]:
        """Append a station store's audit entries (in id order) to the hub's copy, checking the
        chain link by link: each entry must follow the last stored one (its prev_hash is that
        entry's hash, GENESIS for the first) and its hash must recompute. Entries already held
        are acknowledged when identical. At the first entry that fails, the entries before it
        are kept and the rest refused (HubError carrying entry_id and the copy's last_id)."""
        if store_id != p.store_id:
            raise HubError(403, "store.mismatch", "本批审计记录的 store_id 与站点凭据不符")
        if not isinstance(entries, list) or len(entries) > MAX_AUDIT_PER_BATCH:
            raise HubError(
                413 if isinstance(entries, list) else 400,
                "audit.batch",
                f"entries 应为不超过 {MAX_AUDIT_PER_BATCH} 项的列表",
            )
        prev_id = 0
        for n, e in enumerate(entries, 1):
            problem = check_audit_entry(e)
            if problem:
                raise HubError(400, "audit.shape", f"第{n}项：{problem}")
            if e["id"] <= prev_id:
                raise HubError(400, "audit.order", "审计记录应按 id 从小到大排列且不重复")
            prev_id = e["id"]
        now = self.now()
        refusal: HubError | None = None
        stored = duplicate = 0
        mine = (HubAuditEntry.station_id == p.station_id, HubAuditEntry.store_id == p.store_id)
        with self.write() as s:
            # one writer per station at a time (a row lock on PostgreSQL; SQLite's writes queue)
            s.get(HubStation, p.station_id, with_for_update=True)
            tail = s.execute(
                select(HubAuditEntry.entry_id, HubAuditEntry.hash)
                .where(*mine)
                .order_by(HubAuditEntry.entry_id.desc())
                .limit(1)
            ).first()
            last_id, last_hash = (int(tail[0]), str(tail[1])) if tail else (0, GENESIS)
            resent = [e["id"] for e in entries if e["id"] <= last_id]
            held: dict[int, HubAuditEntry] = {}
            for chunk in _chunks(resent, 500):
                held.update(
                    (r.entry_id, r)
                    for r in s.scalars(
                        select(HubAuditEntry).where(*mine, HubAuditEntry.entry_id.in_(chunk))
                    )
                )
            rows: list[dict[str, Any]] = []
            for e in entries:
                refusal = self._audit_refusal(e, last_id, last_hash, held.get(e["id"]))
                if refusal is not None:
                    break
                if e["id"] <= last_id:
                    duplicate += 1
                    continue
                rows.append(
                    {
                        "station_id": p.station_id,
                        "store_id": p.store_id,
                        "entry_id": e["id"],
                        "at": e["at"],
                        "staff_id": e["staff_id"],
                        "action": e["action"],
                        "target": e["target"],
                        "detail": e["detail"],
                        "prev_hash": e["prev_hash"],
                        "hash": e["hash"],
                        "arrived_at": now,
                    }
                )
                last_id, last_hash = e["id"], e["hash"]
            if rows:
                s.execute(insert(HubAuditEntry), rows)
            stored = len(rows)
        if stored:
            log.info(
                "station %s: %d audit entries stored (up to %d)", p.station_code, stored, last_id
            )
        if refusal is not None:
            if refusal.code != "audit.gap":
                log.warning(
                    "station %s: audit entry refused (%s); the copy ends at %d",
                    p.station_code,
                    refusal.code,
                    last_id,
                )
            refusal.details.update(last_id=last_id, last_hash=last_hash, stored=stored)
            raise refusal
        return {
            "store_id": p.store_id,
            "last_id": last_id,
            "last_hash": last_hash,
            "stored": stored,
            "duplicate": duplicate,
        }

    @staticmethod
    def _audit_refusal(
        e: dict[str, Any], last_id: int, last_hash: str, held: HubAuditEntry | None
    ) -> HubError | None:
        """Why entry E cannot follow the copy's last entry (or, when already held, differs from
        the copy); None when it can."""
        eid = e["id"]
        if eid <= last_id:
            fields = ("at", "staff_id", "action", "target", "detail", "prev_hash", "hash")
            if held is None or any(getattr(held, f) != e[f] for f in fields):
                return HubError(
                    409,
                    "audit.conflict",
                    f"第{eid}条审计记录与平台已存的副本不同（站点记录在上传后被改动）",
                    entry_id=eid,
                )
            return None
        if e["prev_hash"] != last_hash:
            if eid > last_id + 1:  # the copy lacks entries before this one: send from there
                return HubError(
                    409,
                    "audit.gap",
                    f"平台的审计副本止于第{last_id}条，请从其后一条起上传",
                    retry=True,
                    entry_id=eid,
                )
            return HubError(
                409,
                "audit.chain_broken",
                f"第{eid}条审计记录与前一条不衔接（记录被删除或调换）",
                entry_id=eid,
            )
        if (
            chain_hash(
                e["prev_hash"], e["at"], e["staff_id"], e["action"], e["target"], e["detail"]
            )
            != e["hash"]
        ):
            return HubError(
                422,
                "audit.hash_mismatch",
                f"第{eid}条审计记录的内容与其哈希不符（记录被改动）",
                entry_id=eid,
            )
        return None

    def audit_of(self, station_code: str, store_id: str | None = None) -> list[dict[str, Any]]:
        """The hub's copy of a station's audit log, in order (tests, county administrators)."""
        with self.sessions() as s:
            stmt = (
                select(HubAuditEntry)
                .join(HubStation, HubStation.id == HubAuditEntry.station_id)
                .where(HubStation.code == station_code.upper())
            )
            if store_id:
                stmt = stmt.where(HubAuditEntry.store_id == store_id)
            return [
                {
                    "id": e.entry_id,
                    "store_id": e.store_id,
                    "at": e.at,
                    "staff_id": e.staff_id,
                    "action": e.action,
                    "target": e.target,
                    "detail": e.detail,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in s.scalars(stmt.order_by(HubAuditEntry.store_id, HubAuditEntry.entry_id))
            ]

    # ------------------------------------------------------------------ receipt keys

    def _add_receipt_key(self, s: Session, station_id: int, key: object, now: dt.datetime) -> str:
        """stored | duplicate; HubError when malformed or when the key id is taken."""
        if (
            not isinstance(key, dict)
            or not isinstance(key.get("key_id"), str)
            or not isinstance(key.get("public_key"), str)
            or len(key["public_key"]) > 100
        ):
            raise HubError(400, "receipt_key.shape", "回执公钥应含 key_id 与 public_key")
        try:
            public = load_public_key(key["public_key"])
        except ValueError as exc:
            raise HubError(400, "receipt_key.invalid", "回执公钥不是有效的 Ed25519 公钥") from exc
        kid, text = key_id(public), key_to_text(public)
        if kid != key["key_id"]:
            raise HubError(400, "receipt_key.id", "回执公钥编号与公钥不符")
        row = s.get(HubReceiptKey, kid)
        if row is None:
            s.add(HubReceiptKey(key_id=kid, station_id=station_id, public_key=text, created_at=now))
            s.flush()
            log.info("receipt key %s enrolled for station id %d", kid, station_id)
            return "stored"
        if row.station_id == station_id and row.public_key == text:
            return "duplicate"
        # never rebind a key id: receipts already verified with it must stay verifiable as they were
        raise HubError(
            409, "receipt_key.conflict", "该公钥编号已登记为另一公钥或另一站点的公钥，未予登记"
        )

    def add_receipt_key(self, p: Principal, key: object) -> dict[str, str]:
        with self.write() as s:
            status = self._add_receipt_key(s, p.station_id, key, self.now())
        return {"status": status, "key_id": str(key["key_id"]) if isinstance(key, dict) else ""}

    def receipt_keys(self, station_code: str | None = None) -> dict[str, str]:
        """Key id → public key, every key ever enrolled (for `intake verify-receipt --keys`)."""
        with self.sessions() as s:
            stmt = select(HubReceiptKey.key_id, HubReceiptKey.public_key).join(
                HubStation, HubStation.id == HubReceiptKey.station_id
            )
            if station_code:
                stmt = stmt.where(HubStation.code == station_code.upper())
            return {k: v for k, v in s.execute(stmt.order_by(HubReceiptKey.created_at))}

    def check_receipt(self, payload: object) -> dict[str, Any]:
        """Check a scanned receipt QR against the enrolled keys: genuine, and issued by the
        station its intake number names."""
        if not isinstance(payload, str) or not payload.strip() or len(payload) > 1000:
            raise HubError(
                400, "receipt.shape", "请提供回执二维码内容 payload（不超过 1000 个字符）"
            )
        ref = parse_receipt_payload(payload)
        kid = ref.fields.get("k", "") if ref else ""
        with self.sessions() as s:
            key = (
                s.execute(
                    select(HubReceiptKey.public_key, HubStation.code)
                    .join(HubStation, HubStation.id == HubReceiptKey.station_id)
                    .where(HubReceiptKey.key_id == kid)
                ).first()
                if kid
                else None
            )
            sub = (
                s.execute(
                    select(HubSubmission.stage).where(HubSubmission.number == ref.number)
                ).first()
                if ref
                else None
            )
        v = verify_receipt(payload, {kid: key[0]} if key else {})
        valid, code, message = v.valid, v.code, v.message
        number = parse_intake_number(v.number) if v.number else None
        if code == "receipt.unknown_key":
            message = "平台没有登记该回执的签名公钥：回执系伪造，或签发站点尚未向平台登记公钥。"
        elif valid and key is not None and (number is None or number.station_code != key[1]):
            valid, code = False, "receipt.station_mismatch"
            message = f"回执编号不属于签名站点 {key[1]}：回执系伪造。"
        log.info("receipt %s verified: %s", v.number or "-", code)
        if not valid:  # a typed or forged number learns nothing about the hub's records
            sub = None
        return {
            "valid": valid,
            "code": code,
            "message": message,
            "number": v.number,
            "issued": v.issued or None,
            "manifest": v.manifest or None,
            "station": key[1] if key is not None else None,
            "on_hub": sub is not None,
            "stage": sub[0] if sub is not None else None,
        }

    def receipt_status(self, token: object) -> tuple[int, dict[str, Any]]:
        """What the public status page shows for a scanned receipt (no login: the signed token
        is the credential): HTTP status and the masked facts. Never a full name or ID number."""
        if not isinstance(token, str) or not token.strip() or len(token) > 1000:
            return 400, {
                "code": "receipt.shape",
                "message": "链接不完整：请重新扫描收件回执上的二维码。",
            }
        check = self.check_receipt(token)
        if not check["valid"]:
            return 403 if check["code"] != "receipt.not_ours" else 400, check
        out: dict[str, Any] = {**check, "applicant": "", "id_masked": "", "items": []}
        with self.sessions() as s:
            sub = s.scalars(
                select(HubSubmission).where(HubSubmission.number == check["number"])
            ).first()
            if sub is None:
                return 200, out
            latest = s.scalars(
                select(HubEvent.payload)
                .where(HubEvent.submission_id == sub.id, HubEvent.type == "applicant_set")
                .order_by(HubEvent.seq.desc())
                .limit(1)
            ).first()
            decisions = {
                d.item_id: d
                for d in s.scalars(
                    select(HubItemDecision).where(HubItemDecision.submission_id == sub.id)
                )
            }
            items = json.loads(sub.items_json)
        names = self._item_names()
        who = json.loads(latest) if latest else {}
        name: str = who["name"] if isinstance(who.get("name"), str) else ""
        ident = next(
            (who[k] for k in ("resident_id", "uscc") if isinstance(who.get(k), str) and who[k]), ""
        )
        out.update(
            applicant=mask_name(name),
            id_masked=mask_resident_id(ident),
            stage=sub.stage,
            items=[
                {
                    "id": i,
                    "name": names.get(i, i),
                    "decision": decisions[i].decision if i in decisions else None,
                    "reason": decisions[i].reason if i in decisions else "",
                    "decided_at": decisions[i].decided_at.isoformat() if i in decisions else None,
                }
                for i in items
            ],
        )
        return 200, out

    def _item_names(self) -> dict[str, str]:
        current = self.current_catalog()
        if current is None:
            return {}
        try:
            packed = json.loads(current[2])
            return {
                i["id"]: i["name"] for b in packed.get("bundles", []) for i in b.get("items", [])
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}

    # ------------------------------------------------------------------ departments

    def decide(
        self,
        *,
        item_id: object,
        decision: object,
        reason: object = "",
        submission_id: object = None,
        number: object = None,
        decision_id: object = None,
        department: str = "",
    ) -> dict[str, Any]:
        if decision not in DECISIONS:
            raise HubError(400, "decision.value", "办理结果应为 accepted / rejected / completed")
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise HubError(400, "decision.reason", "理由应为不超过 2000 字的文字")
        if decision == "rejected" and not reason.strip():
            raise HubError(400, "decision.reason_required", "不予受理必须说明理由")
        if not isinstance(item_id, str) or not item_id:
            raise HubError(400, "decision.item", "缺少事项 id")
        if decision_id is not None and (
            not isinstance(decision_id, str) or not 0 < len(decision_id) <= 64
        ):
            raise HubError(400, "decision.id", "decision_id 应为不超过 64 字符的文字")
        now = self.now()
        with self.write() as s:
            sub: HubSubmission | None = None
            if isinstance(submission_id, str) and is_uuid(submission_id):
                sub = s.get(HubSubmission, submission_id)
            elif isinstance(number, str) and number:
                sub = s.scalars(select(HubSubmission).where(HubSubmission.number == number)).first()
            if sub is None:
                raise HubError(404, "submission.unknown", "平台上没有该受理记录")
            did = decision_id or _sha(f"{sub.id}|{item_id}|{decision}")[:64]
            dup = s.scalars(select(HubFeed).where(HubFeed.decision_id == did)).first()
            if dup is not None:
                return {"status": "duplicate", "cursor": dup.cursor, "submission_id": sub.id}
            if sub.received_at is None or sub.stage in ("withdrawn", "discarded"):
                raise HubError(
                    409, "submission.not_received", "该受理记录尚未收件或已撤回，不能登记办理结果"
                )
            if item_id not in json.loads(sub.items_json):
                raise HubError(422, "decision.unknown_item", "该事项不在本次受理范围内")
            current = s.get(HubItemDecision, (sub.id, item_id))
            if decision not in _ORDER.get(current.decision if current else None, ()):
                raise HubError(409, "decision.order", "办理结果顺序不对（应先受理，再办结）")
            st = s.get(HubStation, sub.station_id, with_for_update=True)
            assert st is not None
            st.feed_seq += 1
            cursor = st.feed_seq
            s.add(
                HubFeed(
                    station_id=st.id,
                    cursor=cursor,
                    submission_id=sub.id,
                    item_id=item_id,
                    decision=decision,
                    reason=reason,
                    department=department[:100],
                    decision_id=did,
                    decided_at=now,
                )
            )
            if current is None:
                s.add(
                    HubItemDecision(
                        submission_id=sub.id,
                        item_id=item_id,
                        decision=decision,
                        reason=reason,
                        decided_at=now,
                    )
                )
            else:
                current.decision, current.reason, current.decided_at = decision, reason, now
            sid = sub.id
        log.info("decision %s on %s item %s", decision, sid, item_id)
        return {"status": "stored", "cursor": cursor, "submission_id": sid}

    def submissions(
        self,
        *,
        station_code: str | None = None,
        limit: int = 200,
        items: frozenset[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Submissions for a department; with ITEMS only those with one of these items received,
        showing only these items and their decisions (what was pushed to that department)."""
        with self.sessions() as s:
            stmt = select(HubSubmission, HubStation.code).join(
                HubStation, HubStation.id == HubSubmission.station_id
            )
            if station_code:
                stmt = stmt.where(HubStation.code == station_code)
            if items is not None:
                stmt = stmt.where(HubSubmission.received_at.is_not(None))
            rows: list[tuple[HubSubmission, str, list[str]]] = []
            for sub, code in s.execute(
                stmt.order_by(HubSubmission.created_at).execution_options(yield_per=500)
            ):
                mine = [i for i in json.loads(sub.items_json) if items is None or i in items]
                if items is None or mine:
                    rows.append((sub, code, mine))
                    if len(rows) >= limit:
                        break
            decisions: dict[str, dict[str, str]] = {}
            ids = [sub.id for sub, _, _ in rows]
            for chunk in _chunks(ids, 500):
                for d in s.scalars(
                    select(HubItemDecision).where(HubItemDecision.submission_id.in_(chunk))
                ):
                    if items is None or d.item_id in items:
                        decisions.setdefault(d.submission_id, {})[d.item_id] = d.decision
        return [
            {
                "submission_id": sub.id,
                "number": sub.number,
                "station": code,
                "stage": sub.stage,
                "items": mine,
                "decisions": decisions.get(sub.id, {}),
                "received_at": sub.received_at.isoformat() if sub.received_at else None,
            }
            for sub, code, mine in rows
        ]

    # ------------------------------------------------------------------ catalog

    def publish_catalog(self, source: Path | str, *, force: bool = False) -> dict[str, str]:
        """Publish a catalog directory or packed file (validated exactly as stations will)."""
        try:
            packed = read_packed(Path(source))
            cat = build_catalog(packed, Path(source).name)
        except CatalogError as exc:
            raise HubError(422, exc.code, exc.message) from exc
        body = packed_bytes(packed)
        current = self.current_catalog()
        if current and not force and cat.version < current[1]:
            raise HubError(
                409, "catalog.older", f"目录版本 {cat.version} 早于已发布的 {current[1]}"
            )
        with self.write() as s:
            if s.get(HubCatalog, cat.digest) is None:
                s.add(
                    HubCatalog(
                        digest=cat.digest, version=cat.version, packed=body, published_at=self.now()
                    )
                )
            else:
                s.execute(
                    update(HubCatalog)
                    .where(HubCatalog.digest == cat.digest)
                    .values(published_at=self.now())
                )
        log.info("catalog %s published (%s)", cat.version, cat.digest[:12])
        return {"digest": cat.digest, "version": cat.version}

    def publish_catalog_bytes(self, body: bytes, *, force: bool = False) -> dict[str, str]:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "catalog.json"
            path.write_bytes(body)
            return self.publish_catalog(path, force=force)

    def current_catalog(self) -> tuple[str, str, bytes] | None:
        with self.sessions() as s:
            row = s.scalars(
                select(HubCatalog).order_by(HubCatalog.published_at.desc()).limit(1)
            ).first()
            return (row.digest, row.version, row.packed) if row else None

    # ------------------------------------------------------------------ USB import

    def token_for_import(self, token_id: str) -> tuple[Principal, bytes]:
        with self.sessions() as s:
            row = s.execute(
                select(HubToken, HubStation.code)
                .join(HubStation, HubStation.id == HubToken.station_id)
                .where(HubToken.id == token_id)
            ).first()
        if row is None:
            raise HubError(403, "import.unknown_station", "导入文件的站点凭据在本平台不存在")
        tok, code = row
        if tok.revoked_at is not None:
            raise HubError(403, "import.revoked", "导入文件的站点凭据已被吊销")
        return Principal(tok.station_id, code, tok.id, tok.store_id), bytes.fromhex(tok.export_key)

    def record_import(self, export_id: str, p: Principal, events: int, pages: int) -> bool:
        with self.write() as s:
            if s.get(HubImport, export_id) is not None:
                return False
            s.add(
                HubImport(
                    id=export_id,
                    station_id=p.station_id,
                    imported_at=self.now(),
                    events=events,
                    pages=pages,
                )
            )
            return True

    # ------------------------------------------------------------------ checks used by tests and admins

    def counts(self) -> dict[str, int]:
        with self.sessions() as s:
            return {
                "events": s.scalar(select(func.count()).select_from(HubEvent)) or 0,
                "submissions": s.scalar(select(func.count()).select_from(HubSubmission)) or 0,
                "feed": s.scalar(select(func.count()).select_from(HubFeed)) or 0,
            }

    def events_of(self, station_code: str | None = None) -> list[dict[str, Any]]:
        with self.sessions() as s:
            stmt = select(HubEvent, HubStation.code).join(
                HubStation, HubStation.id == HubEvent.station_id
            )
            if station_code:
                stmt = stmt.where(HubStation.code == station_code)
            return [
                {
                    "id": e.id,
                    "seq": e.seq,
                    "submission_id": e.submission_id,
                    "type": e.type,
                    "payload": json.loads(e.payload),
                    "clerk_id": e.clerk_id,
                    "at": e.at,
                    "station": code,
                    "via": e.via,
                }
                for e, code in s.execute(stmt.order_by(HubEvent.station_id, HubEvent.seq))
            ]


def _project(sub: HubSubmission, ev: Mapping[str, Any], now: dt.datetime) -> None:
    """The hub's light view of a submission's stage (the station's events are the truth)."""
    etype, payload = ev["type"], ev["payload"]
    stage = _STAGE_OF.get(etype)
    if stage and not (sub.stage in ("withdrawn", "delivered") and etype not in ("delivered",)):
        sub.stage = stage
    if etype in ("notified", "received") and isinstance(payload.get("number"), str):
        sub.number = payload["number"][:32]
    if etype == "received":
        sub.items_json = json.dumps(payload.get("items", []), ensure_ascii=False)
        sub.received_at = dt.datetime.fromisoformat(ev["at"])
    sub.updated_at = now


def _chunks(seq: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
