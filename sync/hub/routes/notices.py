"""Notices to applicants (短信告知): what a station reads back about its intakes' notices —
kind, status and when sent; never the phone or the text."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from sync.hub.routes.common import Hub, Station, answers, call
from sync.schemas import SEQ_MAX, Answer

router = APIRouter()


class NoticeState(Answer):
    cursor: int
    id: str
    submission_id: str
    number: str | None
    kind: Literal["accepted", "rejected", "completed", "collected"]
    item_id: str = Field(description="the decided item; empty for 领取")
    status: Literal["pending", "sending", "retrying", "sent", "failed", "no_phone"]
    attempts: int
    last_error: str = Field(description="the provider's code of the last failure")
    provider: str
    created_at: str | None
    sent_at: str | None


class NoticeStates(Answer):
    notices: list[NoticeState]
    next_cursor: int
    more: bool


@router.get(
    "/v1/notices",
    tags=["feed"],
    summary="this station's notices to applicants changed after a cursor (what was sent, when)",
    responses=answers(NoticeStates, 200, 400, 401),
)
async def notices(
    p: Station,
    hub: Hub,
    after: int = Query(0, ge=0, le=SEQ_MAX),
    limit: int = Query(200, ge=1, le=1000),
) -> dict[str, Any]:
    return await call(hub.store.station_notices, p, after, limit)  # type: ignore[no-any-return]
