"""An inline message bar: errors and notices without modal boxes (a busy counter must never be
stopped by a dialog it did not ask for), with at most one action button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

Level = Literal["info", "success", "warning", "error"]

_COLOURS = {
    "info": ("#e8f0fe", "#1a4a8a", "#9ab6e6"),
    "success": ("#e6f4ea", "#1e5e2e", "#95c9a3"),
    "warning": ("#fff4e0", "#7a4b00", "#e8c27a"),
    "error": ("#fdecea", "#8a1c12", "#e6a39c"),
}


class MessageBarWidget(QWidget):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton(self)
        self.action_button.hide()
        close = QToolButton(self)
        close.setText("×")
        close.setToolTip(self.tr("关闭提示（Esc）"))
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self._action: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._on_action_button_clicked)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.level: Level | None = None
        self.hide()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def show_message(
        self,
        text: str,
        level: Level = "info",
        *,
        action: tuple[str, Callable[[], None]] | None = None,
        timeout_ms: int | None = None,
    ) -> None:
        """Errors stay until dismissed or replaced; notices fade after a while."""
        back, fore, border = _COLOURS[level]
        self.setStyleSheet(
            f"#messageBar {{ background: {back}; border: 1px solid {border}; border-radius: 4px; }}"
            f" #messageBar QLabel {{ color: {fore}; }}"
        )
        self.level = level
        self.label.setText(text)
        self._action = action[1] if action else None
        self.action_button.setVisible(action is not None)
        if action:
            self.action_button.setText(action[0])
        if timeout_ms is None:
            timeout_ms = 0 if level in ("error", "warning") or action else 8000
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()
        self.show()

    def withdraw(self, text: str) -> None:
        """TEXT's cause is fixed: hide it if it is still the message shown (never a newer one)."""
        if not self.isHidden() and self.label.text() == text:
            self.dismiss()

    def show_error(self, text: str, **kw: object) -> None:
        self.show_message(text, "error", **kw)  # type: ignore[arg-type]

    def dismiss(self) -> None:
        self._timer.stop()
        self._action = None
        self.level = None
        self.hide()
        self.closed.emit()

    def _on_action_button_clicked(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()
