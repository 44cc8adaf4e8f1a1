"""The intake service: everything a window clerk does to a submission, one transaction each.

Every action appends an event (client-generated id, per-station sequence, clerk, time) and updates
the projection in the same transaction, so a crash leaves either the whole action or none of it.
Each edit is saved at once: a draft survives a crash and is offered again at the next start.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, delete, func, insert, select, type_coerce
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app import audit
from app import checklist as engine
from app.catalog import Bundle, Catalog, CatalogProvider
from app.checklist import Checklist
from app.clock import STATION_TZ, Clock, SystemClock, add_working_days, day_bounds, local_day
from app.dayclose import business_day, record_amendment
from app.documents import DocApplicant, DocItem, DocKind, DocMaterial, IntakeDocument
from app.errors import DomainError, IntakeError
from app.numbering import (
    encode_receipt_payload,
    format_intake_number,
    number_fragment,
    parse_intake_number,
    receipt_query_url,
)
from app.receipts import ReceiptSigner, manifest_hash, query_base
from app.state import NOT_INTAKE, STAGE_LABELS, SubmissionState, apply, item_outcomes
from app.validators import (
    check_mobile,
    check_resident_id,
    check_uscc,
    mask_name,
    mask_resident_id,
    normalize_number_text,
    resident_id_conflicts,
)
from app.views import (
    APPLICANT_FIELDS,
    ApplicantInput,
    ApplicantView,
    LedgerRow,
    PageView,
    StaffView,
    SubmissionView,
)
from local_db.attachments import AttachmentStore
from local_db.crypto import applicant_index, normalise_name
from local_db.engine import store_key, write_tx
from local_db.models import (
    Answer,
    Applicant,
    Attachment,
    Counter,
    Document,
    Event,
    MaterialMark,
    Staff,
    Station,
    Submission,
    SubmissionItem,
    SyncState,
)

log = logging.getLogger("intake.service")

DEFAULT_TOLERANCE_DAYS = 10


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


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class IntakeService:
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

    # ------------------------------------------------------------------ plumbing

    def _tx(self) -> write_tx:
        return write_tx(self._sessions)

    @staticmethod
    def _next(s: Session, name: str) -> int:
        # One statement (upsert + RETURNING), built once: this runs for every event.
        return int(s.connection().execute(_NEXT_COUNTER, {"name": name}).scalar_one())

    def _load(self, s: Session, sid: str) -> tuple[Submission, SubmissionState]:
        sub = s.get(Submission, sid)
        if sub is None:
            raise IntakeError("intake.not_found", "找不到该受理记录。", submission=sid)
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
                "payload": _json(payload),
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
            raise IntakeError("intake.unknown_bundle", f"目录中没有一件事“{key}”。", bundle=key)
        return bundle

    # ------------------------------------------------------------------ lifecycle

    def start(self, actor: StaffView) -> str:
        """Open a new draft intake; returns its id."""
        catalog = self._catalogs.current
        now = self._clock.now()
        sid = str(uuid.uuid4())
        with self._tx() as s:
            station = s.get(Station, actor.station_id)
            if station is None:
                raise IntakeError("intake.no_station", "账号所属站点不存在。")
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
        clean = self._validate_applicant(data, strict=False)
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
            applicant.field_sources = _json(dict(data.sources))
            if data.consent_reuse and not applicant.consent_reuse:
                applicant.consent_at = now
            applicant.consent_reuse = data.consent_reuse
            applicant.updated_at = now
            s.flush()
            sub.applicant_id = applicant.id
            payload = {
                k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in clean.items()
            }
            payload["sources"] = dict(data.sources)
            payload["consent_reuse"] = data.consent_reuse
            self._event(s, sub, state, actor, "applicant_set", payload)
            return _applicant_view(applicant)

    def _validate_applicant(self, data: ApplicantInput, *, strict: bool) -> dict[str, Any]:
        """Normalise fields. strict: a bad number raises IntakeError naming the field (in
        Chinese); lenient (drafts): it is kept as typed, so nothing typed is lost, and `finish`
        refuses it."""
        out: dict[str, Any] = {
            "kind": data.kind,
            "name": data.name.strip(),
            "gender": data.gender.strip(),
            "birth_date": data.birth_date,
            "address": data.address.strip(),
            "legal_representative": data.legal_representative.strip(),
            "resident_id": None,
            "uscc": None,
            "phone": "",
        }
        if data.kind not in ("personal", "enterprise"):
            raise IntakeError("applicant.kind", "申请人类型应为个人或企业。", field="kind")
        today = local_day(self._clock.now())
        id_label = "法定代表人身份证号码" if data.kind == "enterprise" else "身份证号码"
        checks = (
            ("resident_id", data.resident_id, lambda v: check_resident_id(v, today), id_label),
            ("uscc", data.uscc, check_uscc, "统一社会信用代码"),
            ("phone", data.phone, check_mobile, "联系电话"),
        )
        for field_name, raw, check_fn, label in checks:
            if not raw.strip():
                continue
            check = check_fn(raw)
            if check.valid:
                out[field_name] = check.normalized
                if (
                    field_name == "resident_id" and data.kind == "personal"
                ):  # an enterprise's is its representative's
                    out["birth_date"] = out["birth_date"] or check.birth_date
                    if not out["gender"]:
                        out["gender"] = "男" if check.gender == "male" else "女"
            elif strict:
                raise IntakeError(
                    f"applicant.{field_name}",
                    f"{label}：{check.message}",
                    field=field_name,
                    reason=check.code,
                )
            else:
                out[field_name] = normalize_number_text(raw)[:40]  # as typed, in ASCII digits
        if (
            data.kind == "personal"
            and out["resident_id"]
            and (data.birth_date or data.gender.strip())
        ):
            # Typed beside the number, they must agree with it (drafts keep them, finish refuses).
            conflicts = resident_id_conflicts(
                out["resident_id"], data.birth_date, data.gender, today
            )
            for field_name, conflict in conflicts.items():
                if strict:
                    raise IntakeError(
                        f"applicant.{field_name}",
                        str(conflict.message),
                        field=field_name,
                        reason=conflict.code,
                    )
        return out

    def _applicant_ready(self, applicant: Applicant | None) -> None:
        if applicant is None or not applicant.name:
            raise IntakeError(
                "intake.no_applicant", "请先录入申请人姓名（或企业名称）。", field="name"
            )
        if applicant.kind == "personal" and not applicant.resident_id:
            raise IntakeError(
                "intake.no_resident_id", "请录入或读取申请人的身份证号码。", field="resident_id"
            )
        if applicant.kind == "enterprise" and not applicant.uscc:
            raise IntakeError(
                "intake.no_uscc", "请录入或扫描企业的统一社会信用代码。", field="uscc"
            )
        # The commitment letter and the receipt name who answers for an enterprise.
        if applicant.kind == "enterprise" and not applicant.legal_representative:
            raise IntakeError(
                "intake.no_legal_representative",
                "请录入企业的法定代表人姓名。",
                field="legal_representative",
            )
        if applicant.kind == "enterprise" and not applicant.resident_id:
            raise IntakeError(
                "intake.no_representative_id", "请录入法定代表人的身份证号码。", field="resident_id"
            )
        # Drafts may hold a number as typed; nothing is finished with a bad one.
        self._validate_applicant(
            ApplicantInput(
                kind=applicant.kind,
                name=applicant.name,  # type: ignore[arg-type]
                resident_id=applicant.resident_id or "",
                uscc=applicant.uscc or "",
                phone=applicant.phone or "",
                birth_date=applicant.birth_date,
                gender=applicant.gender or "",
            ),
            strict=True,
        )
        # How the applicant is reached about progress and results (receipt, notice).
        if not applicant.phone:
            raise IntakeError(
                "intake.no_phone",
                "请录入联系电话：办理进度和领取结果将通过该电话通知申请人。",
                field="phone",
            )

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
                        "intake.unknown_question",
                        f"一件事“{bundle.name}”没有该情形问题。",
                        question=question_id,
                    )
                typed = None if value is None else engine.coerce_answer(question, value)
                typed_all[question_id] = typed
                row = s.get(Answer, (sid, question_id))
                if typed is None:
                    if row is not None:
                        s.delete(row)
                elif row is None:
                    s.add(
                        Answer(submission_id=sid, question_id=question_id, value_json=_json(typed))
                    )
                else:
                    row.value_json = _json(typed)
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
            )
            for material_id, mark in new_marks.items():
                if mark is not None and material_id in result.ignored_marks:
                    name = engine.line_name(catalog, material_id)
                    line = result.line(material_id)
                    if line is not None and line.produced_by is not None:
                        raise IntakeError(
                            "checklist.produced_in_bundle",
                            f"材料“{name}”由本件事中的“{line.produced_by.name}”办理产生，无需申请人提交，不能标记。",
                            material=material_id,
                        )
                    raise IntakeError(
                        "checklist.mark_not_in_list",
                        f"材料“{name}”不在本次材料清单中，不能标记。",
                        material=material_id,
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
            )

    def finish(self, actor: StaffView, sid: str) -> FinishResult:
        """Complete → received (receipt); with tolerance → received (commitment + receipt);
        incomplete → notified (一次告知通知书 listing everything missing)."""
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            bundle = self._require_bundle(sub)
            catalog = self._catalog(sub)
            self._applicant_ready(s.get(Applicant, sub.applicant_id) if sub.applicant_id else None)
            result = engine.evaluate(
                bundle,
                self._items(sub),
                self._answers(s, sid),
                self._marks(s, sid),
                catalog=catalog,
                jurisdiction=sub.jurisdiction,
                strict=False,
            )
            if result.unanswered:
                names = "、".join(q.text for q in bundle.questions if q.id in result.unanswered)
                raise IntakeError(
                    "intake.unanswered",
                    f"请先回答情形问题：{names}",
                    questions=list(result.unanswered),
                )
            if not result.active_items:
                raise IntakeError(
                    "intake.no_active_items",
                    "按情形回答，所选事项均无需办理。请核对情形回答或所选事项。",
                )
            booked_later: dt.date | None = None
            if sub.number is None:
                # The first verdict makes it an intake: booked on today, or on the next working
                # day once today is closed (a draft's creation day does not matter).
                booked = business_day(s, now)
                sub.local_date = booked.isoformat()
                number = self._assign_number(s, sub, booked)
                booked_later = booked if booked != local_day(now) else None
            else:
                number = sub.number
            sub.verdict = result.verdict
            sub.reduction_separate = result.reduction.separate
            sub.reduction_merged = result.reduction.merged
            due: dt.date | None = None
            if result.verdict == "incomplete":
                self._event(
                    s,
                    sub,
                    state,
                    actor,
                    "notified",
                    {"number": number, "missing": list(result.missing)},
                )
                docs: tuple[DocKind, ...] = ("notice",)
            else:
                if result.tolerated:
                    due = self._tolerance_due(catalog, result, local_day(now))
                sub.tolerance_due = due
                active = [i.id for i in result.active_items]
                # Items switched off by an answer are not sent to departments.
                for row in sub.items:
                    row.active = row.item_id in active
                self._event(
                    s,
                    sub,
                    state,
                    actor,
                    "received",
                    {
                        "number": number,
                        "items": active,
                        "tolerated": list(result.tolerated),
                        "due": due.isoformat() if due else None,
                        "verdict": result.verdict,
                    },
                )
                docs = ("commitment", "receipt") if result.tolerated else ("receipt",)
                if not self._paper_outstanding(s, sub, result):
                    self._event(
                        s, sub, self._projection(s, sub), actor, "digitised", {"reason": "no_paper"}
                    )
            log.info("intake finished: %s %s", number, sub.state)
            return FinishResult(
                sid, number, sub.state, result.verdict, result, docs, due, booked_later
            )

    def _assign_number(self, s: Session, sub: Submission, day: dt.date) -> str:
        station = s.get(Station, sub.station_id)
        assert station is not None
        seq = self._next(s, f"num:{station.code}:{day.isoformat()}")
        return format_intake_number(station.code, day, seq)

    @classmethod
    def _tolerance_due(cls, catalog: Catalog, result: Checklist, today: dt.date) -> dt.date:
        """Earliest of each tolerated material's own limit and the items' promised limits."""
        return add_working_days(today, cls._tolerance_days(result))

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

    def discard(self, actor: StaffView, sid: str) -> None:
        with self._tx() as s:
            sub, state = self._load(s, sid)
            self._event(s, sub, state, actor, "discarded", {})

    # ------------------------------------------------------------------ after intake

    def attach_page(
        self, actor: StaffView, sid: str, material_id: str, data: bytes, mime: str
    ) -> PageView:
        """Store a captured page under a material; the intake becomes digitised when the last
        collected paper material has its pages."""
        sha = self._attachments.put(data)  # content-addressed, idempotent: safe before the row
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            if sub.bundle_id:
                result = self._result(s, sub)
                if result.line(material_id) is None:
                    raise IntakeError(
                        "capture.material_not_in_list",
                        "该材料不在本次材料清单中。",
                        material=material_id,
                    )
            position = 1 + (
                s.scalar(
                    select(func.max(Attachment.position)).where(
                        Attachment.submission_id == sid, Attachment.material_id == material_id
                    )
                )
                or 0
            )
            att = Attachment(
                id=str(uuid.uuid4()),
                submission_id=sid,
                material_id=material_id,
                position=position,
                sha256=sha,
                address=self._attachments.address(sha),
                size=len(data),
                mime=mime,
                rotation=0,
                removed=False,
                created_at=now,
            )
            s.add(att)
            s.flush()
            state = self._event(
                s,
                sub,
                state,
                actor,
                "page_attached",
                {
                    "attachment": att.id,
                    "material": material_id,
                    "sha256": sha,
                    "size": len(data),
                    "mime": mime,
                },
            )
            if state.stage == "received" and not self._paper_outstanding(
                s, sub, self._result(s, sub)
            ):
                self._event(s, sub, state, actor, "digitised", {})
            return PageView(att.id, material_id, position, sha, len(data), mime, 0)

    def remove_page(self, actor: StaffView, sid: str, attachment_id: str) -> None:
        with self._tx() as s:
            sub, state = self._load(s, sid)
            att = s.get(Attachment, attachment_id)
            if att is None or att.submission_id != sid or att.removed:
                raise IntakeError("capture.no_page", "页面不存在。")
            att.removed = True
            self._event(s, sub, state, actor, "page_removed", {"attachment": attachment_id})

    def rotate_page(self, actor: StaffView, sid: str, attachment_id: str, degrees: int) -> PageView:
        """Turn a page by a multiple of 90° (kept as metadata: the stored image is untouched)."""
        if degrees % 90:
            raise IntakeError("capture.bad_rotation", "页面只能按90度旋转。")
        with self._tx() as s:
            sub, state = self._load(s, sid)
            att = self._page(s, sid, attachment_id)
            att.rotation = (att.rotation + degrees) % 360
            self._event(
                s,
                sub,
                state,
                actor,
                "page_rotated",
                {"attachment": attachment_id, "rotation": att.rotation},
            )
            return _page_view(att)

    def move_page(
        self, actor: StaffView, sid: str, attachment_id: str, position: int
    ) -> list[PageView]:
        """Put a page at POSITION (1-based) among its material's pages; returns the new order."""
        with self._tx() as s:
            sub, state = self._load(s, sid)
            att = self._page(s, sid, attachment_id)
            pages = list(
                s.scalars(
                    select(Attachment)
                    .where(
                        Attachment.submission_id == sid,
                        Attachment.material_id == att.material_id,
                        Attachment.removed.is_(False),
                    )
                    .order_by(Attachment.position)
                )
            )
            if not 1 <= position <= len(pages):
                raise IntakeError("capture.bad_position", f"页码应在1～{len(pages)}之间。")
            pages.remove(att)
            pages.insert(position - 1, att)
            for n, page in enumerate(pages, start=1):
                page.position = n
            self._event(
                s,
                sub,
                state,
                actor,
                "page_moved",
                {"attachment": attachment_id, "position": position},
            )
            return [_page_view(p) for p in pages]

    @staticmethod
    def _page(s: Session, sid: str, attachment_id: str) -> Attachment:
        att = s.get(Attachment, attachment_id)
        if att is None or att.submission_id != sid or att.removed:
            raise IntakeError("capture.no_page", "页面不存在。")
        return att

    def page_bytes(self, page: PageView) -> bytes:
        return self._attachments.get(page.sha256)

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
            raise IntakeError("intake.reason_required", "请填写撤回原因。", field="reason")
        with self._tx() as s:
            sub, state = self._load(s, sid)
            self._event(s, sub, state, actor, "withdrawn", {"reason": reason.strip()})

    def record_decision(
        self, actor: StaffView | None, sid: str, item_id: str, decision: str, reason: str = ""
    ) -> None:
        """A department's 受理 / 不予受理 / 办结 for one item (arrives through sync)."""
        if decision not in ("accepted", "rejected", "completed"):
            raise IntakeError("intake.bad_decision", "办理结果应为 受理/不予受理/办结。")
        if decision == "rejected" and not reason.strip():
            raise IntakeError("intake.reason_required", "不予受理必须说明理由。", field="reason")
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
            _set_item_outcomes(sub)

    def mark_pushed_many(self, sids: Sequence[str]) -> list[str]:
        """Mark several intakes pushed in one durable transaction (sync drains thousands);
        returns those marked — one whose state no longer allows it is skipped."""
        done: list[str] = []
        with self._tx() as s, s.no_autoflush:
            # The submissions and their items in a few queries up front, and their updates
            # flushed together at the end, instead of three round trips through the ORM each.
            held: list[Submission] = []  # the session keeps clean objects weakly: hold them
            for chunk in _chunks(list(sids), 500):
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
    ) -> None:
        """送达 at the window or by express (tracking number required)."""
        if method not in ("window", "express"):
            raise IntakeError("intake.delivery_method", "送达方式应为窗口领取或邮寄。")
        if method == "express" and not tracking_number.strip():
            raise IntakeError(
                "intake.tracking_required", "邮寄送达请填写快递单号。", field="tracking_number"
            )
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            ready = [
                i
                for i, d in state.decisions.items()
                if d in ("completed", "rejected") and i not in state.delivered_items
            ]
            chosen = list(items) if items is not None else ready
            self._event(
                s,
                sub,
                state,
                actor,
                "delivered",
                {
                    "method": method,
                    "items": chosen,
                    "tracking_number": tracking_number.strip(),
                    "address": address.strip(),
                },
            )
            for row in sub.items:
                if row.item_id in chosen:
                    row.delivered_at = now
            _set_item_outcomes(sub)
            sub.delivery_method = method
            if address.strip():
                sub.delivery_address = address.strip()

    # ------------------------------------------------------------------ documents

    def document(
        self, actor: StaffView | None, sid: str, kind: DocKind, *, reprint: bool = False
    ) -> IntakeDocument:
        """What a printed document carries, rebuilt from the store and the submission's catalog."""
        with self._sessions() as s:
            sub, state = self._load(s, sid)
            if sub.number is None:
                raise IntakeError("intake.not_finished", "受理尚未完成，不能打印文书。")
            if kind in ("receipt", "commitment", "supplement") and sub.received_at is None:
                raise IntakeError("intake.not_received", "尚未收件，不能打印收件回执或承诺书。")
            if kind == "return_list" and state.stage != "withdrawn":
                raise IntakeError("intake.not_withdrawn", "只有已撤回的受理才打印退还材料清单。")
            if kind == "notice" and state.stage != "notified":
                # A received intake owes nothing a notice could list (tolerated ones are on the
                # commitment letter and the receipt).
                raise IntakeError("intake.not_notified", "该受理已收件，不出具一次告知通知书。")
            received = _last_event(s, sid, "received")
            at_receipt = tuple((received or {}).get("tolerated", ()))
            if kind == "commitment" and not at_receipt:
                raise IntakeError("intake.no_tolerance", "本次收件没有容缺材料，无需告知承诺书。")
            supplemented = _last_event(s, sid, "supplemented") if kind == "supplement" else None
            if kind == "supplement" and supplemented is None:
                raise IntakeError(
                    "intake.no_supplement", "该受理没有补正记录，不能打印补正材料收件回执。"
                )
            bundle = self._require_bundle(sub)
            station = s.get(Station, sub.station_id)
            clerk = s.get(Staff, sub.clerk_id)
            applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
            assert station is not None and clerk is not None and applicant is not None
            result = self._result(s, sub)
            pages: dict[str, int] = {}
            for mid, n in s.execute(
                select(Attachment.material_id, func.count())
                .where(Attachment.submission_id == sid, Attachment.removed.is_(False))
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
                    raise IntakeError(
                        "intake.nothing_missing", "材料已齐全，无需一次告知，请完成收件。"
                    )
            elif kind == "commitment":
                # What the applicant committed to at receipt, even after it was handed in.
                due = (
                    dt.date.fromisoformat(received["due"])
                    if received and received.get("due")
                    else sub.tolerance_due
                )
                materials = [
                    dataclasses.replace(m, state="tolerated", due_date=due)
                    if m.id in at_receipt
                    else m
                    for m in materials
                ]
            elif kind == "supplement":
                assert supplemented is not None
                handed = set(supplemented["materials"])
                materials = [
                    dataclasses.replace(m, state="collected", due_date=None)
                    if m.id in handed
                    else m
                    for m in materials
                    if m.id in handed or m.state == "tolerated"
                ]
            items = tuple(
                DocItem(i.name, i.department_in(sub.jurisdiction), i.time_limit_text)
                for i in result.active_items
            )
            # A reprint carries the original time (marked 补打); a return list is dated when printed,
            # a supplement receipt when the materials were handed in.
            issued = (
                self._clock.now() if kind == "return_list" else (sub.finished_at or sub.created_at)
            )
            if supplemented is not None:
                issued = supplemented["at"]
            manifest = manifest_hash(
                sub.number, bundle.id, [i.id for i in result.active_items], received_list
            )
            stamp = issued.astimezone(STATION_TZ).strftime("%Y%m%d%H%M")
            payload = (
                self._signer.payload(sub.number, stamp, manifest)
                if self._signer
                else encode_receipt_payload(sub.number, t=stamp, m=manifest)
            )
            hub = s.get(SyncState, "hub_url")
            base = query_base(hub.value if hub is not None else None, self._query_url)
            if base is not None:  # a phone that scans the QR opens the county's status page
                payload = receipt_query_url(base, payload)
            doc = IntakeDocument(
                kind=kind,
                number=sub.number,
                centre_name=station.centre_name,
                station_name=station.name,
                clerk_name=clerk.display_name,
                issued_at=issued.astimezone(STATION_TZ),
                bundle_name=bundle.name,
                items=items,
                applicant=DocApplicant(
                    kind=applicant.kind,  # type: ignore[arg-type]
                    name=applicant.name,
                    resident_id=applicant.resident_id or "",
                    address=applicant.address,
                    phone=applicant.phone,
                    uscc=applicant.uscc or "",
                    legal_representative=applicant.legal_representative,
                    identity_source=_applicant_view(applicant).identity_source,  # type: ignore[arg-type]
                ),
                materials=tuple(materials),
                qr_payload=payload,
                catalog_version=sub.catalog_version,
                progress_phone=station.progress_phone,
                delivery="窗口领取"
                if sub.delivery_method == "window"
                else f"邮寄：{sub.delivery_address}",
                tolerated_due=sub.tolerance_due,
                reprint=reprint,
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
        with self._tx() as s:
            sub, state = self._load(s, sid)
            s.add(
                Document(
                    id=str(uuid.uuid4()),
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
        return sha

    def documents(self, sid: str) -> list[tuple[str, str, bool, dt.datetime]]:
        with self._sessions() as s:
            rows = s.scalars(
                select(Document).where(Document.submission_id == sid).order_by(Document.created_at)
            )
            return [(d.kind, d.sha256, d.reprint, d.created_at) for d in rows]

    # ------------------------------------------------------------------ reads

    def get(self, sid: str, actor: StaffView | None = None) -> SubmissionView:
        """The full record (full ID number included); a read by a person is audited."""
        with self._sessions() as s:
            sub, state = self._load(s, sid)
            view = self._view(s, sub, state)
        if actor is not None:
            with self._tx() as w:
                audit.append(
                    w,
                    at=self._clock.now(),
                    staff_id=actor.id,
                    action="intake.view",
                    target=sub.number or sid,
                )
        return view

    def find_by_number(self, text: str) -> str | None:
        parsed = parse_intake_number(text)
        if parsed is None:
            return None
        with self._sessions() as s:
            return s.scalar(select(Submission.id).where(Submission.number == parsed.text))

    def open_drafts(self, actor: StaffView) -> list[SubmissionView]:
        """Drafts this clerk left unfinished (offered again after a crash or restart)."""
        with self._sessions() as s:
            subs = s.scalars(
                select(Submission)
                .where(Submission.clerk_id == actor.id, Submission.state == "draft")
                .order_by(Submission.updated_at.desc())
            ).all()
            return [self._view(s, sub, self._projection(s, sub)) for sub in subs]

    def events(self, sid: str) -> list[tuple[str, dict[str, Any], dt.datetime]]:
        with self._sessions() as s:
            rows = s.scalars(
                select(Event).where(Event.submission_id == sid).order_by(Event.station_seq)
            )
            return [(e.type, json.loads(e.payload), e.at) for e in rows]

    def search(self, query: str, *, limit: int = 200) -> list[LedgerRow]:
        """By intake number (or part of one), ID number / USCC, phone, full name, or date
        (YYYY-MM-DD); part of a name matches within the last NAME_SCAN_DAYS days. Names, ID
        numbers and phones are encrypted, so those lookups go through their blind indexes."""
        q = query.strip()
        if not q:
            return []
        stmt = _ledger_select()
        number = parse_intake_number(q)
        partial_name = False
        if number is not None:
            stmt = stmt.where(Submission.number == number.text)
        elif check_resident_id(q).valid:
            blind = self._key.blind("resident_id", str(check_resident_id(q).normalized))
            stmt = stmt.where(Applicant.resident_id_bidx == blind)
        elif check_uscc(q).valid:
            stmt = stmt.where(Applicant.uscc == check_uscc(q).normalized)
        elif check_mobile(q).valid:
            stmt = stmt.where(
                Applicant.phone_bidx == self._key.blind("phone", str(check_mobile(q).normalized))
            )
        else:
            try:
                day = dt.date.fromisoformat(q)
                stmt = stmt.where(Submission.local_date == day.isoformat())
            except ValueError:
                fragment = number_fragment(q)
                if fragment is not None:
                    # part of an intake number (`0002-D`): dashes typed or not
                    stmt = stmt.where(
                        func.replace(Submission.number, "-", "").contains(fragment, autoescape=True)
                    )
                else:
                    partial_name = True
        with self._sessions() as s:
            if not partial_name:
                stmt = stmt.order_by(Submission.created_at.desc()).limit(limit)
                return _ledger_rows(s, stmt, self._catalogs.current)
            ids = self._name_matches(s, q, limit)
            if not ids:
                return []
            stmt = stmt.where(Submission.id.in_(ids)).order_by(Submission.created_at.desc())
            return _ledger_rows(s, stmt, self._catalogs.current)

    NAME_SCAN_DAYS = 31

    def _name_matches(self, s: Session, q: str, limit: int) -> list[str]:
        """Submissions whose applicant has exactly this name (any date, by blind index), then
        those whose name contains it among recent ones (decrypted here, never in SQL)."""
        norm = normalise_name(q)
        exact = s.scalars(
            select(Submission.id)
            .join(Applicant, Applicant.id == Submission.applicant_id)
            .where(Applicant.name_bidx == self._key.blind("name", norm))
            .order_by(Submission.created_at.desc())
            .limit(limit)
        ).all()
        since = (local_day(self._clock.now()) - dt.timedelta(days=self.NAME_SCAN_DAYS)).isoformat()
        recent = s.execute(
            select(Submission.id, Applicant.name)
            .join(Applicant, Applicant.id == Submission.applicant_id)
            .where(Submission.local_date >= since)
            .order_by(Submission.created_at.desc())
        )
        found = list(exact)
        seen = set(found)
        for sid, name in recent:
            if len(found) >= limit:
                break
            if sid not in seen and norm in normalise_name(name or ""):
                found.append(sid)
                seen.add(sid)
        return found

    def ledger(self, day: dt.date, *, applicants: bool = True) -> list[LedgerRow]:
        """The day's submissions (drafts excluded), oldest first. Without APPLICANTS the
        applicant cells are left to `applicant_cells` (rows marked applicant_pending)."""
        stmt = (
            _ledger_select(applicants)
            .where(Submission.local_date == day.isoformat(), Submission.state.not_in(NOT_INTAKE))
            .order_by(Submission.created_at)
        )
        with self._sessions() as s:
            return _ledger_rows(s, stmt, self._catalogs.current, applicants)

    def rows_for(self, ids: Sequence[str], *, applicants: bool = True) -> list[LedgerRow]:
        """Ledger lines of the submissions IDS, in that order (a supervisor's drill-down)."""
        found: dict[str, LedgerRow] = {}
        with self._sessions() as s:
            for chunk in _chunks(list(ids), 500):
                stmt = _ledger_select(applicants).where(Submission.id.in_(chunk))
                found.update(
                    (r.submission_id, r)
                    for r in _ledger_rows(s, stmt, self._catalogs.current, applicants)
                )
        return [found[i] for i in ids if i in found]

    def applicant_cells(self, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """(shown name, masked ID / USCC, identity source) of the submissions IDS: what a
        ledger row marked applicant_pending lacks. Only these applicants are decrypted."""
        out: dict[str, tuple[str, str, str]] = {}
        with self._sessions() as s:
            for chunk in _chunks(list(ids), 500):
                for sid, *cells in s.connection().execute(
                    select(Submission.id, *_APPLICANT_COLUMNS)
                    .select_from(Submission)
                    .outerjoin(Applicant, Applicant.id == Submission.applicant_id)
                    .where(Submission.id.in_(chunk))
                ):
                    out[sid] = _applicant_cells(*cells)
        return out

    def with_applicants(self, rows: Sequence[LedgerRow]) -> list[LedgerRow]:
        """ROWS with their applicant cells filled (an export needs them all)."""
        cells = self.applicant_cells([r.submission_id for r in rows if r.applicant_pending])
        return [
            r._replace(
                applicant_name=c[0],
                applicant_id_masked=c[1],
                identity_source=c[2],
                applicant_pending=False,
            )
            if r.applicant_pending and (c := cells.get(r.submission_id))
            else r
            for r in rows
        ]

    # ------------------------------------------------------------------ helpers

    def _require_bundle(self, sub: Submission) -> Bundle:
        if not sub.bundle_id:
            raise IntakeError("intake.no_bundle", "请先选择一件事和事项。")
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
        )

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
            applicant=_applicant_view(applicant) if applicant else None,
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


def _page_view(a: Attachment) -> PageView:
    return PageView(a.id, a.material_id, a.position, a.sha256, a.size, a.mime, a.rotation)


def _applicant_view(a: Applicant) -> ApplicantView:
    return ApplicantView(
        id=a.id,
        kind=a.kind,
        name=a.name,
        resident_id=a.resident_id or "",  # type: ignore[arg-type]
        gender=a.gender or "",
        birth_date=a.birth_date,
        address=a.address or "",
        phone=a.phone or "",
        uscc=a.uscc or "",
        legal_representative=a.legal_representative or "",
        sources=json.loads(a.field_sources or "{}"),
        consent_reuse=a.consent_reuse,
    )


# The times are read as their stored text (UtcDateTime's ISO form) and parsed in _ledger_rows:
# the per-value type wrapper costs a third of a busy day's ledger.
# Statements run for every event, built once (a sync drain marks thousands pushed at a time).
_NEXT_COUNTER = (
    sqlite_insert(Counter)
    .values(name=bindparam("name"), value=1)
    .on_conflict_do_update(index_elements=["name"], set_={"value": Counter.value + 1})
    .returning(Counter.value)
)
_INSERT_EVENT = insert(Event)  # executed on the connection: a plain Core insert

_LEDGER_COLUMNS = (
    Submission.id,
    Submission.number,
    type_coerce(Submission.created_at, String),
    Submission.bundle_id,
    Submission.state,
    Submission.awaiting_supplement,
    type_coerce(Submission.received_at, String),
    type_coerce(Submission.digitised_at, String),
    type_coerce(Submission.pushed_at, String),
    Submission.clerk_id,
)
_APPLICANT_COLUMNS = (
    Applicant.kind,
    Applicant.name,
    Applicant.resident_id,
    Applicant.uscc,
    Applicant.field_sources,
)


def _ledger_select(applicants: bool = True) -> Any:
    # Clerks' names come from one small query in _ledger_rows, not a join per line.
    stmt = select(*_LEDGER_COLUMNS, *(_APPLICANT_COLUMNS if applicants else ())).select_from(
        Submission
    )
    return (
        stmt.outerjoin(Applicant, Applicant.id == Submission.applicant_id) if applicants else stmt
    )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _applicant_cells(
    kind: str | None,
    name: str | None,
    resident_id: str | None,
    uscc: str | None,
    field_sources: str | None,
) -> tuple[str, str, str]:
    """(shown name, masked ID / USCC, identity source) of a ledger line."""
    kind = kind or "personal"
    if kind == "enterprise":
        shown, masked = name or "", mask_resident_id(uscc or resident_id or "")
    else:
        shown, masked = mask_name(name or ""), mask_resident_id(resident_id or "")
    return shown, masked, _identity_source(field_sources or "{}", kind)


@functools.lru_cache(maxsize=256)
def _identity_source(field_sources: str, kind: str) -> str:
    # Few distinct source maps exist ({"name": "card", ...}): parse each once per process.
    key = "uscc" if kind == "enterprise" else "resident_id"
    return str(json.loads(field_sources or "{}").get(key, "typed"))


def _set_item_outcomes(sub: Submission) -> None:
    for column, value in item_outcomes(
        (i.decision, i.decided_at, i.delivered_at) for i in sub.items
    ).items():
        setattr(sub, column, value)


def _ledger_rows(
    s: Session, stmt: Any, catalog: Catalog, applicants: bool = True
) -> list[LedgerRow]:
    """Ledger lines of a `_ledger_select(APPLICANTS)` statement. Hot (a busy day is thousands
    of rows, DESIGN §12 asks < 50 ms): Core rows, no ORM; without APPLICANTS no applicant row
    is read or decrypted (the window fills what is on screen)."""
    out = []
    bundles: dict[str | None, str] = {}
    labels = {
        (state, awaiting): label + ("（容缺待补）" if awaiting else "")
        for state, label in STAGE_LABELS.items()
        for awaiting in (False, True)
    }
    pending = ("", "", "")
    clerks = dict(s.connection().execute(select(Staff.id, Staff.display_name)).all())
    parse = dt.datetime.fromisoformat  # 3.11 reads the stored trailing Z as UTC
    for row in s.connection().execute(stmt).all():  # one fetchall, not a fetchone per row
        sid, number, created, bundle_id, state, awaiting, received, digitised, pushed, clerk_id = (
            row[:10]
        )
        bundle_name = bundles.get(bundle_id)
        if bundle_name is None:
            bundle = catalog.bundle(bundle_id) if bundle_id else None
            bundle_name = bundles[bundle_id] = bundle.name if bundle else (bundle_id or "")
        shown, masked, source = _applicant_cells(*row[10:]) if applicants else pending
        out.append(
            LedgerRow(
                sid,
                number,
                parse(created).astimezone(STATION_TZ),
                bundle_id,
                bundle_name,
                shown,
                masked,
                state,
                labels[state, bool(awaiting)],
                awaiting,
                clerks.get(clerk_id, ""),
                parse(received) if received else None,
                parse(digitised) if digitised else None,
                parse(pushed) if pushed else None,
                source,
                not applicants,
            )
        )
    return out


__all__ = ["APPLICANT_FIELDS", "DomainError", "FinishResult", "IntakeService", "day_bounds"]
