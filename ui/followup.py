"""Small dialogs for actions on an opened intake: 补正, 撤回, 送达.

They collect input and emit a request; the search screen runs the service call and either closes
the dialog (`done_ok`) or shows the service's message in it (`show_error`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.delivery import CARRIERS

_ID = Qt.ItemDataRole.UserRole


class _ActionDialog(QDialog):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("fieldProblem")
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("确定"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout(self)

    def finish_layout(self) -> None:
        self.body.addWidget(self.error_label)
        self.body.addWidget(self.buttons)

    def _on_buttons_accepted(self) -> None:
        raise NotImplementedError

    def _busy(self, busy: bool) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not busy)

    def show_error(self, message: str) -> None:
        self._busy(False)
        self.error_label.setText(message)

    def done_ok(self) -> None:
        self._busy(False)
        self.accept()


def _checklist(
    parent: QWidget, entries: list[tuple[str, str]], checked: bool = True
) -> QListWidget:
    view = QListWidget(parent)
    for value, text in entries:
        item = QListWidgetItem(text, view)
        item.setData(_ID, value)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
    if view.count():
        view.setCurrentRow(0)
    return view


def _checked(view: QListWidget) -> list[str]:
    return [
        view.item(r).data(_ID)
        for r in range(view.count())
        if view.item(r).checkState() == Qt.CheckState.Checked
    ]


class SupplementDialog(_ActionDialog):
    """补正: the tolerated materials the applicant hands in now."""

    supplement_requested = Signal(list)  # material ids

    def __init__(self, materials: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(self.tr("补正材料"), parent)
        self.body.addWidget(QLabel(self.tr("勾选申请人本次补交的容缺材料（已核对原件）："), self))
        self.materials = _checklist(self, materials)
        self.materials.setAccessibleName(self.tr("补交的材料"))
        self.body.addWidget(self.materials)
        self.finish_layout()

    def _on_buttons_accepted(self) -> None:
        chosen = _checked(self.materials)
        if not chosen:
            self.show_error(self.tr("请至少勾选一项补交的材料。"))
            return
        self._busy(True)
        self.supplement_requested.emit(chosen)


class WithdrawDialog(_ActionDialog):
    """撤回: the reason; the list of returned materials is printed afterwards."""

    withdraw_requested = Signal(str)  # reason

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("撤回申请"), parent)
        self.reason = QComboBox(self)
        self.reason.setEditable(True)
        self.reason.setAccessibleName(self.tr("撤回原因"))
        self.reason.lineEdit().setAccessibleName(self.tr("撤回原因"))
        self.reason.addItems(
            [self.tr("申请人主动撤回"), self.tr("申请人放弃办理"), self.tr("材料有误需重新准备")]
        )
        self.reason.setCurrentIndex(-1)
        line = self.reason.lineEdit()
        if line is not None:
            line.setPlaceholderText(self.tr("撤回原因（必填）"))
        note = QLabel(
            self.tr("撤回后将打印《撤回申请材料退还清单》，请将纸质材料退还申请人。"), self
        )
        note.setWordWrap(True)
        self.body.addWidget(note)
        self.body.addWidget(self.reason)
        self.finish_layout()

    def _on_buttons_accepted(self) -> None:
        reason = self.reason.currentText().strip()
        if not reason:
            self.show_error(self.tr("请填写撤回原因。"))
            return
        self._busy(True)
        self.withdraw_requested.emit(reason)


class DeliveryDialog(_ActionDialog):
    """送达: window pickup or express (tracking number required)."""

    delivery_requested = Signal(str, list, str, str)  # method, item ids, tracking number, address

    def __init__(
        self, items: list[tuple[str, str]], address: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(self.tr("登记送达"), parent)
        self.window_pickup = QRadioButton(self.tr("窗口领取(&W)"), self)
        self.express = QRadioButton(self.tr("邮寄送达(&E)"), self)
        self.window_pickup.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.window_pickup)
        group.addButton(self.express)
        self.carrier = QComboBox(self)  # 送达凭证: the tracking number is checked for its shape
        self.carrier.setAccessibleName(self.tr("快递公司"))
        self.carrier.addItem(self.tr("按单号识别（SF/JD/YT/JT开头）"), "")
        for code, (name, _shapes) in CARRIERS.items():
            self.carrier.addItem(name, code)  # the carriers' own names (app/delivery.py)
        self.tracking = QLineEdit(self)
        self.tracking.setAccessibleName(self.tr("快递单号"))
        self.tracking.setPlaceholderText(self.tr("快递单号（邮寄必填）"))
        self.recipient = QLineEdit(self)
        self.recipient.setAccessibleName(self.tr("领取人"))
        self.recipient.setPlaceholderText(self.tr("默认：代办人或申请人本人"))
        self.address = QLineEdit(address, self)
        self.address.setAccessibleName(self.tr("邮寄地址"))
        self.address.setPlaceholderText(self.tr("邮寄地址"))
        self.items = _checklist(self, items)
        self.items.setAccessibleName(self.tr("送达的事项"))
        form = QFormLayout()
        form.addRow(self.tr("方式"), self.window_pickup)
        form.addRow("", self.express)
        form.addRow(self.tr("领取人"), self.recipient)
        form.addRow(self.tr("快递公司"), self.carrier)
        form.addRow(self.tr("快递单号"), self.tracking)
        form.addRow(self.tr("邮寄地址"), self.address)
        self.body.addLayout(form)
        self.body.addWidget(QLabel(self.tr("送达的事项（已办结或不予受理）："), self))
        self.body.addWidget(self.items)
        self.express.toggled.connect(self._on_express_toggled)
        self._on_express_toggled(False)
        self.finish_layout()

    def _on_express_toggled(self, on: bool) -> None:
        self.carrier.setEnabled(on)
        self.recipient.setEnabled(not on)
        self.tracking.setEnabled(on)
        self.address.setEnabled(on)

    def _on_buttons_accepted(self) -> None:
        chosen = _checked(self.items)
        if not chosen:
            self.show_error(self.tr("请至少勾选一个送达的事项。"))
            return
        method = "express" if self.express.isChecked() else "window"
        self._busy(True)
        self.delivery_requested.emit(
            method, chosen, self.tracking.text().strip(), self.address.text().strip()
        )
