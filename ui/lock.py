"""The idle lock: the work stays where it was; only the clerk's password opens it again."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget


class LockDialog(QDialog):
    """Idle lock: the work stays where it was; only the clerk's password opens it again."""

    unlock_requested = Signal(str)
    logout_requested = Signal()

    def __init__(self, who: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("已锁定"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(380)
        info = QLabel(
            self.tr("窗口已锁定（{who}）。当前受理已自动保存，输入密码继续。").format(who=who), self
        )
        info.setWordWrap(True)
        self.password = QLineEdit(self)
        self.password.setAccessibleName(self.tr("密码"))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("密码"))
        self.error_label = QLabel(self)
        self.error_label.setObjectName("fieldProblem")
        buttons = QDialogButtonBox(self)
        self.unlock_button = buttons.addButton(
            self.tr("解锁"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        logout = buttons.addButton(self.tr("切换用户"), QDialogButtonBox.ButtonRole.ResetRole)
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self._on_unlock_button_clicked)
        logout.clicked.connect(self.logout_requested)
        self.password.returnPressed.connect(self._on_unlock_button_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addWidget(self.password)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def reject(self) -> None:
        pass  # Esc does not unlock

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.unlock_button.setEnabled(True)
        self.password.selectAll()
        self.password.setFocus()

    def _on_unlock_button_clicked(self) -> None:
        if not self.password.text():
            return
        self.unlock_button.setEnabled(False)
        self.unlock_requested.emit(self.password.text())
