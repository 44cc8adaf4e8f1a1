"""一人一档: consented reuse of an earlier intake's applicant data and captured materials."""

import datetime as dt
import subprocess

import pytest
from sqlalchemy import func, select

from app.errors import IntakeError
from app.views import ApplicantInput
from local_db.models import Attachment, AuditEntry, ConsentEvent, ReuseRecord
from printing.documents import build_receipt

pytestmark = pytest.mark.integration

ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}
ID = "11010519491231002X"
FIRST = ApplicantInput(
    name="张三", resident_id=ID, phone="13812345678", address="新乡县人民路1号", consent_reuse=True
)
# The same person at the next visit: card data only, no phone or address typed yet.
AGAIN = ApplicantInput(name="张三", resident_id=ID, sources={"name": "card", "resident_id": "card"})
PAGE = {  # a captured page per reusable line of 新生儿出生 (bytes only need to differ)
    "household_register": b"\xff\xd8\xff household register scan",
    "resident_id_card.father": b"\xff\xd8\xff father id card scan",
}


def first_intake(ctx, clerk, person=FIRST):
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, person)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    number = ctx.intake.finish(clerk, sid).number
    for line_id, data in PAGE.items():
        ctx.pages.attach_page(clerk, sid, line_id, data, "image/jpeg")
    return sid, number


def second_intake(ctx, clerk, person=AGAIN):
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, person)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    return sid


def later(clock, days):
    clock.set(clock.now() + dt.timedelta(days=days))


def test_without_consent_nothing_is_offered(ctx, staff, clock):
    clerk = staff["clerk"]
    first_intake(ctx, clerk, person=ApplicantInput(**{**FIRST.__dict__, "consent_reuse": False}))
    later(clock, 10)
    sid = second_intake(ctx, clerk)
    offer = ctx.reuse.offer(sid)
    assert offer.consent.status == "none"
    assert offer.fields == () and offer.materials == ()
    with pytest.raises(IntakeError) as e:
        ctx.reuse.accept(clerk, sid, materials=["household_register"])
    assert e.value.code == "reuse.no_consent"


def test_with_consent_fields_and_young_materials_are_offered_and_taken_by_reference(
    ctx, staff, clock
):
    clerk = staff["clerk"]
    first_sid, number = first_intake(ctx, clerk)
    later(clock, 30)
    sid = second_intake(ctx, clerk)
    offer = ctx.reuse.offer(sid)
    assert offer.consent.status == "granted"
    assert {(f.field, f.value, f.origin.number) for f in offer.fields} == {
        ("address", "新乡县人民路1号", number),
        ("phone", "13812345678", number),
    }
    assert {m.line_id for m in offer.materials} == set(PAGE)
    assert all(m.origin.date == dt.date(2024, 12, 2) and m.pages == 1 for m in offer.materials)
    blobs = sorted(p.name for p in (ctx.files_dir / "blobs").rglob("*") if p.is_file())

    ctx.reuse.accept(clerk, sid, ["address", "phone"], ["household_register"])

    view = ctx.queries.get(sid)
    assert view.applicant.address == "新乡县人民路1号" and view.applicant.phone == "13812345678"
    assert view.applicant.sources["address"] == "reuse"
    assert ctx.intake.checklist(sid).line("household_register").state == "collected"
    [page] = [p for p in view.pages if p.material_id == "household_register"]
    [origin] = [
        p for p in ctx.queries.get(first_sid).pages if p.material_id == "household_register"
    ]
    assert page.sha256 == origin.sha256 and page.id != origin.id
    assert ctx.pages.page_bytes(page) == PAGE["household_register"]
    # copy by reference: no new blob, the same encrypted file serves both intakes
    assert sorted(p.name for p in (ctx.files_dir / "blobs").rglob("*") if p.is_file()) == blobs
    reused = ctx.reuse.reused(sid)
    assert reused["material", "household_register"].origin.number == number
    assert reused["field", "address"].origin.number == number
    # taken once: not offered again; the father's ID card still is
    again = ctx.reuse.offer(sid)
    assert again.fields == () and [m.line_id for m in again.materials] == [
        "resident_id_card.father"
    ]
    with ctx.sessions() as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert "consent.granted" in actions and "reuse.accepted" in actions


def test_material_past_its_age_is_not_offered(ctx, staff, clock):
    clerk = staff["clerk"]
    first_intake(ctx, clerk)
    # 户口簿 may be reused for 180 days, the ID card for 365 (resources/catalog/materials)
    later(clock, 200)
    sid = second_intake(ctx, clerk)
    offer = ctx.reuse.offer(sid)
    assert [m.line_id for m in offer.materials] == ["resident_id_card.father"]
    assert [(t.line_id, t.max_age_days) for t in offer.too_old] == [("household_register", 180)]
    with pytest.raises(IntakeError) as e:
        ctx.reuse.accept(clerk, sid, materials=["household_register"])
    assert e.value.code == "reuse.material_not_offered" and "居民户口簿" in e.value.message
    assert ctx.intake.checklist(sid).line("household_register").state == "missing"


def test_station_default_age_applies_to_materials_without_their_own(ctx, staff, clock):
    clerk = staff["clerk"]
    sid0, _ = first_intake(ctx, clerk)
    ctx.pages.attach_page(
        clerk, sid0, "marriage_certificate", b"\xff\xd8\xff marriage", "image/jpeg"
    )
    later(clock, 40)
    sid = second_intake(ctx, clerk)
    assert "marriage_certificate" in {m.line_id for m in ctx.reuse.offer(sid).materials}
    ctx.reuse.configure(30)
    offer = ctx.reuse.offer(sid)
    assert "marriage_certificate" not in {m.line_id for m in offer.materials}
    assert "marriage_certificate" in {t.line_id for t in offer.too_old}


