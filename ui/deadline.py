"""Countdown to the 2-hour digitise-and-push deadline (seed 001 §四: paper → electronic and
pushed within 2 hours of intake)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QLabel, QWidget

WARN_BEFORE = dt.timedelta(minutes=30)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def station_time(at: dt.datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are shown as the station's clock reads them (Asia/Shanghai), like the printed
    documents, whatever zone the computer is set to."""
    from app.clock import STATION_TZ

    return at.astimezone(STATION_TZ).strftime(fmt)


def format_remaining(delta: dt.timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def deadline_text(deadline: dt.datetime, now: dt.datetime, number: str = "") -> tuple[str, str]:
    """(text, level) for a deadline seen at NOW; level is ok / warning / overdue."""
    left = deadline - now
    local = station_time(deadline, "%H:%M")
    if left.total_seconds() < 0:
        text = QCoreApplication.translate(
            "DeadlineWidget", "数字化推送已超时 {overdue}（截止 {at}）{number}"
        ).format(overdue=format_remaining(left), at=local, number=number)
        return text.strip(), "overdue"
    text = QCoreApplication.translate(
        "DeadlineWidget", "数字化推送剩余 {left}（截止 {at}）{number}"
    ).format(left=format_remaining(left), at=local, number=number)
    return text.strip(), "warning" if left <= WARN_BEFORE else "ok"


class DeadlineWidget(QLabel):
    """Shows the nearest deadline, ticking every second; hidden when there is none."""

    _STYLES: ClassVar[dict[str, str]] = {
        "ok": "color: #1a4a8a;",
        "warning": "color: #7a4b00; font-weight: bold;",
        "overdue": "color: #ffffff; background: #b03a2e; font-weight: bold; padding: 0 6px;",
    }

    def __init__(
        self, parent: QWidget | None = None, now: Callable[[], dt.datetime] = _now
    ) -> None:
        super().__init__(parent)
        self._now = now
        self._deadline: dt.datetime | None = None
        self._suffix = ""
        self.level = ""
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._refresh)
        self.hide()

    def set_deadline(self, deadline: dt.datetime | None, suffix: str = "") -> None:
        self._deadline = deadline
        self._suffix = suffix
        if deadline is None:
            self._timer.stop()
            self.level = ""
            self.clear()
            self.hide()
            return
        self._refresh()
        self._timer.start()
        self.show()

    def _refresh(self) -> None:
        if self._deadline is None:
            return
        text, level = deadline_text(self._deadline, self._now(), self._suffix)
        self.level = level
        self.setText(text)
        self.setStyleSheet(self._STYLES[level])
