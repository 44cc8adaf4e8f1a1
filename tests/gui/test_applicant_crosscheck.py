"""Birth date and gender typed by hand are checked against the ID number (GB 11643 carries both:
digits 7-14 and the parity of the 17th); a contradiction is shown under the field and blocks F12."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import press, type_into
from tests.gui.test_window_intake import (
    ALT,
    F12,
    VALID_ID,
    answer_questions,
    choose_newborn,
    mark_by_keys,
)

pytestmark = pytest.mark.gui


def _choose_gender(qtbot: Any, window: Any, label: str) -> None:
    combo = window.intake.applicant.gender_combo
    combo.setFocus()
    combo.setCurrentIndex(combo.findText(label))
    combo.activated.emit(combo.currentIndex())  # as a clerk's pick does


def test_typed_before_the_number_contradiction_is_shown_under_the_fields(
    qtbot: Any, window: Any
) -> None:
    panel = window.intake.applicant
    press(qtbot, window, window.intake, Qt.Key.Key_1, ALT)
    type_into(qtbot, window, panel.edit("birth_date"), "1990-01-01")
    _choose_gender(qtbot, window, "男")
    assert panel.problem_text("birth_date") == "" and panel.problem_text("gender") == ""
    type_into(qtbot, window, panel.id_edit, VALID_ID)  # born 1949-12-31, female
    assert "1949-12-31" in panel.problem_text("birth_date")
    assert "女" in panel.problem_text("gender") and "不符" in panel.problem_text("gender")
    # putting them right clears the problems
    panel.edit("birth_date").selectAll()
    type_into(qtbot, window, panel.edit("birth_date"), "1949-12-31")
    _choose_gender(qtbot, window, "女")
    assert panel.problem_text("birth_date") == "" and panel.problem_text("gender") == ""


def test_contradicting_birth_date_blocks_finishing(qtbot: Any, window: Any, ctx: Any) -> None:
    panel = window.intake.applicant
    press(qtbot, window, window.intake, Qt.Key.Key_1, ALT)
    type_into(qtbot, window, panel.id_edit, VALID_ID)
    assert panel.edit("birth_date").text() == "1949-12-31"  # derived from the number
    type_into(qtbot, window, panel.name_edit, "张秀英")
    panel.edit("birth_date").selectAll()
    type_into(qtbot, window, panel.edit("birth_date"), "1949-12-13")
    press(qtbot, window, panel.edit("birth_date"), Qt.Key.Key_Tab)
    assert "不符" in panel.problem_text("birth_date")
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})

    press(qtbot, window, window.intake.materials.table, F12)

    assert not window.intake.finished
    assert "出生日期与身份证号码不符" in window.messages.text
    assert panel.edit("birth_date").hasFocus()
    view = ctx.queries.get(window.intake.submission_id)
    assert view.stage == "draft" and view.number is None
    assert view.applicant is not None and "birth_date" in view.applicant.problems()


def test_a_corrected_number_brings_its_own_birth_date_and_gender(qtbot: Any, window: Any) -> None:
    panel = window.intake.applicant
    press(qtbot, window, window.intake, Qt.Key.Key_1, ALT)
    type_into(qtbot, window, panel.id_edit, VALID_ID)  # 1949-12-31, female
    assert (
        panel.edit("birth_date").text() == "1949-12-31" and panel.gender_combo.currentData() == "女"
    )
    panel.id_edit.selectAll()
    type_into(
        qtbot, window, panel.id_edit, "440524188001010014"
    )  # GB 11643's example: 1880-01-01, male
    assert (
        panel.edit("birth_date").text() == "1880-01-01" and panel.gender_combo.currentData() == "男"
    )
    assert panel.problem_text("birth_date") == "" and panel.problem_text("gender") == ""
    # what the clerk typed is never overwritten: it is flagged instead
    panel.edit("birth_date").selectAll()
    type_into(qtbot, window, panel.edit("birth_date"), "1880-01-02")
    panel.id_edit.selectAll()
    type_into(qtbot, window, panel.id_edit, VALID_ID)
    assert panel.edit("birth_date").text() == "1880-01-02" and "不符" in panel.problem_text(
        "birth_date"
    )
    assert panel.gender_combo.currentData() == "女"  # still the number's own
