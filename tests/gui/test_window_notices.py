"""短信通知 in the opened intake: the notices the hub reports as sent to the applicant (kind,
item, status, time), brought in by the sync's notice pull."""

from __future__ import annotations

from typing import Any

import pytest

from sync.jobs.notices_pull import NoticePull
from sync.jobs.shared import SyncConfig, Work
from sync.outbox import Outbox
from tests.gui.test_window_followup import received_intake

pytestmark = pytest.mark.gui


class HubAnswers:
    """The hub's GET /v1/notices, as the client returns it."""

    def __init__(self, notices: list[dict[str, Any]]) -> None:
        self.pages = [notices]

    def notices(self, after: int, limit: int = 200) -> dict[str, Any]:
        page = [n for n in (self.pages.pop(0) if self.pages else []) if n["cursor"] > after]
        return {
            "notices": page,
            "next_cursor": page[-1]["cursor"] if page else after,
            "more": False,
        }


def notice(cursor: int, sid: str, kind: str, item: str, status: str, **more: Any) -> dict:
    return {
        "cursor": cursor,
        "id": f"00000000-0000-4000-8000-{more.get('nid', cursor):012d}",
        "submission_id": sid,
        "number": "x",
        "kind": kind,
        "item_id": item,
        "status": status,
        "attempts": more.get("attempts", 1),
        "last_error": more.get("last_error", ""),
        "provider": "sms",
        "created_at": "2024-12-02T02:00:00.000000Z",
        "sent_at": more.get("sent_at"),
    }


def test_the_opened_intake_lists_the_notices_sent_and_when(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    sid = received_intake(qtbot, window)
    window.search.open_intake(sid)
    detail = window.search.detail
    assert detail.notices.rows() == []
    assert "尚无短信通知" in detail.notices.empty.text()

    items = ctx.queries.get(sid).items
    birth = "birth_medical_certificate" if "birth_medical_certificate" in items else items[0]
    pull = NoticePull(
        Work(Outbox(ctx.sessions), ctx.attachments, SyncConfig(), ctx.clock), ctx.sessions
    )
    answers = HubAnswers(
        [
            notice(3, sid, "accepted", birth, "sent", sent_at="2024-12-02T02:05:00.000000Z"),
            notice(
                4, sid, "rejected", items[1], "retrying", attempts=2, last_error="gateway.http_503"
            ),
        ]
    )
    assert pull.pull(answers) is False  # type: ignore[arg-type]
    window.search.open_intake(sid)
    checklist = ctx.intake.checklist(sid)
    names = {i.item.id: i.item.name for i in checklist.items}
    assert detail.notices.rows() == [
        ("受理", names[birth], "已发送", "12-02 10:05"),  # station time (UTC+8)
        ("不予受理", names[items[1]], "发送失败，将重试（已试2次）", "12-02 10:00"),
    ]
    assert detail.notices.table.isVisibleTo(detail) and not detail.notices.empty.isVisibleTo(detail)

    # the same notice changed on the hub (sent on its third attempt): updated in place
    answers.pages = [
        [
            notice(
                9,
                sid,
                "rejected",
                items[1],
                "sent",
                nid=4,
                attempts=3,
                sent_at="2024-12-02T03:00:00Z",
            )
        ]
    ]
    pull.pull(answers)  # type: ignore[arg-type]
    window.search.open_intake(sid)
    assert [r[2:] for r in detail.notices.rows()] == [
        ("已发送", "12-02 10:05"),
        ("已发送", "12-02 11:00"),
    ]
