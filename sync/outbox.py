"""The outbox in the local store: a cursor over events.station_seq plus the items that failed.

Every event whose station_seq is above `acked_seq` is waiting. The cursor only moves forward,
in one transaction with the bookkeeping of the batch that moved it, and only over events the hub
acknowledged (stored or already had) or that were parked for a person (a `needs_person` row in
sync_items). Nothing is written when an event is appended, so IntakeService needs no hook, and a
crash at any point leaves the cursor at or behind what the hub holds: the hub's idempotent
writes make a re-send harmless.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import at_text
from app.intake_base import chunks
from local_db.engine import write_tx
from local_db.models import Attachment, AuditEntry, Event, Submission, SyncItem, SyncState
from sync.protocol import ts


@dataclass(frozen=True)
class PendingEvent:
    seq: int
    id: str
    submission_id: str
    type: str
    payload: str  # JSON text as stored
    clerk_id: int | None
    at: dt.datetime

    def wire(self) -> dict[str, Any]:
        """The v1 wire form; raises ValueError when the stored payload is not a JSON object."""
        payload = json.loads(self.payload)
        if not isinstance(payload, dict):
            raise ValueError("payload is not an object")
        return {
            "id": self.id,
            "seq": self.seq,
            "submission_id": self.submission_id,
            "type": self.type,
            "payload": payload,
            "clerk_id": self.clerk_id,
            "at": ts(self.at),
        }

    @property
    def page(self) -> tuple[str, int] | None:
        if self.type != "page_attached":
            return None
        try:
            p = json.loads(self.payload)
            return str(p["sha256"]), int(p["size"])
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Failure:
    """What to record about a failed item."""

    kind: str
    key: str
    code: str
    message: str
    fix: str
    submission_id: str | None = None
    seq: int | None = None


class Outbox:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # ------------------------------------------------------------------ key/value state

    def get(self, key: str, default: str | None = None) -> str | None:
        with self.sessions() as s:
            row = s.get(SyncState, key)
            return row.value if row else default

    def get_int(self, key: str, default: int = 0) -> int:
        value = self.get(key)
        return int(value) if value is not None else default

    def set(self, **values: object) -> None:
        with write_tx(self.sessions) as s:
            _set(s, values)

    def store_id(self) -> str:
        sid = self.get("store_id")
        if sid is None:
            with write_tx(self.sessions) as s:
                row = s.get(SyncState, "store_id")
                if row is None:
                    row = SyncState(key="store_id", value=str(uuid.uuid4()))
                    s.add(row)
                sid = row.value
        return sid

    def cursor(self) -> int:
        return self.get_int("acked_seq")

    # ------------------------------------------------------------------ events

    def pending(self, after: int, limit: int) -> list[PendingEvent]:
        with self.sessions() as s:
            rows = s.execute(
                select(
                    Event.station_seq,
                    Event.id,
                    Event.submission_id,
                    Event.type,
                    Event.payload,
                    Event.clerk_id,
                    Event.at,
                )
                .where(Event.station_seq > after)
                .order_by(Event.station_seq)
                .limit(limit)
            ).all()
        return [PendingEvent(*r) for r in rows]

    def events_by_id(self, ids: Sequence[str]) -> list[PendingEvent]:
        if not ids:
            return []
        with self.sessions() as s:
            rows = s.execute(
                select(
                    Event.station_seq,
                    Event.id,
                    Event.submission_id,
                    Event.type,
                    Event.payload,
                    Event.clerk_id,
                    Event.at,
                )
                .where(Event.id.in_(list(ids)))
                .order_by(Event.station_seq)
            ).all()
        return [PendingEvent(*r) for r in rows]

    def max_seq(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.max(Event.station_seq))) or 0)

    def waiting(self, after: int) -> tuple[int, int, dt.datetime | None]:
        """(events, submissions, oldest event time) above the cursor."""
        with self.sessions() as s:
            n, subs, oldest = s.execute(
                select(
                    func.count(), func.count(func.distinct(Event.submission_id)), func.min(Event.at)
                ).where(Event.station_seq > after)
            ).one()
        if isinstance(oldest, str):
            oldest = dt.datetime.fromisoformat(oldest)
        return int(n), int(subs), oldest

    def pages_of(self, submission_ids: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
        """Every page of these submissions (removed ones too: their events still name them)."""
        out: dict[str, list[tuple[str, int]]] = {}
        with self.sessions() as s:
            for part in chunks(list(submission_ids), 500):
                for sid, sha, size in s.execute(
                    select(Attachment.submission_id, Attachment.sha256, Attachment.size)
                    .where(Attachment.submission_id.in_(part))
                    .order_by(Attachment.submission_id, Attachment.material_id, Attachment.position)
                ):
                    pages = out.setdefault(sid, [])
                    if (sha, size) not in pages:
                        pages.append((sha, size))
        return out

    def pushed_addresses(self, addresses: Iterable[str]) -> frozenset[str]:
        """Those of ADDRESSES (pages' keyed addresses) that are a page of an intake marked pushed:
        the hub holds them (a page reused from an earlier intake, one person one file)."""
        with self.sessions() as s:
            return frozenset(
                address
                for part in chunks(list(dict.fromkeys(addresses)), 500)
                for address in s.scalars(
                    select(Attachment.address)
                    .join(Submission, Submission.id == Attachment.submission_id)
                    .where(Attachment.address.in_(part), Submission.pushed_at.is_not(None))
                    .distinct()
                )
            )

    # ------------------------------------------------------------------ audit log (cursor: sync_state audit_acked_id)

    def audit_after(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Audit entries above id AFTER, in order, in the wire form of POST /v1/audit."""
        with self.sessions() as s:
            rows = s.execute(
                select(
                    AuditEntry.id,
                    AuditEntry.at,
                    AuditEntry.staff_id,
                    AuditEntry.action,
                    AuditEntry.target,
                    AuditEntry.detail,
                    AuditEntry.prev_hash,
                    AuditEntry.hash,
                )
                .where(AuditEntry.id > after)
                .order_by(AuditEntry.id)
                .limit(limit)
            ).all()
        return [
            {
                "id": r.id,
                "at": at_text(r.at),
                "staff_id": r.staff_id,
                "action": r.action,
                "target": r.target,
                "detail": r.detail,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            for r in rows
        ]

    def audit_max_id(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.max(AuditEntry.id))) or 0)

    # ------------------------------------------------------------------ failures

    def items(self, kind: str | None = None, states: Sequence[str] | None = None) -> list[SyncItem]:
        with self.sessions() as s:
            stmt = select(SyncItem).order_by(SyncItem.first_failed_at, SyncItem.id)
            if kind:
                stmt = stmt.where(SyncItem.kind == kind)
            if states:
                stmt = stmt.where(SyncItem.state.in_(list(states)))
            return list(s.scalars(stmt))

    def first_unsent(self, gaps: Sequence[tuple[int, int]], parked: frozenset[int]) -> int | None:
        """The lowest local sequence number inside one of GAPS (inclusive runs) that is not
        PARKED: an event below the cursor that the hub does not hold."""
        with self.sessions() as s:
            for first, last in gaps:
                seqs = s.scalars(
                    select(Event.station_seq)
                    .where(Event.station_seq >= first, Event.station_seq <= last)
                    .order_by(Event.station_seq)
                    .limit(len(parked) + 1)
                )
                for seq in seqs:
                    if seq not in parked:
                        return int(seq)
        return None

    def rewind(self, cursor: int) -> None:
        """Move the cursor back (the hub was restored from a backup older than what it had
        acknowledged): the events above it are sent again; the hub stores each once."""
        with write_tx(self.sessions) as s:
            row = s.get(SyncState, "acked_seq")
            if row is not None and int(row.value) > cursor:
                row.value = str(cursor)

    def parked_events_after(self, after: int) -> frozenset[int]:
        with self.sessions() as s:
            return frozenset(
                s.scalars(
                    select(SyncItem.station_seq).where(
                        SyncItem.kind == "event",
                        SyncItem.state == "needs_person",
                        SyncItem.station_seq > after,
                    )
                )
            )

    def parked_keys(self, kind: str) -> frozenset[str]:
        with self.sessions() as s:
            return frozenset(
                s.scalars(
                    select(SyncItem.key).where(
                        SyncItem.kind == kind, SyncItem.state == "needs_person"
                    )
                )
            )

    def count_needs_person(self) -> int:
        with self.sessions() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(SyncItem)
                    .where(SyncItem.state == "needs_person")
                )
                or 0
            )

    def record_failure(
        self,
        f: Failure,
        now: dt.datetime,
        max_failures: int,
        next_retry: dt.datetime | None,
        *,
        park: bool = False,
    ) -> SyncItem:
        """Count a failure of one item; the same kind of failure MAX_FAILURES times (or PARK)
        moves it to needs_person. A different kind of failure starts the count again."""
        with write_tx(self.sessions) as s:
            return _record(s, f, now, max_failures, next_retry, park)

    def commit_batch(
        self,
        *,
        cursor: int | None,
        parked: Sequence[Failure] = (),
        resolved: Sequence[tuple[str, str]] = (),
        now: dt.datetime,
        **state: object,
    ) -> None:
        """Advance the cursor, park items and forget resolved ones, in one transaction."""
        with write_tx(self.sessions) as s:
            if cursor is not None:
                row = s.get(SyncState, "acked_seq")
                if row is None:
                    s.add(SyncState(key="acked_seq", value=str(cursor)))
                elif int(row.value) < cursor:
                    row.value = str(cursor)
            for f in parked:
                _record(s, f, now, 1, None, True)
            by_kind: dict[str, list[str]] = {}
            for kind, key in resolved:
                by_kind.setdefault(kind, []).append(key)
            for kind, keys in by_kind.items():
                if not s.scalar(
                    select(func.count()).select_from(SyncItem).where(SyncItem.kind == kind)
                ):
                    continue  # the usual case: nothing of this kind ever failed
                for i in range(0, len(keys), 500):
                    s.execute(
                        delete(SyncItem).where(
                            SyncItem.kind == kind, SyncItem.key.in_(keys[i : i + 500])
                        )
                    )
            _set(s, state)

    def resolve(self, kind: str, key: str) -> None:
        with write_tx(self.sessions) as s:
            s.execute(delete(SyncItem).where(SyncItem.kind == kind, SyncItem.key == key))

    def request_retry(self, item_id: int | None = None) -> int:
        """A person asks to try parked items again (one, or all with None)."""
        with write_tx(self.sessions) as s:
            stmt = select(SyncItem).where(SyncItem.state == "needs_person")
            if item_id is not None:
                stmt = stmt.where(SyncItem.id == item_id)
            n = 0
            for item in s.scalars(stmt):
                item.state, item.attempts, item.next_retry_at = "retry", 0, None
                n += 1
            return n


def _set(s: Session, values: dict[str, object]) -> None:
    for key, value in values.items():
        row = s.get(SyncState, key)
        if value is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(SyncState(key=key, value=str(value)))
        else:
            row.value = str(value)


def _record(
    s: Session,
    f: Failure,
    now: dt.datetime,
    max_failures: int,
    next_retry: dt.datetime | None,
    park: bool,
) -> SyncItem:
    item = s.scalars(select(SyncItem).where(SyncItem.kind == f.kind, SyncItem.key == f.key)).first()
    if item is None:
        item = SyncItem(
            kind=f.kind,
            key=f.key,
            submission_id=f.submission_id,
            station_seq=f.seq,
            state="failing",
            attempts=0,
            error_code=f.code,
            first_failed_at=now,
        )
        s.add(item)
    if item.error_code != f.code:
        item.attempts = 0
    item.attempts = (item.attempts or 0) + 1
    item.error_code, item.error_message, item.fix = f.code, f.message, f.fix
    item.last_failed_at = now
    if park or item.attempts >= max_failures:
        item.state, item.next_retry_at = "needs_person", None
    else:
        item.state, item.next_retry_at = "failing", next_retry
    s.flush()
    return item
