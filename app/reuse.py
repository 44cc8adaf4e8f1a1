"""一人一档: with the applicant's recorded consent, an earlier intake of the same person offers its
applicant data and still-valid captured materials to this intake.

- Consent is kept per person (app/consent.py); without consent in force nothing is offered.
- An offer is computed from the local store only (the hub holds no searchable person index):
  the newest earlier intake's address and phone where they differ from this intake's, and for
  each checklist line whose catalog material is `reusable`, the pages captured for the same line
  in the newest earlier intake that has them, when younger than the material's `max_age_days`
  (default: the station's reuse_max_age_days option).
- Accepting copies by reference: the new attachment rows name the same content-addressed,
  encrypted blob (same keyed address), so no plaintext is written and nothing is re-sealed; the
  hub, whose pages are content-addressed too, already has the bytes and is sent them once.
  The line becomes collected, and reuse_records keep its origin (number and day) for the
  checklist and the receipt — kept when consent is withdrawn later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from app import audit
from app.checklist import line_name
from app.clock import local_day
from app.consent import ConsentState, consent_state, record_consent
from app.documents import DocMaterial
from app.errors import IntakeError
from app.intake_base import IntakeBase, dump_json
from app.numbering import parse_intake_number
from app.options import REUSE_MAX_AGE_DAYS
from app.views import StaffView
from local_db.crypto import DataKey, applicant_index
from local_db.models import (
    Applicant,
    Attachment,
    MaterialMark,
    ReuseRecord,
    Submission,
)

log = logging.getLogger("intake.reuse")

DEFAULT_MAX_AGE_DAYS = REUSE_MAX_AGE_DAYS.default
REUSABLE_FIELDS = ("address", "phone")
FIELD_NAMES = {"address": "住址", "phone": "联系电话"}  # for the refusal's text


@dataclass(frozen=True)
class ReuseOrigin:
    """The earlier intake something was taken from."""

    submission_id: str
    number: str
    date: dt.date  # its ledger day


@dataclass(frozen=True)
class FieldOffer:
    field: str
    value: str
    origin: ReuseOrigin


@dataclass(frozen=True)
class MaterialOffer:
    line_id: str
    name: str
    pages: int
    captured_on: dt.date
    origin: ReuseOrigin


@dataclass(frozen=True)
class TooOld:
    """A reusable material found in an earlier intake but past its age: not offered."""

    line_id: str
    name: str
    captured_on: dt.date
    max_age_days: int
    origin: ReuseOrigin


@dataclass(frozen=True)
class ReuseOffer:
    consent: ConsentState
    fields: tuple[FieldOffer, ...] = ()
    materials: tuple[MaterialOffer, ...] = ()
    too_old: tuple[TooOld, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.fields and not self.materials


@dataclass(frozen=True)
class Reused:
    """What this intake took from an earlier one (a field name or a checklist line id)."""

    kind: Literal["field", "material"]
    key: str
    origin: ReuseOrigin
    pages: int = 0


def reused_of(s: Session, sid: str) -> dict[tuple[str, str], Reused]:
    """What intake SID reused, by (kind, key)."""
    return {
        (r.kind, r.key): Reused(
            r.kind,  # type: ignore[arg-type]
            r.key,
            ReuseOrigin(
                r.origin_submission_id, r.origin_number, dt.date.fromisoformat(r.origin_date)
            ),
            r.pages,
        )
        for r in s.scalars(select(ReuseRecord).where(ReuseRecord.submission_id == sid))
    }


def with_origins(
    materials: Sequence[DocMaterial], reused: dict[tuple[str, str], Reused]
) -> list[DocMaterial]:
    """A document's material lines with the origin of those reused (printed as on screen)."""
    out = []
    for m in materials:
        r = reused.get(("material", m.id))
        if r is not None and m.state == "collected":
            m = dataclasses.replace(m, reused_number=r.origin.number, reused_date=r.origin.date)
        out.append(m)
    return out


def reused_materials() -> Any:
    """SQL condition on submissions: the intake took a material from an earlier one (the
    supervisor's figure, app/reports.py)."""
    return exists().where(
        ReuseRecord.submission_id == Submission.id, ReuseRecord.kind == "material"
    )


