"""The items list, the checklist and the printed receipt show one state (issue 11 item 5), and
Alt+A leaves the forms signed at the window to the clerk (item 7)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import press
from tests.gui.test_window_intake import (
    ALT,
    F12,
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
    pdf_text,
    saved_documents,
)

pytestmark = pytest.mark.gui

INSURANCE = "resident_medical_insurance_enrolment"


def ticked(window: Any) -> list[str]:
    items = window.intake.bundles.items_list
    return [
        items.item(r).data(Qt.ItemDataRole.UserRole)
        for r in range(items.count())
        if items.item(r).checkState() == Qt.CheckState.Checked
    ]


def row_text(window: Any, item_id: str) -> str:
    items = window.intake.bundles.items_list
    for r in range(items.count()):
        if items.item(r).data(Qt.ItemDataRole.UserRole) == item_id:
            return str(items.item(r).text())
    raise AssertionError(item_id)


def set_answer(qtbot: Any, window: Any, qid: str, yes: bool) -> None:
    editor = window.intake.questions.editor(qid)
    editor.setFocus()
    editor.setCurrentIndex(1 if yes else 2)  # （请选择） 是 否
    assert editor.currentData() is yes


def test_an_item_switched_off_by_an_answer_is_unticked_and_missing_from_the_receipt(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window, drop_vaccination=False)
    answer_questions(qtbot, window, insured=False)  # 父母非本地医保: 参保登记 in effect
    assert INSURANCE in ticked(window)
    assert len(ticked(window)) == 4

    set_answer(qtbot, window, "parents_local_insured", True)  # now 是: 参保登记 not needed
    checklist = window.intake.checklist
    active = [i.id for i in checklist.active_items]
    assert INSURANCE not in active and len(active) == 3
    assert ticked(window) == active  # the list shows exactly the items in effect
    assert "按情形无需办理" in row_text(window, INSURANCE)
    assert INSURANCE in window.intake.bundles.chosen_items()  # the wish is kept …

    set_answer(qtbot, window, "parents_local_insured", False)
    assert INSURANCE in ticked(window) and "无需办理" not in row_text(
        window, INSURANCE
    )  # … and returns
    set_answer(qtbot, window, "parents_local_insured", True)
    assert ticked(window) == [i.id for i in window.intake.checklist.active_items]

    mark_by_keys(qtbot, window, {})
    assert window.intake.checklist.verdict == "complete"
    press(qtbot, window, window.intake.materials.table, F12)
    assert window.intake.finished
    sid = window.intake.submission_id
    docs = saved_documents(ctx, sid)
    assert [kind for kind, _pdf, _r in docs] == ["receipt"]
    text = pdf_text(docs[0][1])
    count = re.search(r"共(\d+)个事项", text)
    assert count is not None and int(count.group(1)) == len(ticked(window)) == 3
    bundle = window.intake.bundles.bundle
    for item in bundle.items_in("xinxiang"):
        assert (item.name in text) == (item.id in ticked(window)), item.name
    assert [i.id for i in ctx.intake.checklist(sid).active_items] == ticked(window)


def test_alt_a_leaves_the_forms_signed_at_the_window_to_be_marked_one_by_one(
    qtbot: Any, window: Any
) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    table = window.intake.materials.table
    press(qtbot, window, window.intake, Qt.Key.Key_4, ALT)
    window.intake.materials.all_button.click()  # 其余全部已收 (Alt+A, the button's mnemonic)
    checklist = window.intake.checklist
    assert checklist.missing == ("application_form",)
    assert checklist.line("resident_id_card.father").state == "collected"
    assert checklist.line("birth_medical_certificate") is None or (
        checklist.line("birth_medical_certificate").produced_by is not None
    )
    assert "一件事联办申请表" in window.intake.materials.verdict.text()
    window.intake.materials.select_material("application_form")
    press(qtbot, window, table, Qt.Key.Key_1)  # signed in front of the clerk: marked on its own
    assert window.intake.checklist.verdict == "complete"


def test_the_screen_lists_each_parents_card_and_the_certificate_issued_within_the_bundle(
    qtbot: Any, window: Any
) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    model = window.intake.materials.model
    shown = {
        model.data(model.index(r, 1)): model.data(model.index(r, 2))
        for r in range(model.rowCount())
    }
    assert shown["父亲居民身份证"] == shown["母亲居民身份证"] == "缺"
    assert "申请人居民身份证" not in shown
    assert shown["出生医学证明"] == "免提交"
    materials = window.intake.materials
    materials.select_material("birth_medical_certificate")
    press(qtbot, window, materials.table, Qt.Key.Key_1)  # nothing to collect: the key does nothing
    assert window.intake.checklist.line("birth_medical_certificate").state == "exempt"
    assert not materials.buttons["collected"].isEnabled()
    assert "《出生医学证明》办理（首签）" in materials.detail.toPlainText()
