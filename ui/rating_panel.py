"""好差评 on the supervisor's screen: the period's ratings per level with the 满意率, and every
差评 whose follow-up (整改) is still open — overdue ones first and in red — which the supervisor
closes with a note (the service checks the role and audits it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.rating_levels import LEVELS, MAX_TEXT
from ui.tables import read_only_table

if TYPE_CHECKING:
    from app.rating_figures import RatingFigures
    from app.ratings import RatingView
    from ui.session import ClerkSession
    from ui.tasks import TaskError

OVERDUE = QColor("#8a1c12")


class FollowupDialog(QDialog):
    """The note that closes a 差评's follow-up."""

    def __init__(self, view: RatingView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.setWindowTitle(self.tr("办结差评整改 · {number}").format(number=view.number))
        what = QLabel(
            self.tr("{level}（{reasons}）{text}").format(
                level=view.level_label,
                reasons="、".join(view.reason_labels),
                text=view.reason_text,
            ),
            self,
        )
        what.setWordWrap(True)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText(self.tr("整改情况：如约谈、回访申请人、改进措施（必填）"))
        self.note.setAccessibleName(self.tr("整改情况说明"))
        self.error_label = QLabel(self)
        self.error_label.setObjectName("errorText")
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("办结"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(what)
        layout.addWidget(self.note)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def text(self) -> str:
        return self.note.toPlainText()[: MAX_TEXT + 1]  # the service says when it is too long


class RatingsPanel(QWidget):
    flag_changed = Signal(str)  # the tab's title: says how many follow-ups are overdue
    refresh_requested = Signal()  # a follow-up was closed: the supervisor screen reloads

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.figures: RatingFigures | None = None
        self.followups: list[RatingView] = []
        self.dialog: FollowupDialog | None = None
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.levels = self._table(self.tr("好差评按评价统计"), [self.tr("评价"), self.tr("件数")])
        self.levels.setMaximumHeight(190)
        self.open_table = self._table(
            self.tr("待整改的差评"),
            [
                self.tr("受理编号"),
                self.tr("评价"),
                self.tr("原因"),
                self.tr("窗口人员"),
                self.tr("整改期限"),
                self.tr("状态"),
            ],
        )
        self.open_table.itemActivated.connect(lambda _i: self.close_selected())
        self.close_button = QPushButton(self.tr("办结整改(&G)…"), self)
        self.close_button.clicked.connect(self.close_selected)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        open_title = QLabel(self.tr("待整改的差评（逾期在前）"), self)
        open_title.setWordWrap(True)  # the tab is narrow at 150 %: nothing may widen it
        row = QHBoxLayout()
        row.addWidget(open_title, 1)
        row.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.levels)
        layout.addLayout(row)
        layout.addWidget(self.open_table, 1)
        layout.addWidget(self.message)

    def _table(self, name: str, headers: list[str]) -> QTableWidget:
        table = read_only_table(self, headers, name)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        return table

    # -- figures ----------------------------------------------------------------------------

    def show_figures(self, figures: RatingFigures | None) -> None:
        """The period's figures (from the reconciliation), then the open follow-ups."""
        self.figures = figures
        if figures is None:
            return
        rate = "—" if figures.satisfaction is None else f"{figures.satisfaction:.1f}%"
        self.summary.setText(
            self.tr(
                "本期评价 {rated} 件，满意率 {rate}（好评 {good} 件），未评价 {declined} 件；"
                "待整改差评 {open} 件，其中逾期 {overdue} 件。"
            ).format(
                rated=figures.rated,
                rate=rate,
                good=figures.good,
                declined=figures.declined,
                open=figures.open_followups,
                overdue=figures.overdue_followups,
            )
        )
        overdue = figures.overdue_followups > 0
        self.summary.setStyleSheet(f"color: {OVERDUE.name()};" if overdue else "")
        rows = [(label, figures.counts.get(code, 0)) for code, label, _s in LEVELS]
        rows.append((self.tr("未评价"), figures.declined))
        self.levels.setRowCount(len(rows))
        for r, (label, n) in enumerate(rows):
            self.levels.setItem(r, 0, QTableWidgetItem(label))
            self.levels.setItem(r, 1, QTableWidgetItem(str(n)))
        self.flag_changed.emit(
            self.tr("好差评（{n}件逾期）").format(n=figures.overdue_followups)
            if overdue
            else self.tr("好差评")
        )
        self.load_followups()

    def load_followups(self) -> None:
        ratings = self.session.ctx.ratings
        self.session.runner.run_db(
            lambda: ratings.list_ratings(open_only=True),
            self._on_followups_loaded,
            self._on_failed,
            guard=self,
        )

    def _on_followups_loaded(self, views: list[RatingView]) -> None:
        # overdue first, then by due day (oldest first)
        self.followups = sorted(views, key=lambda v: (not v.overdue, v.followup_due, v.id))
        self.open_table.setRowCount(len(self.followups))
        for r, v in enumerate(self.followups):
            cells = (
                v.number,
                v.level_label,
                "、".join(v.reason_labels) + (f"：{v.reason_text}" if v.reason_text else ""),
                v.clerk_name,
                v.followup_due.isoformat() if v.followup_due else "",
                self.tr("已逾期") if v.overdue else self.tr("待整改"),
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if v.overdue:
                    item.setForeground(QBrush(OVERDUE))
                self.open_table.setItem(r, c, item)
        self.close_button.setEnabled(bool(self.followups))
        if self.followups:
            self.open_table.selectRow(0)

    # -- closing a follow-up ----------------------------------------------------------------

    def close_selected(self) -> None:
        row = self.open_table.currentRow()
        if not 0 <= row < len(self.followups):
            return
        self.dialog = FollowupDialog(self.followups[row], self)
        self.dialog.buttons.accepted.connect(self._on_dialog_accepted)
        self.dialog.open()

    def _on_dialog_accepted(self) -> None:
        dialog = self.dialog
        if dialog is None:
            return
        s = self.session
        ratings, rid, note = s.ctx.ratings, dialog.view.id, dialog.text()

        def failed(err: TaskError) -> None:
            dialog.error_label.setText(err.message)

        def done(view: RatingView) -> None:
            dialog.accept()
            self.message.setText(self.tr("已办结 {number} 的差评整改。").format(number=view.number))
            self.refresh_requested.emit()

        s.runner.run_db(
            lambda: ratings.close_followup(s.actor, rid, note), done, failed, guard=self
        )

    def _on_failed(self, err: TaskError) -> None:
        self.message.setText(err.message)