class ReuseService(IntakeBase):
    """Consent (grant / withdraw), the offer, and accepting what the clerk chose."""

    max_age_days = DEFAULT_MAX_AGE_DAYS

    def configure(self, max_age_days: int) -> None:
        self.max_age_days = max_age_days

    # -- consent

    def consent(self, actor: StaffView, who: str, grant: bool) -> ConsentState:
        """Grant or withdraw for the person named by an ID number or one of their intake numbers."""
        now = self._clock.now()
        with self._tx() as s:
            bidx, sub = _person(s, self._key, who)
            return record_consent(s, bidx, grant, actor, now, sub)

    def consent_status(self, who: str) -> ConsentState:
        """The consent in force for the person named by an ID number or an intake number."""
        with self._sessions() as s:
            bidx, _ = _person(s, self._key, who)
            return consent_state(s, bidx)

    def consent_for(self, actor: StaffView, sid: str, grant: bool) -> ConsentState:
        """Grant or withdraw for the applicant of intake SID (the window's toggle)."""
        now = self._clock.now()
        with self._tx() as s:
            sub, _ = self._load(s, sid)
            bidx = _bidx_of(s, sub)
            if bidx is None:
                raise IntakeError("reuse.no_person")
            return record_consent(s, bidx, grant, actor, now, sub)

    # -- the offer

    def offer(self, sid: str) -> ReuseOffer:
        with self._sessions() as s:
            sub, _ = self._load(s, sid)
            return self._offer(s, sub)

    def _offer(self, s: Session, sub: Submission) -> ReuseOffer:
        bidx = _bidx_of(s, sub)
        consent = consent_state(s, bidx)
        if not consent.granted:
            return ReuseOffer(consent)
        earlier = self._earlier(s, sub, bidx)
        if not earlier:
            return ReuseOffer(consent)
        done = reused_of(s, sub.id)
        current = s.get(Applicant, sub.applicant_id)
        newest, newest_applicant = earlier[0]
        fields = tuple(
            FieldOffer(f, value, newest)
            for f in REUSABLE_FIELDS
            if ("field", f) not in done
            and (value := getattr(newest_applicant, f) or "")
            and value != (getattr(current, f) or "")
        )
        materials, too_old = self._material_offers(s, sub, earlier, done)
        return ReuseOffer(consent, fields, materials, too_old)

    def _earlier(
        self, s: Session, sub: Submission, bidx: bytes | None
    ) -> list[tuple[ReuseOrigin, Applicant]]:
        """The person's earlier intakes (numbered, not this one), newest first."""
        rows = s.execute(
            select(Submission, Applicant)
            .join(Applicant, Submission.applicant_id == Applicant.id)
            .where(
                Applicant.resident_id_bidx == bidx,
                Submission.id != sub.id,
                Submission.number.is_not(None),
                Submission.state != "discarded",
            )
            .order_by(Submission.finished_at.desc(), Submission.created_at.desc())
        ).all()
        return [
            (ReuseOrigin(o.id, o.number or "", dt.date.fromisoformat(o.local_date)), a)
            for o, a in rows
        ]

    def _material_offers(
        self,
        s: Session,
        sub: Submission,
        earlier: list[tuple[ReuseOrigin, Applicant]],
        done: dict[tuple[str, str], Reused],
    ) -> tuple[tuple[MaterialOffer, ...], tuple[TooOld, ...]]:
        if not sub.bundle_id:
            return (), ()
        today = local_day(self._clock.now())
        offers: list[MaterialOffer] = []
        old: list[TooOld] = []
        for line in self._result(s, sub).materials:
            if (
                not line.material.reusable
                or line.state not in ("missing", "tolerated")
                or ("material", line.id) in done
            ):
                continue
            max_age = line.material.max_age_days or self.max_age_days
            for origin, _ in earlier:
                pages = _pages(s, origin.submission_id, line.id)
                if not pages:
                    continue
                captured = min(local_day(p.created_at) for p in pages)
                if (today - captured).days <= max_age:
                    offers.append(MaterialOffer(line.id, line.name, len(pages), captured, origin))
                    break
                old.append(TooOld(line.id, line.name, captured, max_age, origin))
                break  # the newest capture is too old: older intakes are older still
        return tuple(offers), tuple(old)

    # -- accepting

    def accept(
        self,
        actor: StaffView,
        sid: str,
        fields: Sequence[str] = (),
        materials: Sequence[str] = (),
    ) -> list[Reused]:
        """Take the chosen fields and materials, checked against a fresh offer (consent withdrawn
        or a page gone past its age meanwhile: refused, nothing written)."""
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            offer = self._offer(s, sub)
            if not offer.consent.granted:
                if offer.consent.status == "withdrawn":
                    raise IntakeError("reuse.no_consent", variant=2)
                raise IntakeError("reuse.no_consent")
            if not fields and not materials:
                return []
            by_field = {f.field: f for f in offer.fields}
            by_line = {m.line_id: m for m in offer.materials}
            for f in fields:
                if f not in by_field:
                    raise IntakeError(
                        "reuse.field_not_offered", field=f, field_name=FIELD_NAMES.get(f, f)
                    )
            for mid in materials:
                if mid not in by_line:
                    name = line_name(self._catalog(sub), mid)
                    raise IntakeError("reuse.material_not_offered", material=mid, name=name)
            out: list[Reused] = []
            if fields:
                out += self._take_fields(s, sub, state, actor, [by_field[f] for f in fields], now)
            if materials:
                chosen = [by_line[m] for m in dict.fromkeys(materials)]
                out += self._take_materials(s, sub, state, actor, chosen, now)
            audit.append(
                s,
                at=now,
                staff_id=actor.id,
                action="reuse.accepted",
                target=sub.number or sub.id,
                detail=dump_json({"fields": list(fields), "materials": list(materials)}),
            )
            log.info("reuse accepted: %s (%d)", sub.number or sub.id, len(out))
            return out

    def _take_fields(
        self,
        s: Session,
        sub: Submission,
        state: Any,
        actor: StaffView,
        chosen: list[FieldOffer],
        now: dt.datetime,
    ) -> list[Reused]:
        applicant = s.get(Applicant, sub.applicant_id)
        assert applicant is not None
        sources = json.loads(applicant.field_sources or "{}")
        for f in chosen:
            setattr(applicant, f.field, f.value)
            sources[f.field] = "reuse"
        applicant.field_sources = dump_json(sources)
        applicant.phone_bidx = applicant_index(
            self._key, name=None, resident_id=None, phone=applicant.phone or None
        )["phone_bidx"]
        applicant.updated_at = now
        payload: dict[str, Any] = {
            k: getattr(applicant, k)
            for k in (
                "kind",
                "name",
                "resident_id",
                "gender",
                "address",
                "phone",
                "uscc",
                "legal_representative",
                "document_type",
            )
        }
        payload["birth_date"] = applicant.birth_date.isoformat() if applicant.birth_date else None
        payload["sources"] = sources
        payload["consent_reuse"] = applicant.consent_reuse
        payload["reused"] = {f.field: _origin_json(f.origin) for f in chosen}
        self._event(s, sub, state, actor, "applicant_set", payload)
        return [self._record(s, sub, actor, "field", f.field, f.origin, 0, now) for f in chosen]

    def _take_materials(
        self,
        s: Session,
        sub: Submission,
        state: Any,
        actor: StaffView,
        chosen: list[MaterialOffer],
        now: dt.datetime,
    ) -> list[Reused]:
        marks = {m.line_id: "collected" for m in chosen}
        reused = {m.line_id: _origin_json(m.origin) for m in chosen}
        state = self._event(
            s, sub, state, actor, "material_marked", {"marks": marks, "reused": reused}
        )
        out: list[Reused] = []
        for m in chosen:
            row = s.get(MaterialMark, (sub.id, m.line_id))
            if row is None:
                s.add(
                    MaterialMark(
                        submission_id=sub.id,
                        material_id=m.line_id,
                        mark="collected",
                        marked_at=now,
                        clerk_id=actor.id,
                    )
                )
            else:
                row.mark, row.marked_at, row.clerk_id = "collected", now, actor.id
            start = _last_position(s, sub.id, m.line_id)
            for n, page in enumerate(_pages(s, m.origin.submission_id, m.line_id), start=1):
                att = Attachment(
                    id=str(uuid.uuid4()),
                    submission_id=sub.id,
                    material_id=m.line_id,
                    position=start + n,
                    sha256=page.sha256,  # the same blob, by reference: nothing re-sealed
                    address=page.address,
                    size=page.size,
                    mime=page.mime,
                    rotation=page.rotation,
                    removed=False,
                    created_at=page.created_at,  # the capture's age travels with the page
                )
                s.add(att)
                state = self._event(
                    s,
                    sub,
                    state,
                    actor,
                    "page_attached",
                    {
                        "attachment": att.id,
                        "material": m.line_id,
                        "sha256": page.sha256,
                        "size": page.size,
                        "mime": page.mime,
                        "reused_from": m.origin.number,
                    },
                )
            out.append(self._record(s, sub, actor, "material", m.line_id, m.origin, m.pages, now))
        return out

    @staticmethod
    def _record(
        s: Session,
        sub: Submission,
        actor: StaffView,
        kind: Literal["field", "material"],
        key: str,
        origin: ReuseOrigin,
        pages: int,
        now: dt.datetime,
    ) -> Reused:
        row = s.scalar(
            select(ReuseRecord).where(
                ReuseRecord.submission_id == sub.id,
                ReuseRecord.kind == kind,
                ReuseRecord.key == key,
            )
        )
        if row is None:
            row = ReuseRecord(submission_id=sub.id, kind=kind, key=key)
            s.add(row)
        row.origin_submission_id, row.origin_number = origin.submission_id, origin.number
        row.origin_date, row.pages = origin.date.isoformat(), pages
        row.at, row.staff_id = now, actor.id
        return Reused(kind, key, origin, pages)

    def reused(self, sid: str) -> dict[tuple[str, str], Reused]:
        with self._sessions() as s:
            return reused_of(s, sid)

    def consent_of(self, sid: str) -> ConsentState:
        """The consent in force for intake SID's applicant."""
        with self._sessions() as s:
            sub, _ = self._load(s, sid)
            return consent_state(s, _bidx_of(s, sub))


