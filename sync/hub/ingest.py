"""What stations send: pages they hold, manifests, events (idempotent by id), the status feed."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from sync.hub.blobs import BlobStore
from sync.hub.db import (
    Principal,
    chunks,
    owner_of,
)
from sync.hub.errors import HubError
from sync.hub.fastsql import (
    ADD_HOLDER,
    CLEAR_MISSING,
    FEED_END,
    FEED_PAGE,
    HELD,
    INSERT_EVENTS,
    INSERT_MANIFEST_PAGES,
    INSERT_SUBS,
    KNOWN_EVENTS,
    KNOWN_SUBS,
    PROJECTED,
    SUBS_AND_PAGES,
    UPDATE_SUB,
    Sql,
)
from sync.hub.models import HubEvent
from sync.hub.notices import NoticeOps, cause_of_event
from sync.hub.ratings import RATING_EVENTS, project_rating
from sync.protocol import (
    MAX_BLOB_SIZE,
    MAX_EVENTS_PER_BATCH,
    canonical,
    check_event,
    event_digest,
    is_int,
    is_sha256,
    is_uuid,
    ranges,
)

log = logging.getLogger("intake.hub")

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
# The hot path (manifests, events, page holders) runs on Core statements over one connection,
# not ORM objects (the ORM's bookkeeping per statement and per row was a large share of a
# submission's CPU), and on PostgreSQL as psycopg's prepared statements (sync/hub/fastsql.py).
_ORDER = {None: ("accepted", "rejected"), "accepted": ("completed", "rejected")}


class IngestOps(NoticeOps):
    # ------------------------------------------------------------------ pages per station

    def held_pages(
        self, p: Principal, shas: Sequence[str], conn: Connection | None = None
    ) -> set[str]:
        """Which of SHAS this station has sent the bytes of (the only pages that exist for it);
        on CONN when given (one connection for the request's work)."""
        out: set[str] = set()
        if not shas:
            return out
        with self.read_core() if conn is None else nullcontext(conn) as c:
            q = Sql(c, self.fast_sql)
            for chunk in chunks(list(set(shas)), 500):
                out.update(q.scalars(HELD, {"station": p.station_id, "shas": chunk}))
        return out

    def add_holder(self, p: Principal, shas: Sequence[str], conn: Connection | None = None) -> None:
        """Record that the station sent these pages whole (after they are durable); on CONN's
        transaction when given."""
        if not shas:
            return
        with self.write_core() if conn is None else nullcontext(conn) as c:
            q = Sql(c, self.fast_sql)
            q.many(ADD_HOLDER, [{"station_id": p.station_id, "sha256": x} for x in set(shas)])
            if conn is None:
                # pages sent on their own, after the manifest named them; POST /v1/intakes
                # (CONN) writes its manifests after its holders, so they are not marked
                for chunk in chunks(sorted(set(shas)), 500):
                    q.many(CLEAR_MISSING, [{"station": p.station_id, "shas": chunk}])

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

    def manifests(
        self, p: Principal, manifests: object, blobs: BlobStore, conn: Connection | None = None
    ) -> dict[str, Any]:
        """Record the manifests; answer which pages the hub lacks. On CONN's transaction when
        given (POST /v1/intakes: holders, manifests and events in one)."""
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
        with self.write_core() if conn is None else nullcontext(conn) as c:
            q = Sql(c, self.fast_sql)
            held = self.held_pages(p, [pg["sha256"] for m in manifests for pg in m["pages"]], c)
            sids = [m["submission_id"] for m in manifests]
            subs: dict[str, int] = {}  # submission -> its station
            have: set[tuple[str, str]] = set()
            for chunk in chunks(sids, 500):  # the submissions and their manifests: one query
                for sid, station, sha in q.rows(SUBS_AND_PAGES, {"sids": chunk}):
                    subs[sid] = station
                    if sha is not None:
                        have.add((sid, sha))
            now = self.now()
            rows, new_subs = [], []
            for m in manifests:
                sid = m["submission_id"]
                station = subs.get(sid)
                if station is not None and station != p.station_id:
                    refused.append(
                        {
                            "submission_id": sid,
                            "code": "submission.forbidden",
                            "message": "该受理记录属于其他站点",
                        }
                    )
                    continue
                if station is None:
                    new_subs.append(_Sub.new(sid, p.station_id, now).row())
                    subs[sid] = p.station_id
                for pg in m["pages"]:
                    key = (sid, pg["sha256"])
                    if key not in have:
                        have.add(key)
                        rows.append(
                            {
                                "submission_id": sid,
                                "sha256": pg["sha256"],
                                "size": pg["size"],
                                "missing": pg["sha256"] not in held,
                            }
                        )
                    if not blobs.held(pg["sha256"], pg["size"], pg["sha256"] in held):
                        wanted[pg["sha256"]] = {"sha256": pg["sha256"], "size": pg["size"]}
            q.many(INSERT_SUBS, new_subs)
            q.many(INSERT_MANIFEST_PAGES, rows)
        needed = []
        for w in wanted.values():
            off = blobs.partial_offset(str(w["sha256"]), owner_of(p))
            needed.append({**w, "offset": off if off <= int(w["size"]) else 0})
        return {"needed": needed, "refused": refused}

    def ingest_events(
        self, p: Principal, store_id: object, events: object, blobs: BlobStore, via: str = "online"
    ) -> dict[str, Any]:
        _check_events(p, store_id, events)
        assert isinstance(events, list)
        return self.retried(lambda: self._ingest(p, events, blobs, via))

    def ingest_intake(
        self,
        p: Principal,
        store_id: object,
        manifests: object,
        events: object,
        blobs: BlobStore,
        pages: Sequence[str],
    ) -> dict[str, Any]:
        """POST /v1/intakes: the holders of PAGES (durable already), the manifests and the events
        in ONE transaction; the answer is /v1/manifests' and /v1/events' in one."""
        _check_events(p, store_id, events)
        assert isinstance(events, list)
        # the county's key before the transaction: making it is a write of its own (on SQLite
        # it would wait on this transaction's lock; pages usually make it first, but not when
        # every page of the request was refused)
        self.sealer.prepare(p.scope)

        def once() -> dict[str, Any]:
            with self.write_core() as c:
                self.add_holder(p, pages, c)  # first: the events below see these pages
                out = self.manifests(p, manifests, blobs, c)
                return {**out, **self._ingest(p, events, blobs, "online", c)}

        return self.retried(once)

    def retried(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """FN's transaction, done again when a concurrent copy of the same batch won a race."""
        for _attempt in range(3):
            try:
                return fn()
            except IntegrityError:  # a concurrent copy of the same batch won the race: redo
                log.info("event batch raced a concurrent copy; re-checking")
        raise HubError(503, "hub.busy", "平台繁忙，请稍后重试", retry=True, retry_after=1)

    def _ingest(
        self,
        p: Principal,
        events: list[Any],
        blobs: BlobStore,
        via: str,
        conn: Connection | None = None,
    ) -> dict[str, Any]:
        results: list[dict[str, Any] | None] = [_malformed(ev) for ev in events]
        ok = [ev for ev, r in zip(events, results, strict=True) if r is None]
        now = self.now()
        touched: dict[str, _Sub] = {}
        self.sealer.prepare(p.scope)
        with self.write_core() if conn is None else nullcontext(conn) as c:
            q = Sql(c, self.fast_sql)
            held = self.held_pages(
                p, [ev["payload"]["sha256"] for ev in ok if ev["type"] == "page_attached"], c
            )
            known = _Known.read(q, p, ok)
            rows: list[dict[str, Any]] = []
            noticed: list[tuple[_Sub, Any]] = []  # events that notify the applicant
            rated: list[dict[str, Any]] = []  # 好差评 events, projected once their rows exist
            stop = False
            for i, ev in enumerate(events):
                if results[i] is not None:
                    continue
                if stop:
                    results[i] = {"id": ev["id"], "status": "skipped", "retry": True}
                    continue
                digest = event_digest(ev)
                refused = known.refusal(ev, digest, p) or _page_missing(ev, held, blobs)
                if refused is not None:
                    results[i] = refused
                    # online: keep order past a missing page; an import goes on past it
                    stop = refused.get("code") == "page.missing" and via == "online"
                    continue
                sub = known.submission(ev["submission_id"], p, now)
                _project(sub, ev, now)
                if ev["type"] in RATING_EVENTS:
                    rated.append(ev)
                touched[sub.id] = sub
                rows.append(self._event_row(p, ev, digest, via, now))
                if (cause := cause_of_event(ev)) is not None:
                    noticed.append((sub, cause))
                known.add(ev, digest, p)
                results[i] = {"id": ev["id"], "status": "stored"}
            _write_subs(q, list(touched.values()))  # before the events that name them
            q.many(INSERT_EVENTS, rows)
            for ev in rated:
                project_rating(c, p.station_id, ev)
            for sub, cause in noticed:  # after the events: the phone is in them
                self.queue_notice(c, sub, p.scope, cause)
            states = [
                {
                    "submission_id": sid,
                    "number": sub.number,
                    "stage": sub.stage,
                    "received": sub.received_at is not None,
                }
                for sid, sub in touched.items()
            ]
        stored = sum(1 for r in results if r and r["status"] == "stored")
        if stored:
            log.info("station %s: %d events stored (%s)", p.station_code, stored, via)
        return {"results": results, "submissions": states}

    def _event_row(
        self, p: Principal, ev: dict[str, Any], digest: str, via: str, now: dt.datetime
    ) -> dict[str, Any]:
        """The stored event: its payload sealed under the station's county key, bound to the
        event id (a payload copied onto another row does not open)."""
        payload = self.sealer.seal_text(p.scope, canonical(ev["payload"]).decode(), ev["id"])
        return {
            "id": ev["id"],
            "station_id": p.station_id,
            "store_id": p.store_id,
            "seq": ev["seq"],
            "submission_id": ev["submission_id"],
            "type": ev["type"],
            "payload": payload,
            "clerk_id": ev["clerk_id"],
            "at": ev["at"],
            "digest": digest,
            "via": via,
            "arrived_at": now,
        }

    def feed(self, p: Principal, after: int, limit: int) -> dict[str, Any]:
        limit = max(1, min(limit, 1000))
        with self.read_core() as c:
            q = Sql(c, self.fast_sql)
            rows = q.rows(FEED_PAGE, {"station": p.station_id, "after": after, "limit": limit})
            last = None
            if not rows and after > 0:
                last = next(iter(q.scalars(FEED_END, {"station": p.station_id})), None)
        updates = [
            {
                "cursor": cursor,
                "submission_id": sid,
                "number": number,
                "item_id": item,
                "decision": decision,
                "reason": reason,
                "department": department,
                "decided_at": decided_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            for cursor, sid, number, item, decision, reason, department, decided_at in rows
        ]
        next_cursor = updates[-1]["cursor"] if updates else after
        if last is not None and last < after:  # restored from a backup: the station reads on
            next_cursor = last  # from the feed's real end (sync/README.md, backups)
        return {"updates": updates, "next_cursor": next_cursor, "more": len(updates) == limit}


def _check_events(p: Principal, store_id: object, events: object) -> None:
    if store_id != p.store_id:
        raise HubError(403, "store.mismatch", "本批事件的 store_id 与站点凭据不符")
    if not isinstance(events, list) or len(events) > MAX_EVENTS_PER_BATCH:
        raise HubError(
            413 if isinstance(events, list) else 400,
            "events.batch",
            f"events 应为不超过 {MAX_EVENTS_PER_BATCH} 项的列表",
        )


def _refused(eid: Any, code: str, message: str, **more: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "status": "refused",
        "code": code,
        "message": message,
        "retry": False,
        **more,
    }


def _malformed(ev: Any) -> dict[str, Any] | None:
    problem = check_event(ev)
    if not problem:
        return None
    return _refused(ev.get("id") if isinstance(ev, dict) else None, problem[0], problem[1])


def _page_missing(ev: dict[str, Any], held: set[str], blobs: BlobStore) -> dict[str, Any] | None:
    """A page_attached event whose page this station has not (yet) sent whole."""
    if ev["type"] != "page_attached":
        return None
    pg = ev["payload"]
    if blobs.held(pg["sha256"], pg["size"], pg["sha256"] in held):
        return None
    return {
        **_refused(ev["id"], "page.missing", "页面尚未上传，请先上传页面", sha256=pg["sha256"]),
        "retry": True,
    }


class _Known:
    """What the database already holds for one batch: events by id, this store's sequence
    numbers, and the submissions named."""

    def __init__(self) -> None:
        self.existing: dict[str, tuple[str, int]] = {}
        self.taken: dict[int, str] = {}
        self.subs: dict[str, _Sub] = {}

    @classmethod
    def read(cls, q: Sql, p: Principal, events: list[Any]) -> _Known:
        k = cls()
        for chunk in chunks(events, 500):
            ids, seqs = {ev["id"] for ev in chunk}, {ev["seq"] for ev in chunk}
            # the batch's ids, and this store's sequence numbers: one query for both
            mine = {"station": p.station_id, "store": p.store_id}
            for eid, digest, station, store, seq in q.rows(
                KNOWN_EVENTS, {"ids": list(ids), "seqs": list(seqs), **mine}
            ):
                if eid in ids:
                    k.existing[eid] = (digest, station)
                if station == p.station_id and store == p.store_id and seq in seqs:
                    k.taken[seq] = eid
            sids = list({ev["submission_id"] for ev in chunk} - set(k.subs))
            for row in q.rows(KNOWN_SUBS, {"sids": sids}):
                k.subs[row[0]] = _Sub(*row)
        return k

    def refusal(self, ev: dict[str, Any], digest: str, p: Principal) -> dict[str, Any] | None:
        """Why EV is not stored (a duplicate is answered, not stored); None: store it."""
        eid = ev["id"]
        found = self.subs.get(ev["submission_id"])
        if found is not None and found.station_id != p.station_id:
            return _refused(eid, "submission.forbidden", "该受理记录属于其他站点")
        if eid in self.existing:
            if self.existing[eid] == (digest, p.station_id):
                return {"id": eid, "status": "duplicate"}
            return _refused(eid, "event.conflict", "同一事件 id 已有不同内容")
        if self.taken.get(ev["seq"], eid) != eid:
            return _refused(eid, "event.seq_conflict", "该序号已被另一事件占用")
        return None

    def submission(self, sid: str, p: Principal, now: dt.datetime) -> _Sub:
        found = self.subs.get(sid)
        if found is None:
            found = self.subs[sid] = _Sub.new(sid, p.station_id, now)
        return found

    def add(self, ev: dict[str, Any], digest: str, p: Principal) -> None:
        self.existing[ev["id"]] = (digest, p.station_id)
        self.taken[ev["seq"]] = ev["id"]


@dataclass
class _Sub:
    """A submission's row as the hot path reads and projects it (no ORM object)."""

    id: str
    station_id: int
    stage: str
    number: str | None
    items_json: str
    received_at: dt.datetime | None
    updated_at: dt.datetime
    listed_at: dt.datetime | None
    created_at: dt.datetime | None = None  # set only on a submission not yet stored

    @classmethod
    def new(cls, sid: str, station_id: int, now: dt.datetime) -> _Sub:
        return cls(sid, station_id, "draft", None, "[]", None, now, None, created_at=now)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "station_id": self.station_id,
            "created_at": self.created_at,
            **{c: getattr(self, c) for c in PROJECTED},
        }


def _write_subs(q: Sql, subs: list[_Sub]) -> None:
    """Store the batch's submissions: the new ones inserted, the others' projection updated."""
    q.many(INSERT_SUBS, [sub.row() for sub in subs if sub.created_at is not None])
    old = [
        {"b_id": sub.id, **{f"b_{x}": getattr(sub, x) for x in PROJECTED}}
        for sub in subs
        if sub.created_at is None
    ]
    q.many(UPDATE_SUB, old)
    for sub in subs:
        sub.created_at = None  # stored now: a retry of the batch re-reads it anyway


def _project(sub: _Sub, ev: Mapping[str, Any], now: dt.datetime) -> None:
    """The hub's light view of a submission's stage (the station's events are the truth)."""
    etype, payload = ev["type"], ev["payload"]
    stage = _STAGE_OF.get(etype)
    if stage and not (sub.stage in ("withdrawn", "delivered") and etype not in ("delivered",)):
        sub.stage = stage
    if etype in ("notified", "received") and isinstance(payload.get("number"), str):
        sub.number = payload["number"][:32]
        if sub.listed_at is None:  # a case now (received, or 一次告知): departments list it
            sub.listed_at = now
    if etype == "received":
        sub.items_json = json.dumps(payload.get("items", []), ensure_ascii=False)
        sub.received_at = dt.datetime.fromisoformat(ev["at"])
    sub.updated_at = now
