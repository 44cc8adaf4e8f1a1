"""The printed documents carry what DOMAIN-FACTS lists, read back from the PDF itself.

Text is extracted with pypdf and compared with whitespace removed (line wrapping inside table
cells differs between A4 and A5). The codes are decoded from a 200-dpi rendering of page 1.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
from collections.abc import Callable

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode

from app.documents import IntakeDocument
from app.validators import mask_phone, mask_resident_id
from printing.documents import (
    TITLES,
    Paper,
    build_commitment,
    build_document,
    build_notice,
    build_receipt,
    build_return_list,
    uncovered_characters,
)
from tests.sample_docs import DUE, ENTERPRISE, MATERIALS, PERSON, sample_document

BUILDERS: dict[str, Callable[..., bytes]] = {
    "receipt": build_receipt,
    "notice": build_notice,
    "commitment": build_commitment,
    "return_list": build_return_list,
}
KINDS = tuple(BUILDERS)
PAPERS = ("A4", "A5")
MASKED_KINDS = ("receipt", "notice", "return_list")
DUE_TEXT = f"{DUE.year}年{DUE.month:02d}月{DUE.day:02d}日"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@functools.cache
def built(kind: str, paper: str, enterprise: bool = False, reprint: bool = False) -> bytes:
    doc = sample_document(kind, applicant=ENTERPRISE if enterprise else PERSON, reprint=reprint)  # type: ignore[arg-type]
    return BUILDERS[kind](doc, paper)


def pdf_text(data: bytes) -> str:
    return squash("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def text_of(kind: str, paper: str, enterprise: bool = False, reprint: bool = False) -> str:
    return pdf_text(built(kind, paper, enterprise, reprint))


def doc_of(kind: str) -> IntakeDocument:
    return sample_document(kind)  # type: ignore[arg-type]


def test_sample_names_do_not_overlap_other_printed_text() -> None:
    # Absence checks below rely on no material name being part of another printed string.
    doc = sample_document()
    others = [i.name for i in doc.items] + [doc.bundle_name, doc.centre_name, *doc.notes]
    for m in MATERIALS:
        assert not any(m.name in o for o in others), m.name
        assert not any(m.name in n.name for n in MATERIALS if n is not m), m.name


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", KINDS)
def test_heading_carries_centre_title_and_number(kind: str, paper: str) -> None:
    text = text_of(kind, paper)
    doc = doc_of(kind)
    assert squash(doc.centre_name + TITLES[kind]) in text
    assert f"受理编号：{doc.number}" in text


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", MASKED_KINDS)
def test_id_number_and_phone_are_masked(kind: str, paper: str) -> None:
    text = text_of(kind, paper)
    assert mask_resident_id(PERSON.resident_id) in text
    assert PERSON.resident_id not in text
    assert mask_phone(PERSON.phone) in text
    assert PERSON.phone not in text


@pytest.mark.parametrize("paper", PAPERS)
def test_commitment_shows_the_full_id_number(paper: str) -> None:
    text = text_of("commitment", paper)
    assert f"公民身份号码{PERSON.resident_id}" in text
    assert PERSON.phone in text


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", KINDS)
def test_personal_applicant_name_and_address(kind: str, paper: str) -> None:
    text = text_of(kind, paper)
    assert f"姓名{PERSON.name}" in text
    assert squash(PERSON.address) in text


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", KINDS)
def test_enterprise_name_legal_representative_and_uscc(kind: str, paper: str) -> None:
    text = text_of(kind, paper, enterprise=True)
    assert f"单位名称{ENTERPRISE.name}" in text
    assert f"法定代表人{ENTERPRISE.legal_representative}" in text
    assert f"统一社会信用代码{ENTERPRISE.uscc}" in text
    if kind == "commitment":
        assert ENTERPRISE.resident_id in text
    else:
        assert mask_resident_id(ENTERPRISE.resident_id) in text
        assert ENTERPRISE.resident_id not in text


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", KINDS)
def test_bundle_and_every_item_with_department(kind: str, paper: str) -> None:
    text = text_of(kind, paper)
    doc = doc_of(kind)
    assert doc.bundle_name in text
    for n, item in enumerate(doc.items, start=1):
        row = f"{n}{item.name}{item.department}"
        if kind in ("receipt", "commitment"):
            row += item.time_limit  # promised time limits
        assert squash(row) in text, row


@pytest.mark.parametrize("paper", PAPERS)
def test_receipt_lists_every_material_with_form_copies_pages_and_state(paper: str) -> None:
    text = text_of("receipt", paper)
    for m in MATERIALS:
        name = m.name + (f"免提交依据：{m.exempt_via}" if m.state == "exempt" else "")
        pages = str(m.pages) if m.pages is not None else "—"
        row = f"{m.seq}{name}{m.form_label}{m.copies}{pages}{m.state_label}"
        assert squash(row) in text, row


@pytest.mark.parametrize("paper", PAPERS)
def test_receipt_lists_tolerated_materials_with_due_date(paper: str) -> None:
    text = text_of("receipt", paper)
    tolerated = [m for m in MATERIALS if m.state == "tolerated"]
    assert tolerated
    for m in tolerated:
        assert f"{m.seq}{m.name}{m.form_label}{m.copies}{DUE_TEXT}" in text


@pytest.mark.parametrize("paper", PAPERS)
def test_receipt_without_tolerated_materials_has_no_tolerance_section(paper: Paper) -> None:
    doc = sample_document(materials=tuple(m for m in MATERIALS if m.state != "tolerated"))
    text = pdf_text(build_receipt(doc, paper))
    assert "容缺受理材料" not in text
    assert "补交期限" not in text


@pytest.mark.parametrize("paper", PAPERS)
def test_receipt_carries_clerk_time_progress_delivery_signatures_and_seal(paper: str) -> None:
    text = text_of("receipt", paper)
    doc = doc_of("receipt")
    assert f"收件人{doc.clerk_name}" in text
    assert f"受理窗口{doc.station_name}" in text
    assert "收件时间2024年12月02日10:15" in text
    assert squash(doc.progress_hint) in text and doc.progress_phone in text
    assert f"送达方式{squash(doc.delivery)}" in text
    assert "申请人（签字）" in text and "收件人（签字）" in text
    assert "（盖章）" in text


@pytest.mark.parametrize("paper", PAPERS)
def test_notice_lists_every_missing_and_tolerated_material_with_standard_and_source(
    paper: str,
) -> None:
    # Issue 11 item 4: a tolerated material is still owed, so the notice tells it with its limit.
    text = text_of("notice", paper)
    owed = [m for m in MATERIALS if m.state in ("missing", "tolerated")]
    assert len(owed) == 3
    for n, m in enumerate(owed, start=1):
        when = f"可容缺，{DUE_TEXT}前补交" if m.state == "tolerated" else "收件前补齐"
        row = f"{n}{m.name}{m.form_label}{m.copies}份{m.acceptance_standard}{m.how_to_obtain}{when}"
        assert squash(row) in text, row


@pytest.mark.parametrize("paper", PAPERS)
def test_notice_asks_for_nothing_but_what_is_still_owed(paper: str) -> None:
    text = text_of("notice", paper)
    for m in MATERIALS:
        if m.state not in ("missing", "tolerated"):
            assert m.name not in text, m.name
            assert squash(m.acceptance_standard) not in text, m.name


@pytest.mark.parametrize("paper", PAPERS)
def test_notice_states_the_legal_basis_clerk_date_and_signatures(paper: str) -> None:
    text = text_of("notice", paper)
    doc = doc_of("notice")
    assert "《中华人民共和国行政许可法》第三十二条" in text
    assert "一次告知申请人需要补正的全部内容" in text
    assert f"告知人{doc.clerk_name}" in text
    assert "告知时间2024年12月02日10:15" in text
    assert "申请人（签收）" in text and "（盖章）" in text


@pytest.mark.parametrize("paper", PAPERS)
def test_commitment_lists_tolerated_materials_with_due_date_and_nothing_else(paper: str) -> None:
    text = text_of("commitment", paper)
    for n, m in enumerate((m for m in MATERIALS if m.state == "tolerated"), start=1):
        assert f"{n}{m.name}{m.form_label}{m.copies}{DUE_TEXT}" in text
    for m in MATERIALS:
        if m.state != "tolerated":
            assert m.name not in text, m.name
    assert f"将于{DUE_TEXT}前" in text


@pytest.mark.parametrize("paper", PAPERS)
def test_commitment_text_covers_every_required_promise(paper: str) -> None:
    text = text_of("commitment", paper)
    for phrase in (
        "真实意思表示",  # true intention
        "已知悉受理窗口告知的全部内容",  # was told everything
        "真实、准确、完整、有效",  # materials are true
        "不晚于所办事项的承诺办理时限",  # due date within the promised limit
        "本次申请终止办理",  # consequence: the application ends
        "记入失信记录",  # and may count as dishonest
        "一式两份",
    ):
        assert phrase in text, phrase


@pytest.mark.parametrize("paper", PAPERS)
def test_commitment_holds_two_copies(paper: str) -> None:
    data = built("commitment", paper)
    text = pdf_text(data)
    assert "第一联承诺人留存" in text and "第二联受理窗口留存" in text
    assert text.count(TITLES["commitment"]) == 2
    pages = len(PdfReader(io.BytesIO(data)).pages)
    assert pages % 2 == 0


@pytest.mark.parametrize("paper", PAPERS)
def test_enterprise_commitment_is_signed_by_legal_representative_with_seal(paper: str) -> None:
    text = text_of("commitment", paper, enterprise=True)
    assert "法定代表人（签字）" in text
    assert "承诺单位（盖章）" in text
    assert "代理人（签字）" in text and "授权委托书" in text  # the sample has an agent
    personal = text_of("commitment", paper)
    assert "承诺人（签字）" in personal and "承诺单位（盖章）" not in personal


@pytest.mark.parametrize("paper", PAPERS)
def test_return_list_lists_collected_materials_only_with_signatures(paper: str) -> None:
    text = text_of("return_list", paper)
    collected = [m for m in MATERIALS if m.state == "collected"]
    for n, m in enumerate(collected, start=1):
        assert f"{n}{m.name}{m.form_label}{m.copies}{m.pages}" in text, m.name
    for m in MATERIALS:
        if m.state != "collected":
            assert m.name not in text, m.name
    assert f"共退还材料{len(collected)}项" in text
    assert "申请人（签收）" in text and "经办人（签字）" in text and "（盖章）" in text


@pytest.mark.parametrize("kind", KINDS)
def test_reprint_mark_only_on_reprints(kind: str) -> None:
    assert "补打" in text_of(kind, "A4", reprint=True)
    assert "补打" not in text_of(kind, "A4")


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", KINDS)
def test_qr_and_code128_decode_to_payload_and_number(kind: str, paper: str) -> None:
    pdf = pdfium.PdfDocument(built(kind, paper))
    image = pdf[0].render(scale=200 / 72).to_pil().convert("L")
    found = {
        s.type: s.data.decode()
        for s in zbar_decode(image, symbols=[ZBarSymbol.QRCODE, ZBarSymbol.CODE128])
    }
    doc = doc_of(kind)
    assert found.get("QRCODE") == doc.qr_payload
    assert found.get("CODE128") == doc.number


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", KINDS)
def test_same_input_gives_the_same_bytes(kind: str, paper: str) -> None:
    doc = doc_of(kind)
    first = BUILDERS[kind](doc, paper)
    assert BUILDERS[kind](doc, paper) == first
    other = dataclasses.replace(doc, clerk_name="赵明")
    assert BUILDERS[kind](other, paper) != first


@pytest.mark.parametrize("paper", PAPERS)
def test_paper_size_is_honoured(paper: str) -> None:
    page = PdfReader(io.BytesIO(built("receipt", paper))).pages[0]
    expected = {"A4": (595, 842), "A5": (420, 595)}[paper]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == expected


def test_metadata_carries_no_personal_data() -> None:
    meta = PdfReader(io.BytesIO(built("commitment", "A4"))).metadata
    assert meta is not None
    values = " ".join(str(v) for v in meta.values())
    assert doc_of("commitment").number in values
    for secret in (PERSON.name, PERSON.resident_id, PERSON.phone, PERSON.address):
        assert secret not in values


def test_build_document_dispatches_on_kind() -> None:
    for kind in KINDS:
        assert build_document(doc_of(kind), "A5") == built(kind, "A5")


def test_unknown_paper_is_refused() -> None:
    with pytest.raises(ValueError):
        build_receipt(doc_of("receipt"), "Letter")  # type: ignore[arg-type]


def test_uncovered_characters_are_reported() -> None:
    assert uncovered_characters(doc_of("receipt")) == []
    odd = dataclasses.replace(PERSON, name="张\ue000")  # private use: no font has it
    assert uncovered_characters(sample_document(applicant=odd)) == ["\ue000"]
