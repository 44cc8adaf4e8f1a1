"""Notices to the applicant (短信告知) as this station knows them: the hub sends 受理, 不予受理,
办结 and 领取 notices to the phone the intake recorded and reports back what it sent and when
(sync/jobs/notices_pull.py); this reads them per intake for the window and the command line."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from local_db.models import ApplicantNotice

KIND_LABELS = {"accepted": "受理", "rejected": "不予受理", "completed": "办结", "collected": "领取"}
STATUS_LABELS = {
    "pending": "待发送",
    "sending": "发送中",
    "retrying": "发送失败，将重试",
    "sent": "已发送",
    "failed": "发送失败",
    "no_phone": "未留手机号，未发送",
}


@dataclass(frozen=True)
class NoticeView:
    id: str
    submission_id: str
    kind: str
    item_id: str
    status: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(kind_label=self.kind_label, status_label=self.status_label)
        for k in ("created_at", "sent_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        return out


class Notices:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def of(self, submission_id: str) -> list[NoticeView]:
        """The intake's notices, oldest first."""
        with self._sessions() as s:
            rows = s.scalars(
                select(ApplicantNotice)
                .where(ApplicantNotice.submission_id == submission_id)
                .order_by(ApplicantNotice.created_at, ApplicantNotice.id)
            ).all()
            return [
                NoticeView(
                    r.id,
                    r.submission_id,
                    r.kind,
                    r.item_id,
                    r.status,
                    r.attempts,
                    r.last_error,
                    r.created_at,
                    r.sent_at,
                )
                for r in rows
            ]
