"""The online channel: the 一体化政务服务平台 submits applications and reads the answers (its own
credential, the hub setting `platform_token`); the county's windows list, claim and answer them
with their station tokens."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer

from sync.hub.errors import HubError
from sync.hub.routes.common import Hub, ShaPath, Station, answers, call, json_body, read_body
from sync.online_schemas import OnlineAnswerIn, OnlineApplicationIn

log = logging.getLogger("intake.hub.api")
router = APIRouter()

PLATFORM_AUTH = HTTPBearer(
    auto_error=False,
    scheme_name="platform",
    description="the online platform's token (hub setting platform_token)",
)
IdPath = Annotated[
    str,
    PathParam(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="the hub's id of the application",
    ),
]
_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


async def platform(request: Request, _doc: Any = Depends(PLATFORM_AUTH)) -> str:
    configured: str | None = getattr(request.app.state, "platform_token", None)
    auth = request.headers.get("authorization", "")
    if not configured:
        raise HubError(401, "online.platform_disabled", "平台未配置线上申请接口凭据")
    if not auth.startswith("Bearer ") or not hmac.compare_digest(
        auth[7:].strip().encode(), configured.encode()
    ):
        raise HubError(401, "auth.platform", "缺少或错误的线上平台凭据")
    return "platform"


Platform = Annotated[str, Depends(platform)]


@router.post(
    "/v1/online/applications",
    tags=["online"],
    summary="the platform submits an online application with its files",
    openapi_extra=json_body(OnlineApplicationIn),
    responses={
        201: {"description": "stored", "content": _OBJECT},
        200: {"description": "the same application again", "content": _OBJECT},
        **answers(None, 400, 401, 409, 413, 415, 422),
    },
)
async def submit(request: Request, _p: Platform, hub: Hub) -> JSONResponse:
    body = await read_body(request, OnlineApplicationIn)
    status, out = await call(hub.store.online_submit, body, hub.blobs)
    return JSONResponse(out, status_code=status)


@router.get(
    "/v1/online/applications/{aid}",
    tags=["online"],
    summary="the platform reads an application's state and the window's answer",
    responses={
        200: {"description": "the application", "content": _OBJECT},
        **answers(None, 400, 401, 404),
    },
)
async def status(aid: IdPath, _p: Platform, hub: Hub) -> dict[str, Any]:
    return await call(hub.store.online_status, aid)  # type: ignore[no-any-return]


@router.get(
    "/v1/online/applications/{aid}/document",
    tags=["online"],
    summary="the platform reads the answer's electronic document (PDF)",
    responses={200: {"description": "the PDF", "content": _PDF}, **answers(None, 400, 401, 404)},
)
async def document(aid: IdPath, _p: Platform, hub: Hub) -> Response:
    sha = await call(hub.store.online_document, aid)
    return Response(await call(hub.blobs.read, sha), media_type="application/pdf")


@router.get(
    "/v1/online/queue",
    tags=["online"],
    summary="the station's county: applications to review, and those answered lately",
    responses={200: {"description": "the queue", "content": _OBJECT}, **answers(None, 401)},
)
async def queue(p: Station, hub: Hub) -> dict[str, Any]:
    return await call(hub.store.online_queue, p)  # type: ignore[no-any-return]


@router.post(
    "/v1/online/applications/{aid}/claim",
    tags=["online"],
    summary="claim an application for this window (first window wins)",
    responses={
        200: {"description": "claimed", "content": _OBJECT},
        **answers(None, 400, 401, 404, 409),
    },
)
async def claim(aid: IdPath, p: Station, hub: Hub) -> dict[str, Any]:
    return await call(hub.store.online_claim, p, aid)  # type: ignore[no-any-return]


@router.get(
    "/v1/online/applications/{aid}/files/{sha}",
    tags=["online"],
    summary="a file of an application in the station's county",
    responses={200: {"description": "the file", "content": _BYTES}, **answers(None, 400, 401, 404)},
)
async def file(aid: IdPath, sha: ShaPath, p: Station, hub: Hub) -> Response:
    await call(hub.store.online_file, p, aid, sha)
    return Response(await call(hub.blobs.read, sha), media_type="application/octet-stream")


@router.post(
    "/v1/online/applications/{aid}/answer",
    tags=["online"],
    summary="the claiming window answers: 电子收件回执 or 电子一次告知通知书",
    openapi_extra=json_body(OnlineAnswerIn),
    responses={
        200: {"description": "answered", "content": _OBJECT},
        **answers(None, 400, 401, 404, 409, 413, 415, 422),
    },
)
async def answer(aid: IdPath, request: Request, p: Station, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, OnlineAnswerIn)
    return await call(hub.store.online_answer, p, aid, body, hub.blobs)  # type: ignore[no-any-return]
