"""What the intake services share: the store, the catalogs, the clock, and the plumbing of every
action (load a submission, append its event and update the projection in one transaction, build
its view).

Every action appends an event (client-generated id, per-station sequence, clerk, time) and updates
the projection in the same transaction, so a crash leaves either the whole action or none of it.
The services built on it, by job: app/intake.py (commands), app/intake_pages.py (scanned pages),
app/intake_documents.py (the printed documents), app/ledger.py (ledger and search queries).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from app import acceptance, audit
from app import checklist as engine
from app.capture.cardtypes import RESIDENT
from app.catalog import Bundle, Catalog
from app.catalog_load import CatalogProvider
from app.checklist import Checklist
from app.clock import Clock, SystemClock
from app.dayclose import record_amendment
from app.errors import IntakeError
from app.receipts import ReceiptSigner
from app.state import SubmissionState, apply
from app.views import (
    ApplicantView,
    PageView,
    StaffView,
    SubmissionView,
)
from local_db.attachments import AttachmentStore
from local_db.engine import store_key, write_tx
from local_db.models import (
    Agent,
    Answer,
    Applicant,
    Attachment,
    Counter,
    Event,
    MaterialMark,
    Staff,
    Submission,
)

log = logging.getLogger("intake.service")

DEFAULT_TOLERANCE_DAYS = 10


def dump_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class IntakeBase:
    """The store, catalogs, attachments, clock and receipt signer every intake service works with,
    and the steps they share."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalogs: CatalogProvider,
        attachments: AttachmentStore,
        clock: Clock | None = None,
        signer: ReceiptSigner | None = None,
        *,
        query_url: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._query_url = query_url  # receipt QR link (app.options.RECEIPT_QUERY_URL)
        self._catalogs = catalogs
        self._attachments = attachments
        self._clock = clock or SystemClock()
        self._signer = signer  # None: receipts carry no signature (no keyring on this machine)
        self._key = store_key(sessions)  # for blind-index lookups of encrypted fields

    def _tx(self) -> write_tx:
        return write_tx(self._sessions)

    @staticmethod
    def _next(s: Session, name: str) -> int:
        # One statement (upsert + RETURNING), built once: this runs for every event.
        return int(s.connection().execute(_NEXT_COUNTER, {"name": name}).scalar_one())

    def _load(self, s: Session, sid: str) -> tuple[Submission, SubmissionState]:
        sub = s.get(Submission, sid)
        if sub is None:
            raise IntakeError("intake.not_found", submission=sid)
        return sub, self._projection(s, sub)

    @staticmethod
    def _projection(s: Session, sub: Submission) -> SubmissionState:
        tolerated: frozenset[str] = frozenset()
        if sub.awaiting_supplement:
            tolerated = frozenset(
                s.scalars(
                    select(MaterialMark.material_id).where(
                        MaterialMark.submission_id == sub.id, MaterialMark.mark == "tolerated"
                    )
                )
            )
        items = tuple(i.item_id for i in sub.items if i.active) if sub.received_at else ()
        return SubmissionState(
            stage=sub.state,
            number=sub.number,
            items=items,
            decisions={i.item_id: i.decision for i in sub.items if i.decision},
            delivered_items=frozenset(i.item_id for i in sub.items if i.delivered_at),
            tolerated_outstanding=tolerated,
            received_at=sub.received_at,
            digitised_at=sub.digitised_at,
            pushed_at=sub.pushed_at,
            finished_at=sub.finished_at,
        )

    def _event(
        self,
        s: Session,
        sub: Submission,
        state: SubmissionState | None,
        actor: StaffView | None,
        etype: str,
        payload: Mapping[str, Any],
    ) -> SubmissionState:
        now = self._clock.now()
        new = apply(state, etype, payload, now)  # raises on a refused transition
        event_id = str(uuid.uuid4())
        s.connection().execute(
            _INSERT_EVENT,
            {
                "id": event_id,
                "station_seq": self._next(s, "event_seq"),
                "submission_id": sub.id,
                "type": etype,
                "payload": dump_json(payload),
                "clerk_id": actor.id if actor else None,
                "at": now,
            },
        )
        if etype != "created":  # a change to a day already closed is an amendment, never silent
            record_amendment(s, sub, event_id, etype, now, actor.id if actor else None)
        sub.state = new.stage
        sub.awaiting_supplement = new.awaiting_supplement
        sub.updated_at = now
        sub.received_at = new.received_at
        sub.digitised_at = new.digitised_at
        sub.pushed_at = new.pushed_at
        sub.finished_at = new.finished_at
        if etype == "pushed":  # the departments' 1-working-day clock starts
            acceptance.refresh(sub)
        if new.number:
            sub.number = new.number
        if state is not None and state.stage != new.stage:
            audit.append(
                s,
                at=now,
                staff_id=actor.id if actor else None,
                action=f"intake.{etype}",
                target=sub.number or sub.id,
                detail=f"{state.stage}->{new.stage}",
            )
        return new

    def _catalog(self, sub: Submission) -> Catalog:
        return self._catalogs.get(sub.catalog_digest)

    def _bundle(self, catalog: Catalog, key: str) -> Bundle:
        bundle = catalog.bundle(key)
        if bundle is None:
            raise IntakeError("intake.unknown_bundle", bundle=key)
        return bundle

    def _require_bundle(self, sub: Submission) -> Bundle:
        if not sub.bundle_id:
            raise IntakeError("intake.no_bundle")
        return self._bundle(self._catalog(sub), sub.bundle_id)

    @staticmethod
    def _items(sub: Submission) -> list[str]:
        return [i.item_id for i in sub.items]

    @staticmethod
    def _answers(s: Session, sid: str) -> dict[str, object]:
        return {
            a.question_id: json.loads(a.value_json)
            for a in s.scalars(select(Answer).where(Answer.submission_id == sid))
        }

    @staticmethod
    def _marks(s: Session, sid: str) -> dict[str, str]:
        return {
            m.material_id: m.mark
            for m in s.scalars(select(MaterialMark).where(MaterialMark.submission_id == sid))
        }

    def _result(self, s: Session, sub: Submission) -> Checklist:
        return engine.evaluate(
            self._require_bundle(sub),
            self._items(sub),
            self._answers(s, sub.id),
            self._marks(s, sub.id),
            catalog=self._catalog(sub),
            jurisdiction=sub.jurisdiction,
            strict=False,
            agent=self._has_agent(s, sub.id),
        )

    @staticmethod
    def _has_agent(s: Session, sid: str) -> bool:
        """Whether a 代办人 acts for this intake (app/agent.py): the checklist asks for more."""
        return s.get(Agent, sid) is not None

    def _view(self, s: Session, sub: Submission, state: SubmissionState) -> SubmissionView:
        applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
        clerk = s.get(Staff, sub.clerk_id)
        bundle = self._catalog(sub).bundle(sub.bundle_id) if sub.bundle_id else None
        pages = tuple(
            PageView(a.id, a.material_id, a.position, a.sha256, a.size, a.mime, a.rotation)
            for a in s.scalars(
                select(Attachment)
                .where(Attachment.submission_id == sub.id, Attachment.removed.is_(False))
                .order_by(Attachment.material_id, Attachment.position)
            )
        )
        return SubmissionView(
            id=sub.id,
            number=sub.number,
            stage=state.stage,
            label=state.label,
            awaiting_supplement=state.awaiting_supplement,
            bundle_id=sub.bundle_id,
            bundle_name=bundle.name if bundle else "",
            items=tuple(self._items(sub)),
            answers=self._answers(s, sub.id),
            marks=self._marks(s, sub.id),
            applicant=applicant_view(applicant) if applicant else None,
            clerk_name=clerk.display_name if clerk else "",
            clerk_id=sub.clerk_id,
            created_at=sub.created_at,
            received_at=sub.received_at,
            digitised_at=sub.digitised_at,
            pushed_at=sub.pushed_at,
            tolerance_due=sub.tolerance_due,
            decisions=dict(state.decisions),
            tolerated_outstanding=tuple(sorted(state.tolerated_outstanding)),
            catalog_version=sub.catalog_version,
            catalog_digest=sub.catalog_digest,
            pages=pages,
            delivery_method=sub.delivery_method,
            delivery_address=sub.delivery_address,
        )

    @staticmethod
    def _tolerance_days(result: Checklist) -> int:
        """Working days after receipt to hand in the tolerated materials (one limit for all)."""
        days: list[int] = []
        for mid in result.tolerated:
            line = result.line(mid)
            assert line is not None
            days.append(line.material.tolerance_days or DEFAULT_TOLERANCE_DAYS)
            days += [
                i.time_limit_days
                for i in result.active_items
                if i.time_limit_days > 0 and i.id in {r.item_id for r in line.required_by}
            ]
        return min(days)

    def _paper_outstanding(self, s: Session, sub: Submission, result: Checklist) -> bool:
        """Collected paper that has no captured page yet (drives the 2-hour digitise rule)."""
        paged = set(
            s.scalars(
                select(Attachment.material_id).where(
                    Attachment.submission_id == sub.id, Attachment.removed.is_(False)
                )
            )
        )
        return any(m.needs_pages and m.id not in paged for m in result.materials)


def applicant_view(a: Applicant) -> ApplicantView:
    return ApplicantView(
        id=a.id,
        kind=a.kind,  # type: ignore[arg-type]
        name=a.name,
        resident_id=a.resident_id or "",
        gender=a.gender or "",
        birth_date=a.birth_date,
        address=a.address or "",
        phone=a.phone or "",
        uscc=a.uscc or "",
        legal_representative=a.legal_representative or "",
        sources=json.loads(a.field_sources or "{}"),
        consent_reuse=a.consent_reuse,
        document_type=a.document_type or RESIDENT,
    )


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# Statements run for every event, built once (a sync drain marks thousands pushed at a time).
_NEXT_COUNTER = (
    sqlite_insert(Counter)
    .values(name=bindparam("name"), value=1)
    .on_conflict_do_update(index_elements=["name"], set_={"value": Counter.value + 1})
    .returning(Counter.value)
)


_INSERT_EVENT = insert(Event)  # executed on the connection: a plain Core insert
