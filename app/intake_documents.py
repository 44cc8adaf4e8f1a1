"""The documents an intake prints (receipt, commitment letter, 补正 and refusal notices): their
content assembled from the store, and the PDFs kept once printed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit
from app.agent import PRIORITIES, RELATIONS
from app.capture.cardtypes import document_type_name
from app.checklist import Checklist
from app.clock import STATION_TZ
from app.consent import consent_day
from app.documents import DocApplicant, DocItem, DocKind, DocMaterial, IntakeDocument
from app.errors import IntakeError
from app.intake_base import IntakeBase, applicant_view
from app.numbering import (
    encode_receipt_payload,
    receipt_query_url,
)
from app.receipts import manifest_hash, query_base
from app.reuse import reused_of, with_origins
from app.state import SubmissionState
from app.views import (
    StaffView,
)
from local_db.models import (
    Agent,
    Applicant,
    Attachment,
    Document,
    Event,
    Staff,
    Station,
    Submission,
    SyncState,
)

log = logging.getLogger("intake.service")


class IntakeDocuments(IntakeBase):
    """The documents of a submission: assembled, kept once printed, listed."""

    def document(
        self, actor: StaffView | None, sid: str, kind: DocKind, *, reprint: bool = False
    ) -> IntakeDocument:
        """What a printed document carries, rebuilt from the store and the submission's catalog."""
        with self._sessions() as s:
            sub, state = self._load(s, sid)
            received = _last_event(s, sid, "received")
            supplemented = _last_event(s, sid, "supplemented") if kind == "supplement" else None
            _refuse(sub, state, kind, received, supplemented)
            assert sub.number is not None
            bundle = self._require_bundle(sub)
            station = s.get(Station, sub.station_id)
            clerk = s.get(Staff, sub.clerk_id)
            applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
            assert station is not None and clerk is not None and applicant is not None
            result = self._result(s, sub)
            materials, received_list = self._materials(s, sub, state, result)
            materials = self._for_kind(kind, materials, sub, result, received, supplemented)
            materials = with_origins(materials, reused_of(s, sid))
            items = tuple(
                DocItem(i.name, i.department_in(sub.jurisdiction), i.time_limit_text)
                for i in result.active_items
            )
            # A reprint carries the original time (marked 补打); a return list is dated when
            # printed, a supplement receipt when the materials were handed in.
            issued = (
                self._clock.now() if kind == "return_list" else (sub.finished_at or sub.created_at)
            )
            if supplemented is not None:
                issued = supplemented["at"]
            manifest = manifest_hash(
                sub.number, bundle.id, [i.id for i in result.active_items], received_list
            )
            doc = IntakeDocument(
                kind=kind,
                number=sub.number,
                centre_name=station.centre_name,
                station_name=station.name,
                clerk_name=clerk.display_name,
                issued_at=issued.astimezone(STATION_TZ),
                bundle_name=bundle.name,
                items=items,
                applicant=_with_agent(_doc_applicant(applicant), s.get(Agent, sid)),
                materials=tuple(materials),
                qr_payload=self._qr_payload(s, sub.number, issued, manifest),
                catalog_version=sub.catalog_version,
                progress_phone=station.progress_phone,
                delivery="窗口领取"
                if sub.delivery_method == "window"
                else f"邮寄：{sub.delivery_address}",
                tolerated_due=sub.tolerance_due,
                reprint=reprint,
                reuse_consent_on=consent_day(s, applicant, sub.finished_at or self._clock.now()),
                priority=PRIORITIES.get(sub.priority, ""),
            )
        if actor is not None:
            with self._tx() as w:
                audit.append(
                    w,
                    at=self._clock.now(),
                    staff_id=actor.id,
                    action=f"document.{kind}",
                    target=doc.number,
                )
        return doc

    def _materials(
        self, s: Session, sub: Submission, state: SubmissionState, result: Checklist
    ) -> tuple[list[DocMaterial], list[tuple[str, str, int]]]:
        """Every material line as it stands now, and (id, state, copies) for the manifest."""
        pages: dict[str, int] = {}
        for mid, n in s.execute(
            select(Attachment.material_id, func.count())
            .where(Attachment.submission_id == sub.id, Attachment.removed.is_(False))
            .group_by(Attachment.material_id)
        ):
            pages[mid] = n
        tolerated_now = (
            set(state.tolerated_outstanding) if sub.received_at else set(result.tolerated)
        )
        materials = []
        received_list: list[tuple[str, str, int]] = []
        for n, line in enumerate(result.materials, start=1):
            st = line.state
            if st == "tolerated" and sub.received_at and line.id not in tolerated_now:
                st = "collected"  # supplemented since
            received_list.append((line.id, st, line.copies))
            materials.append(
                DocMaterial(
                    seq=n,
                    id=line.id,
                    name=line.name,
                    form=line.form if line.form != "electronic" else "copy",
                    copies=line.copies,
                    state=st,
                    pages=pages.get(line.id),
                    acceptance_standard=line.material.acceptance_standard,
                    how_to_obtain=line.material.how_to_obtain or line.material.issuer,
                    exempt_via=line.exempt_basis,
                    due_date=sub.tolerance_due if st == "tolerated" else None,
                    required_by=tuple(r.item_name for r in line.required_by),
                )
            )
        return materials, received_list

    def _for_kind(
        self,
        kind: DocKind,
        materials: list[DocMaterial],
        sub: Submission,
        result: Checklist,
        received: dict[str, Any] | None,
        supplemented: dict[str, Any] | None,
    ) -> list[DocMaterial]:
        """The lines KIND lists, in the state it shows them."""
        if kind == "notice":
            # Everything still owed: the missing ones, and the tolerated ones with their
            # limit (counted from the day of receipt, which is still to come).
            days = self._tolerance_days(result) if result.tolerated else None
            materials = [
                dataclasses.replace(m, due_days=days) if m.state == "tolerated" else m
                for m in materials
                if m.state in ("missing", "tolerated")
            ]
            if not any(m.state == "missing" for m in materials):
                raise IntakeError("intake.nothing_missing")
        elif kind == "commitment":
            # What the applicant committed to at receipt, even after it was handed in.
            at_receipt = tuple((received or {}).get("tolerated", ()))
            due = (
                dt.date.fromisoformat(received["due"])
                if received and received.get("due")
                else sub.tolerance_due
            )
            materials = [
                dataclasses.replace(m, state="tolerated", due_date=due) if m.id in at_receipt else m
                for m in materials
            ]
        elif kind == "supplement":
            assert supplemented is not None
            handed = set(supplemented["materials"])
            materials = [
                dataclasses.replace(m, state="collected", due_date=None) if m.id in handed else m
                for m in materials
                if m.id in handed or m.state == "tolerated"
            ]
        return materials

    def _qr_payload(self, s: Session, number: str, issued: dt.datetime, manifest: str) -> str:
        """The receipt QR: signed when a signer is set up, a query link when a hub is known."""
        stamp = issued.astimezone(STATION_TZ).strftime("%Y%m%d%H%M")
        payload = (
            self._signer.payload(number, stamp, manifest)
            if self._signer
            else encode_receipt_payload(number, t=stamp, m=manifest)
        )
        hub = s.get(SyncState, "hub_url")
        base = query_base(hub.value if hub is not None else None, self._query_url)
        if base is not None:  # a phone that scans the QR opens the county's status page
            payload = receipt_query_url(base, payload)
        return payload

    def save_document(
        self,
        actor: StaffView | None,
        sid: str,
        kind: DocKind,
        pdf: bytes,
        *,
        reprint: bool = False,
        printed: bool = True,
    ) -> str:
        """Keep a document's PDF with the submission; returns its SHA-256. printed=False records
        that it was kept but the printer failed (the event says which)."""
        sha = self._attachments.put(pdf)
        now = self._clock.now()
        doc_id = str(uuid.uuid4())
        with self._tx() as s:
            sub, state = self._load(s, sid)
            s.add(
                Document(
                    id=doc_id,
                    submission_id=sid,
                    kind=kind,
                    sha256=sha,
                    address=self._attachments.address(sha),
                    reprint=reprint,
                    created_at=now,
                )
            )
            self._event(
                s,
                sub,
                state,
                actor,
                "document_printed",
                {
                    "kind": kind,
                    "sha256": sha,
                    "reprint": reprint,
                    "printed": printed,
                },
            )
            self._kept(s, sub, kind, doc_id)
        return sha

    def _kept(self, s: Session, sub: Submission, kind: DocKind, doc_id: str) -> None:
        """In the transaction that keeps a document: what a subclass records beside it."""

    def documents(self, sid: str) -> list[tuple[str, str, bool, dt.datetime]]:
        with self._sessions() as s:
            rows = s.scalars(
                select(Document).where(Document.submission_id == sid).order_by(Document.created_at)
            )
            return [(d.kind, d.sha256, d.reprint, d.created_at) for d in rows]


