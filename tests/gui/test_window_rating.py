"""好差评 in the window: after F12 the finish screen asks for the rating; with one monitor (the
offscreen platform has one) the applicant rates on the keyboard (5–1, A–F, Enter); a 差评 needs a
reason; a second rating is refused; the clerk may record 未评价. The placement on a second
monitor is checked with a fake list of screens."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import press
from tests.gui.test_window_followup import received_intake

pytestmark = pytest.mark.gui


def rating_dialog(qtbot: Any, window: Any) -> Any:
    bar = window.intake.rating
    assert bar.isVisible() and bar.ask_button.isEnabled()
    press(qtbot, window, window.intake.result.new_button, Qt.Key.Key_F9)
    dialog = bar.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_one_monitor_keyboard_rating_of_a_bad_service(qtbot: Any, window: Any, ctx: Any) -> None:
    sid = received_intake(qtbot, window)
    bar = window.intake.rating
    assert "按 F9" in bar.status.text()
    assert bar.applicant_window is None  # one monitor: nothing opens by itself
    dialog = rating_dialog(qtbot, window)
    panel = dialog.panel
    press(qtbot, window, panel, Qt.Key.Key_2)  # 2 = 不满意
    assert panel.level == "dissatisfied" and panel.reasons_box.isVisible()
    press(qtbot, window, panel, Qt.Key.Key_Return)  # no reason yet: refused, nothing stored
    assert "至少选择一项原因" in panel.error_label.text()
    assert ctx.ratings.get(sid) is None
    press(qtbot, window, panel, Qt.Key.Key_B)  # B = 办事效率低
    assert panel.chosen_reasons() == ("slow",)
    press(qtbot, window, panel, Qt.Key.Key_Return)
    view = ctx.ratings.get(sid)
    assert view.level == "dissatisfied" and view.reasons == ("slow",)
    assert view.clerk_name == "王芳" and view.followup_due is not None
    assert panel.thanks.isVisible()
    assert "不满意" in bar.status.text() and "整改" in bar.status.text()
    assert not bar.ask_button.isEnabled() and not bar.decline_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)


def test_a_good_rating_is_one_key(qtbot: Any, window: Any, ctx: Any) -> None:
    sid = received_intake(qtbot, window)
    dialog = rating_dialog(qtbot, window)
    press(qtbot, window, dialog.panel, Qt.Key.Key_5)  # 5 = 非常满意, submitted at once
    view = ctx.ratings.get(sid)
    assert view.level == "very_satisfied" and view.followup_due is None
    assert "非常满意" in window.intake.rating.status.text()


def test_a_second_rating_is_refused_clearly_and_the_first_kept(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    sid = received_intake(qtbot, window)
    dialog = rating_dialog(qtbot, window)
    ctx.ratings.rate(None, sid, "satisfied")  # meanwhile given on a paper form (intake rating add)
    for key in (Qt.Key.Key_1, Qt.Key.Key_A, Qt.Key.Key_Return):
        press(qtbot, window, dialog.panel, key)
    bar = window.intake.rating
    assert "不能重复评价" in bar.status.text() and "满意" in bar.status.text()
    assert not dialog.isVisible() and not bar.ask_button.isEnabled()
    assert ctx.ratings.get(sid).level == "satisfied"


def test_the_clerk_records_that_the_applicant_declines(qtbot: Any, window: Any, ctx: Any) -> None:
    sid = received_intake(qtbot, window)
    bar = window.intake.rating
    bar.decline_button.click()
    view = ctx.ratings.get(sid)
    assert view.level is None and view.level_label == "未评价"
    assert "未评价" in bar.status.text() and not bar.ask_button.isEnabled()


def test_escape_closes_the_keyboard_dialog_without_a_rating(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    sid = received_intake(qtbot, window)
    dialog = rating_dialog(qtbot, window)
    press(qtbot, window, dialog.panel, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and ctx.ratings.get(sid) is None
    assert window.intake.rating.ask_button.isEnabled()


def test_the_applicant_screen_is_the_monitor_that_is_not_the_clerks() -> None:
    from ui.rating_screen import applicant_screen

    clerk, facing, third = object(), object(), object()
    assert applicant_screen([clerk], clerk) is None
    assert applicant_screen([clerk, facing], clerk) is facing
    assert applicant_screen([facing, clerk], clerk) is facing
    assert applicant_screen([clerk, facing, third], clerk) is facing
    assert applicant_screen([clerk, facing], None) is clerk


def test_with_two_monitors_the_rating_window_opens_there_without_taking_focus(
    qtbot: Any, window: Any, ctx: Any, monkeypatch: Any
) -> None:
    from PySide6.QtGui import QGuiApplication

    from ui.rating_screen import ApplicantRatingWindow

    # The offscreen platform has one monitor: a second one is a stand-in with its geometry.
    second = _ScreenProxy(QGuiApplication.primaryScreen())
    placed: list[Any] = []
    monkeypatch.setattr(ApplicantRatingWindow, "setScreen", lambda self, s: placed.append(s))
    bar = window.intake.rating
    bar._screens = lambda: [window.screen(), second]
    sid = received_intake(qtbot, window)
    applicant = bar.applicant_window
    assert placed == [second] and applicant is not None and applicant.isVisible()
    assert applicant.geometry() == second.geometry()
    assert applicant.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert bool(applicant.windowFlags() & Qt.WindowType.FramelessWindowHint)
    assert bar.dialog is None and "评价屏" in bar.status.text()
    applicant.panel.level_buttons["basic"].click()  # the applicant taps 基本满意
    assert ctx.ratings.get(sid).level == "basic"
    assert applicant.panel.thanks.isVisible()


class _ScreenProxy:
    def __init__(self, screen: Any) -> None:
        self._screen = screen

    def geometry(self) -> Any:
        return self._screen.geometry()
