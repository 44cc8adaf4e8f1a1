"""The supervisor's list behind 部门逾期未受理: each item whose department did not decide 受理 /
不予受理 within 1 working day of the push (China's calendar), with the department to chase."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.clock import STATION_TZ
from ui.tables import fill_table, read_only_table

if TYPE_CHECKING:
    from app.acceptance import OverdueAcceptance
    from app.reports import Period
    from ui.session import ClerkSession
    from ui.tasks import TaskError


class OverdueAcceptanceWidget(QWidget):
    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.rows: list[OverdueAcceptance] = []
        self.status = QLabel(
            self.tr("各联办部门应在推送后1个工作日内作出受理或不予受理决定。"), self
        )
        self.status.setWordWrap(True)
        self.status.setObjectName("sectionHint")
        headers = [
            self.tr("受理编号"),
            self.tr("事项"),
            self.tr("承办部门"),
            self.tr("推送时间"),
            self.tr("应决定日期"),
            self.tr("状态"),
        ]
        self.table = read_only_table(self, headers, self.tr("部门逾期未受理的事项"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    def load(self, period: Period) -> None:
        s = self.session
        reports, actor = s.ctx.reports, s.actor

        def work() -> list[OverdueAcceptance]:
            return reports.overdue_acceptances(actor, period, s.ctx.clock.now())

        s.runner.run_db(work, self._on_loaded, self._on_failed, guard=self)

    def _on_loaded(self, rows: list[OverdueAcceptance]) -> None:
        self.rows = rows
        fill_table(
            self.table,
            [
                (
                    o.number,
                    o.item_name,
                    o.department,
                    f"{o.pushed_at.astimezone(STATION_TZ):%m-%d %H:%M}",
                    f"{o.due:%Y-%m-%d}",
                    o.status,
                )
                for o in rows
            ],
        )
        self.status.setText(
            self.tr("部门逾期未受理的事项：{count} 项（推送后1个工作日内应作出受理决定）").format(
                count=len(rows)
            )
        )

    def _on_failed(self, err: TaskError) -> None:
        self.status.setText(err.message)
