"""短信通知: the notices the hub sent the applicant of an opened intake (受理, 不予受理, 办结,
领取) — which, for which item, whether sent, and when. The hub sends them; they come back with
the sync (app/notices.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.notices import Notices, NoticeView
from ui.deadline import station_time
from ui.tables import fill_table, read_only_table
from ui.tasks import TaskError

if TYPE_CHECKING:
    from ui.session import ClerkSession


class NoticesWidget(QWidget):
    """The opened intake's notices to the applicant, as a small read-only table."""

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.notices: list[NoticeView] = []
        self.heading = QLabel(self.tr("短信通知"), self)
        self.empty = QLabel(self)
        self.table = read_only_table(
            self,
            [self.tr("通知"), self.tr("事项"), self.tr("状态"), self.tr("时间")],
            self.tr("已发给申请人的短信通知"),
        )
        self.table.setMaximumHeight(140)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.empty)
        layout.addWidget(self.table)
        self.show_notices([], {})

    def load(self, sid: str, item_names: dict[str, str]) -> None:
        def fetch() -> list[NoticeView]:
            return Notices(self.session.ctx.sessions).of(sid)

        self.session.runner.run_db(
            fetch, lambda found: self.show_notices(found, item_names), self._on_failed, guard=self
        )

    def _on_failed(self, _err: TaskError) -> None:
        self.show_notices([], {})
        self.empty.setText(self.tr("短信通知暂时无法读取。"))

    def kind_text(self, kind: str) -> str:
        return {
            "accepted": self.tr("受理"),
            "rejected": self.tr("不予受理"),
            "completed": self.tr("办结"),
            "collected": self.tr("领取"),
        }.get(kind, kind)

    def status_text(self, n: NoticeView) -> str:
        if n.status in ("retrying", "failed"):
            template = (
                self.tr("发送失败，将重试（已试{attempts}次）")
                if n.status == "retrying"
                else self.tr("发送失败（已试{attempts}次），请联系县行政审批局")
            )
            return template.format(attempts=n.attempts)
        return {
            "pending": self.tr("待发送"),
            "sending": self.tr("发送中"),
            "sent": self.tr("已发送"),
            "no_phone": self.tr("未留手机号，未发送"),
        }.get(n.status, n.status)

    def show_notices(self, found: list[NoticeView], item_names: dict[str, str]) -> None:
        self.notices = list(found)
        fill_table(
            self.table,
            [
                (
                    self.kind_text(n.kind),
                    item_names.get(n.item_id, n.item_id) if n.item_id else "—",
                    self.status_text(n),
                    station_time(n.sent_at or n.created_at, "%m-%d %H:%M"),
                )
                for n in found
            ],
        )
        self.table.setVisible(bool(found))
        self.empty.setText(
            self.tr("尚无短信通知（部门受理、办结或送达后由平台发送，同步时带回）。")
        )
        self.empty.setVisible(not found)

    def rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row (what the clerk reads)."""
        return [
            tuple(self.table.item(r, c).text() for c in range(self.table.columnCount()))
            for r in range(self.table.rowCount())
        ]