def _origin_json(o: ReuseOrigin) -> dict[str, str]:
    return {"submission": o.submission_id, "number": o.number, "date": o.date.isoformat()}


def _bidx_of(s: Session, sub: Submission) -> bytes | None:
    a = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
    return a.resident_id_bidx if a is not None and a.kind == "personal" else None


def _person(s: Session, key: DataKey, who: str) -> tuple[bytes, Submission | None]:
    """The person named by an ID number or an intake number, and that intake (if one)."""
    text = who.strip().upper()
    if not text:
        raise IntakeError("reuse.who_required", field="who")
    if "-" in text:  # an intake number (ID numbers have no dash)
        if parse_intake_number(text) is None:
            raise IntakeError("reuse.person_not_found")
        sub = s.scalar(select(Submission).where(Submission.number == text))
        bidx = _bidx_of(s, sub) if sub is not None else None
        if sub is None or bidx is None:
            raise IntakeError("reuse.person_not_found")
        return bidx, sub
    bidx = applicant_index(key, name=None, resident_id=text, phone=None)["resident_id_bidx"]
    assert bidx is not None
    personal = and_(Applicant.resident_id_bidx == bidx, Applicant.kind == "personal")
    found = s.scalar(select(func.count()).select_from(Applicant).where(personal))
    if not found:
        raise IntakeError("reuse.person_not_found")
    latest = s.scalar(
        select(Submission)
        .join(Applicant, Submission.applicant_id == Applicant.id)
        .where(personal)
        .order_by(Submission.created_at.desc())
        .limit(1)
    )
    return bidx, latest


def _pages(s: Session, sid: str, line_id: str) -> list[Attachment]:
    return list(
        s.scalars(
            select(Attachment)
            .where(
                Attachment.submission_id == sid,
                Attachment.material_id == line_id,
                Attachment.removed.is_(False),
            )
            .order_by(Attachment.position)
        )
    )


def _last_position(s: Session, sid: str, line_id: str) -> int:
    return int(
        s.scalar(
            select(func.max(Attachment.position)).where(
                Attachment.submission_id == sid, Attachment.material_id == line_id
            )
        )
        or 0
    )
