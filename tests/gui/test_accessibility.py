"""Large-font mode and accessibility (适老化), on the clerk's walk through every screen and
dialog at 150 % font and high contrast, the main window at 1366×768 (the common counter screen):

- every input, button and list tells a screen reader what it is (an accessible name of its own,
  or Qt's fallback: a button's text, a form label's buddy), in Chinese;
- no text is cut: labels and buttons get the room their text needs, list items and table cells
  are not elided, nothing is pushed out of a scroll area's width, and the window and each dialog
  fit the screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QTabWidget, QWidget

from tests.gui.conftest import login, running_shell
from tests.gui.layout import accessible_name, clipped, unnamed
from tests.gui.test_window_capture import camera, open_capture, use_camera
from tests.gui.test_window_intake import (
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
    press,
)
from tests.gui.test_window_oneperson import earlier_intake

pytestmark = pytest.mark.gui

SCREEN = QSize(1366, 768)
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def large_high_contrast(qapp: QApplication) -> Iterator[None]:
    import ui.style as style

    saved = (qapp.font(), qapp.styleSheet(), qapp.palette())
    style.apply_style(qapp, style.DisplayOptions(150, True))
    yield
    style._current = style.DisplayOptions()
    qapp.setFont(saved[0])
    qapp.setStyleSheet(saved[1])
    qapp.setPalette(saved[2])


def activate(qtbot: Any, window: QWidget) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def walk(qtbot: Any, ctx: Any, tmp_path: Any, check: Callable[[QWidget], list[str]]) -> dict:
    """Opens each screen the way the window does and returns {screen: CHECK's findings}."""
    from app.context import build_context
    from app.options import Options
    from tests.gui.conftest import RecordingPrinter
    from ui.crash import CrashHandler
    from ui.followup import DeliveryDialog, SupplementDialog, WithdrawDialog
    from ui.shell import AppShell
    from ui.tasks import InlineTaskRunner

    found: dict[str, list[str]] = {}

    def look(name: str, widget: QWidget, size: QSize | None = None) -> None:
        if size is not None:
            widget.resize(size)
        _settle()
        assert widget.isVisible(), name
        found[name] = check(widget)

    from app.capture.idcard_sim import SimulatedReader

    reader = SimulatedReader()
    shells = running_shell(
        qtbot, InlineTaskRunner(), ctx, printer=RecordingPrinter(), reader=reader
    )
    shell = next(shells)
    look("登录", shell.login)

    window = login(qtbot, shell)
    window.show()
    look("受理（空）", window, SCREEN)
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    window.messages.dismiss()
    look("受理（材料清单）", window, SCREEN)

    use_camera(window, camera())
    capture = open_capture(qtbot, window, window.intake.materials.table)
    look("采集材料页面", capture)
    capture.close_now()
    activate(qtbot, window)  # F12 is the main window's shortcut
    press(qtbot, window, window.intake.materials.table, Qt.Key.Key_F12)
    assert window.intake.finished, window.messages.text
    look("受理结果", window, SCREEN)
    number = window.intake.result.number.text()
    press(qtbot, window, window.intake.result, Qt.Key.Key_F9)  # the applicant rates here
    rating = window.intake.rating.dialog
    assert rating is not None
    look("好差评（F9）", rating)
    rating.close()

    window.show_search()
    window.search.query.setText(number)
    window.search.search()
    window.messages.dismiss()
    look("查询与后续", window, SCREEN)
    window.show_ledger()
    look("台账", window, SCREEN)
    online = window.show_online_queue()
    look("线上申请", online)
    online.close()
    window.open_handover()
    assert window.handover_dialog is not None
    look("材料移交", window.handover_dialog)
    window.handover_dialog.reject()

    look("同步队列", window.show_sync_queue())
    window.sync_dialog.close()
    display = window.show_display_dialog()
    look("显示设置", display)
    display.reject()
    for name, dialog in (
        ("补正", SupplementDialog([("lease_contract", "租赁合同")], window)),
        ("撤回", WithdrawDialog(window)),
        ("送达", DeliveryDialog([("birth_registration", "出生登记")], "人民路1号", window)),
    ):
        dialog.open()
        look(name, dialog)
        dialog.reject()

    crash = CrashHandler()
    crash._report("E20241202-093000-AB12")
    assert crash.dialog is not None
    look("意外错误", crash.dialog)
    crash.dialog.close()

    activate(qtbot, window)
    window.intake.new_intake()
    earlier_intake(ctx)  # consent to reuse on file: the next intake is offered it
    enter_applicant(qtbot, window)  # a draft left open
    bar = window.intake.applicant.reuse_bar
    qtbot.waitUntil(bar.offer_button.isEnabled, timeout=5000)
    bar.offer_button.click()
    assert window.intake.reuse.dialog is not None
    look("一人一档复用", window.intake.reuse.dialog)
    window.intake.reuse.dialog.reject()
    window.intake.agent_panel.acting.setChecked(True)
    look("受理（代办人）", window, SCREEN)
    window.lock()
    look("锁定", window.lock_dialog)
    shell.logout()
    window = login(qtbot, shell)
    assert window.drafts_dialog is not None
    look("未完成的受理", window.drafts_dialog)
    window.drafts_dialog.reject()

    shell.logout()
    window = login(qtbot, shell, "zhangjing", "super1234")
    window.show_supervisor()
    window.supervisor.refresh()
    window.messages.dismiss()
    look("负责人", window, SCREEN)
    tabs = window.supervisor.ratings.parentWidget()
    while not isinstance(tabs, QTabWidget):
        tabs = tabs.parentWidget()
    tabs.setCurrentWidget(window.supervisor.ratings)
    look("负责人（好差评）", window, SCREEN)
    consultation = window.show_consultation()  # a supervisor's: with 设为本站默认
    consultation.bundles.choose("newborn_birth")
    look("咨询", consultation)
    consultation.reject()
    day_close = window.supervisor.request_close()
    qtbot.waitUntil(day_close.isVisible, timeout=3000)
    look("日结", day_close)
    day_close.reject()

    shell.logout()
    window = login(qtbot, shell, "admin", "admin1234")
    backup = window.show_backup_dialog()
    assert backup is not None
    qtbot.waitUntil(backup.isVisible, timeout=3000)
    look("备份", backup)
    backup.reject()
    for _ in shells:  # closes the shell
        pass

    fresh = build_context(tmp_path / "fresh.db")
    try:
        first = AppShell(
            Options.of(idle_lock_minutes=0), InlineTaskRunner(), context_factory=lambda: fresh
        )
        qtbot.addWidget(first.login)
        first.open_store()
        assert first.setup is not None
        qtbot.addWidget(first.setup)
        qtbot.waitUntil(first.setup.isVisible, timeout=3000)
        look("首次设置", first.setup)
        first.setup.close()
    finally:
        fresh.close()
    return found


def _fits(widget: QWidget) -> list[str]:
    hint = widget.minimumSizeHint()
    if hint.width() > SCREEN.width() or hint.height() > SCREEN.height():
        return [f"needs at least {hint.width()}×{hint.height()}, more than the screen"]
    if widget.width() > SCREEN.width() or widget.height() > SCREEN.height():
        return [f"opens at {widget.width()}×{widget.height()}, larger than the screen"]
    return []


def test_every_input_and_button_has_a_chinese_accessible_name(
    large_high_contrast: None, qtbot: Any, ctx: Any, tmp_path: Any
) -> None:
    def check(widget: QWidget) -> list[str]:
        return unnamed(widget)

    found = walk(qtbot, ctx, tmp_path, check)
    assert len(found) == 26  # the walk reached every screen
    report = [f"{name}: {p}" for name, problems in found.items() for p in problems]
    assert report == [], "\n" + "\n".join(report)


def test_nothing_is_cut_at_1366x768_with_150_percent_and_high_contrast(
    large_high_contrast: None, qtbot: Any, ctx: Any, tmp_path: Any
) -> None:
    def check(widget: QWidget) -> list[str]:
        return _fits(widget) + list(clipped(widget))

    found = walk(qtbot, ctx, tmp_path, check)
    assert len(found) == 26
    report = [f"{name}: {p}" for name, problems in found.items() for p in problems]
    assert report == [], "\n" + "\n".join(report)


def test_the_checks_see_an_unnamed_input_and_a_cut_label(qtbot: Any) -> None:
    """The rules themselves, on a hand-made box: they catch what a clerk would trip over."""
    from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QPushButton

    box = QWidget()
    box.setObjectName("box")
    qtbot.addWidget(box)
    bare = QLineEdit(box)
    bare.setObjectName("bare")
    named = QLineEdit(box)
    named.setAccessibleName("姓名")
    button = QPushButton("保存", box)
    label = QLabel("新生儿父母是否已办理结婚登记（婚内生育）？", box)
    items = QListWidget(box)
    items.setAccessibleName("事项")
    items.addItem("《出生医学证明》办理（首签）县卫健委·即办")
    for y, w in enumerate((bare, named, button, label, items)):
        w.setGeometry(0, y * 40, 100, 36)  # no layout: as narrow as a squeezed column
    box.resize(120, 240)
    box.show()
    _settle()
    assert unnamed(box) == ["QLineEdit box/bare"]
    assert accessible_name(button) == "保存" and CJK.search(accessible_name(named))
    cut = list(clipped(box))
    assert any("新生儿父母" in c for c in cut)
    assert any("出生医学证明" in c for c in cut)
    assert not any("保存" in c for c in cut)
