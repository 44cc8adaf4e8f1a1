"""Every card type through the whole intake: the applicant keeps its document type, the number is
checked by that type's rules, and the printed receipt names the document (read back with pypdf).
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.capture.cardtypes import parse_card_block
from tests.fakes.cards import BLOCKS
from tests.integration import test_submit_cli
from tests.integration.test_submit_cli import (
    NEWBORN,
    checklist_of,
    lines_for,
    newborn,
    pdf_text,
    submit,
)

pytestmark = pytest.mark.integration
TODAY = dt.date(2026, 11, 21)
db = test_submit_cli.db  # a station with the clerk wangfang


def _spec(applicant: dict) -> dict:
    marks = {
        m.id: "exempt" if m.id.startswith("resident_id_card") else "collected"
        for m in lines_for("newborn_birth", NEWBORN)
    }
    return newborn(marks, applicant=applicant)


@pytest.mark.parametrize(
    ("card_type", "printed_type", "masked"),
    [
        ("foreign_2017", "外国人永久居留身份证", "USA118*****0012"),
        ("foreign_2023", "外国人永久居留身份证", "911840********0017"),
        ("hmt_residence", "港澳台居民居住证", "810000********1230"),
    ],
)
def test_card_type_is_kept_and_printed(
    tmp_path, db, card_type: str, printed_type: str, masked: str
) -> None:
    card = parse_card_block(BLOCKS[card_type], today=TODAY).to_json(TODAY)
    code, out = submit(tmp_path, db, _spec({"card": card, "phone": "13812345678"}))
    assert code == 0, out
    _checklist, view = checklist_of(db, out["number"])
    assert view.applicant is not None and view.applicant.document_type == card_type
    text = pdf_text(out["documents"]["receipt"])
    assert f"证件类型{printed_type}" in text
    assert f"证件号码{masked}" in text
    assert card["resident_id"] not in text  # masked on the receipt


def test_resident_card_prints_as_before(tmp_path, db) -> None:
    card = parse_card_block(BLOCKS["resident"], today=TODAY).to_json(TODAY)
    code, out = submit(tmp_path, db, _spec({"card": card, "phone": "13812345678"}))
    assert code == 0, out
    _checklist, view = checklist_of(db, out["number"])
    assert view.applicant is not None and view.applicant.document_type == "resident"
    text = pdf_text(out["documents"]["receipt"])
    assert "公民身份号码110105********1529" in text and "证件类型" not in text


def test_a_foreign_number_typed_as_a_resident_id_is_refused(tmp_path, db) -> None:
    person = {"name": "史密斯", "resident_id": "USA118507040012", "phone": "13812345678"}
    code, out = submit(tmp_path, db, _spec(person))
    assert code == 1
    assert out["error"]["code"] == "applicant.resident_id"
    assert "身份证号码" in out["error"]["message"]


def test_hmt_card_with_a_wrong_prefix_is_refused_by_its_own_rule(tmp_path, db) -> None:
    card = parse_card_block(BLOCKS["hmt_residence"], today=TODAY).to_json(TODAY)
    card["resident_id"] = "110105199001011232"  # a valid mainland number on a 居住证
    code, out = submit(tmp_path, db, _spec({"card": card, "phone": "13812345678"}))
    assert code == 1
    assert "810000、820000或830000" in out["error"]["message"]
