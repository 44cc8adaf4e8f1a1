"""The start-up benchmark's clerk (`intake-window --startup-probe`, bench/bench_startup.py): at
the login dialog's first paint it types a demo account's name and password and presses Enter,
through the event queue as a keyboard would. It prints ``login-ready`` when the typed name has
reached the field (the dialog takes keys and the login) and the shell prints ``logged-in`` when
that login has gone through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QKeyEvent

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from ui.login import LoginDialog

# An account of the demo station (app.demo) the benchmark's store is set up with.
PROBE_USER = "wangfang"
PROBE_PASSWORD = "clerk1234"  # the published demo password


def _post_text(widget: QWidget, text: str) -> None:
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            key = Qt.Key(ord(ch.upper()))
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch)
            QCoreApplication.postEvent(widget, event)


def type_login(login: LoginDialog) -> None:
    def landed(text: str) -> None:
        if text == PROBE_USER:
            login.username.textChanged.disconnect(landed)
            enabled = login.login_button.isEnabled()
            print(f"startup-probe: login-ready{'' if enabled else '-disabled'}", flush=True)

    login.username.textChanged.connect(landed)
    _post_text(login.username, PROBE_USER)
    _post_text(login.password, PROBE_PASSWORD)
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        enter = QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, "\r")
        QCoreApplication.postEvent(login.password, enter)
