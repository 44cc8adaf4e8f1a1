"""日结: a supervisor closes a day's ledger.

The close seals the day: a hash over every event of the day's submissions (in per-station order),
chained to the previous close's seal. Only intakes are sealed (app.state.INTAKE_STAGES: a
submission that reached a verdict), the same definition the figures and the ledger count; a
draft is nobody's intake, and one finished after its day was closed is booked on the next
working day (`business_day`), so a closed day never gains an intake. Events appended afterwards to those submissions are
recorded as amendments of the closed day (the intake service does this in the same transaction
as the event), so nothing about a closed day changes silently; a row edited behind the program's
back breaks the seal and `verify` says which day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app import audit
from app.audit_anchor import AuditAnchor
from app.catalog_load import CatalogProvider
from app.checklist import line_name
from app.clock import Clock, SystemClock, add_working_days, local_day
from app.errors import AuthError
from app.staff import StaffService
from app.state import NOT_INTAKE
from app.views import StaffView
from local_db.engine import write_tx
from local_db.errors import DomainError, StoreError
from local_db.models import Amendment, DayClose, Event, Staff, Submission

GENESIS = "0" * 64
# What a seal covers. 1: every submission of the day, drafts included (seals made before
# 2026-12); 2: the day's intakes only. A close keeps its definition, so old seals still verify.
SEAL_DEFINITION = 2


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
        return _seal(
            self.prev_seal,
            self.day.isoformat(),
            self.records_hash,
            self.submissions,
            self.events,
            report_sha256,
        )


SEAL_FORMULA = "SHA-256(上一日封存值|日期|记录摘要|受理件数|事件数|本报告文件的SHA-256)"


@dataclass(frozen=True)
class AmendmentView:
    submission_id: str
    event_type: str
    at: dt.datetime
    staff_id: int | None
    number: str = ""
    staff_name: str = ""
    # What the change was about, from the event: item or material names (catalog names), and
    # the decision (item_decided), the document kind (document_printed) or the delivery method.
    subjects: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class SealProblem:
    day: dt.date
    code: str  # dayclose.records_changed | dayclose.chain_broken
    message: str


def _records_hash(
    s: Session, day: str, last_seq: int, definition: int | None = None
) -> tuple[str, int, int]:
    if definition is None:
        definition = SEAL_DEFINITION
    h = hashlib.sha256()
    n_events = 0
    of_day = [Submission.local_date == day]
    if definition >= 2:
        of_day.append(Submission.state.not_in(NOT_INTAKE))
    rows = s.execute(
        select(
            Event.id,
            Event.station_seq,
            Event.submission_id,
            Event.type,
            Event.payload,
            Event.at,
            Event.clerk_id,
        )
        .join(Submission, Submission.id == Event.submission_id)
        .where(*of_day, Event.station_seq <= last_seq)
        .order_by(Event.station_seq)
    )
    for eid, seq, sid, etype, payload, at, clerk in rows:
        digest = hashlib.sha256(payload.encode()).hexdigest()
        h.update(f"{eid}|{seq}|{sid}|{etype}|{digest}|{at.isoformat()}|{clerk}\n".encode())
        n_events += 1
    n_subs = s.scalar(select(func.count()).select_from(Submission).where(*of_day)) or 0
    return h.hexdigest(), n_subs, n_events


def _seal(prev: str, day: str, records: str, n_subs: int, n_events: int, report: str) -> str:
    # The printed ledger report's SHA-256 is sealed too: a swapped PDF breaks the chain.
    return hashlib.sha256(
        f"{prev}|{day}|{records}|{n_subs}|{n_events}|{report}".encode()
    ).hexdigest()


def _basis(s: Session, day: dt.date) -> tuple[SealBasis, int]:
    key = day.isoformat()
    last_seq = s.scalar(select(func.max(Event.station_seq))) or 0
    records, n_subs, n_events = _records_hash(s, key, last_seq)
    prev = (
        s.scalars(
            select(DayClose.seal)
            .where(DayClose.local_date < key)
            .order_by(DayClose.local_date.desc())
            .limit(1)
        ).first()
        or GENESIS
    )
    return SealBasis(day, prev, records, n_subs, n_events), last_seq


def _view(c: DayClose) -> DayCloseView:
    return DayCloseView(
        dt.date.fromisoformat(c.local_date),
        c.closed_at,
        c.closed_by,
        c.submissions,
        c.events,
        c.seal,
        c.prev_seal,
        c.report_sha256,
    )


class DayCloseService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        staff: StaffService,
        clock: Clock | None = None,
        catalogs: CatalogProvider | None = None,
        anchor: AuditAnchor | None = None,
    ) -> None:
        self._sessions = sessions
        self._staff = staff
        self._clock = clock or SystemClock()
        self._catalogs = catalogs  # names of items and materials in the amendments list
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
            raise DomainError("dayclose.future")
        if self.closed(day) is not None:
            raise _already_closed(day)

    def prepare(self, actor: StaffView, password: str, day: dt.date) -> SealBasis:
        """`check_close`, then what the seal will be computed from, for the report to print."""
        self.check_close(actor, password, day)
        with self._sessions() as s:
            basis, _last_seq = _basis(s, day)
        return basis

    def close(
        self,
        actor: StaffView,
        password: str,
        day: dt.date,
        report_sha256: str = "",
        basis: SealBasis | None = None,
    ) -> DayCloseView:
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
                raise DomainError("dayclose.changed_meanwhile", day=key)
            prev, records, n_subs, n_events = (
                current.prev_seal,
                current.records_hash,
                current.submissions,
                current.events,
            )
            row = DayClose(
                local_date=key,
                closed_at=now,
                closed_by=actor.id,
                submissions=n_subs,
                events=n_events,
                last_event_seq=last_seq,
                records_hash=records,
                prev_seal=prev,
                definition=SEAL_DEFINITION,
                seal=_seal(prev, key, records, n_subs, n_events, report_sha256),
                report_sha256=report_sha256,
            )
            s.add(row)
            s.info.setdefault("closed_days", {})[key] = True
            audit.append(
                s, at=now, staff_id=actor.id, action="day.close", target=key, detail=row.seal[:16]
            )
            view = _view(row)
        if self._anchor is not None:  # after the commit: the checkpoint signs what is stored
            self._anchor.checkpoint("day_close")
        return view

    def amendments(self, actor: StaffView, day: dt.date) -> list[AmendmentView]:
        """The changes made to DAY's intakes after its close, oldest first, with the intake's
        number and what each change was about (no personal data)."""
        self._staff.authorize(actor, "day.amendments")
        out: list[AmendmentView] = []
        with self._sessions() as s:
            rows = s.execute(
                select(
                    Amendment,
                    Submission.number,
                    Submission.catalog_digest,
                    Staff.display_name,
                    Event.payload,
                )
                .join(Submission, Submission.id == Amendment.submission_id)
                .outerjoin(Staff, Staff.id == Amendment.staff_id)
                .outerjoin(Event, Event.id == Amendment.event_id)
                .where(Amendment.local_date == day.isoformat())
                .order_by(Amendment.id)
            )
            for a, number, digest, staff_name, payload in rows:
                subjects, detail = self._about(
                    a.event_type, json.loads(payload) if payload else {}, digest
                )
                out.append(
                    AmendmentView(
                        a.submission_id,
                        a.event_type,
                        a.at,
                        a.staff_id,
                        number or "",
                        staff_name or "",
                        subjects,
                        detail,
                    )
                )
        return out

    def _about(
        self, etype: str, payload: dict[str, Any], digest: str
    ) -> tuple[tuple[str, ...], str]:
        catalog = None
        if self._catalogs is not None:
            try:
                catalog = self._catalogs.get(digest)
            except DomainError:
                catalog = None

        def item(i: str) -> str:
            for bundle in catalog.bundles if catalog is not None else ():
                for it in bundle.items:
                    if it.id == i:
                        return it.name
            return i

        def material(m: str) -> str:  # a line id: one person's copy is named for that person
            return line_name(catalog, m) if catalog is not None else m

        if etype == "item_decided":
            return (item(str(payload.get("item", ""))),), str(payload.get("decision", ""))
        if etype == "delivered":
            return tuple(item(str(i)) for i in payload.get("items", ())), str(
                payload.get("method", "")
            )
        if etype == "supplemented":
            return tuple(material(str(m)) for m in payload.get("materials", ())), ""
        if etype == "document_printed":
            return (), str(payload.get("kind", "")) + (":reprint" if payload.get("reprint") else "")
        if etype == "material_marked":
            return tuple(material(str(m)) for m in payload.get("marks", {})), ""
        return (), ""

    def verify(self, actor: StaffView) -> list[SealProblem]:
        """Recompute every closed day's seal and the chain between them."""
        self._staff.authorize(actor, "day.verify")
        problems: list[SealProblem] = []
        prev = GENESIS
        with self._sessions() as s:
            for c in s.scalars(select(DayClose).order_by(DayClose.local_date)):
                day = dt.date.fromisoformat(c.local_date)
                try:
                    records, n_subs, n_events = _records_hash(
                        s, c.local_date, c.last_event_seq, c.definition
                    )
                except StoreError:  # an encrypted payload that no longer authenticates
                    records, n_subs, n_events = "", -1, -1
                if (records, n_events) != (c.records_hash, c.events) or n_subs != c.submissions:
                    problems.append(
                        SealProblem(
                            day,
                            "dayclose.records_changed",
                            f"{day:%Y年%m月%d日}已日结的记录被改动（与日结时的封存值不符）。",
                        )
                    )
                if c.prev_seal != prev or c.seal != _seal(
                    c.prev_seal,
                    c.local_date,
                    c.records_hash,
                    c.submissions,
                    c.events,
                    c.report_sha256,
                ):
                    problems.append(
                        SealProblem(
                            day, "dayclose.chain_broken", f"{day:%Y年%m月%d日}的日结封存链被改动。"
                        )
                    )
                prev = c.seal
        return problems


