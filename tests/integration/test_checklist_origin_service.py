"""Issue 11 items 6 and 7 through the intake service: what is produced within the bundle or
needed per person reaches the printed receipt; a signed window form is paper to capture, and
an intake that printed no generated form does not count in 表单信息自动生成."""

import io

import pytest

from app.clock import STATION_TZ
from app.errors import IntakeError
from app.reports import Period, Reports
from app.views import ApplicantInput
from printing.documents import build_document

pytestmark = pytest.mark.integration

ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}
CARD_READ = ApplicantInput(
    name="张三",
    resident_id="11010519491231002X",
    phone="13812345678",
    address="新乡县人民路1号",
    sources={
        "name": "card",
        "resident_id": "card",
        "gender": "card",
        "birth_date": "card",
        "address": "card",
    },
)


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split())


def _draft(ctx, clerk):
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, CARD_READ)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    return sid


def test_produced_certificate_cannot_be_marked_and_is_printed_as_produced(ctx, staff):
    clerk = staff["clerk"]
    sid = _draft(ctx, clerk)
    with pytest.raises(IntakeError) as exc:
        ctx.intake.mark(clerk, sid, "birth_medical_certificate", "collected")
    assert exc.value.code == "checklist.produced_in_bundle"
    assert (
        "出生医学证明" in exc.value.message and "《出生医学证明》办理（首签）" in exc.value.message
    )
    assert "birth_medical_certificate" not in ctx.queries.get(sid).marks

    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    r = ctx.intake.finish(clerk, sid)
    assert r.verdict == "complete"
    doc = ctx.documents.document(None, sid, "receipt")
    by_name = {m.name: m for m in doc.materials}
    assert by_name["出生医学证明"].state == "exempt"
    assert by_name["父亲居民身份证"].state == by_name["母亲居民身份证"].state == "collected"
    assert "申请人居民身份证" not in by_name
    text = pdf_text(build_document(doc))
    assert "父亲居民身份证" in text and "母亲居民身份证" in text
    assert "免提交依据：由本件事中“《出生医学证明》办理（首签）”办理产生，无需申请人提交" in text


def test_a_signed_window_form_keeps_the_intake_waiting_for_its_pages(ctx, staff):
    """Everything else fetched electronically: the only paper is the hand-filled 联办申请表,
    which must be captured before the intake counts as digitised."""
    clerk = staff["clerk"]
    sid = _draft(ctx, clerk)
    marks = {
        m.id: "exempt" if m.exemptable else "collected"
        for m in ctx.intake.checklist(sid).materials
        if m.state == "missing"
    }
    ctx.intake.mark_many(clerk, sid, marks)
    paper = [m for m in ctx.intake.checklist(sid).materials if m.state == "collected"]
    assert [m.id for m in paper] == ["application_form", "birth_medical_certificate_application"]
    r = ctx.intake.finish(clerk, sid)
    assert r.stage == "received"
    assert ctx.queries.get(sid).digitised_at is None
    ctx.pages.attach_page(
        clerk, sid, "birth_medical_certificate_application", b"page 1", "image/jpeg"
    )
    assert ctx.queries.get(sid).stage == "received"  # the signed form is still paper only
    ctx.pages.attach_page(clerk, sid, "application_form", b"page 2", "image/jpeg")
    assert ctx.queries.get(sid).stage == "digitised"


def test_an_intake_without_a_printed_form_does_not_count_in_form_autofill(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid = _draft(ctx, clerk)
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.state == "missing"})
    ctx.intake.finish(clerk, sid)
    reports = Reports(ctx.sessions, lambda: ctx.catalogs.current)
    rec = reports.reconcile(
        sup, Period.of("day", clock.now().astimezone(STATION_TZ).date()), clock.now()
    )
    autofill = next(m for m in rec.metrics if m.name == "autofill")
    # fields read from the card, but no generated form printed: nothing to count (issue 15)
    assert (autofill.numerator, autofill.denominator) == (0, 0)
    assert autofill.value is None
