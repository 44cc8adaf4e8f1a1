"""The applicant of an intake: fields normalised and checked (ID number, USCC, mobile, and the
birth date and gender typed beside an ID number), and what a finished intake needs from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.capture.cardtypes import CARD_TYPE_NAMES, FOREIGN_2017, RESIDENT, check_document
from app.errors import IntakeError
from app.validators import (
    check_mobile,
    check_uscc,
    normalize_number_text,
    resident_id_conflicts,
)
from app.views import ApplicantInput
from local_db.models import Applicant


def clean_applicant(data: ApplicantInput, today: dt.date, *, strict: bool) -> dict[str, Any]:
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
        # An enterprise's number is its representative's resident ID card.
        "document_type": data.document_type if data.kind == "personal" else RESIDENT,
    }
    if data.kind not in ("personal", "enterprise"):
        raise IntakeError("applicant.kind", field="kind")
    if out["document_type"] not in CARD_TYPE_NAMES:
        raise IntakeError("applicant.document_type", field="document_type")
    doc_type = out["document_type"]
    id_label = (
        "法定代表人身份证号码"
        if data.kind == "enterprise"
        else ("身份证号码" if doc_type == RESIDENT else f"{CARD_TYPE_NAMES[doc_type]}号码")
    )
    checks = (
        ("resident_id", data.resident_id, lambda v: check_document(doc_type, v, today), id_label),
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
                field=field_name,
                reason=check.code,
                label=label,
                problem=check.message,  # the validator's text (the number itself is not in it)
            )
        else:
            out[field_name] = normalize_number_text(raw)[:40]  # as typed, in ASCII digits
    if (
        data.kind == "personal"
        and out["resident_id"]
        and doc_type != FOREIGN_2017  # its number carries no gender and a 2-digit year
        and (data.birth_date or data.gender.strip())
    ):
        # Typed beside the number, they must agree with it (drafts keep them, finish refuses).
        conflicts = resident_id_conflicts(out["resident_id"], data.birth_date, data.gender, today)
        for conflict_field, conflict in conflicts.items():
            if strict:
                raise IntakeError(
                    f"applicant.{conflict_field}",
                    field=conflict_field,
                    reason=conflict.code,
                    problem=str(conflict.message),
                )
    return out


def require_ready(applicant: Applicant | None, today: dt.date) -> None:
    """IntakeError naming what a finished intake still needs from its applicant."""
    if applicant is None or not applicant.name:
        raise IntakeError("intake.no_applicant", field="name")
    if applicant.kind == "personal" and not applicant.resident_id:
        raise IntakeError("intake.no_resident_id", field="resident_id")
    if applicant.kind == "enterprise" and not applicant.uscc:
        raise IntakeError("intake.no_uscc", field="uscc")
    # The commitment letter and the receipt name who answers for an enterprise.
    if applicant.kind == "enterprise" and not applicant.legal_representative:
        raise IntakeError("intake.no_legal_representative", field="legal_representative")
    if applicant.kind == "enterprise" and not applicant.resident_id:
        raise IntakeError("intake.no_representative_id", field="resident_id")
    # Drafts may hold a number as typed; nothing is finished with a bad one.
    clean_applicant(
        ApplicantInput(
            kind=applicant.kind,  # type: ignore[arg-type]
            name=applicant.name,
            resident_id=applicant.resident_id or "",
            uscc=applicant.uscc or "",
            phone=applicant.phone or "",
            birth_date=applicant.birth_date,
            gender=applicant.gender or "",
            document_type=applicant.document_type or RESIDENT,
        ),
        today,
        strict=True,
    )
    # How the applicant is reached about progress and results (receipt, notice).
    if not applicant.phone:
        raise IntakeError("intake.no_phone", field="phone")