def test_withdrawn_consent_offers_nothing_and_keeps_what_was_reused(ctx, staff, clock):
    clerk = staff["clerk"]
    _, number = first_intake(ctx, clerk)
    later(clock, 5)
    sid = second_intake(ctx, clerk)
    ctx.reuse.accept(clerk, sid, materials=["household_register"])
    later(clock, 1)
    state = ctx.reuse.consent(clerk, number, grant=False)  # named by an earlier intake number
    assert state.status == "withdrawn"
    offer = ctx.reuse.offer(sid)
    assert offer.consent.status == "withdrawn" and offer.empty
    with pytest.raises(IntakeError) as e:
        ctx.reuse.accept(clerk, sid, materials=["resident_id_card.father"])
    assert (e.value.code, e.value.variant) == ("reuse.no_consent", 2)
    # what was reused before stays, with its origin
    assert ctx.reuse.reused(sid)["material", "household_register"].origin.number == number
    assert ctx.intake.checklist(sid).line("household_register").state == "collected"
    # a later intake of the same person, even ticking nothing: still nothing offered
    later(clock, 1)
    sid3 = second_intake(ctx, clerk)
    assert ctx.reuse.offer(sid3).empty
    assert ctx.queries.get(sid3).applicant.consent_reuse is False
    with ctx.sessions() as s:
        events = [(e.granted) for e in s.scalars(select(ConsentEvent).order_by(ConsentEvent.id))]
        actions = list(s.scalars(select(AuditEntry.action)))
    assert events == [True, False] and "consent.withdrawn" in actions


def test_consent_named_by_id_number_and_unknown_person(ctx, staff, clock):
    clerk = staff["clerk"]
    first_intake(ctx, clerk, person=ApplicantInput(**{**FIRST.__dict__, "consent_reuse": False}))
    assert ctx.reuse.consent(clerk, ID.lower(), grant=True).status == "granted"
    later(clock, 3)
    sid = second_intake(ctx, clerk)
    assert not ctx.reuse.offer(sid).empty
    with pytest.raises(IntakeError) as e:
        ctx.reuse.consent(clerk, "110105194912310046", grant=True)
    assert e.value.code == "reuse.person_not_found"
    with pytest.raises(IntakeError) as e:
        ctx.reuse.consent(clerk, "  ", grant=True)
    assert e.value.code == "reuse.who_required"


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def test_receipt_prints_consent_and_reused_materials_as_the_checklist_showed(
    ctx, staff, clock, tmp_path
):
    clerk = staff["clerk"]
    _, number = first_intake(ctx, clerk)
    later(clock, 7)
    sid = second_intake(ctx, clerk)
    ctx.reuse.accept(clerk, sid, ["phone"], ["household_register"])
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(
        clerk,
        sid,
        {m.id: "collected" for m in lines if m.produced_by is None and m.state == "missing"},
    )
    ctx.intake.finish(clerk, sid)
    text = pdf_text(build_receipt(ctx.documents.document(clerk, sid, "receipt")), tmp_path)
    flat = "".join(text.split())
    assert f"复用自{number}（2024年12月02日）" in flat
    assert flat.count("复用自") == 1  # only the household register was reused
    # the date consent was given, at the first intake
    assert (
        "申请人同意本次及今后办件复用其已提交的信息和材料（一人一档）（同意日期：2024年12月02日）"
        in flat
    )


def test_receipt_without_consent_says_nothing_of_it(ctx, staff, tmp_path):
    clerk = staff["clerk"]
    sid, _ = first_intake(
        ctx, clerk, person=ApplicantInput(**{**FIRST.__dict__, "consent_reuse": False})
    )
    text = pdf_text(build_receipt(ctx.documents.document(clerk, sid, "receipt")), tmp_path)
    assert "一人一档" not in "".join(text.split()) and "复用自" not in "".join(text.split())


def test_reuse_records_count(ctx, staff, clock):
    """Accepting twice the same material is refused the second time (it is collected now)."""
    clerk = staff["clerk"]
    first_intake(ctx, clerk)
    later(clock, 2)
    sid = second_intake(ctx, clerk)
    ctx.reuse.accept(clerk, sid, materials=["household_register"])
    with pytest.raises(IntakeError):
        ctx.reuse.accept(clerk, sid, materials=["household_register"])
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReuseRecord)) == 1
        assert (
            s.scalar(
                select(func.count()).select_from(Attachment).where(Attachment.submission_id == sid)
            )
            == 1
        )


def test_supervisor_figure_counts_intakes_that_reused_a_material(ctx, staff, clock):
    from app.clock import STATION_TZ
    from app.reports import Period, Reports

    clerk, sup = staff["clerk"], staff["supervisor"]
    first_intake(ctx, clerk)
    later(clock, 3)
    reusing = second_intake(ctx, clerk)
    ctx.reuse.accept(clerk, reusing, ["address", "phone"], ["household_register"])
    fields_only = second_intake(ctx, clerk)
    ctx.reuse.accept(clerk, fields_only, ["address"])  # applicant data only: not a material
    reports = Reports(ctx.sessions, lambda: ctx.catalogs.current)
    period = Period.of("month", clock.now().astimezone(STATION_TZ).date())
    assert reports.reconcile(sup, period, clock.now()).counts["reused"] == 0  # drafts only
    lines = ctx.intake.checklist(reusing).materials
    ctx.intake.mark_many(
        clerk,
        reusing,
        {m.id: "collected" for m in lines if m.produced_by is None and m.state == "missing"},
    )
    ctx.intake.finish(clerk, reusing)
    assert reports.reconcile(sup, period, clock.now()).counts["reused"] == 1
    assert reports.intakes_for(sup, "reused", period, clock.now()) == [reusing]
