"""The login dialog: the first thing on screen, so it imports nothing but the Qt classes it
shows (first-run set-up and the idle lock live in ui.setup and ui.lock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent


class LoginDialog(QDialog):
    login_requested = Signal(str, str)  # username, password
    first_painted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("一件事一次办 · 综合受理窗口 — 登录"))
        self.setMinimumWidth(420)
        self._painted = False
        title = QLabel(self.tr("综合受理窗口"), self)
        title.setObjectName("loginTitle")
        self.station_label = QLabel(self.tr("正在打开数据库……"), self)
        self.station_label.setObjectName("sectionHint")
        self.username = QLineEdit(self)
        self.username.setPlaceholderText(self.tr("登录名"))
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("密码"))
        self.error_label = QLabel(self)
        self.error_label.setObjectName("fieldProblem")
        self.error_label.setWordWrap(True)
        self.hint_label = QLabel(self)
        self.hint_label.setObjectName("fieldHint")
        self.hint_label.setWordWrap(True)
        self.hint_label.hide()
        form = QFormLayout()
        form.addRow(self.tr("登录名(&U)"), self.username)
        form.addRow(self.tr("密码(&P)"), self.password)
        self.login_button = QPushButton(self.tr("登录"), self)
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self._on_login_button_clicked)
        quit_button = QPushButton(self.tr("退出"), self)
        quit_button.setAutoDefault(False)
        quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(quit_button)
        buttons.addWidget(self.login_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.station_label)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.hint_label)
        layout.addLayout(buttons)
        self.username.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self._on_login_button_clicked)
        self._ready = False  # the store is open (a login before that waits for it)
        self._unavailable = False  # the store cannot be opened: no login at all

    # -- state shown by the shell

    @property
    def ready(self) -> bool:
        return self._ready

    def set_ready(self, station_text: str, hint: str = "") -> None:
        self._ready = True
        self.station_label.setText(station_text)
        self.hint_label.setText(hint)
        self.hint_label.setVisible(bool(hint))
        self.adjustSize()  # room for the wrapped hint (a large font makes it several lines)
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        self.login_button.setEnabled(not busy and not self._unavailable)

    def set_unavailable(self, message: str) -> None:
        """The store cannot be opened: say why and take no login."""
        self._unavailable = True
        self.station_label.setText(message)
        self.station_label.setStyleSheet("color: #b03a2e;")
        self.set_busy(False)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.set_busy(False)
        self.password.selectAll()
        self.password.setFocus()

    def reset(self) -> None:
        self.password.clear()
        self.error_label.clear()
        self.username.setFocus() if not self.username.text() else self.password.setFocus()

    # -- events

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()

    def _on_login_button_clicked(self) -> None:
        if self._unavailable:
            return
        if not self.username.text().strip():
            self.error_label.setText(self.tr("请输入登录名。"))
            self.username.setFocus()
            return
        if not self.password.text():
            self.error_label.setText(self.tr("请输入密码。"))
            self.password.setFocus()
            return
        self.error_label.clear()
        self.set_busy(True)
        self.login_requested.emit(self.username.text().strip(), self.password.text())
