"""The hub's outbox of notices to applicants (短信告知): where they are produced, claimed by a
sender, finished, and read back by the stations.

Produced on the hub, in the transaction that records their cause, so none is lost:
- 受理 / 不予受理 / 办结: when a department's decision is stored (POST /v1/dept/decisions), or
  when a station reports a decision it recorded itself (an `item_decided` event);
- 领取: when the station's `delivered` event (送达 at the window or by express) arrives.
One row per (submission, kind, item) — per delivery event for 领取 — so a decision that reaches
the hub both ways, or a batch sent twice, queues one notice. The phone is the one the intake
recorded (its latest `applicant_set` event); phone and text are sealed like the events.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Connection, CursorResult, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sync.hub.db import Principal, StoreBase
from sync.hub.models import HubEvent, HubNotice, HubNoticeSeq, HubStation, HubSubmission
from sync.hub.notify.base import OutgoingNotice
from sync.hub.notify.wake import mark_queued
from sync.protocol import NOTICE_STATUSES

log = logging.getLogger("intake.hub.notify")

STATUSES = NOTICE_STATUSES
OUTBOX = ("pending", "sending", "retrying", "failed")  # bounded: the rest only ever grow
_SENT = [0]  # notices this process sent (/metrics: intake_hub_notices_sent_total)
_SENT_LOCK = threading.Lock()


def count_sent() -> None:
    with _SENT_LOCK:
        _SENT[0] += 1


def sent_count() -> int:
    with _SENT_LOCK:
        return _SENT[0]


_DUE = ("pending", "retrying")
_TEXTS = {
    "accepted": "您的“一件事一次办”申请（编号{number}）已由{department}受理，办件计时开始。",
    "rejected": (
        "您的“一件事一次办”申请（编号{number}）经{department}审查不予受理，理由：{reason}。"
        "不予受理决定书请到{centre}领取。"
    ),
    "completed": (
        "您的“一件事一次办”申请（编号{number}）{department}已办结，"
        "请按您选择的领取方式领取办理结果（窗口领取请携带收件回执到{centre}）。"
    ),
    "collected": "您的“一件事一次办”申请（编号{number}）办理结果已于{time}在{centre}领取。",
    "collected_express": (
        "您的“一件事一次办”申请（编号{number}）办理结果已于{time}寄出，快递单号{tracking}。"
    ),
}


class NoticedSubmission(Protocol):
    """What queueing a notice reads of a submission: the ORM row or the ingest's plain row."""

    @property
    def id(self) -> str: ...
    @property
    def station_id(self) -> int: ...
    @property
    def number(self) -> str | None: ...


@dataclass(frozen=True)
class Cause:
    """Why a notice goes out: KIND for ITEM (empty for 领取), unique by KEY within the intake."""

    kind: str
    key: str
    item_id: str = ""
    department: str = ""
    reason: str = ""
    at: dt.datetime | None = None
    method: str = ""
    tracking: str = ""


def cause_of_event(ev: Mapping[str, Any]) -> Cause | None:
    """The notice a station's event asks for: a decision it recorded itself (the department told
    the window on paper), or 送达 (领取); None for any other event."""
    payload = ev.get("payload")
    if not isinstance(payload, dict):
        return None
    try:
        at = dt.datetime.fromisoformat(str(ev.get("at", "")).replace("Z", "+00:00"))
    except ValueError:
        at = None
    if ev.get("type") == "item_decided":
        item, decision = payload.get("item"), payload.get("decision")
        if isinstance(item, str) and item and decision in ("accepted", "rejected", "completed"):
            reason = payload.get("reason")
            return Cause(
                str(decision), item, item, reason=reason if isinstance(reason, str) else "", at=at
            )
    elif ev.get("type") == "delivered":
        method, tracking = payload.get("method"), payload.get("tracking_number")
        return Cause(
            "collected",
            str(ev.get("id", "")),
            at=at,
            method=method if isinstance(method, str) else "",
            tracking=tracking[:40] if isinstance(tracking, str) else "",
        )
    return None


def notice_text(kind: str, params: dict[str, str]) -> str:
    template = _TEXTS[
        "collected_express" if kind == "collected" and params.get("tracking") else kind
    ]
    return template.format(**params)


