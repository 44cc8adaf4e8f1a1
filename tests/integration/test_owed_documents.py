"""What the applicant is told on paper (issue 11 items 4 and 8): the notice lists everything
still owed, tolerated materials with their limit; no document prints that has nothing to say;
an enterprise's commitment names its legal representative's ID number; 补正 gets a receipt; the
contact phone is asked for. PDFs are read back with pypdf."""

import dataclasses
import io

import pytest
from pypdf import PdfReader

from app.errors import IntakeError
from app.views import ApplicantInput
from printing.documents import build_commitment, build_notice, build_supplement

from .test_intake_service import PERSON, new_intake

pytestmark = pytest.mark.integration


def text_of(pdf: bytes) -> str:
    return "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)


def notified_with_tolerance(ctx, clerk):
    """结婚证 tolerated, three materials missing (the issue's own case)."""
    sid = new_intake(ctx, clerk, marks=None)
    lines = ctx.intake.checklist(sid).materials
    missing = ["application_form", "birth_medical_certificate_application", "household_register"]
    marks = {m.id: "collected" for m in lines if m.id not in missing and m.produced_by is None}
    marks["marriage_certificate"] = "tolerated"
    ctx.intake.mark_many(clerk, sid, marks)
    return sid, missing


def test_notice_lists_the_tolerated_material_with_its_limit(ctx, staff):
    clerk = staff["clerk"]
    sid, missing = notified_with_tolerance(ctx, clerk)
    r = ctx.intake.finish(clerk, sid)
    assert r.stage == "notified" and set(r.checklist.missing) == set(missing)
    doc = ctx.documents.document(clerk, sid, "notice")
    names = ctx.catalogs.current.materials
    assert {m.name for m in doc.materials} == {
        names[m].name for m in [*missing, "marriage_certificate"]
    }
    text = text_of(build_notice(doc))
    for m in missing:
        assert names[m].name in text
    # 户口登记 promises 1 working day and needs the 结婚证: due 1 working day after receipt
    assert "结婚证" in text and "可容缺，收件之日起1个工作日内补交" in text


def test_no_notice_for_a_received_intake_and_none_with_nothing_missing(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    with pytest.raises(IntakeError) as exc:
        ctx.documents.document(clerk, sid, "notice")
    assert exc.value.code == "intake.not_notified"
    # a notified intake whose materials were all marked since: nothing for a notice to say
    sid2, _ = notified_with_tolerance(ctx, clerk)
    ctx.intake.finish(clerk, sid2)
    ctx.intake.mark_many(
        clerk,
        sid2,
        {m.id: "collected" for m in ctx.intake.checklist(sid2).materials if m.produced_by is None},
    )
    with pytest.raises(IntakeError) as exc:
        ctx.documents.document(clerk, sid2, "notice")
    assert exc.value.code == "intake.nothing_missing" and "齐全" in exc.value.message


def test_no_commitment_without_a_tolerated_material(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    assert ctx.intake.finish(clerk, sid).documents == ("receipt",)
    with pytest.raises(IntakeError) as exc:
        ctx.documents.document(clerk, sid, "commitment")
    assert exc.value.code == "intake.no_tolerance"
    receipt = ctx.documents.document(clerk, sid, "receipt")
    with pytest.raises(ValueError):
        build_commitment(dataclasses.replace(receipt, kind="commitment"))


def test_commitment_reprinted_after_supplement_still_lists_what_was_promised(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.mark(clerk, sid, "marriage_certificate", "tolerated")
    ctx.intake.finish(clerk, sid)
    ctx.intake.supplement(clerk, sid, ["marriage_certificate"])
    text = text_of(build_commitment(ctx.documents.document(clerk, sid, "commitment", reprint=True)))
    assert "1结婚证原件及复印件12024年12月03日" in text  # due 1 working day after 2024-12-02


def test_supplement_prints_a_receipt_of_what_was_handed_in(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.mark(clerk, sid, "marriage_certificate", "tolerated")
    ctx.intake.finish(clerk, sid)
    with pytest.raises(IntakeError) as exc:
        ctx.documents.document(clerk, sid, "supplement")
    assert exc.value.code == "intake.no_supplement"
    ctx.intake.supplement(clerk, sid, ["marriage_certificate"])
    doc = ctx.documents.document(clerk, sid, "supplement")
    assert [(m.name, m.state) for m in doc.materials] == [("结婚证", "collected")]
    text = text_of(build_supplement(doc))
    assert "补正材料收件回执" in text and "1结婚证原件及复印件1" in text
    assert "容缺材料已全部补齐" in text and "申请人（签字）" in text


def test_finish_asks_for_the_contact_phone(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.set_applicant(clerk, sid, dataclasses.replace(PERSON, phone=""))
    with pytest.raises(IntakeError) as exc:
        ctx.intake.finish(clerk, sid)
    assert exc.value.code == "intake.no_phone" and exc.value.details["field"] == "phone"
    assert "联系电话" in exc.value.message
    assert ctx.queries.get(sid).stage == "draft"


ENTERPRISE = ApplicantInput(
    kind="enterprise",
    name="新乡县禾丰农业科技有限公司",
    uscc="91310000MA1FW1BXX2",
    legal_representative="李建国",
    phone="13987654321",
    address="小冀镇工业园区8号",
)


def test_enterprise_needs_its_legal_representatives_id_number(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.mark(clerk, sid, "marriage_certificate", "tolerated")
    ctx.intake.set_applicant(clerk, sid, ENTERPRISE)
    with pytest.raises(IntakeError) as exc:
        ctx.intake.finish(clerk, sid)
    assert (
        exc.value.code == "intake.no_representative_id"
        and exc.value.details["field"] == "resident_id"
    )
    ctx.intake.set_applicant(
        clerk, sid, dataclasses.replace(ENTERPRISE, resident_id="440524188001010015")
    )
    with pytest.raises(IntakeError) as exc:
        ctx.intake.finish(clerk, sid)
    assert exc.value.code == "applicant.resident_id" and "法定代表人身份证号码" in exc.value.message
    ctx.intake.set_applicant(
        clerk, sid, dataclasses.replace(ENTERPRISE, resident_id="440524188001010014")
    )
    assert ctx.intake.finish(clerk, sid).documents == ("commitment", "receipt")
    text = text_of(build_commitment(ctx.documents.document(clerk, sid, "commitment")))
    assert "法定代表人身份证号440524188001010014" in text
