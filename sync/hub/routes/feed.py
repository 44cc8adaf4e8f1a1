"""What stations pull: department decisions after a cursor, and the catalog in force."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response

from sync.hub.errors import HubError
from sync.hub.routes.common import Hub, Station, answers, call
from sync.schemas import SEQ_MAX, StatusUpdates

router = APIRouter()


@router.get(
    "/v1/status-updates",
    tags=["feed"],
    summary="department decisions after a cursor",
    responses=answers(StatusUpdates, 200, 400, 401),
)
async def status_updates(
    p: Station,
    hub: Hub,
    after: int = Query(0, ge=0, le=SEQ_MAX),
    limit: int = Query(200, ge=1, le=1000),
) -> dict[str, Any]:
    return await call(hub.store.feed, p, after, limit)  # type: ignore[no-any-return]


@router.get(
    "/v1/catalog",
    tags=["feed"],
    summary="the catalog in force (ETag: its digest)",
    responses={
        200: {
            "description": "the packed catalog",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        304: {"description": "unchanged (If-None-Match)"},
        **answers(None, 400, 401, 404),
    },
)
async def catalog(
    request: Request,
    _p: Station,
    hub: Hub,
    _if_none_match: str | None = Header(None, alias="If-None-Match", max_length=2000),
) -> Response:
    current = await call(hub.store.current_catalog)
    if current is None:
        raise HubError(404, "catalog.none", "平台尚未发布事项目录")
    digest, version, packed = current
    headers = {
        "ETag": f'"{digest}"',
        "X-Catalog-Digest": digest,
        "X-Catalog-Version": quote(version),
    }
    tags = [
        t.strip().strip('"').removeprefix("W/").strip('"')
        for t in request.headers.get("if-none-match", "").split(",")
    ]
    if digest in tags:
        return Response(status_code=304, headers=headers)
    return Response(packed, media_type="application/json", headers=headers)