def _already_closed(day: dt.date) -> DomainError:
    return DomainError("dayclose.already_closed", day=day)


def _is_closed(s: Session, day: str) -> bool:
    known: dict[str, bool] = s.info.setdefault("closed_days", {})
    if day not in known:
        known[day] = (
            s.execute(select(DayClose.local_date).where(DayClose.local_date == day)).first()
            is not None
        )
    return known[day]


def business_day(s: Session, now: dt.datetime) -> dt.date:
    """The day an intake reaching its verdict at NOW is booked on: today, or the next working
    day once today is closed (the intake number and the ledger carry that day)."""
    day = local_day(now)
    while _is_closed(s, day.isoformat()):
        day = add_working_days(day, 1)
    return day


def record_amendment(
    s: Session,
    submission: Submission,
    event_id: str,
    event_type: str,
    at: dt.datetime,
    staff_id: int | None,
) -> None:
    """Called by the intake service for every event, inside its transaction (before the
    submission's state moves). A draft is in no seal, so its events amend nothing."""
    if submission.state in NOT_INTAKE:
        return
    known: dict[str, bool] = s.info.setdefault("closed_days", {})
    if submission.local_date not in known:
        known[submission.local_date] = (
            s.execute(
                select(DayClose.local_date).where(DayClose.local_date == submission.local_date)
            ).first()
            is not None
        )
    if known[submission.local_date]:
        s.execute(
            insert(Amendment).values(
                local_date=submission.local_date,
                submission_id=submission.id,
                event_id=event_id,
                event_type=event_type,
                at=at,
                staff_id=staff_id,
            )
        )


__all__ = [
    "AmendmentView",
    "AuthError",
    "DayCloseService",
    "DayCloseView",
    "SealProblem",
    "record_amendment",
]
