"""Plain frozen values the services hand to screens and the CLI (never ORM objects)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from app.validators import (
    check_mobile,
    check_resident_id,
    check_uscc,
    mask_name,
    mask_phone,
    mask_resident_id,
    resident_id_conflicts,
)

Role = Literal["clerk", "supervisor", "admin"]
ROLE_LABELS = {"clerk": "窗口人员", "supervisor": "负责人", "admin": "管理员"}
FieldSource = Literal["card", "ocr", "licence_qr", "reuse", "typed"]
APPLICANT_FIELDS = (
    "name",
    "resident_id",
    "gender",
    "birth_date",
    "address",
    "phone",
    "uscc",
    "legal_representative",
)


@dataclass(frozen=True)
class StaffView:
    id: int
    username: str
    display_name: str
    role: Role
    station_id: int

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


@dataclass(frozen=True)
class StationView:
    id: int
    code: str
    name: str
    centre_name: str
    jurisdiction: str | None
    progress_phone: str = ""


@dataclass(frozen=True)
class ApplicantInput:
    """What the clerk (or the card reader) gives; `sources` says where each field came from.

    A field read from a card is `verified` until the clerk edits it; the panel then sets its
    source to "typed".
    """

    kind: Literal["personal", "enterprise"] = "personal"
    name: str = ""
    resident_id: str = ""
    gender: str = ""
    birth_date: dt.date | None = None
    address: str = ""
    phone: str = ""
    uscc: str = ""
    legal_representative: str = ""
    sources: Mapping[str, FieldSource] = field(default_factory=dict)
    consent_reuse: bool = False
    # The document the number belongs to: resident | hmt_residence | foreign_2017 | foreign_2023
    # (app.capture.cardtypes); it decides how the number is checked and what documents call it.
    document_type: str = "resident"


@dataclass(frozen=True)
class ApplicantView:
    id: int
    kind: Literal["personal", "enterprise"]
    name: str
    resident_id: str
    gender: str
    birth_date: dt.date | None
    address: str
    phone: str
    uscc: str
    legal_representative: str
    sources: Mapping[str, FieldSource]
    consent_reuse: bool
    document_type: str = "resident"

    @property
    def masked_id(self) -> str:
        return mask_resident_id(
            self.uscc if self.kind == "enterprise" and self.uscc else self.resident_id
        )

    @property
    def masked_name(self) -> str:
        return self.name if self.kind == "enterprise" else mask_name(self.name)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def identity_source(self) -> FieldSource:
        key = "uscc" if self.kind == "enterprise" else "resident_id"
        return self.sources.get(key, "typed")

    def verified(self, field_name: str) -> bool:
        return self.sources.get(field_name) in ("card", "licence_qr")

    def problems(self) -> dict[str, str]:
        """Numbers a draft holds as typed that would not pass at finish: field -> Chinese reason."""
        out: dict[str, str] = {}
        for name, value, check in (
            ("resident_id", self.resident_id, check_resident_id),
            ("uscc", self.uscc, check_uscc),
            ("phone", self.phone, check_mobile),
        ):
            if value:
                result = check(value)
                if not result.valid and result.message:
                    out[name] = result.message
        if self.kind == "personal" and self.resident_id:
            for name, conflict in resident_id_conflicts(
                self.resident_id, self.birth_date, self.gender
            ).items():
                out[name] = str(conflict.message)
        return out


@dataclass(frozen=True)
class PageView:
    id: str
    material_id: str
    position: int
    sha256: str
    size: int
    mime: str
    rotation: int


@dataclass(frozen=True)
class SubmissionView:
    id: str
    number: str | None
    stage: str
    label: str
    awaiting_supplement: bool
    bundle_id: str | None
    bundle_name: str
    items: tuple[str, ...]
    answers: Mapping[str, object]
    marks: Mapping[str, str]
    applicant: ApplicantView | None
    clerk_name: str
    clerk_id: int
    created_at: dt.datetime
    received_at: dt.datetime | None
    digitised_at: dt.datetime | None
    pushed_at: dt.datetime | None
    tolerance_due: dt.date | None
    decisions: Mapping[str, str]
    tolerated_outstanding: tuple[str, ...]
    catalog_version: str
    catalog_digest: str
    pages: tuple[PageView, ...] = ()
    delivery_method: str = "window"
    delivery_address: str = ""

    def pages_for(self, material_id: str) -> tuple[PageView, ...]:
        return tuple(p for p in self.pages if p.material_id == material_id)

    @property
    def push_deadline(self) -> dt.datetime | None:
        """Paper must be digitised and pushed within 2 hours of intake (seed 001 §四)."""
        return self.received_at + dt.timedelta(hours=2) if self.received_at else None


class LedgerRow(NamedTuple):
    """A ledger line. A NamedTuple: a busy day is thousands of them, built in one go (DESIGN §12).
    With applicant_pending the applicant cells (name, masked ID, identity source) are still empty:
    the window fills the rows on screen (`IntakeQueries.applicant_cells`)."""

    submission_id: str
    number: str | None
    created_at: dt.datetime
    bundle_id: str | None
    bundle_name: str
    applicant_name: str  # masked for persons
    applicant_id_masked: str
    stage: str
    label: str
    awaiting_supplement: bool
    clerk_name: str
    received_at: dt.datetime | None
    digitised_at: dt.datetime | None
    pushed_at: dt.datetime | None
    identity_source: str
    applicant_pending: bool = False
    priority: str = ""  # 优先办: elderly | disabled | ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.submission_id,
            "number": self.number,
            "time": self.created_at.isoformat(),
            "bundle": self.bundle_id,
            "bundle_name": self.bundle_name,
            "applicant": self.applicant_name,
            "id_number": self.applicant_id_masked,
            "state": self.stage,
            "state_label": self.label,
            "awaiting_supplement": self.awaiting_supplement,
            "clerk": self.clerk_name,
            "received_at": self.received_at.isoformat() if self.received_at else None,
            "digitised_at": self.digitised_at.isoformat() if self.digitised_at else None,
            "pushed_at": self.pushed_at.isoformat() if self.pushed_at else None,
            "identity_source": self.identity_source,
            "priority": self.priority,
        }
