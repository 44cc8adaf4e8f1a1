"""Open endpoints and enrolment: health, the API description, enrolment, ping, receipt keys."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Request, Response

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
from sync.protocol import API_VERSION
from sync.schemas import EnrollmentIn, EnrollmentOut, Health, Ping, ReceiptKey, ReceiptKeyOut

router = APIRouter()


@router.get("/healthz", tags=["enrollment"], responses=answers(Health), summary="the hub is up")
async def healthz() -> dict[str, Any]:
    return {"ok": True, "api_version": API_VERSION}


async def _healthz(_request: Request) -> dict[str, Any]:
    return await healthz()


@router.get(
    "/v1/openapi.yaml",
    tags=["enrollment"],
    summary="this description, as YAML",
    responses={
        200: {
            "description": "OpenAPI 3.1",
            "content": {"application/yaml": {"schema": {"type": "object"}}},
        }
    },
)
async def openapi_yaml(request: Request) -> Response:
    return Response(
        yaml.safe_dump(request.app.openapi(), allow_unicode=True, sort_keys=False),
        media_type="application/yaml",
    )


@router.post(
    "/v1/enrollments",
    status_code=201,
    tags=["enrollment"],
    summary="exchange a one-time code for a station token",
    openapi_extra=json_body(EnrollmentIn),
    responses=answers(EnrollmentOut, 201, 400, 403, 409, 413, 415),
)
async def enroll(request: Request, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, EnrollmentIn)
    key = body.receipt_key.model_dump() if body.receipt_key is not None else None
    out = await call(hub.store.enroll, body.code, body.store_id, body.station_code, key)
    return {**out, "hub_id": hub.hub_id, "api_version": API_VERSION}


@router.get(
    "/v1/ping",
    tags=["enrollment"],
    summary="check the link and the token",
    responses=answers(Ping, 200, 401),
)
async def ping(p: Station, hub: Hub) -> dict[str, Any]:
    return {"hub_id": hub.hub_id, "api_version": API_VERSION, "station_code": p.station_code}


async def _ping(request: Request) -> dict[str, Any]:
    return await ping(await station(request), hub_context(request))


@router.post(
    "/v1/receipt-keys",
    tags=["enrollment"],
    summary="enrol another receipt-signing public key",
    openapi_extra=json_body(ReceiptKey),
    responses=answers(ReceiptKeyOut, 200, 400, 401, 409, 413, 415),
)
async def receipt_keys(request: Request, p: Station, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, ReceiptKey)
    return await call(hub.store.add_receipt_key, p, body.model_dump())  # type: ignore[no-any-return]


answer_directly(router, "/healthz", "GET", _healthz)
answer_directly(router, "/v1/ping", "GET", _ping)
