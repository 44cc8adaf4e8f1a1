"""Counter ergonomics of the intake screen: the checklist stays readable on a 1366×768 counter
screen (the missing-materials banner folds), marking moves on to the next material, and an
error banner goes away once the clerk has fixed its cause."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import press, type_into
from tests.gui.test_window_capture import camera, open_capture, shoot, use_camera
from tests.gui.test_window_intake import (
    ALT,
    answer_questions,
    choose_newborn,
    enter_applicant,
)

pytestmark = pytest.mark.gui


@pytest.fixture
def styled() -> Iterator[None]:
    """The application's own font and stylesheet, as `intake-window` starts with."""
    from ui.style import apply_style

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    font = app.font()
    apply_style(app)
    yield
    app.setStyleSheet("")
    app.setFont(font)


def fully_visible_rows(table: Any) -> int:
    viewport = table.viewport().rect()
    model = table.model()
    return sum(
        1
        for row in range(model.rowCount())
        if viewport.contains(table.visualRect(model.index(row, 1)))
        and not table.visualRect(model.index(row, 1)).isEmpty()
    )


def test_checklist_shows_twelve_rows_at_1366x768_with_the_banner_folded(
    qtbot: Any, window: Any, styled: None
) -> None:
    use_camera(window, camera())
    enter_applicant(qtbot, window)
    window.intake.bundles.choose("hotel_opening")  # 开宾馆（酒店）: 15 materials before answers
    qtbot.waitUntil(lambda: window.intake.checklist is not None, timeout=5000)
    materials = window.intake.materials
    assert materials.model.rowCount() >= 13
    capture = open_capture(qtbot, window, materials.table)  # a page: the slot shows its strip
    shoot(qtbot, window, capture)
    capture.close_now()
    materials.table.setFocus()
    assert materials.pages.strip.isVisibleTo(materials)
    window.showNormal()
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window.size().height() == 768, timeout=3000)
    QApplication.processEvents()

    assert fully_visible_rows(materials.table) >= 12
    box = materials.table.parentWidget()  # the list and its mark buttons: nothing drawn over
    assert box.height() >= box.minimumSizeHint().height()
    banner = materials.verdict
    missing = window.intake.checklist.missing
    names = [line.name for line in window.intake.checklist.materials if line.id in missing]
    assert f"还缺 {len(missing)} 项" in banner.summary.text()
    assert not banner.details.isVisible()  # folded: the names do not push the list down
    assert banner.toggle.isVisible()

    qtbot.mouseClick(banner.toggle, Qt.MouseButton.LeftButton)
    assert banner.details.isVisible()
    assert all(name in banner.details.text() for name in names)
    qtbot.mouseClick(banner.toggle, Qt.MouseButton.LeftButton)
    assert not banner.details.isVisible()
    QApplication.processEvents()
    assert fully_visible_rows(materials.table) >= 12


def test_marking_a_material_moves_the_selection_to_the_next_row(qtbot: Any, window: Any) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    table = window.intake.materials.table
    model = window.intake.materials.model
    press(qtbot, window, window.intake, Qt.Key.Key_4, ALT)
    table.setCurrentIndex(model.index(0, 1))
    first, second = model.line(0).id, model.line(1).id

    press(qtbot, window, table, Qt.Key.Key_1)  # 已收
    assert table.currentIndex().row() == 1
    press(qtbot, window, table, Qt.Key.Key_0)  # 缺 (it already was): on all the same
    assert table.currentIndex().row() == 2
    states = {line.id: line.state for line in window.intake.checklist.materials}
    assert states[first] == "collected" and states[second] == "missing"

    last = model.rowCount() - 1
    table.setCurrentIndex(model.index(last, 1))
    press(qtbot, window, table, Qt.Key.Key_1)
    assert table.currentIndex().row() == last  # the end of the list: stays
    assert window.intake.checklist.materials[last].state == "collected"


def test_error_banner_goes_when_its_cause_is_fixed(qtbot: Any, window: Any) -> None:
    panel = window.intake.applicant
    press(qtbot, window, window.intake.finish_button, Qt.Key.Key_F12)
    assert "请先选择一件事和申请的事项" in window.messages.text
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    assert window.messages.text == ""  # a bundle and items chosen: that problem is gone

    panel.phone_edit.clear()
    type_into(qtbot, window, panel.phone_edit, "1381234")  # two digits short
    answer_questions(qtbot, window)
    press(qtbot, window, window.intake.materials.table, Qt.Key.Key_F12)
    assert "联系电话有误" in window.messages.text and window.messages.level == "error"

    panel.phone_edit.clear()
    type_into(qtbot, window, panel.phone_edit, "13812345678")
    press(qtbot, window, panel.phone_edit, Qt.Key.Key_Tab)  # leaving the field saves it
    assert window.messages.text == ""

    # An unrelated newer message is not taken down by an older cause's fix.
    window.show_message("同步：已上传 3 件。", "warning")
    window.intake._resolve()
    assert window.messages.text == "同步：已上传 3 件。"
