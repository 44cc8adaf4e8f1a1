"""日结: a supervisor closes a day's ledger.

The close seals the day: a hash over every event of the day's submissions (in per-station order),
chained to the previous close's seal. Events appended afterwards to those submissions are
recorded as amendments of the closed day (the intake service does this in the same transaction
as the event), so nothing about a closed day changes silently; a row edited behind the program's
back breaks the seal and `verify` says which day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app import audit
from app.audit_anchor import AuditAnchor
from app.clock import Clock, SystemClock, local_day
from app.errors import AuthError, DomainError, StoreError
from app.staff import StaffService
from app.views import StaffView
from local_db.engine import write_tx
from local_db.models import Amendment, DayClose, Event, Submission

GENESIS = "0" * 64


@dataclass(frozen=True)
class DayCloseView:
    day: dt.date
    closed_at: dt.datetime
    closed_by: int
    submissions: int
    events: int
    seal: str
    prev_seal: str
    report_sha256: str


@dataclass(frozen=True)
class SealBasis:
    """What a day's seal is computed from, before the report exists: the report prints it, so
    anyone holding the PDF can recompute the seal (`seal_for` with the PDF's own SHA-256)."""

    day: dt.date
    prev_seal: str
    records_hash: str
    submissions: int
    events: int

    def seal_for(self, report_sha256: str) -> str:
        return _seal(self.prev_seal, self.day.isoformat(), self.records_hash, self.submissions, self.events,
                     report_sha256)


SEAL_FORMULA = "SHA-256(上一日封存值|日期|记录摘要|受理件数|事件数|本报告文件的SHA-256)"


@dataclass(frozen=True)
class AmendmentView:
    submission_id: str
    event_type: str
    at: dt.datetime
    staff_id: int | None


@dataclass(frozen=True)
class SealProblem:
    day: dt.date
    code: str  # dayclose.records_changed | dayclose.chain_broken
    message: str


def _records_hash(s: Session, day: str, last_seq: int) -> tuple[str, int, int]:
    h = hashlib.sha256()
    n_events = 0
    rows = s.execute(
        select(Event.id, Event.station_seq, Event.submission_id, Event.type, Event.payload, Event.at, Event.clerk_id)
        .join(Submission, Submission.id == Event.submission_id)
        .where(Submission.local_date == day, Event.station_seq <= last_seq)
        .order_by(Event.station_seq)
    )
    for eid, seq, sid, etype, payload, at, clerk in rows:
        digest = hashlib.sha256(payload.encode()).hexdigest()
        h.update(f"{eid}|{seq}|{sid}|{etype}|{digest}|{at.isoformat()}|{clerk}\n".encode())
        n_events += 1
    n_subs = s.scalar(select(func.count()).select_from(Submission).where(Submission.local_date == day)) or 0
    return h.hexdigest(), n_subs, n_events


def _seal(prev: str, day: str, records: str, n_subs: int, n_events: int, report: str) -> str:
    # The printed ledger report's SHA-256 is sealed too: a swapped PDF breaks the chain.
    return hashlib.sha256(f"{prev}|{day}|{records}|{n_subs}|{n_events}|{report}".encode()).hexdigest()


def _basis(s: Session, day: dt.date) -> tuple[SealBasis, int]:
    key = day.isoformat()
    last_seq = s.scalar(select(func.max(Event.station_seq))) or 0
    records, n_subs, n_events = _records_hash(s, key, last_seq)
    prev = s.scalars(
        select(DayClose.seal).where(DayClose.local_date < key).order_by(DayClose.local_date.desc()).limit(1)
    ).first() or GENESIS
    return SealBasis(day, prev, records, n_subs, n_events), last_seq


def _view(c: DayClose) -> DayCloseView:
    return DayCloseView(
        dt.date.fromisoformat(c.local_date), c.closed_at, c.closed_by, c.submissions, c.events, c.seal,
        c.prev_seal, c.report_sha256,
    )


class DayCloseService:
    def __init__(self, sessions: sessionmaker[Session], staff: StaffService, clock: Clock | None = None,
                 anchor: AuditAnchor | None = None) -> None:
        self._sessions = sessions
        self._staff = staff
        self._clock = clock or SystemClock()
        self._anchor = anchor  # signs the audit log's head after each close

    def closed(self, day: dt.date) -> DayCloseView | None:
        # Not gated: whether a day is sealed (counts and seal, no intake) is no supervisor secret.
        with self._sessions() as s:
            c = s.get(DayClose, day.isoformat())
            return _view(c) if c else None

    def check_close(self, actor: StaffView, password: str, day: dt.date) -> None:
        """What `close` checks before sealing, for a caller that builds the report first:
        supervisors only, the password asked again, a past or current day not yet closed."""
        self._staff.authorize(actor, "day.close")
        self._staff.reauthenticate(actor, password)
        if day > local_day(self._clock.now()):
            raise DomainError("dayclose.future", "不能对尚未到来的日期进行日结。")
        if self.closed(day) is not None:
            raise _already_closed(day)

    def prepare(self, actor: StaffView, password: str, day: dt.date) -> SealBasis:
        """`check_close`, then what the seal will be computed from, for the report to print."""
        self.check_close(actor, password, day)
        with self._sessions() as s:
            basis, _last_seq = _basis(s, day)
        return basis

    def close(self, actor: StaffView, password: str, day: dt.date, report_sha256: str = "",
              basis: SealBasis | None = None) -> DayCloseView:
        """Seal DAY. Supervisors only; the password is asked again. With BASIS (from `prepare`,
        printed in the report) the day must not have changed since, or the report would lie."""
        self.check_close(actor, password, day)
        now = self._clock.now()
        key = day.isoformat()
        with write_tx(self._sessions) as s:
            if s.get(DayClose, key) is not None:  # closed meanwhile
                raise _already_closed(day)
            current, last_seq = _basis(s, day)
            if basis is not None and basis != current:
                raise DomainError(
                    "dayclose.changed_meanwhile",
                    "生成日结报告期间当日受理记录有新的变化，报告已不准确。请重新日结。",
                    day=key,
                )
            prev, records, n_subs, n_events = current.prev_seal, current.records_hash, current.submissions, current.events
            row = DayClose(
                local_date=key, closed_at=now, closed_by=actor.id, submissions=n_subs, events=n_events,
                last_event_seq=last_seq, records_hash=records, prev_seal=prev,
                seal=_seal(prev, key, records, n_subs, n_events, report_sha256), report_sha256=report_sha256,
            )
            s.add(row)
            s.info.setdefault("closed_days", {})[key] = True
            audit.append(s, at=now, staff_id=actor.id, action="day.close", target=key, detail=row.seal[:16])
            view = _view(row)
        if self._anchor is not None:  # after the commit: the checkpoint signs what is stored
            self._anchor.checkpoint("day_close")
        return view

    def amendments(self, actor: StaffView, day: dt.date) -> list[AmendmentView]:
        self._staff.authorize(actor, "day.amendments")
        with self._sessions() as s:
            rows = s.scalars(select(Amendment).where(Amendment.local_date == day.isoformat()).order_by(Amendment.id))
            return [AmendmentView(a.submission_id, a.event_type, a.at, a.staff_id) for a in rows]

    def verify(self, actor: StaffView) -> list[SealProblem]:
        """Recompute every closed day's seal and the chain between them."""
        self._staff.authorize(actor, "day.verify")
        problems: list[SealProblem] = []
        prev = GENESIS
        with self._sessions() as s:
            for c in s.scalars(select(DayClose).order_by(DayClose.local_date)):
                day = dt.date.fromisoformat(c.local_date)
                try:
                    records, n_subs, n_events = _records_hash(s, c.local_date, c.last_event_seq)
                except StoreError:  # an encrypted payload that no longer authenticates
                    records, n_subs, n_events = "", -1, -1
                if (records, n_events) != (c.records_hash, c.events) or n_subs != c.submissions:
                    problems.append(SealProblem(
                        day, "dayclose.records_changed",
                        f"{day:%Y年%m月%d日}已日结的记录被改动（与日结时的封存值不符）。",
                    ))
                if c.prev_seal != prev or c.seal != _seal(c.prev_seal, c.local_date, c.records_hash, c.submissions, c.events, c.report_sha256):
                    problems.append(SealProblem(day, "dayclose.chain_broken", f"{day:%Y年%m月%d日}的日结封存链被改动。"))
                prev = c.seal
        return problems


def _already_closed(day: dt.date) -> DomainError:
    return DomainError("dayclose.already_closed", f"{day:%Y年%m月%d日}已日结，不能重复日结。")


def record_amendment(s: Session, submission: Submission, event_id: str, event_type: str, at: dt.datetime,
                     staff_id: int | None) -> None:
    """Called by the intake service for every event, inside its transaction."""
    known: dict[str, bool] = s.info.setdefault("closed_days", {})
    if submission.local_date not in known:
        known[submission.local_date] = s.execute(
            select(DayClose.local_date).where(DayClose.local_date == submission.local_date)
        ).first() is not None
    if known[submission.local_date]:
        s.execute(insert(Amendment).values(local_date=submission.local_date, submission_id=submission.id,
                                           event_id=event_id, event_type=event_type, at=at, staff_id=staff_id))


__all__ = ["DayCloseService", "DayCloseView", "AmendmentView", "SealProblem", "record_amendment", "AuthError"]
