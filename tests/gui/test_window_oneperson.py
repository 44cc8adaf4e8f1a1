"""一人一档 in the window: the consent box of the applicant panel, the offer of an earlier intake's
data and pages once the number is typed, accepted per material in the dialog, shown in the
checklist with its origin and printed the same way on the receipt; withdrawn by unticking."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.views import ApplicantInput
from tests.gui.conftest import login, press
from tests.gui.test_window_intake import (
    VALID_ID,
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
    pdf_text,
    saved_documents,
)

pytestmark = pytest.mark.gui

ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}


def jpeg(shade: int) -> bytes:
    """A real (tiny) JPEG: the page slot decodes its thumbnail."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (40, 56), shade).save(out, "JPEG")
    return out.getvalue()


HR_SCAN = jpeg(200)


def earlier_intake(ctx: Any, consent: bool = True) -> str:
    """The applicant's visit last time, with consent, the 户口簿 and father's ID card captured."""
    clerk = ctx.staff.login("wangfang", "clerk1234")
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(
        clerk,
        sid,
        ApplicantInput(
            name="张秀英",
            resident_id=VALID_ID,
            phone="13812345678",
            address="新乡县七里营镇刘庄村一组18号",
            consent_reuse=consent,
        ),
    )
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    number = ctx.intake.finish(clerk, sid).number
    ctx.pages.attach_page(clerk, sid, "household_register", HR_SCAN, "image/jpeg")
    ctx.pages.attach_page(clerk, sid, "resident_id_card.father", jpeg(120), "image/jpeg")
    return number


def test_clerk_reuses_an_earlier_intake_and_the_receipt_matches_the_checklist(
    qtbot: Any, shell: Any, ctx: Any
) -> None:
    number = earlier_intake(ctx)
    window = login(qtbot, shell)
    bar = window.intake.applicant.reuse_bar
    enter_applicant(qtbot, window)  # number, name, phone typed: saved on Tab
    qtbot.waitUntil(lambda: bar.consent.isChecked(), timeout=5000)  # the consent in force
    assert bar.offer_button.isEnabled() and "申请人信息 1 项" in bar.status.text()  # the address
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    qtbot.waitUntil(lambda: "材料 2 项" in bar.status.text(), timeout=5000)

    qtbot.mouseClick(bar.offer_button, Qt.MouseButton.LeftButton)
    dialog = window.intake.reuse.dialog
    assert dialog is not None and dialog.isVisible()
    assert set(dialog.material_boxes) == {"household_register", "resident_id_card.father"}
    assert not any(b.isChecked() for b in dialog.material_boxes.values())  # the clerk chooses
    assert number in dialog.material_boxes["household_register"].text()
    dialog.material_boxes["household_register"].setChecked(True)
    dialog.field_boxes["address"].setChecked(True)
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)

    sid = window.intake.submission_id
    model = window.intake.materials.model
    qtbot.waitUntil(lambda: model.origin("household_register") != "", timeout=5000)
    row = model.row_of("household_register")
    assert model.line(row).state == "collected"
    shown = model.data(model.index(row, 1))
    assert f"复用自 {number}（" in shown
    assert window.intake.applicant.edit("address").text() == "新乡县七里营镇刘庄村一组18号"
    assert model.origin("resident_id_card.father") == ""  # not ticked: not reused
    view = ctx.queries.get(sid)
    assert [ctx.pages.page_bytes(p) for p in view.pages] == [HR_SCAN]

    mark_by_keys(qtbot, window, {})  # the rest 已收 (the reused line stays collected)
    press(qtbot, window, window.intake.materials.table, Qt.Key.Key_F12)
    assert window.intake.finished
    [(kind, pdf, _r)] = saved_documents(ctx, sid)
    text = pdf_text(pdf)
    origin = model.origin("household_register")
    assert kind == "receipt" and "".join(origin.split()) in text  # as the clerk saw it
    assert text.count("复用自") == 1
    assert "申请人同意本次及今后办件复用其已提交的信息和材料（一人一档）" in text


def test_unticking_withdraws_consent_and_nothing_is_offered(
    qtbot: Any, shell: Any, ctx: Any
) -> None:
    earlier_intake(ctx)
    window = login(qtbot, shell)
    bar = window.intake.applicant.reuse_bar
    enter_applicant(qtbot, window)
    qtbot.waitUntil(lambda: bar.offer_button.isEnabled(), timeout=5000)

    press(qtbot, window, window.intake, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)  # withdrawn
    qtbot.waitUntil(lambda: "已撤回" in bar.status.text(), timeout=5000)
    assert not bar.consent.isChecked() and not bar.offer_button.isEnabled()
    sid = window.intake.submission_id
    assert ctx.reuse.offer(sid).empty and ctx.reuse.consent_of(sid).status == "withdrawn"


def test_without_consent_nothing_is_offered_and_ticking_grants_it(
    qtbot: Any, shell: Any, ctx: Any
) -> None:
    earlier_intake(ctx, consent=False)
    window = login(qtbot, shell)
    bar = window.intake.applicant.reuse_bar
    enter_applicant(qtbot, window)
    qtbot.waitUntil(lambda: window.intake.submission_id is not None, timeout=5000)
    window.intake.reuse.refresh()
    assert not bar.consent.isChecked() and not bar.offer_button.isEnabled()
    assert bar.status.text() == ""

    bar.consent.click()  # the applicant agrees now, at the counter
    qtbot.waitUntil(lambda: bar.offer_button.isEnabled(), timeout=5000)
    assert ctx.reuse.consent_of(window.intake.submission_id).status == "granted"
