"""The intake commands: everything a window clerk does to a submission, one transaction each.

Each edit is saved at once: a draft survives a crash and is offered again at the next start.
Pages, documents and queries are their own services (app/intake_pages.py,
app/intake_documents.py, app/ledger.py) on the same plumbing (app/intake_base.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from app import acceptance
from app import checklist as engine
from app.applicant_rules import clean_applicant, require_ready
from app.catalog import Bundle, Catalog
from app.checklist import Checklist
from app.clock import add_working_days, local_day
from app.consent import apply_consent
from app.dayclose import business_day
from app.delivery import DeliveryInput, clean_delivery
from app.documents import DocKind
from app.errors import IntakeError
from app.intake_base import IntakeBase, applicant_view, chunks, dump_json
from app.numbering import (
    format_intake_number,
)
from app.state import SubmissionState, item_outcomes
from app.views import (
    ApplicantInput,
    ApplicantView,
    StaffView,
)
from local_db.crypto import applicant_index
from local_db.models import (
    Agent,
    Answer,
    Applicant,
    MaterialMark,
    Station,
    Submission,
    SubmissionItem,
)

log = logging.getLogger("intake.service")


@dataclass(frozen=True)
class FinishResult:
    submission_id: str
    number: str
    stage: str  # notified | received
    verdict: str
    checklist: Checklist
    documents: tuple[DocKind, ...]  # to print, in this order
    tolerance_due: dt.date | None
    booked_on: dt.date | None = None  # the ledger day, when not today (today already closed)


class IntakeService(IntakeBase):
    """The commands: each one transaction that appends its event and updates the projection."""

    def start(self, actor: StaffView) -> str:
        """Open a new draft intake; returns its id."""
        catalog = self._catalogs.current
        now = self._clock.now()
        sid = str(uuid.uuid4())
        with self._tx() as s:
            station = s.get(Station, actor.station_id)
            if station is None:
                raise IntakeError("intake.no_station")
            sub = Submission(
                id=sid,
                station_id=station.id,
                clerk_id=actor.id,
                catalog_version=catalog.version,
                catalog_digest=catalog.digest,
                jurisdiction=station.jurisdiction,
                state="draft",
                local_date=local_day(now).isoformat(),
                created_at=now,
                updated_at=now,
                delivery_method="window",
                delivery_address="",
            )
            s.add(sub)
            s.flush()
            self._event(
                s,
                sub,
                None,
                actor,
                "created",
                {
                    "station": station.code,
                    "catalog_version": catalog.version,
                    "catalog_digest": catalog.digest,
                    "jurisdiction": station.jurisdiction,
                },
            )
        log.info("intake started: %s", sid)
        return sid

    def set_applicant(self, actor: StaffView, sid: str, data: ApplicantInput) -> ApplicantView:
        clean = clean_applicant(data, local_day(self._clock.now()), strict=False)
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
            if applicant is None:
                applicant = Applicant(created_at=now, updated_at=now)
                s.add(applicant)
            for key, value in clean.items():
                setattr(applicant, key, value)
            index = applicant_index(
                self._key,
                name=clean["name"],
                resident_id=clean["resident_id"],
                phone=clean["phone"],
            )
            for key, value in index.items():
                setattr(applicant, key, value)
            applicant.field_sources = dump_json(dict(data.sources))
            applicant.updated_at = now
            s.flush()
            sub.applicant_id = applicant.id
            # 一人一档: consent is per person (app/consent.py); a form only ever grants it
            apply_consent(s, applicant, data.consent_reuse, actor, now, sub)
            payload = {
                k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in clean.items()
            }
            payload["sources"] = dict(data.sources)
            payload["consent_reuse"] = applicant.consent_reuse
            self._event(s, sub, state, actor, "applicant_set", payload)
            return applicant_view(applicant)

    def choose(
        self, actor: StaffView, sid: str, bundle_key: str, items: Sequence[str] | None = None
    ) -> None:
        """Pick the bundle and the items the applicant wants (None: the bundle's default choice)."""
        with self._tx() as s:
            sub, state = self._load(s, sid)
            catalog = self._catalog(sub)
            bundle = self._bundle(catalog, bundle_key)
            if items is None:
                items = [i.id for i in bundle.items_in(sub.jurisdiction) if not i.optional]
            # Validate the choice with the engine (unknown / not offered / empty).
            engine.evaluate(
                bundle, items, {}, {}, catalog=catalog, jurisdiction=sub.jurisdiction, strict=False
            )
            if sub.bundle_id and sub.bundle_id != bundle.id:
                s.execute(delete(Answer).where(Answer.submission_id == sid))
                s.execute(delete(MaterialMark).where(MaterialMark.submission_id == sid))
            sub.bundle_id = bundle.id
            sub.items = [
                SubmissionItem(item_id=i, position=n, active=True)
                for n, i in enumerate(dict.fromkeys(items))
            ]
            self._event(
                s,
                sub,
                state,
                actor,
                "bundle_chosen",
                {"bundle": bundle.id, "items": list(dict.fromkeys(items))},
            )

    def answer(self, actor: StaffView, sid: str, question_id: str, value: object | None) -> None:
        """Record (or clear, with None) the answer to a situation question."""
        self.answer_many(actor, sid, {question_id: value})

    def answer_many(self, actor: StaffView, sid: str, answers: Mapping[str, object | None]) -> None:
        """Several answers in one event (None clears an answer)."""
        with self._tx() as s:
            sub, state = self._load(s, sid)
            bundle = self._require_bundle(sub)
            typed_all: dict[str, object] = {}
            for question_id, value in answers.items():
                question = bundle.question(question_id)
                if question is None:
                    raise IntakeError(
                        "intake.unknown_question", question=question_id, bundle_name=bundle.name
                    )
                typed = None if value is None else engine.coerce_answer(question, value)
                typed_all[question_id] = typed
                row = s.get(Answer, (sid, question_id))
                if typed is None:
                    if row is not None:
                        s.delete(row)
                elif row is None:
                    s.add(
                        Answer(
                            submission_id=sid, question_id=question_id, value_json=dump_json(typed)
                        )
                    )
                else:
                    row.value_json = dump_json(typed)
            self._event(s, sub, state, actor, "answered", {"answers": typed_all})

    def mark(self, actor: StaffView, sid: str, material_id: str, mark: str | None) -> Checklist:
        """Mark a material collected / exempt / tolerated (None clears it); returns the new list."""
        return self.mark_many(actor, sid, {material_id: mark})

    def mark_many(
        self, actor: StaffView, sid: str, new_marks: Mapping[str, str | None]
    ) -> Checklist:
        """Several marks in one event (the clerk's "all collected" key); returns the new list."""
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            bundle = self._require_bundle(sub)
            catalog = self._catalog(sub)
            marks = self._marks(s, sid)
            for material_id, mark in new_marks.items():
                if mark is None:
                    marks.pop(material_id, None)
                else:
                    marks[material_id] = mark
            # Strict for the materials being marked; earlier stale marks are tolerated.
            result = engine.evaluate(
                bundle,
                self._items(sub),
                self._answers(s, sid),
                marks,
                catalog=catalog,
                jurisdiction=sub.jurisdiction,
                strict=False,
                agent=self._has_agent(s, sid),
            )
            for material_id, mark in new_marks.items():
                if mark is not None and material_id in result.ignored_marks:
                    name = engine.line_name(catalog, material_id)
                    line = result.line(material_id)
                    if line is not None and line.produced_by is not None:
                        raise IntakeError(
                            "checklist.produced_in_bundle",
                            variant=2,
                            material=material_id,
                            name=name,
                            producer_name=line.produced_by.name,
                        )
                    raise IntakeError(
                        "checklist.mark_not_in_list", variant=2, material=material_id, name=name
                    )
                row = s.get(MaterialMark, (sid, material_id))
                if mark is None:
                    if row is not None:
                        s.delete(row)
                elif row is None:
                    s.add(
                        MaterialMark(
                            submission_id=sid,
                            material_id=material_id,
                            mark=mark,
                            marked_at=now,
                            clerk_id=actor.id,
                        )
                    )
                else:
                    row.mark, row.marked_at, row.clerk_id = mark, now, actor.id
            self._event(s, sub, state, actor, "material_marked", {"marks": dict(new_marks)})
            return result

    def checklist(self, sid: str) -> Checklist:
        with self._sessions() as s:
            sub, _ = self._load(s, sid)
            bundle = self._require_bundle(sub)
            return engine.evaluate(
                bundle,
                self._items(sub),
                self._answers(s, sid),
                self._marks(s, sid),
                catalog=self._catalog(sub),
                jurisdiction=sub.jurisdiction,
                strict=False,
                agent=self._has_agent(s, sid),
            )

    def finish(self, actor: StaffView, sid: str) -> FinishResult:
        """Complete → received (receipt); with tolerance → received (commitment + receipt);
        incomplete → notified (一次告知通知书 listing everything missing)."""
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            bundle = self._require_bundle(sub)
            catalog = self._catalog(sub)
            require_ready(
                s.get(Applicant, sub.applicant_id) if sub.applicant_id else None, local_day(now)
            )
            result = engine.evaluate(
                bundle,
                self._items(sub),
                self._answers(s, sid),
                self._marks(s, sid),
                catalog=catalog,
                jurisdiction=sub.jurisdiction,
                strict=False,
                agent=self._has_agent(s, sid),
            )
            _refuse_unfinishable(bundle, result)
            number, booked_later = self._book(s, sub, now)
            sub.verdict = result.verdict
            sub.reduction_separate = result.reduction.separate
            sub.reduction_merged = result.reduction.merged
            due: dt.date | None = None
            if result.verdict == "incomplete":
                payload = {"number": number, "missing": list(result.missing)}
                self._event(s, sub, state, actor, "notified", payload)
                docs: tuple[DocKind, ...] = ("notice",)
            else:
                due, docs = self._receive(s, sub, state, actor, catalog, result, number, now)
            log.info("intake finished: %s %s", number, sub.state)
            return FinishResult(
                sid, number, sub.state, result.verdict, result, docs, due, booked_later
            )

    def _book(self, s: Session, sub: Submission, now: dt.datetime) -> tuple[str, dt.date | None]:
        """The intake number, and the ledger day when it is not today."""
        if sub.number is not None:
            return sub.number, None
        # The first verdict makes it an intake: booked on today, or on the next working day once
        # today is closed (a draft's creation day does not matter).
        booked = business_day(s, now)
        sub.local_date = booked.isoformat()
        number = self._assign_number(s, sub, booked)
        return number, booked if booked != local_day(now) else None

    def _receive(
        self,
        s: Session,
        sub: Submission,
        state: SubmissionState,
        actor: StaffView,
        catalog: Catalog,
        result: Checklist,
        number: str,
        now: dt.datetime,
    ) -> tuple[dt.date | None, tuple[DocKind, ...]]:
        """Complete or with tolerance: received (digitised at once when no paper is owed); the
        tolerance deadline and the documents to print."""
        due = self._tolerance_due(catalog, result, local_day(now)) if result.tolerated else None
        sub.tolerance_due = due
        active = [i.id for i in result.active_items]
        # Items switched off by an answer are not sent to departments.
        for row in sub.items:
            row.active = row.item_id in active
        payload = {
            "number": number,
            "items": active,
            "tolerated": list(result.tolerated),
            "due": due.isoformat() if due else None,
            "verdict": result.verdict,
        }
        self._event(s, sub, state, actor, "received", payload)
        docs: tuple[DocKind, ...] = ("commitment", "receipt") if result.tolerated else ("receipt",)
        if not self._paper_outstanding(s, sub, result):
            projection = self._projection(s, sub)
            self._event(s, sub, projection, actor, "digitised", {"reason": "no_paper"})
        return due, docs

    def _assign_number(self, s: Session, sub: Submission, day: dt.date) -> str:
        station = s.get(Station, sub.station_id)
        assert station is not None
        seq = self._next(s, f"num:{station.code}:{day.isoformat()}")
        return format_intake_number(station.code, day, seq)

    @classmethod
    def _tolerance_due(cls, catalog: Catalog, result: Checklist, today: dt.date) -> dt.date:
        """Earliest of each tolerated material's own limit and the items' promised limits."""
        return add_working_days(today, cls._tolerance_days(result))

    def discard(self, actor: StaffView, sid: str) -> None:
        with self._tx() as s:
            sub, state = self._load(s, sid)
            self._event(s, sub, state, actor, "discarded", {})

    def supplement(self, actor: StaffView, sid: str, material_ids: Iterable[str]) -> None:
        """补正: tolerated materials handed in later are now collected."""
        now = self._clock.now()
        materials = list(dict.fromkeys(material_ids))
        with self._tx() as s:
            sub, state = self._load(s, sid)
            self._event(s, sub, state, actor, "supplemented", {"materials": materials})
            for mid in materials:
                row = s.get(MaterialMark, (sid, mid))
                if row is not None:
                    row.mark, row.marked_at, row.clerk_id = "collected", now, actor.id
            if not sub.awaiting_supplement:
                sub.tolerance_due = None

    def withdraw(self, actor: StaffView, sid: str, reason: str) -> None:
        """撤回 before any decision; the return list is printed from `document(..., "return_list")`."""
        if not reason.strip():
            raise IntakeError("intake.reason_required", field="reason")
        with self._tx() as s:
            sub, state = self._load(s, sid)
            self._event(s, sub, state, actor, "withdrawn", {"reason": reason.strip()})

    def record_decision(
        self,
        actor: StaffView | None,
        sid: str,
        item_id: str,
        decision: str,
        reason: str = "",
        decided_at: dt.datetime | None = None,
    ) -> None:
        """A department's 受理 / 不予受理 / 办结 for one item (arrives through sync). DECIDED_AT:
        when the department decided (the hub's time; never later than now), for its deadline."""
        if decision not in ("accepted", "rejected", "completed"):
            raise IntakeError("intake.bad_decision")
        if decision == "rejected" and not reason.strip():
            raise IntakeError("intake.reason_required", variant=2, field="reason")
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            self._event(
                s,
                sub,
                state,
                actor,
                "item_decided",
                {"item": item_id, "decision": decision, "reason": reason},
            )
            row = s.get(SubmissionItem, (sid, item_id))
            assert row is not None
            row.decision, row.decision_reason, row.decided_at = decision, reason, now
            acceptance.record_first_decision(row, min(decided_at or now, now))
            acceptance.refresh(sub)
            _set_item_outcomes(sub)

    def mark_pushed_many(self, sids: Sequence[str]) -> list[str]:
        """Mark several intakes pushed in one durable transaction (sync drains thousands);
        returns those marked — one whose state no longer allows it is skipped."""
        done: list[str] = []
        with self._tx() as s, s.no_autoflush:
            # The submissions and their items in a few queries up front, and their updates
            # flushed together at the end, instead of three round trips through the ORM each.
            held: list[Submission] = []  # the session keeps clean objects weakly: hold them
            for chunk in chunks(list(sids), 500):
                held += s.scalars(
                    select(Submission)
                    .where(Submission.id.in_(chunk))
                    .options(selectinload(Submission.items))
                ).all()
            for sid in sids:
                try:
                    sub, state = self._load(s, sid)
                    self._event(s, sub, state, None, "pushed", {})
                except IntakeError:  # refused before anything was written for this one
                    continue
                done.append(sid)
        return done

    def mark_pushed(self, sid: str) -> None:
        with self._tx() as s:
            sub, state = self._load(s, sid)
            self._event(s, sub, state, None, "pushed", {})

    def deliver(
        self,
        actor: StaffView,
        sid: str,
        *,
        method: str,
        items: Sequence[str] | None = None,
        tracking_number: str = "",
        address: str = "",
        carrier: str = "",
        recipient: str = "",
    ) -> None:
        """送达 at the window (who received it) or by express (carrier and a tracking number of
        its shape: app/delivery.py); the 送达凭证 is rebuilt from the event."""
        d = clean_delivery(DeliveryInput(method, carrier, tracking_number, recipient, address))
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            ready = [
                i
                for i, dec in state.decisions.items()
                if dec in ("completed", "rejected") and i not in state.delivered_items
            ]
            chosen = list(items) if items is not None else ready
            self._event(
                s,
                sub,
                state,
                actor,
                "delivered",
                {
                    "method": d.method,
                    "items": chosen,
                    "tracking_number": d.tracking_number,
                    "carrier": d.carrier,
                    "recipient": d.recipient or self._collector(s, sub),
                    "address": d.address,
                },
            )
            for row in sub.items:
                if row.item_id in chosen:
                    row.delivered_at = now
            _set_item_outcomes(sub)
            sub.delivery_method = d.method
            if d.address:
                sub.delivery_address = d.address

    @staticmethod
    def _collector(s: Session, sub: Submission) -> str:
        """Who collects at the window unless the clerk says otherwise: the agent, if one acts,
        else the applicant."""
        agent = s.get(Agent, sub.id)
        if agent is not None:
            return agent.name
        applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
        return applicant.name if applicant is not None else ""


def _set_item_outcomes(sub: Submission) -> None:
    for column, value in item_outcomes(
        (i.decision, i.decided_at, i.delivered_at) for i in sub.items
    ).items():
        setattr(sub, column, value)


def _refuse_unfinishable(bundle: Bundle, result: Checklist) -> None:
    if result.unanswered:
        names = "、".join(q.text for q in bundle.questions if q.id in result.unanswered)
        raise IntakeError("intake.unanswered", questions=list(result.unanswered), names=names)
    if not result.active_items:
        raise IntakeError("intake.no_active_items")
