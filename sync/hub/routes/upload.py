"""What a station sends besides page bytes: events, manifests, its audit log, and the question
which of its sequence numbers the hub holds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from sync.hub.errors import HubError
from sync.hub.routes.common import (
    Hub,
    Station,
    answer_directly,
    answers,
    call,
    hub_context,
    json_body,
    read_body,
    station,
)
from sync.schemas import (
    SEQ_MAX,
    AuditIn,
    AuditOut,
    EventsIn,
    EventsOut,
    ManifestsIn,
    ManifestsOut,
    Received,
)

router = APIRouter()


@router.get(
    "/v1/events/received",
    tags=["upload"],
    responses=answers(Received, 200, 400, 401),
    summary="which of this store's sequence numbers the hub holds",
)
async def received(
    p: Station,
    hub: Hub,
    start: int = Query(1, ge=1, le=SEQ_MAX),
    end: int = Query(SEQ_MAX, ge=1, le=SEQ_MAX),
) -> dict[str, Any]:
    if start < 1 or end < start or end - start > 10_000_000:
        raise HubError(400, "range", "序号范围不对")
    return {"store_id": p.store_id, "ranges": await call(hub.store.received_ranges, p, start, end)}


@router.post(
    "/v1/manifests",
    tags=["upload"],
    summary="which of these pages the hub still needs from this station",
    openapi_extra=json_body(ManifestsIn),
    responses=answers(ManifestsOut, 200, 400, 401, 413, 415),
)
async def manifests(request: Request, p: Station, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, ManifestsIn)
    pages = [m.model_dump() for m in body.manifests]
    return await call(hub.store.manifests, p, pages, hub.blobs)  # type: ignore[no-any-return]


async def _manifests(request: Request) -> dict[str, Any]:
    return await manifests(request, await station(request), hub_context(request))


@router.post(
    "/v1/events",
    tags=["upload"],
    summary="send events (idempotent by id)",
    openapi_extra=json_body(EventsIn),
    responses=answers(EventsOut, 200, 400, 401, 403, 413, 415, 503),
)
async def events(request: Request, p: Station, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, EventsIn)
    return await call(hub.store.ingest_events, p, body.store_id, body.events, hub.blobs)  # type: ignore[no-any-return]


async def _events(request: Request) -> dict[str, Any]:
    return await events(request, await station(request), hub_context(request))


@router.post(
    "/v1/audit",
    tags=["audit"],
    summary="append to the hub's copy of this store's audit log",
    openapi_extra=json_body(AuditIn),
    responses=answers(AuditOut, 200, 400, 401, 403, 409, 413, 415, 422),
)
async def audit(request: Request, p: Station, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, AuditIn)
    entries = [e.model_dump() for e in body.entries]
    return await call(hub.store.ingest_audit, p, body.store_id, entries)  # type: ignore[no-any-return]


answer_directly(router, "/v1/manifests", "POST", _manifests)
answer_directly(router, "/v1/events", "POST", _events)
