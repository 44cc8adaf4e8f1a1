"""好差评 in the opened intake (search / follow-up): the applicant's level, the reasons of a 差评
and where its follow-up stands, read through the ratings service (app/ratings.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui.deadline import station_time
from ui.tasks import TaskError

if TYPE_CHECKING:
    from app.ratings import RatingView
    from ui.session import ClerkSession


class RatingDetailWidget(QWidget):
    """One wrapped line (the detail has no height to spare at 768 px): what the applicant said
    and what was done about it."""

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.view: RatingView | None = None
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setAccessibleName(self.tr("该受理的好差评"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        self.show_rating(None)

    def load(self, sid: str) -> None:
        def fetch() -> RatingView | None:
            service = self.session.ctx.ratings
            return None if service is None else service.get(sid)

        self.session.runner.run_db(fetch, self.show_rating, self._on_failed, guard=self)

    def _on_failed(self, _err: TaskError) -> None:
        self.view = None
        self.text.setText(self.tr("好差评：暂时无法读取。"))

    def show_rating(self, view: RatingView | None) -> None:
        self.view = view
        self.text.setText(self.tr("好差评：{rating}").format(rating=self.describe(view)))

    def describe(self, view: RatingView | None) -> str:
        if view is None:
            return self.tr("尚未评价。")
        when = station_time(view.rated_at, "%m-%d %H:%M")
        if view.level is None:
            return self.tr("申请人不评价（{when}）。").format(when=when)
        parts = [self.tr("{level}（{when}）").format(level=view.level_label, when=when)]
        if view.reasons:
            parts.append(self.tr("原因：{reasons}").format(reasons="、".join(view.reason_labels)))
        if view.reason_text:
            parts.append(self.tr("申请人说明：{text}").format(text=view.reason_text))
        parts.append(self._followup(view))
        return "；".join(p for p in parts if p) + "。"

    def _followup(self, view: RatingView) -> str:
        if view.followup_due is None:
            return ""
        due = view.followup_due.strftime("%m-%d")
        if view.followup_closed_at is not None:
            return self.tr("已于{day}办结整改：{note}").format(
                day=station_time(view.followup_closed_at, "%m-%d"), note=view.followup_note
            )
        if view.overdue:
            return self.tr("整改期限{due}，已逾期，尚未办结").format(due=due)
        return self.tr("整改期限{due}，尚未办结").format(due=due)
