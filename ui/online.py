"""线上申请: the online channel's queue at the window (Ctrl+Shift+O, and a count in the status
bar), each application's two hours counting down (red under 30 minutes, flagged when overdue);
认领并审核 claims it through the hub and opens its checklist with the uploaded files; the clerk
ticks what was received (收到) and leaves what is missing (缺); 答复申请人 sends the 电子收件回执
or 电子一次告知通知书 back through the hub.

Network work (refresh, claim, answer) runs on the task runner's pool, reads on its database
thread; the service is sync/online.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.clock import STATION_TZ
from app.online_texts import DECISION_LABELS, STATUS_LABELS, level, remaining_text
from ui.tasks import TaskError

COUNTDOWN_MS = 30_000  # the remaining times are redrawn this often
QUEUE_MS = 60_000  # the status bar's count is read again this often
_ID = Qt.ItemDataRole.UserRole
_RED = QColor("#b03a2e")


def make_service(session: Any) -> Any:
    """The online service over the session's store and sync engine; None without sync."""
    if session.sync is None:
        return None
    from sync.online import OnlineService

    return OnlineService(session.ctx, session.sync.engine)


def _status_text(view: Any) -> str:
    label = STATUS_LABELS.get(view.status, view.status)
    if view.status == "claimed" and view.claimed_by:
        who = (
            QCoreApplication.translate("OnlineQueueDialog", "本窗口")
            if view.mine
            else view.claimed_by
        )
        return QCoreApplication.translate("OnlineQueueDialog", "{status}（{who}）").format(
            status=label, who=who
        )
    return label


