"""What stations pull: department decisions after a cursor, and the catalog in force."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response

from sync.hub.errors import HubError
from sync.hub.routes.common import (
    Hub,
    HubContext,
    Station,
    answer_directly,
    answers,
    call,
    hub_context,
    int_param,
    station,
)
from sync.schemas import SEQ_MAX, StatusUpdates

router = APIRouter()

# A station that holds the catalog in force (If-None-Match) is answered 304 from the head this
# process read less than this long ago: no database read, no thread hop (5 000 stations poll).
# Anything else reads the head afresh, so a station that already holds a newer catalog (from
# another process) is never handed an older one; a catalog published by another process reaches
# a station that polls within this time (one published through this process at once).
CATALOG_HEAD_TTL = 5.0


async def _catalog_head(store: Any, held: list[str]) -> tuple[str, str] | None:
    cached = store.cached_catalog_head(CATALOG_HEAD_TTL)
    if cached is not None and cached[0] in held:
        return cached  # type: ignore[no-any-return]
    return await call(store.catalog_head)  # type: ignore[no-any-return]


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


async def _status_updates(request: Request) -> dict[str, Any]:
    p = await station(request)
    after = int_param(request, "after", 0, 0, SEQ_MAX)
    limit = int_param(request, "limit", 200, 1, 1000)
    return await status_updates(p, hub_context(request), after, limit)


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
    return await _catalog_answer(request, hub)


async def _catalog(request: Request) -> Response:
    await station(request)
    if len(request.headers.get("if-none-match", "")) > 2000:
        raise HubError(
            400, "request.parameter", "参数 If-None-Match 不符合要求", parameter="If-None-Match"
        )
    return await _catalog_answer(request, hub_context(request))


async def _catalog_answer(request: Request, hub: HubContext) -> Response:
    tags = [
        t.strip().strip('"').removeprefix("W/").strip('"')
        for t in request.headers.get("if-none-match", "").split(",")
    ]
    head = await _catalog_head(hub.store, tags)
    if head is None:
        raise HubError(404, "catalog.none", "平台尚未发布事项目录")
    digest, version = head
    headers = {
        "ETag": f'"{digest}"',
        "X-Catalog-Digest": digest,
        "X-Catalog-Version": quote(version),
    }
    if digest in tags:  # the station holds it: the body is not even read
        return Response(status_code=304, headers=headers)
    packed = await call(hub.store.catalog_body, digest)
    if packed is None:  # superseded between the two reads (never deleted): the current one
        current = await call(hub.store.current_catalog)
        if current is None:
            raise HubError(404, "catalog.none", "平台尚未发布事项目录")
        digest, version, packed = current
        headers.update(
            {"ETag": f'"{digest}"', "X-Catalog-Digest": digest, "X-Catalog-Version": quote(version)}
        )
    return Response(packed, media_type="application/json", headers=headers)


answer_directly(router, "/v1/status-updates", "GET", _status_updates)
answer_directly(router, "/v1/catalog", "GET", _catalog)
