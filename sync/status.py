"""Qt-free values the window shows: the sync indicator and the queue listing.

Plain frozen dataclasses with ids and Chinese text; the UI turns them into widgets and never
touches the engine's internals or the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

LinkState = Literal["online", "offline", "error", "not_enrolled", "unknown"]

STATE_LABELS = {
    "online": "已联网",
    "offline": "未联网",
    "error": "同步异常",
    "not_enrolled": "未登记",
    "unknown": "尚未连接",
}
ITEM_STATE_LABELS = {
    "waiting": "等待上传",
    "retrying": "等待重试",
    "failing": "等待重试",
    "needs_person": "需人工处理",
    "retry": "已安排重试",
}


def duration_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分钟"
    if minutes:
        return f"{minutes}分钟"
    return "不到1分钟"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str  # Chinese: what is wrong
    fix: str  # Chinese: what to do


@dataclass(frozen=True)
class SyncStatus:
    state: LinkState
    waiting: int  # submissions with something not yet on the hub
    waiting_events: int
    oldest_waiting_at: dt.datetime | None
    oldest_waiting_seconds: float | None
    needs_person: int
    last_success_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    problem: Problem | None
    station_code: str | None = None
    hub_url: str | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def text(self) -> str:
        """One line for the window's status bar."""
        parts = [self.label]
        if self.waiting:
            line = f"{self.waiting}件待上传"
            if self.oldest_waiting_seconds is not None:
                line += f"（最早已等待{duration_text(self.oldest_waiting_seconds)}）"
            parts.append(line)
        elif self.state == "online":
            parts.append("全部已上传")
        if self.needs_person:
            parts.append(f"{self.needs_person}项需人工处理")
        if self.problem and self.state in ("offline", "error", "not_enrolled"):
            parts.append(self.problem.message)
        if self.state == "offline" and self.waiting:
            parts.append("资料已保存在本机，联网后自动上传")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["label"], out["text"] = self.label, self.text
        for k in ("oldest_waiting_at", "last_success_at", "next_attempt_at"):
            if out[k] is not None:
                out[k] = out[k].isoformat()
        return out


@dataclass(frozen=True)
class QueueItem:
    """One line of the sync queue: a submission waiting, or an item that failed."""

    id: str  # "sub:<submission id>" or "item:<sync_items id>"
    kind: Literal["submission", "event", "page", "status", "catalog", "audit", "receipt_key"]
    state: Literal["waiting", "retrying", "failing", "needs_person", "retry"]
    submission_id: str | None
    number: str | None
    events: int
    pages: int
    attempts: int
    since: dt.datetime | None
    last_error: Problem | None
    next_retry_at: dt.datetime | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def state_label(self) -> str:
        return ITEM_STATE_LABELS[self.state]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["state_label"] = self.state_label
        for k in ("since", "next_retry_at"):
            if out[k] is not None:
                out[k] = out[k].isoformat()
        return out
