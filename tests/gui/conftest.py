"""Fixtures for the window tests: a real store in tmp_path with the demo station and accounts,
the bundled catalog, an inline task runner, a printer that records jobs, the simulated reader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QWidget

from printing.dispatch import PrintResult


@dataclass
class RecordingPrinter:
    """A PrinterBackend that keeps what it was sent; `fail_with` makes it refuse like a printer
    that is off."""

    jobs: list[tuple[str, bytes]] = field(default_factory=list)
    fail_with: str | None = None

    def available_printers(self) -> list[str]:
        return ["测试打印机"]

    def default_printer(self) -> str | None:
        return "测试打印机"

    def print_pdf(
        self,
        pdf_bytes: bytes,
        printer_name: str | None = None,
        copies: int = 1,
        *,
        job_name: str = "",
    ) -> PrintResult:
        if self.fail_with is not None:
            return PrintResult(False, "print.failed", self.fail_with, "测试打印机")
        self.jobs.append((job_name, pdf_bytes))
        return PrintResult(
            True, "print.ok", "已发送到打印机“测试打印机”：共1页，1份。", "测试打印机", 1, copies
        )


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Any]:
    from app.context import build_context
    from app.demo import setup_demo_station

    context = build_context(tmp_path / "t.db")
    setup_demo_station(context.staff)  # station XX01 (新乡县), admin / zhangjing / wangfang / lina
    yield context
    context.close()


@pytest.fixture
def printer() -> RecordingPrinter:
    return RecordingPrinter()


@pytest.fixture
def reader() -> Any:
    from app.capture.idcard_sim import SimulatedReader

    return SimulatedReader()


def running_shell(qtbot: Any, runner: Any, ctx: Any, **options: Any) -> Iterator[Any]:
    """The application shell over CTX, started up to a ready login window; closed afterwards.
    OPTIONS go to AppShell (printer, reader, settings, sync_factory)."""
    from app.options import Options
    from ui.shell import AppShell

    app_shell = AppShell(
        Options.of(idle_lock_minutes=0), runner, context_factory=lambda: ctx, **options
    )
    qtbot.addWidget(app_shell.login)
    app_shell.start()
    qtbot.waitUntil(lambda: app_shell.login.ready, timeout=10_000)
    yield app_shell
    if app_shell.window is not None:
        app_shell.window.shutdown()
        app_shell.window.close()
    if app_shell.setup is not None:
        app_shell.setup.close()


@pytest.fixture
def shell(qtbot: Any, ctx: Any, printer: RecordingPrinter, reader: Any) -> Iterator[Any]:
    from ui.tasks import InlineTaskRunner

    yield from running_shell(qtbot, InlineTaskRunner(), ctx, printer=printer, reader=reader)


def login(
    qtbot: Any, app_shell: Any, username: str = "wangfang", password: str = "clerk1234"
) -> Any:
    """Log in by keyboard as a clerk would; returns the main window."""
    dialog = app_shell.login
    dialog.activateWindow()
    dialog.username.clear()  # after a logout the last name is still there
    dialog.username.setFocus()
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClick(dialog.username, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    window = app_shell.window
    assert window is not None, dialog.error_label.text()
    qtbot.addWidget(window)
    window.card_timer.stop()  # tests poll the reader explicitly
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is not None, timeout=5000)
    return window


@pytest.fixture
def window(qtbot: Any, shell: Any) -> Any:
    return login(qtbot, shell)


def type_into(qtbot: Any, window: Any, widget: QWidget, text: str) -> None:
    """Type TEXT into WIDGET (focused first, as a clerk's Tab would): ASCII as key presses,
    Chinese as an input method commits it (QTest cannot press keys for non-ASCII text)."""
    widget.setFocus()
    if text.isascii():
        qtbot.keyClicks(widget, text)
    else:
        event = QInputMethodEvent()
        event.setCommitString(text)
        QApplication.sendEvent(widget, event)
    window.wedge.release_held()  # the wedge filter holds fast keys for up to 50 ms


def press(
    qtbot: Any,
    window: Any,
    widget: QWidget,
    key: Qt.Key,
    modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    qtbot.keyClick(widget, key, modifier)
    window.wedge.release_held()
