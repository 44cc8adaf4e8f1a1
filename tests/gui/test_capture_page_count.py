"""The document camera at the counter: auto-capture stops at the material's page count, a sheet
taken twice is flagged, and a material whose pages are all in is offered as 已收 (simulated
camera, feed ticked by hand as in test_window_capture)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests import synthetic as syn
from tests.gui.test_window_capture import (
    camera,
    open_capture,
    scene,
    shoot,
    stored,
    tick,
    use_camera,
)
from tests.gui.test_window_intake import answer_questions, choose_newborn, enter_applicant

pytestmark = pytest.mark.gui


def newborn_checklist(qtbot: Any, window: Any) -> str:
    """A draft whose materials are all still 缺."""
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    sid = window.intake.submission_id
    assert sid is not None and window.intake.checklist is not None
    return sid  # type: ignore[no-any-return]


def other_sheet() -> Any:
    return syn.make_scene("perspective", (1920, 1080), payload=None, seed=2).frame


def capture_at(qtbot: Any, window: Any, material: str, *, auto: bool = False) -> Any:
    window.intake.materials.select_material(material)
    dialog = open_capture(qtbot, window, window.intake.materials.table, auto=auto)
    assert dialog.material_id == material
    return dialog


def test_auto_capture_stops_at_the_materials_page_count(qtbot: Any, window: Any, ctx: Any) -> None:
    use_camera(window, camera())
    sid = newborn_checklist(qtbot, window)
    dialog = capture_at(qtbot, window, "resident_id_card.father", auto=True)  # catalog: 1 page
    frames = dialog.feed.processor.stillness.frames

    tick(dialog, frames)
    assert len(stored(ctx, sid, "resident_id_card.father")) == 1
    for _ in range(3):  # the card is nudged and lies still again, as on the counter
        dialog.feed.reset_stillness()
        tick(dialog, frames + 1)
    assert len(stored(ctx, sid, "resident_id_card.father")) == 1
    assert "已采集齐全" in dialog.status_label.text()

    dialog.select_material("household_register")  # catalog: 2 pages
    for _ in range(4):
        tick(dialog, frames + 1)
        dialog.feed.reset_stillness()
    assert len(stored(ctx, sid, "household_register")) == 2
    shoot(qtbot, window, dialog)  # the clerk can still take one more by hand
    assert len(stored(ctx, sid, "household_register")) == 3


def test_a_sheet_taken_twice_is_flagged_and_a_new_sheet_is_not(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    cam = use_camera(window, camera())
    sid = newborn_checklist(qtbot, window)
    dialog = capture_at(qtbot, window, "household_register")
    shoot(qtbot, window, dialog)
    shoot(qtbot, window, dialog)  # the page was not turned

    assert dialog.strip.list.item(1).text().startswith("⚠")
    assert "第2页：与第1页几乎相同" in dialog.findings_label.text()
    assert not dialog.strip.list.item(0).text().startswith("⚠")

    cam._images = [other_sheet()]
    shoot(qtbot, window, dialog)
    assert not dialog.strip.list.item(2).text().startswith("⚠")
    assert not dialog.findings_label.isVisibleTo(dialog)

    # Page 3 was stored before the dialog is opened again: the same sheet again is still caught.
    dialog.close_now()
    dialog = window.open_capture("household_register")
    assert dialog is not None and dialog.isVisible()
    dialog.feed.timer.stop()
    tick(dialog)
    dialog.capture()
    assert len(stored(ctx, sid, "household_register")) == 4
    assert "第4页：与第3页几乎相同" in dialog.findings_label.text()


def test_material_with_all_its_pages_is_offered_as_collected(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    cam = use_camera(window, camera(scene(payload=None).frame))
    newborn_checklist(qtbot, window)
    dialog = capture_at(qtbot, window, "household_register")  # 2 pages
    shoot(qtbot, window, dialog)
    assert "已采集齐全" not in dialog.messages.text  # one page of two: nothing to offer yet

    cam._images = [other_sheet()]
    shoot(qtbot, window, dialog)
    assert "居民户口簿”的2页已采集齐全" in dialog.messages.text
    assert dialog.messages.action_button.text() == "标为已收"
    qtbot.mouseClick(dialog.messages.action_button, Qt.MouseButton.LeftButton)

    states = {line.id: line.state for line in window.intake.checklist.materials}
    assert states["household_register"] == "collected"
    assert "已收" in dialog.material_combo.currentText()
