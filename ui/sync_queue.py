"""The sync queue view (Ctrl+Shift+S, or a click on the status bar's sync indicator): every
intake waiting to go and every item that failed, with its state, attempts, last error and fix,
and the next retry (station time); 立即同步 runs a turn at once, 重试 puts a parked item back in
line through the engine. A non-modal dialog: the clerk keeps working beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.deadline import station_time
from ui.ledger import make_table
from ui.sync import status_details, status_level, status_line
from ui.tablemodel import RowsTableModel

if TYPE_CHECKING:
    from sync.status import QueueItem, SyncStatus
    from ui.sync import SyncController, SyncTurn

KIND_LABELS = {
    "submission": QT_TRANSLATE_NOOP("SyncQueueModel", "受理记录"),
    "event": QT_TRANSLATE_NOOP("SyncQueueModel", "记录"),
    "page": QT_TRANSLATE_NOOP("SyncQueueModel", "材料页面"),
    "status": QT_TRANSLATE_NOOP("SyncQueueModel", "办理结果"),
    "catalog": QT_TRANSLATE_NOOP("SyncQueueModel", "事项目录"),
    "audit": QT_TRANSLATE_NOOP("SyncQueueModel", "审计日志副本"),
    "receipt_key": QT_TRANSLATE_NOOP("SyncQueueModel", "回执验签公钥"),
}
STATE_LABELS = {
    "waiting": QT_TRANSLATE_NOOP("SyncQueueModel", "等待上传"),
    "retrying": QT_TRANSLATE_NOOP("SyncQueueModel", "等待重试"),
    "failing": QT_TRANSLATE_NOOP("SyncQueueModel", "失败，自动重试"),
    "needs_person": QT_TRANSLATE_NOOP("SyncQueueModel", "需人工处理"),
    "retry": QT_TRANSLATE_NOOP("SyncQueueModel", "已安排重试"),
}


class SyncQueueModel(RowsTableModel):
    COLUMNS = (
        QT_TRANSLATE_NOOP("SyncQueueModel", "受理编号"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "内容"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "状态"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "尝试次数"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "待传记录"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "页面"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "开始等待"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "下次重试"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "原因"),
        QT_TRANSLATE_NOOP("SyncQueueModel", "处理办法"),
    )
    STATE_COLUMN = 2
    ERROR_COLUMN = 8

    def set_items(self, items: list[QueueItem]) -> None:
        self._reset(items)

    @property
    def items(self) -> list[QueueItem]:
        return self._rows

    def item_at(self, row: int) -> QueueItem | None:
        return self._at(row)  # type: ignore[no-any-return]

    def row_of(self, item_id: str) -> int:
        return self._row_with_id(item_id)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        q = self.item_at(index.row())
        if q is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            error = q.last_error
            values = (
                q.number or "—",
                QCoreApplication.translate("SyncQueueModel", str(KIND_LABELS.get(q.kind, q.kind))),
                QCoreApplication.translate(
                    "SyncQueueModel", str(STATE_LABELS.get(q.state, q.state))
                ),
                str(q.attempts),
                str(q.events),
                str(q.pages),
                station_time(q.since, "%m-%d %H:%M") if q.since else "—",
                station_time(q.next_retry_at, "%H:%M:%S") if q.next_retry_at else "—",
                error.message if error else "",
                error.fix if error else "",
            )
            return values[col]
        if role == Qt.ItemDataRole.ToolTipRole and col >= self.ERROR_COLUMN and q.last_error:
            return f"{q.last_error.message}\n{q.last_error.fix}"
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATE_COLUMN:
            if q.state == "needs_person":
                return QBrush(QColor("#b03a2e"))
            if q.state in ("retrying", "failing"):
                return QBrush(QColor("#7a4b00"))
        if role == Qt.ItemDataRole.UserRole:
            return q.id
        return None


class SyncQueueDialog(QDialog):
    """The queue view; reads the queue while open, after every turn."""

    def __init__(
        self, controller: SyncController, parent: QWidget | None = None, db_path: str | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.db_path = db_path
        self.setWindowTitle(self.tr("同步队列"))
        self.resize(1100, 520)
        self.summary = QLabel(self)
        self.summary.setObjectName("syncSummary")
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(self)
        self.note.setObjectName("sectionHint")
        self.model = SyncQueueModel(self)
        self.table = make_table(self.model, self, self.tr("同步队列"))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(SyncQueueModel.ERROR_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda _c, _p: self._update_buttons())
        self.empty = QLabel(self.tr("队列为空：全部资料已上传。"), self)
        self.empty.setObjectName("sectionHint")
        self.sync_button = QPushButton(self.tr("立即同步(&S)"), self)
        self.retry_button = QPushButton(self.tr("重试(&R)"), self)
        self.retry_button.setToolTip(self.tr("按“处理办法”处理后，让所选的需人工处理项重新上传"))
        close = QPushButton(self.tr("关闭"), self)
        self.sync_button.clicked.connect(self.sync_now)
        self.retry_button.clicked.connect(self.retry_selected)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sync_button)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.note, 1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.details)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(buttons)
        controller.status_changed.connect(self.set_status)
        controller.queue_changed.connect(self.set_queue)
        controller.turn_finished.connect(self._on_controller_turn_finished)
        self.set_status(controller.status)
        self.set_queue(controller.queue)
        self.sync_button.setEnabled(controller.available)

    # -- showing

    def set_status(self, status: SyncStatus | None) -> None:
        self.summary.setText(status_line(status))
        level = status_level(status)
        colour = {"ok": "#1e5e2e", "warning": "#7a4b00", "error": "#b03a2e"}.get(level, "#4b5563")
        self.summary.setStyleSheet(f"color: {colour};")  # size: #syncSummary in ui/style.py
        self.details.setText("\n".join(status_details(status, self.db_path)))

    def set_queue(self, items: list[QueueItem]) -> None:
        current = self.selected()
        self.model.set_items(items)
        row = self.model.row_of(current.id) if current is not None else -1
        if row < 0 and items:
            row = 0
        if row >= 0:
            self.table.setCurrentIndex(self.model.index(row, 0))
        self.empty.setVisible(not items)
        self._update_buttons()

    def selected(self) -> QueueItem | None:
        index = self.table.currentIndex()
        return self.model.item_at(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        q = self.selected()
        self.retry_button.setEnabled(
            q is not None and q.state == "needs_person" and q.id.startswith("item:")
        )

    # -- actions

    def sync_now(self) -> None:
        self.note.setText(self.tr("正在同步……"))
        self.controller.sync_now()

    def retry_selected(self) -> None:
        q = self.selected()
        if q is None or not self.retry_button.isEnabled():
            return
        self.note.setText(self.tr("已请求重试，正在同步……"))
        self.controller.retry(q.id)

    def _on_controller_turn_finished(self, turn: SyncTurn) -> None:
        status = turn.status
        if turn.retried:
            text = self.tr("已重新安排 {count} 项上传。").format(count=turn.retried)
        elif status.state == "online" and status.last_success_at is not None:
            text = self.tr("最近一次同步 {time}").format(
                time=station_time(status.last_success_at, "%H:%M:%S")
            )
        else:
            text = ""
        self.note.setText(text)

    # -- open / closed

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.controller.want_queue = True
        self.controller.refresh_queue()

    def hideEvent(self, event: QHideEvent) -> None:
        self.controller.want_queue = False
        super().hideEvent(event)