def _last_event(s: Session, sid: str, etype: str) -> dict[str, Any] | None:
    """The payload of the submission's latest event of ETYPE (with its time as "at"), or None."""
    row = s.execute(
        select(Event.payload, Event.at)
        .where(Event.submission_id == sid, Event.type == etype)
        .order_by(Event.station_seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    payload: dict[str, Any] = json.loads(row[0])
    payload["at"] = row[1]
    return payload


def _refuse(
    sub: Submission,
    state: SubmissionState,
    kind: DocKind,
    received: dict[str, Any] | None,
    supplemented: dict[str, Any] | None,
) -> None:
    """IntakeError when the submission does not (yet) carry a document of KIND."""
    if sub.number is None:
        raise IntakeError("intake.not_finished")
    if kind in ("receipt", "commitment", "supplement") and sub.received_at is None:
        raise IntakeError("intake.not_received")
    if kind == "return_list" and state.stage != "withdrawn":
        raise IntakeError("intake.not_withdrawn")
    if kind == "notice" and state.stage != "notified":
        # A received intake owes nothing a notice could list (tolerated ones are on the
        # commitment letter and the receipt).
        raise IntakeError("intake.not_notified")
    if kind == "commitment" and not (received or {}).get("tolerated"):
        raise IntakeError("intake.no_tolerance")
    if kind == "supplement" and supplemented is None:
        raise IntakeError("intake.no_supplement")


def _doc_applicant(applicant: Applicant) -> DocApplicant:
    return DocApplicant(
        kind=applicant.kind,  # type: ignore[arg-type]
        name=applicant.name,
        resident_id=applicant.resident_id or "",
        address=applicant.address,
        phone=applicant.phone,
        uscc=applicant.uscc or "",
        legal_representative=applicant.legal_representative,
        identity_source=applicant_view(applicant).identity_source,
        document_type_name=document_type_name(applicant.document_type),
    )


def _with_agent(applicant: DocApplicant, agent: Agent | None) -> DocApplicant:
    """帮办代办: the agent's name, relation and checked number on the documents."""
    if agent is None:
        return applicant
    return dataclasses.replace(
        applicant,
        agent_name=agent.name,
        agent_resident_id=agent.resident_id,
        agent_relation=RELATIONS.get(agent.relation, agent.relation),
    )
