"""Accessibility helpers for what Qt leaves nameless."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit


def enable_clear_button(edit: QLineEdit) -> None:
    """EDIT's × button, named for a screen reader (and its tooltip) in Chinese."""
    edit.setClearButtonEnabled(True)
    action = edit.findChild(QAction, "_q_qlineeditclearaction")
    if action is not None:
        action.setText(QCoreApplication.translate("a11y", "清除内容"))