class NoticeOps(StoreBase):
    # ---------------------------------------------------------------- producing

    def scope_of_submission(self, submission_id: object, number: object) -> str | None:
        """The county scope sealing a submission's data (None: no such submission), read before
        a transaction that seals (making the data key takes a write of its own)."""
        from sync.hub.crypto import scope_of

        with self.sessions() as s:
            stmt = select(HubStation.county).join(
                HubSubmission, HubSubmission.station_id == HubStation.id
            )
            if isinstance(submission_id, str) and submission_id:
                stmt = stmt.where(HubSubmission.id == submission_id)
            elif isinstance(number, str) and number:
                stmt = stmt.where(HubSubmission.number == number)
            else:
                return None
            row = s.execute(stmt.limit(1)).first()
        return scope_of(row[0]) if row is not None else None

    def queue_notice(
        self, s: Session | Connection, sub: NoticedSubmission, scope: str, cause: Cause
    ) -> bool:
        """Queue the notice CAUSE asks for, in the caller's transaction (sealer prepared for
        SCOPE); False when it was queued before."""
        now = self.now()
        phone = self._phone_of(s, sub.id)
        centre = s.execute(
            select(HubStation.name).where(HubStation.id == sub.station_id)
        ).scalar_one_or_none()
        at = (cause.at or now).astimezone(dt.timezone(dt.timedelta(hours=8)))
        params = {
            "number": sub.number or "",
            "department": cause.department or "相关部门",
            "reason": cause.reason.strip()[:200],
            "centre": centre or "受理窗口",
            "time": at.strftime("%m月%d日%H:%M"),
            "tracking": cause.tracking if cause.method == "express" else "",
        }
        content = {"text": notice_text(cause.kind, params), "params": params}
        nid = str(uuid.uuid4())
        row = {
            "id": nid,
            "station_id": sub.station_id,
            "submission_id": sub.id,
            "kind": cause.kind,
            "item_id": cause.item_id[:64],
            "dedupe_key": f"{sub.id}|{cause.kind}|{cause.key}"[:200],
            "phone": self.sealer.seal_text(scope, phone, nid + "|phone"),
            "content": self.sealer.seal_text(
                scope, json.dumps(content, ensure_ascii=False), nid + "|content"
            ),
            "status": "pending" if phone else "no_phone",
            "attempts": 0,
            "next_at": now,
            "last_error": "" if phone else "no_phone",
            "provider": "",
            "provider_ref": "",
            "created_at": now,
        }
        # The cursor first (a queued-before notice leaves a gap, which readers skip), so the row
        # is written once: updating a row this transaction inserted re-checks its foreign keys.
        row["seq"] = self._bump(s, sub.station_id)
        ins = (sqlite_insert if self.sqlite else pg_insert)(HubNotice)
        done = s.execute(ins.values(row).on_conflict_do_nothing(index_elements=["dedupe_key"]))
        if not cast(CursorResult[Any], done).rowcount:
            return False
        mark_queued(s)  # this process's sender wakes once the transaction is over
        log.info("notice %s queued for %s (%s)", cause.kind, sub.number, row["status"])
        return True

    def _phone_of(self, s: Session | Connection, sid: str) -> str:
        found = s.execute(
            select(HubEvent.id, HubEvent.payload)
            .where(HubEvent.submission_id == sid, HubEvent.type == "applicant_set")
            .order_by(HubEvent.seq.desc())
            .limit(1)
        ).first()
        if found is None:
            return ""
        phone = self.payload_of(found[0], found[1]).get("phone")
        return phone.strip() if isinstance(phone, str) else ""

    def _bump(self, s: Session | Connection, station_id: int) -> int:
        ins = (sqlite_insert if self.sqlite else pg_insert)(HubNoticeSeq)
        s.execute(ins.values(station_id=station_id, seq=0).on_conflict_do_nothing())
        seq = s.execute(
            update(HubNoticeSeq)
            .where(HubNoticeSeq.station_id == station_id)
            .values(seq=HubNoticeSeq.seq + 1)
            .returning(HubNoticeSeq.seq)
        ).scalar_one()
        return int(seq)

    # ---------------------------------------------------------------- sending

    def claim_notices(
        self, limit: int = 20, lease: float = 120.0
    ) -> list[tuple[str, int, OutgoingNotice]]:
        """Claim up to LIMIT notices that are due (or whose sender vanished: lease over) for
        this sender; several hub processes never claim the same row (SKIP LOCKED)."""
        now = self.now()
        claim = str(uuid.uuid4())
        due = or_(
            and_(HubNotice.status.in_(_DUE), HubNotice.next_at <= now),
            and_(HubNotice.status == "sending", HubNotice.claimed_until < now),
        )
        with self.sessions() as s:  # most polls find nothing: no write lock for them
            if s.scalar(select(HubNotice.id).where(due).limit(1)) is None:
                return []
        with self.write() as s:
            rows = s.scalars(
                select(HubNotice)
                .where(due)
                .order_by(HubNotice.next_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for r in rows:
                r.status, r.claim = "sending", claim
                r.claimed_until = now + dt.timedelta(seconds=lease)
                r.attempts += 1
            taken = [(r.id, r.kind, r.phone, r.content, r.attempts) for r in rows]
        out = []
        for nid, kind, phone, content, attempts in taken:
            opened = json.loads(self.sealer.open_text(content, nid + "|content"))
            out.append(
                (
                    claim,
                    attempts,
                    OutgoingNotice(
                        id=nid,
                        kind=kind,
                        number=opened["params"].get("number", ""),
                        phone=self.sealer.open_text(phone, nid + "|phone"),
                        text=opened["text"],
                        params=opened["params"],
                    ),
                )
            )
        return out

    def finish_notice(
        self,
        notice_id: str,
        claim: str,
        *,
        provider: str,
        ref: str = "",
        error: str = "",
        retry_in: float | None = None,
    ) -> str | None:
        """Record a send's outcome: sent (REF), or ERROR retried in RETRY_IN seconds (None:
        failed for good, kept and listed). Returns the new status; None when the claim was lost
        (its lease ran out and another sender took the notice)."""
        now = self.now()
        values: dict[str, Any] = {"claim": None, "claimed_until": None, "provider": provider[:16]}
        if not error:
            values.update(status="sent", sent_at=now, provider_ref=ref[:64], last_error="")
        elif retry_in is None:
            values.update(status="failed", last_error=error[:64])
        else:
            values.update(status="retrying", last_error=error[:64])
            values["next_at"] = now + dt.timedelta(seconds=retry_in)
        with self.write() as s:
            found = s.execute(
                select(HubNotice.station_id, HubNotice.claim, HubNotice.status)
                .where(HubNotice.id == notice_id)
                .with_for_update()
            ).first()
            if found is None or found.claim != claim or found.status != "sending":
                return None
            # One UPDATE of the row, after the cursor: a second update of a row this transaction
            # already changed re-checks its foreign keys (a lock on the station row, which a
            # department's decision holds while it waits for the cursor: a deadlock).
            values["seq"] = self._bump(s, found.station_id)
            s.execute(update(HubNotice).where(HubNotice.id == notice_id).values(**values))
        if values["status"] == "sent":
            count_sent()
        return str(values["status"])

    def requeue_failed(self) -> int:
        """Send the failed notices again (the gateway or its configuration was fixed): they go
        back to pending, keeping their attempts. Returns how many."""
        now = self.now()
        with self.write() as s:
            rows = s.execute(
                select(HubNotice.id, HubNotice.station_id)
                .where(HubNotice.status == "failed")
                .with_for_update()
            ).all()
            for nid, station_id in rows:
                seq = self._bump(s, station_id)
                s.execute(
                    update(HubNotice)
                    .where(HubNotice.id == nid)
                    .values(status="pending", next_at=now, seq=seq)
                )
        if rows:
            log.info("%d failed notices queued again", len(rows))
        return len(rows)

    # ---------------------------------------------------------------- reading

    def station_notices(self, p: Principal, after: int, limit: int) -> dict[str, Any]:
        """This station's notices changed after cursor AFTER: what was sent and when (never the
        phone or the text, which the station holds itself)."""
        limit = max(1, min(limit, 1000))
        with self.sessions() as s:
            rows = s.execute(
                select(HubNotice, HubSubmission.number)
                .join(HubSubmission, HubSubmission.id == HubNotice.submission_id)
                .where(HubNotice.station_id == p.station_id, HubNotice.seq > after)
                .order_by(HubNotice.seq)
                .limit(limit)
            ).all()
        notices = [notice_view(n, number) for n, number in rows]
        return {
            "notices": notices,
            "next_cursor": notices[-1]["cursor"] if notices else after,
            "more": len(notices) == limit,
        }

    def notices_of(
        self,
        submission_id: str | None = None,
        *,
        status: str | None = None,
        number: str | None = None,
        last: int | None = None,
    ) -> list[dict[str, Any]]:
        """The notices (of one submission, in one status, of one intake number), oldest first;
        LAST: only the newest that many (a province's outbox holds millions: filtered and
        limited in the database, never loaded whole)."""
        with self.sessions() as s:
            stmt = select(HubNotice, HubSubmission.number).join(
                HubSubmission, HubSubmission.id == HubNotice.submission_id
            )
            if submission_id:
                stmt = stmt.where(HubNotice.submission_id == submission_id)
            if status:
                stmt = stmt.where(HubNotice.status == status)
            if number:
                stmt = stmt.where(HubSubmission.number == number)
            if last is None:
                rows = s.execute(stmt.order_by(HubNotice.created_at, HubNotice.id)).all()
            else:
                newest = stmt.order_by(HubNotice.created_at.desc(), HubNotice.id.desc())
                rows = list(reversed(s.execute(newest.limit(last)).all()))
        return [notice_view(n, number) for n, number in rows]

    def notice_counts(self, outbox_only: bool = False) -> dict[str, int]:
        """Notices by status. OUTBOX_ONLY: the statuses still in the outbox or needing a person
        (pending, sending, retrying, failed), read through the status index; counting sent and
        no_phone reads every notice ever made (seconds at a province's year: not per scrape)."""
        statuses = OUTBOX if outbox_only else STATUSES
        with self.sessions() as s:
            stmt = select(HubNotice.status, func.count()).group_by(HubNotice.status)
            if outbox_only:
                stmt = stmt.where(HubNotice.status.in_(OUTBOX))
            found = dict(s.execute(stmt).all())
        return {st: int(found.get(st, 0)) for st in statuses}


def _wire(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if t is not None else None


def notice_view(n: HubNotice, number: str | None) -> dict[str, Any]:
    return {
        "cursor": n.seq,
        "id": n.id,
        "submission_id": n.submission_id,
        "number": number,
        "kind": n.kind,
        "item_id": n.item_id,
        "status": n.status,
        "attempts": n.attempts,
        "last_error": n.last_error,
        "provider": n.provider,
        "created_at": _wire(n.created_at),
        "sent_at": _wire(n.sent_at),
    }
