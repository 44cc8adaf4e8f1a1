"""An intake batch in one request (POST /v1/intakes): the manifests and events of a station's
batch with the bytes of its pages, so a busy window pays one request and one transaction per
batch instead of three (manifests, pages, events). The classic routes stay for retries, large
pages and older stations.

The pages are verified against their addresses and made durable first (S3 included); only then
are holders, manifests and events written, in one transaction. A store that did not confirm is a
503 with nothing written; a page whose bytes do not match is refused in `blobs` and the events
naming it are refused page.missing, as /v1/events does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from sync.hub.db import Principal
from sync.hub.errors import HubError
from sync.hub.routes.common import (
    BATCH_SCHEMA,
    MAX_JSON_BODY,
    READ_TIMEOUT,
    Hub,
    HubContext,
    Station,
    answer_directly,
    answers,
    call,
    checked,
    hub_context,
    loads_checked,
    station,
    stream,
)
from sync.hub.routes.pages import PageBatch, blob_refusal
from sync.protocol import INTAKE_BUNDLE
from sync.schemas import IntakeHead, IntakesOut

router = APIRouter()

# Page bytes one request may carry: a station sends at most 8 MB this way (sync/jobs/pages.py);
# more is refused before it is read, so one request cannot fill the spool.
MAX_INTAKE_PAGES = 64 * 1024 * 1024
_LENGTH_LINE = 12  # "<length>\n" of the JSON head: at most 11 digits

BUNDLE_SCHEMA = {
    "type": "string",
    "format": "binary",
    "description": (
        "`<length>\\n` (ASCII decimal), then LENGTH bytes of JSON: an `IntakeHead` "
        "(store_id, manifests, events); then the pages, framed as in POST /v1/blobs: "
        + str(BATCH_SCHEMA["description"])
    ),
}


@router.post(
    "/v1/intakes",
    tags=["upload"],
    summary="an intake batch in one request: manifests, page bytes and events",
    openapi_extra={
        "requestBody": {"required": True, "content": {INTAKE_BUNDLE: {"schema": BUNDLE_SCHEMA}}}
    },
    responses=answers(IntakesOut, 200, 400, 401, 403, 413, 415),
)
async def intakes(request: Request, p: Station, hub: Hub) -> JSONResponse:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != INTAKE_BUNDLE:
        raise HubError(415, "request.content_type", f"请求内容类型应为 {INTAKE_BUNDLE}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_JSON_BODY + MAX_INTAKE_PAGES:
        raise HubError(413, "request.too_large", "请求过大，请分批发送")
    bundle = _Bundle(hub, p)
    try:
        async for chunk in stream(request, READ_TIMEOUT):
            await bundle.feed(chunk)
    except (TimeoutError, ClientDisconnect) as exc:  # nothing is acknowledged: sent again
        await bundle.batch.finish()  # verified pages stay (no holder), claims released
        raise HubError(400, "request.cut", "请求未完整到达", retry=True) from exc
    except BaseException:
        await bundle.batch.finish()
        raise
    if bundle.head is None or bundle.batch.part is not None:
        await bundle.batch.finish()
        raise HubError(400, "intake.frame", "受理批次在中途结束")
    # one hop to a worker thread for both: a hop costs about what this work does (hub-sizing)
    return JSONResponse(await call(bundle.store, p))


async def _intakes(request: Request) -> JSONResponse:
    return await intakes(request, await station(request), hub_context(request))


# the busiest route of all: answered without FastAPI's dependency solving (common.py)
answer_directly(router, "/v1/intakes", "POST", _intakes)


class _Bundle:
    """The body as it arrives: the JSON head, then page parts handed to a PageBatch."""

    def __init__(self, hub: HubContext, p: Principal) -> None:
        self.hub = hub
        self.batch = PageBatch(hub, p)
        self.batch.hold = False  # the holders go into the batch's one transaction
        self.buf = bytearray()
        self.length: int | None = None
        self.head: IntakeHead | None = None
        self.page_bytes = 0

    def store(self, p: Principal) -> dict[str, Any]:
        """Make the verified pages durable, then write holders, manifests and events in one
        transaction; a store that did not confirm is a 503 with nothing written."""
        batch = self.batch
        batch.close()
        if batch.failed is not None:
            raise blob_refusal(batch.failed, blobs=batch.out)
        head = self.head
        assert head is not None
        manifests = [m.model_dump() for m in head.manifests]
        out = self.hub.store.ingest_intake(
            p, head.store_id, manifests, head.events, self.hub.blobs, batch.done
        )
        return {"blobs": batch.out, **out}

    async def feed(self, chunk: bytes) -> None:
        if self.head is None:
            self.buf += chunk
            chunk = self._read_head()
            if self.head is None:
                return
        self.page_bytes += len(chunk)
        if self.page_bytes > MAX_INTAKE_PAGES:
            raise HubError(413, "request.too_large", "请求过大，请分批发送")
        if chunk:
            await self.batch.feed(chunk)

    def _read_head(self) -> bytes:
        """Parse the head once its bytes are in; returns what follows it."""
        if self.length is None:
            nl = self.buf.find(b"\n", 0, _LENGTH_LINE)
            if nl < 0:
                if len(self.buf) >= _LENGTH_LINE:
                    raise HubError(400, "intake.frame", "受理批次格式不对")
                return b""
            digits = bytes(self.buf[:nl])
            if not digits.isdigit():
                raise HubError(400, "intake.frame", "受理批次格式不对")
            self.length = int(digits)
            if self.length > MAX_JSON_BODY:
                raise HubError(413, "request.too_large", "请求过大，请分批发送")
            del self.buf[: nl + 1]
        if len(self.buf) < self.length:
            return b""
        value: Any = loads_checked(bytes(self.buf[: self.length]))
        self.head = checked(value, IntakeHead)
        rest = bytes(self.buf[self.length :])
        self.buf.clear()
        return rest
