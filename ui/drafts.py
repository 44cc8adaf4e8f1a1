"""At login: the clerk's unfinished drafts (after a crash, a power cut or a lock-out) are offered
again — continue one, discard one, or leave them for later."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.deadline import station_time

if TYPE_CHECKING:
    from app.views import SubmissionView

_ID = Qt.ItemDataRole.UserRole


class DraftsDialog(QDialog):
    continue_requested = Signal(str)  # submission id
    discard_requested = Signal(str)

    def __init__(self, drafts: list[SubmissionView], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("未完成的受理"))
        self.setMinimumWidth(520)
        info = QLabel(self.tr("以下受理尚未完成（已自动保存）。选择一条继续办理，或作废。"), self)
        info.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setAccessibleName(self.tr("未完成的受理"))
        self.list.setObjectName("draftList")
        for view in drafts:
            self._add(view)
        self.list.setCurrentRow(0)
        self.list.itemActivated.connect(lambda _i: self._on_continue_button_clicked())
        self.continue_button = QPushButton(self.tr("继续办理"), self)
        self.continue_button.setDefault(True)
        self.continue_button.clicked.connect(self._on_continue_button_clicked)
        discard = QPushButton(self.tr("作废所选"), self)
        discard.setAutoDefault(False)
        discard.clicked.connect(self._on_discard_button_clicked)
        later = QPushButton(self.tr("稍后处理"), self)
        later.setAutoDefault(False)
        later.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(discard)
        buttons.addStretch(1)
        buttons.addWidget(later)
        buttons.addWidget(self.continue_button)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def _add(self, view: SubmissionView) -> None:
        who = (
            view.applicant.masked_name
            if view.applicant and view.applicant.name
            else self.tr("（未录入申请人）")
        )
        what = view.bundle_name or self.tr("（未选择一件事）")
        when = station_time(view.created_at, "%m-%d %H:%M")
        item = QListWidgetItem(
            self.tr("{time}　{applicant}　{bundle}").format(time=when, applicant=who, bundle=what),
            self.list,
        )
        item.setData(_ID, view.id)

    def draft_ids(self) -> list[str]:
        return [self.list.item(r).data(_ID) for r in range(self.list.count())]

    def _current_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(_ID) if item else None

    def _on_continue_button_clicked(self) -> None:
        sid = self._current_id()
        if sid:
            self.accept()
            self.continue_requested.emit(sid)

    def _on_discard_button_clicked(self) -> None:
        sid = self._current_id()
        if not sid:
            return
        self.discard_requested.emit(sid)
        self.list.takeItem(self.list.currentRow())
        if not self.list.count():
            self.reject()