class OnlineQueueDialog(QDialog):
    answered = Signal(str)  # the submission id of the intake the review became

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.service = make_service(session)
        self.views: list[Any] = []
        self.current: Any = None  # the application under review
        self.setWindowTitle(self.tr("线上申请（2小时内审核）"))
        self.resize(860, 620)

        self.table = QTableWidget(0, 5, self)
        # no row numbers: they add an unnamed corner button for screen readers (Qt 6.9)
        self.table.verticalHeader().hide()
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("申请人"),
                self.tr("一件事"),
                self.tr("到达平台"),
                self.tr("剩余时间"),
                self.tr("状态"),
            ]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName(self.tr("线上申请列表"))
        self.refresh_button = QPushButton(self.tr("从平台刷新(&R)"), self)
        self.claim_button = QPushButton(self.tr("认领并审核(&C)"), self)
        self.refresh_button.clicked.connect(self.refresh)
        self.claim_button.clicked.connect(self.claim)
        self.table.doubleClicked.connect(lambda _i: self.claim())
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)

        self.review_title = QLabel(self)
        self.materials = QListWidget(self)
        self.materials.setAccessibleName(self.tr("材料审核：勾选为收到，不勾选为缺"))
        self.files_label = QLabel(self)
        self.files_label.setWordWrap(True)
        self.answer_button = QPushButton(self.tr("答复申请人(&A)"), self)
        self.answer_button.clicked.connect(self.answer)
        self.result_label = QLabel(self)
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.claim_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.review_title)
        layout.addWidget(self.materials, 2)
        layout.addWidget(self.files_label)
        answer_row = QHBoxLayout()
        answer_row.addWidget(self.answer_button)
        answer_row.addWidget(self.result_label, 1)
        layout.addLayout(answer_row)
        self._show_review(None)

        self.timer = QTimer(self)
        self.timer.setInterval(COUNTDOWN_MS)
        self.timer.timeout.connect(self._draw)
        self.timer.start()
        if self.service is None:
            self.status_label.setText(self.tr("本机同步不可用，无法接收线上申请。"))
            self.refresh_button.setEnabled(False)
            self.claim_button.setEnabled(False)
        else:
            self.reload()

    # ------------------------------------------------------------------ the queue

    def reload(self) -> None:
        if self.service is not None:
            self.session.runner.run_db(
                self.service.queue, self._on_queue_read, self._on_failed, guard=self
            )

    def refresh(self) -> None:
        if self.service is None:
            return
        self.status_label.setText(self.tr("正在从县级平台取线上申请……"))
        self.session.runner.run_pool(
            self.service.refresh, self._on_refreshed, self._on_refresh_failed, guard=self
        )

    def _on_refreshed(self, _waiting: int) -> None:
        self.status_label.setText(self.tr("已从县级平台取得最新列表。"))
        self.reload()

    def _on_refresh_failed(self, err: TaskError) -> None:
        self.status_label.setText(
            self.tr("{message}（以下为上次同步时的列表）").format(message=err.message)
        )
        self.reload()

    def _on_queue_read(self, views: list[Any]) -> None:
        selected = self.selected_id()
        self.views = views
        self._draw()
        for row, v in enumerate(views):
            if v.id == selected:
                self.table.selectRow(row)
        if self.views and selected is None:
            self.table.selectRow(0)
        if not views:
            self.status_label.setText(self.tr("没有待审核的线上申请。"))

    def _draw(self) -> None:
        now = self.session.ctx.clock.now()
        self.table.setRowCount(len(self.views))
        for row, v in enumerate(self.views):
            remaining = v.remaining(now)
            lvl = level(remaining)
            cells = [
                v.applicant_name,
                self._bundle_name(v.bundle_id),
                f"{v.received_at.astimezone(STATION_TZ):%m-%d %H:%M}",
                remaining_text(remaining),
                _status_text(v),
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_ID, v.id)
                if col == 3 and lvl != "ok":
                    item.setForeground(_RED)
                    font = QFont(item.font())
                    font.setBold(lvl == "overdue")
                    item.setFont(font)
                    item.setToolTip(
                        self.tr("已超过2小时审核时限")
                        if lvl == "overdue"
                        else self.tr("剩余不足30分钟")
                    )
                self.table.setItem(row, col, item)

    def _bundle_name(self, bundle_id: str) -> str:
        bundle = self.session.ctx.catalogs.current.bundle(bundle_id)
        return bundle.name if bundle is not None else bundle_id

    def selected_id(self) -> str | None:
        items = self.table.selectedItems()
        return str(items[0].data(_ID)) if items else None

    def select(self, aid: str) -> None:
        for row, v in enumerate(self.views):
            if v.id == aid:
                self.table.selectRow(row)

    # ------------------------------------------------------------------ claim and review

    def claim(self) -> None:
        aid = self.selected_id()
        if aid is None or self.service is None:
            return
        self.status_label.setText(self.tr("正在向县级平台认领……"))
        actor = self.session.actor
        self.session.runner.run_pool(
            lambda: self.service.claim(actor, aid), self._on_claimed, self._on_failed, guard=self
        )

    def _on_claimed(self, view: Any) -> None:
        self.status_label.setText(self.tr("已认领，请逐项核对材料。"))
        self.current = view
        self.result_label.clear()
        self.session.runner.run_db(
            lambda: self.service.checklist(view.id),
            self._on_checklist_read,
            self._on_failed,
            guard=self,
        )
        self.reload()

    def _on_checklist_read(self, checklist: Any) -> None:
        self._show_review(checklist)

    def _show_review(self, checklist: Any) -> None:
        self.materials.clear()
        has = checklist is not None and self.current is not None
        self.answer_button.setEnabled(has)
        self.materials.setEnabled(has)
        if not has:
            self.review_title.setText(self.tr("选择一件申请，认领后在此审核材料。"))
            self.files_label.clear()
            return
        uploaded = {f.material_id for f in self.current.files}
        self.review_title.setText(
            self.tr("审核：{name}（勾选＝收到，不勾选＝缺）").format(
                name=self.current.applicant_name
            )
        )
        for m in checklist.materials:
            if m.produced_by is not None:
                continue
            text = m.name + (self.tr("（已上传文件）") if m.id in uploaded else "")
            item = QListWidgetItem(text, self.materials)
            item.setData(_ID, m.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            received = m.id in uploaded or m.state in ("collected", "exempt")
            item.setCheckState(Qt.CheckState.Checked if received else Qt.CheckState.Unchecked)
        names = "、".join(f.name for f in self.current.files) or self.tr("无")
        self.files_label.setText(self.tr("申请人上传的文件：{names}").format(names=names))
        if self.materials.count():
            self.materials.setCurrentRow(0)

    def marks(self) -> dict[str, str]:
        out = {}
        for row in range(self.materials.count()):
            item = self.materials.item(row)
            checked = item.checkState() == Qt.CheckState.Checked
            out[str(item.data(_ID))] = "received" if checked else "missing"
        return out

    def answer(self) -> None:
        if self.current is None or self.service is None:
            return
        aid, marks, actor = self.current.id, self.marks(), self.session.actor

        def work() -> Any:
            self.service.mark(actor, aid, marks)
            return self.service.answer(actor, aid)

        self.answer_button.setEnabled(False)
        self.session.runner.run_pool(work, self._on_answered, self._on_answer_failed, guard=self)

    def _on_answered(self, result: Any) -> None:
        kind = DECISION_LABELS[result.decision]
        if result.sent:
            text = self.tr("已答复：{kind}（受理编号 {number}）已通过县级平台送达申请人。")
        else:
            text = self.tr("已答复：{kind}（受理编号 {number}）已保存，联网后自动送达申请人。")
        self.result_label.setText(text.format(kind=kind, number=result.number))
        self.current = None
        self._show_review(None)
        self.answered.emit(result.submission_id)
        self.reload()

    def _on_answer_failed(self, err: TaskError) -> None:
        self.answer_button.setEnabled(True)
        self._on_failed(err)

    def _on_failed(self, err: TaskError) -> None:
        self.status_label.setText(err.message)


class OnlineIndicatorWidget(QToolButton):
    """The status bar's count of online applications waiting (red when one is under 30 minutes
    or overdue); a click opens the queue."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("onlineIndicator")
        self.setAutoRaise(True)
        self.session = session
        self.service = make_service(session)
        self.waiting = 0
        self.urgent = 0
        self.setToolTip(self.tr("线上申请队列（Ctrl+Shift+O）"))
        self.timer = QTimer(self)
        self.timer.setInterval(QUEUE_MS)
        self.timer.timeout.connect(self.refresh)
        self.setVisible(False)  # shown while applications wait: the status bar is full enough

    def start(self) -> None:
        if self.service is not None:
            self.timer.start()
            self.refresh()

    def refresh(self) -> None:
        if self.service is not None:
            self.session.runner.run_db(
                self.service.queue, self._on_queue_read, lambda _e: None, guard=self
            )

    def _on_queue_read(self, views: list[Any]) -> None:
        now: dt.datetime = self.session.ctx.clock.now()
        waiting = [v for v in views if v.status in ("open", "claimed")]
        self.waiting = len(waiting)
        self.urgent = sum(1 for v in waiting if level(v.remaining(now)) != "ok")
        self.setText(self.tr("线上申请：{n}件待审").format(n=self.waiting))
        self.setVisible(self.waiting > 0)
        style = (
            "color: #ffffff; background: #b03a2e; font-weight: bold;"
            if self.urgent
            else ("color: #4b5563; background: #eef0f3;")
        )
        self.setStyleSheet(
            f"QToolButton#onlineIndicator {{ {style} padding: 0 6px; border-radius: 3px; }}"
        )
