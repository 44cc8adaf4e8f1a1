"""How the online channel's times and states read (CLI and window alike)."""

from __future__ import annotations

import datetime as dt

URGENT = dt.timedelta(minutes=30)  # the window shows an application red from here
STATUS_LABELS = {
    "open": "待认领",
    "claimed": "审核中",
    "answering": "已答复（待上传）",
    "answered": "已答复",
    "refused": "答复未被平台接受",
    "gone": "已撤回",
}
DECISION_LABELS = {"receipt": "电子收件回执", "notice": "电子一次告知通知书"}


def remaining_text(remaining: dt.timedelta) -> str:
    """剩余1小时05分 / 已超时12分 (minutes rounded towards the deadline)."""
    seconds = int(remaining.total_seconds())
    late = seconds < 0
    minutes = (abs(seconds) + (0 if late else 59)) // 60
    h, m = divmod(minutes, 60)
    span = f"{h}小时{m:02d}分" if h else f"{m}分"
    return f"已超时{span}" if late else f"剩余{span}"


def level(remaining: dt.timedelta) -> str:
    """ok | urgent (< 30 minutes) | overdue."""
    if remaining.total_seconds() < 0:
        return "overdue"
    return "urgent" if remaining < URGENT else "ok"
