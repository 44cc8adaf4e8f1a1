"""The hub's HTTP API (version 1, sync/openapi.yaml) on FastAPI.

Page uploads are read as a stream and written as they arrive, so a cut connection keeps every
byte that reached the hub and the station resumes at that offset. Database work runs in the
thread pool; refusals are JSON `{"error": {code, message, retry}}` with a Retry-After header
where waiting helps. Nothing personal is logged: ids and intake numbers only.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import yaml
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.receipts import HUB_QUERY_PATH
from app.state import STAGE_LABELS
from sync.hub.blobs import BlobError, BlobStore
from sync.hub.store import Department, HubError, HubStore, Principal, owner_of
from sync.protocol import API_VERSION, BLOB_BATCH, MAX_BLOB_SIZE, parse_frame_header
from sync.schemas import (
    DESCRIPTION,
    SEQ_MAX,
    AuditIn,
    AuditOut,
    BatchOut,
    BlobState,
    DecisionIn,
    DecisionOut,
    DeptSubmissions,
    EnrollmentIn,
    EnrollmentOut,
    Error,
    Event,
    EventsIn,
    EventsOut,
    Health,
    ManifestsIn,
    ManifestsOut,
    Ping,
    ReceiptKey,
    ReceiptKeyOut,
    Received,
    StatusUpdates,
    VerifyIn,
    VerifyOut,
)

log = logging.getLogger("intake.hub.api")

MAX_JSON_BODY = 32 * 1024 * 1024
MAX_JSON_DEPTH = 64  # a real body nests 5 deep (events → event → payload → …)
READ_TIMEOUT = 60.0  # seconds without a byte before an upload is given up (its bytes are kept)
# ----------------------------------------------------------------------------- the description
# Generated from sync/schemas.py: the JSON bodies are validated with the same models (_body).

M = TypeVar("M", bound=BaseModel)
BODY_MODELS: tuple[type[BaseModel], ...] = (
    EnrollmentIn,
    ManifestsIn,
    EventsIn,
    Event,
    AuditIn,
    ReceiptKey,
    DecisionIn,
    VerifyIn,
    Error,
)
STATION_AUTH = HTTPBearer(
    auto_error=False,
    scheme_name="station",
    description="station token from enrollment (`ist1.` + 43 url-safe characters)",
)
DEPT_AUTH = HTTPBearer(
    auto_error=False,
    scheme_name="department",
    description="department key issued at the hub (`intake hub dept-key`)",
)
ShaPath = Annotated[
    str, PathParam(pattern=r"^[0-9a-f]{64}$", description="the page's SHA-256 (lower-case hex)")
]
OFFSET_HEADER = {
    "description": "bytes of the page this station has sent (where an upload resumes)",
    "schema": {"type": "integer", "minimum": 0},
}
BATCH_SCHEMA = {
    "type": "string",
    "format": "binary",
    "description": (
        "parts, each a header line `<sha256> <offset> <length> <total>\\n` (ASCII, "
        "decimal, single spaces) followed by exactly LENGTH bytes of the page from "
        "OFFSET; repeated. Each part is answered in `blobs`."
    ),
}
TAGS = [{"name": n} for n in ("enrollment", "upload", "audit", "feed", "department", "receipt")]
_STATUS_TEXT = {
    400: "malformed request",
    401: "missing, unknown or revoked credential",
    403: "refused",
    404: "not found",
    409: "conflict",
    413: "too large",
    415: "wrong content type",
    422: "cannot be applied",
    429: "too many requests (Retry-After)",
    503: "busy or restarting (Retry-After)",
}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra for a route that reads MODEL as its JSON body itself."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def answers(model: type[BaseModel] | None, ok: int = 200, *errors: int) -> dict[int | str, Any]:
    """Documented responses: MODEL for OK, the error body for each of ERRORS (and 503, which any
    route answers when the database is busy or the hub is stopping)."""
    out: dict[int | str, Any] = {}
    if model is not None:
        out[ok] = {"model": model, "description": "done"}
    else:  # no body to describe: OK is one more error code
        errors = (ok, *errors)
    for code in sorted({*errors, 503}):
        out[code] = {"model": Error, "description": _STATUS_TEXT.get(code, "refused")}
    return out


async def _body(request: Request, model: type[M]) -> M:
    """The JSON body checked against MODEL (the request schema in the description)."""
    value = await _json(request)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "（整体）"
        raise HubError(
            400, "request.schema", f"请求内容不符合接口说明：{where}", field=where
        ) from exc


def _error(exc: HubError) -> JSONResponse:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if "offset" in exc.details:
        headers["Upload-Offset"] = str(exc.details["offset"])
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _stream(request: Request, timeout: float) -> AsyncIterator[bytes]:
    """The request body as it arrives; TimeoutError after TIMEOUT without a byte, and a 503
    (retry later) once the hub is stopping and the grace for requests in flight is over."""
    stopping: asyncio.Event | None = getattr(request.app.state, "stopping", None)
    it = request.stream().__aiter__()
    stop = asyncio.ensure_future(stopping.wait()) if stopping is not None else None
    try:
        while True:
            nxt = asyncio.ensure_future(it.__anext__())
            waiting = {nxt} if stop is None else {nxt, stop}
            done, _ = await asyncio.wait(
                waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if nxt not in done or (stopping is not None and stopping.is_set()):
                nxt.cancel()
                if stopping is not None and stopping.is_set():
                    raise HubError(
                        503, "hub.stopping", "平台正在重启，请稍后重试", retry=True, retry_after=5
                    )
                raise TimeoutError
            try:
                chunk = nxt.result()
            except StopAsyncIteration:
                return
            if chunk:
                yield chunk
    finally:
        if stop is not None:
            stop.cancel()


async def _json(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_JSON_BODY:
        raise HubError(413, "request.too_large", "请求过大，请分批发送")
    body = bytearray()
    try:
        async for chunk in _stream(request, READ_TIMEOUT):
            body += chunk
            if len(body) > MAX_JSON_BODY:
                raise HubError(413, "request.too_large", "请求过大，请分批发送")
    except (TimeoutError, ClientDisconnect) as exc:  # the station is gone: nothing was done
        raise HubError(400, "request.cut", "请求未完整到达", retry=True) from exc
    data = bytes(body)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = d.decompress(data, MAX_JSON_BODY * 4)
            if d.unconsumed_tail:
                raise HubError(413, "request.too_large", "请求过大，请分批发送")
        except zlib.error as exc:
            raise HubError(400, "request.gzip", "gzip 内容损坏") from exc
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HubError(415, "request.content_type", "请求内容类型应为 application/json")
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except (
        ValueError,
        RecursionError,
    ) as exc:  # ValueError: bad JSON, NaN, a number of 4300+ digits
        raise HubError(400, "request.json", "请求不是有效的 JSON") from exc
    if _too_deep(value, MAX_JSON_DEPTH):
        raise HubError(400, "request.json_depth", f"请求的 JSON 嵌套超过 {MAX_JSON_DEPTH} 层")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(value: Any, limit: int) -> bool:
    """Whether VALUE nests deeper than LIMIT (iterative: a deep value must not exhaust the stack
    in canonical() or the ORM later)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            if depth > limit:
                return True
            stack.extend((x, depth + 1) for x in v if isinstance(x, (dict, list)))
    return False


def _validation_error(exc: RequestValidationError) -> HubError:
    """FastAPI's check of a parameter, as the hub's own refusal (a 400 no station retries)."""
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "path", "header", "body")]
    name = ".".join(loc) or "?"
    ctx = first.get("ctx") or {}
    lo, hi = ctx.get("ge"), ctx.get("le")
    if first.get("type", "").startswith(("int", "greater", "less")):
        bounds = (
            f"{lo if lo is not None else ''}～{hi if hi is not None else ''}"
            if (lo, hi) != (None, None)
            else ""
        )
        message = f"参数 {name} 应为整数" + (f"（{bounds}）" if bounds else "")
    else:
        message = f"参数 {name} 不符合要求"
    return HubError(400, "request.parameter", message, parameter=name)


def create_app(store: HubStore, blobs: BlobStore, *, hub_id: str = "hub") -> FastAPI:
    app = FastAPI(
        title="一件事一次办 intake exchange (station ↔ county hub)",
        version=str(API_VERSION),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.stopping = asyncio.Event()  # set by the server when the grace for a shutdown is over

    @app.exception_handler(HubError)
    async def _hub_error(_request: Request, exc: HubError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(_validation_error(exc))

    @app.exception_handler(OperationalError)
    async def _db_busy(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return _error(
            HubError(503, "hub.busy", "平台数据库繁忙，请稍后重试", retry=True, retry_after=2)
        )

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return _error(HubError(500, "hub.internal", "平台内部错误", retry=True))

    async def station(request: Request, _doc: Any = Depends(STATION_AUTH)) -> Principal:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise HubError(401, "auth.missing", "缺少站点凭据")
        return await run_in_threadpool(store.authenticate, auth[7:].strip())

    async def department(request: Request, _doc: Any = Depends(DEPT_AUTH)) -> Department:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise HubError(401, "auth.missing", "缺少部门接口密钥")
        return await run_in_threadpool(store.authenticate_dept, auth[7:].strip())

    def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Awaitable[Any]:
        return run_in_threadpool(fn, *args, **kw)

    # ------------------------------------------------------------------ open endpoints

    @app.get("/healthz", tags=["enrollment"], responses=answers(Health), summary="the hub is up")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "api_version": API_VERSION}

    @app.get(
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
    async def openapi_yaml() -> Response:
        return Response(
            yaml.safe_dump(app.openapi(), allow_unicode=True, sort_keys=False),
            media_type="application/yaml",
        )

    @app.post(
        "/v1/enrollments",
        status_code=201,
        tags=["enrollment"],
        summary="exchange a one-time code for a station token",
        openapi_extra=json_body(EnrollmentIn),
        responses=answers(EnrollmentOut, 201, 400, 403, 409, 413, 415),
    )
    async def enroll(request: Request) -> dict[str, Any]:
        body = await _body(request, EnrollmentIn)
        key = body.receipt_key.model_dump() if body.receipt_key is not None else None
        out = await call(store.enroll, body.code, body.store_id, body.station_code, key)
        return {**out, "hub_id": hub_id, "api_version": API_VERSION}

    # ------------------------------------------------------------------ station endpoints

    @app.get(
        "/v1/ping",
        tags=["enrollment"],
        summary="check the link and the token",
        responses=answers(Ping, 200, 401),
    )
    async def ping(p: Principal = Depends(station)) -> dict[str, Any]:
        return {"hub_id": hub_id, "api_version": API_VERSION, "station_code": p.station_code}

    @app.get(
        "/v1/events/received",
        tags=["upload"],
        responses=answers(Received, 200, 400, 401),
        summary="which of this store's sequence numbers the hub holds",
    )
    async def received(
        p: Principal = Depends(station),
        start: int = Query(1, ge=1, le=SEQ_MAX),
        end: int = Query(SEQ_MAX, ge=1, le=SEQ_MAX),
    ) -> dict[str, Any]:
        if start < 1 or end < start or end - start > 10_000_000:
            raise HubError(400, "range", "序号范围不对")
        return {"store_id": p.store_id, "ranges": await call(store.received_ranges, p, start, end)}

    @app.post(
        "/v1/manifests",
        tags=["upload"],
        summary="which of these pages the hub still needs from this station",
        openapi_extra=json_body(ManifestsIn),
        responses=answers(ManifestsOut, 200, 400, 401, 413, 415),
    )
    async def manifests(request: Request, p: Principal = Depends(station)) -> dict[str, Any]:
        body = await _body(request, ManifestsIn)
        return await call(store.manifests, p, [m.model_dump() for m in body.manifests], blobs)  # type: ignore[no-any-return]

    @app.post(
        "/v1/events",
        tags=["upload"],
        summary="send events (idempotent by id)",
        openapi_extra=json_body(EventsIn),
        responses=answers(EventsOut, 200, 400, 401, 403, 413, 415, 503),
    )
    async def events(request: Request, p: Principal = Depends(station)) -> dict[str, Any]:
        body = await _body(request, EventsIn)
        return await call(store.ingest_events, p, body.store_id, body.events, blobs)  # type: ignore[no-any-return]

    @app.post(
        "/v1/audit",
        tags=["audit"],
        summary="append to the hub's copy of this store's audit log",
        openapi_extra=json_body(AuditIn),
        responses=answers(AuditOut, 200, 400, 401, 403, 409, 413, 415, 422),
    )
    async def audit(request: Request, p: Principal = Depends(station)) -> dict[str, Any]:
        body = await _body(request, AuditIn)
        return await call(  # type: ignore[no-any-return]
            store.ingest_audit, p, body.store_id, [e.model_dump() for e in body.entries]
        )

    @app.post(
        "/v1/receipt-keys",
        tags=["enrollment"],
        summary="enrol another receipt-signing public key",
        openapi_extra=json_body(ReceiptKey),
        responses=answers(ReceiptKeyOut, 200, 400, 401, 409, 413, 415),
    )
    async def receipt_keys(request: Request, p: Principal = Depends(station)) -> dict[str, Any]:
        body = await _body(request, ReceiptKey)
        return await call(store.add_receipt_key, p, body.model_dump())  # type: ignore[no-any-return]

    @app.get(
        "/v1/status-updates",
        tags=["feed"],
        summary="department decisions after a cursor",
        responses=answers(StatusUpdates, 200, 400, 401),
    )
    async def status_updates(
        p: Principal = Depends(station),
        after: int = Query(0, ge=0, le=SEQ_MAX),
        limit: int = Query(200, ge=1, le=1000),
    ) -> dict[str, Any]:
        return await call(store.feed, p, after, limit)  # type: ignore[no-any-return]

    @app.get(
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
        _p: Principal = Depends(station),
        _if_none_match: str | None = Header(None, alias="If-None-Match", max_length=2000),
    ) -> Response:
        current = await call(store.current_catalog)
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

    async def holds(p: Principal, sha: str, size: int | None = None) -> bool:
        """Whether the page exists for this station: on the hub and sent by the station itself."""
        return blobs.has(sha, size) and sha in await call(store.held_pages, p, [sha])

    @app.head(
        "/v1/blobs/{sha}",
        tags=["upload"],
        summary="whether this station's page is on the hub",
        responses={
            200: {"description": "complete", "headers": {"Upload-Offset": OFFSET_HEADER}},
            404: {
                "description": "not (yet) sent by this station",
                "headers": {"Upload-Offset": OFFSET_HEADER},
            },
            **answers(None, 400, 401),
        },
    )
    async def blob_head(sha: ShaPath, p: Principal = Depends(station)) -> Response:
        if await holds(p, sha):
            return Response(
                status_code=200,
                headers={"Upload-Offset": str(blobs.offset(sha)), "X-Complete": "1"},
            )
        return Response(
            status_code=404, headers={"Upload-Offset": str(blobs.partial_offset(sha, owner_of(p)))}
        )

    @app.put(
        "/v1/blobs/{sha}",
        tags=["upload"],
        summary="send a page's bytes from Upload-Offset (resumable)",
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
        responses=answers(BlobState, 200, 400, 401, 409, 422),
    )
    async def blob_put(
        sha: ShaPath,
        request: Request,
        p: Principal = Depends(station),
        offset: int = Header(
            0,
            alias="Upload-Offset",
            ge=0,
            le=MAX_BLOB_SIZE,
            description="where these bytes start in the page",
        ),
        total: int = Header(
            alias="Upload-Length", ge=0, le=MAX_BLOB_SIZE, description="the page's whole size"
        ),
    ) -> JSONResponse:
        if offset > total:
            raise HubError(400, "blob.range", "偏移超出页面长度")
        if await holds(p, sha, total):
            return JSONResponse({"sha256": sha, "offset": total, "complete": True})
        owner = owner_of(p)
        with blobs.claim(f"{sha}.{owner}") as got:
            if not got:
                raise HubError(
                    409, "blob.busy", "该页面正由另一连接上传", retry=True, retry_after=1
                )
            current = blobs.partial_offset(sha, owner)
            if offset > current:
                raise HubError(409, "blob.offset", "续传位置不对", retry=True, offset=current)
            writer = _PartWriter(blobs, sha, total, current, skip=current - offset, owner=owner)
            try:
                async for chunk in _stream(request, READ_TIMEOUT):
                    writer.write(chunk)
            except (TimeoutError, ClientDisconnect):
                writer.close()
                log.info("upload of page %s cut at %d of %d", sha[:12], writer.offset, total)
                return JSONResponse(
                    {"sha256": sha, "offset": writer.offset, "complete": False}, status_code=400
                )
            finally:
                writer.close()
            done = await _complete(writer)
            if done["complete"]:
                await call(store.add_holder, p, [sha])
            return JSONResponse(done)

    async def _complete(writer: _PartWriter, deferred: list[str] | None = None) -> dict[str, Any]:
        if writer.overflow:
            raise HubError(400, "blob.overflow", "上传内容超过声明的长度")
        if writer.offset == writer.total:
            try:
                if writer.total < 4 * 1024 * 1024 and writer.digest is not None:
                    blobs.finish(
                        writer.sha, writer.total, writer.digest, deferred, writer.owner
                    )  # small: no thread hop
                else:
                    await call(
                        blobs.finish,
                        writer.sha,
                        writer.total,
                        writer.digest,
                        deferred,
                        writer.owner,
                    )
            except BlobError as exc:
                raise HubError(422, exc.code, exc.message, retry=True, offset=0) from exc
            return {"sha256": writer.sha, "offset": writer.total, "complete": True}
        return {"sha256": writer.sha, "offset": writer.offset, "complete": False}

    def _commit(deferred: list[str], held: list[Any], p: Principal) -> None:
        try:
            shas = [d.partition(".")[0] for d in deferred]
            blobs.commit(deferred)
            store.add_holder(p, shas)  # only once the pages are durable
        finally:
            for c in held:
                c.__exit__(None, None, None)
            held.clear()

    @app.post(
        "/v1/blobs",
        tags=["upload"],
        summary="several pages, or parts of pages, in one body",
        openapi_extra={
            "requestBody": {"required": True, "content": {BLOB_BATCH: {"schema": BATCH_SCHEMA}}}
        },
        responses=answers(BatchOut, 200, 400, 401, 415),
    )
    async def blob_batch(request: Request, p: Principal = Depends(station)) -> JSONResponse:
        """Several pages (or parts of pages) in one body: see protocol.frame_header."""
        out: list[dict[str, Any]] = []
        deferred: list[str] = []  # verified pages, made durable together before the answer
        held: list[Any] = []  # their claims, kept until then
        buf = bytearray()
        part: tuple[str, int, int, int] | None = None
        left = 0
        writer: _PartWriter | None = None
        claim: Any = None
        state = "ok"
        owner = owner_of(p)

        async def end_part() -> None:
            nonlocal writer, claim, state
            assert part is not None
            sha = part[0]
            if writer is not None:
                writer.close()
                try:
                    out.append(await _complete(writer, deferred))
                except HubError as exc:
                    out.append({"sha256": sha, "offset": 0, "complete": False, "error": exc.code})
            else:
                complete = state == "complete"
                out.append(
                    {
                        "sha256": sha,
                        "offset": part[3] if complete else blobs.partial_offset(sha, owner),
                        "complete": complete,
                        "error": state if state not in ("ok", "complete") else None,
                    }
                )
            if claim is not None:
                held.append(claim)
                claim = None
            writer = None
            state = "ok"

        try:
            async for chunk in _stream(request, READ_TIMEOUT):
                view = memoryview(chunk)
                pos = 0
                while pos < len(chunk):
                    if part is None:
                        nl = chunk.find(b"\n", pos, pos + 300)
                        if nl < 0:
                            buf += view[pos:]
                            if len(buf) > 300:
                                raise HubError(400, "blob.frame", "页面批次格式不对")
                            break
                        buf += view[pos:nl]
                        pos = nl + 1
                        part = parse_frame_header(bytes(buf))
                        buf.clear()
                        if part is None:
                            raise HubError(400, "blob.frame", "页面批次格式不对")
                        sha, off, length, total = part
                        left = length
                        if await holds(p, sha, total):
                            state = "complete"
                        else:
                            claim = blobs.claim(f"{sha}.{owner}")
                            if not claim.__enter__():
                                claim.__exit__(None, None, None)
                                claim, state = None, "blob.busy"
                            else:
                                current = blobs.partial_offset(sha, owner)
                                if off > current:
                                    state = "blob.offset"
                                else:
                                    writer = _PartWriter(
                                        blobs, sha, total, current, skip=current - off, owner=owner
                                    )
                        if left == 0:
                            await end_part()
                            part = None
                        continue
                    take = min(left, len(chunk) - pos)
                    if writer is not None:
                        writer.write(view[pos : pos + take])
                    pos += take
                    left -= take
                    if left == 0:
                        await end_part()
                        part = None
        except (TimeoutError, ClientDisconnect):
            cut = True
        else:
            cut = False
        finally:
            # whatever happened: close the part in progress (its bytes stay for a resume), make
            # the verified pages durable before answering, release every claim
            if writer is not None:
                writer.close()
            if claim is not None:
                held.append(claim)
            await call(_commit, deferred, held, p)
        if cut:
            return JSONResponse({"blobs": out, "cut": True}, status_code=400)
        if part is not None:
            raise HubError(400, "blob.frame", "页面批次在中途结束")
        if not out:
            raise HubError(400, "blob.empty", "页面批次为空")
        return JSONResponse({"blobs": out})

    # ------------------------------------------------------------------ departments

    @app.post(
        "/v1/dept/decisions",
        status_code=201,
        tags=["department"],
        summary="record 受理 / 不予受理 / 办结 for an item",
        openapi_extra=json_body(DecisionIn),
        responses=answers(DecisionOut, 201, 400, 401, 403, 404, 409, 413, 415, 422),
    )
    async def decide(request: Request, dept: Department = Depends(department)) -> dict[str, Any]:
        body = await _body(request, DecisionIn)
        if not dept.sees(body.item_id):
            raise HubError(403, "decision.not_pushed", "该事项未推送给本部门，不能登记办理结果")
        return await call(  # type: ignore[no-any-return]
            store.decide,
            item_id=body.item_id,
            decision=body.decision,
            reason=body.reason,
            submission_id=body.submission_id,
            number=body.number,
            decision_id=body.decision_id,
            department=body.department or dept.name,
        )

    @app.get(
        "/v1/dept/submissions",
        tags=["department"],
        summary="received submissions with the items pushed to this department",
        responses=answers(DeptSubmissions, 200, 400, 401),
    )
    async def dept_submissions(
        dept: Department = Depends(department),
        station: str | None = Query(None, max_length=8),
        limit: int = Query(200, ge=1, le=1000),
    ) -> dict[str, Any]:
        return {
            "submissions": await call(
                store.submissions, station_code=station, limit=limit, items=dept.items
            )
        }

    @app.post(
        "/v1/receipts/verify",
        tags=["department"],
        summary="check a scanned receipt QR against the enrolled keys",
        openapi_extra=json_body(VerifyIn),
        responses=answers(VerifyOut, 200, 400, 401, 413, 415),
    )
    async def verify_receipt(
        request: Request, _dept: Department = Depends(department)
    ) -> dict[str, Any]:
        body = await _body(request, VerifyIn)
        return await call(store.check_receipt, body.payload)  # type: ignore[no-any-return]

    @app.get(
        HUB_QUERY_PATH,
        response_class=HTMLResponse,
        tags=["receipt"],
        summary="the status page a receipt's QR opens",
        responses={
            code: {"description": d, "content": {"text/html": {"schema": {"type": "string"}}}}
            for code, d in (
                (200, "masked status"),
                (400, "malformed link"),
                (403, "forged or altered"),
            )
        },
    )
    async def receipt_page(
        t: str = Query("", description="the signed token (YJS1|R|…)"),
    ) -> HTMLResponse:
        """The page a phone opens from a receipt's QR: the signed token in the link is the
        credential, so it shows only masked facts; a bad or forged token gets a 4xx page."""
        status, info = await call(store.receipt_status, t)
        return HTMLResponse(
            _receipt_html(status, info),
            status_code=status,
            headers={
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Robots-Tag": "noindex",
            },
        )

    @app.get(
        "/dept",
        response_class=HTMLResponse,
        tags=["department"],
        summary="departments' web page",
        responses={
            200: {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
        },
    )
    async def dept_page() -> str:
        return _DEPT_PAGE

    def openapi() -> dict[str, Any]:
        """FastAPI's description of the routes, plus the request models that the JSON routes
        validate by hand (they read the body themselves: size limit, gzip, depth)."""
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=TAGS,
                servers=[{"url": "https://hub.example.gov.cn", "description": "county hub"}],
            )
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for model in BODY_MODELS:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas[model.__name__] = found
            doc["components"]["schemas"] = dict(sorted(schemas.items()))
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


_DECISION_LABELS = {
    "accepted": "已受理",
    "rejected": "不予受理",
    "completed": "已办结",
    None: "待部门受理",
}


def _receipt_html(status: int, info: dict[str, Any]) -> str:
    """The public status page (Chinese, every value escaped, nothing unmasked)."""
    e = html.escape
    head = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>办理进度查询</title>'
        '<body style="font-family:sans-serif;max-width:36em;margin:1em auto;padding:0 1em">'
        "<h1>办理进度查询</h1>"
    )
    if status != 200:
        return (
            head + f"<p><strong>无法查询。</strong>{e(str(info.get('message', '')))}</p>"
            "<p>请核对收件回执，或凭回执上的受理编号到受理窗口查询。</p></body></html>"
        )
    rows = [("受理编号", str(info.get("number") or "")), ("回执", "真实有效（签名核验通过）")]
    if not info.get("on_hub"):
        return (
            head
            + _table(rows)
            + "<p>办理信息尚未同步到平台，请稍后再查，或凭受理编号到受理窗口查询。</p></body></html>"
        )
    rows += [
        ("申请人", info.get("applicant") or ""),
        ("证件号码", info.get("id_masked") or ""),
        ("当前状态", STAGE_LABELS.get(str(info.get("stage")), str(info.get("stage") or ""))),
    ]
    items = "".join(
        f"<tr><td>{e(i['name'])}</td><td>{e(_DECISION_LABELS.get(i['decision'], str(i['decision'])))}"
        + (f"（{e(i['reason'])}）" if i["decision"] == "rejected" and i["reason"] else "")
        + "</td></tr>"
        for i in info.get("items", [])
    )
    return (
        head
        + _table(rows)
        + '<h2>办理事项</h2><table border="1" cellpadding="4" style="border-collapse:collapse">'
        f"<tr><th>事项</th><th>状态</th></tr>{items}</table></body></html>"
    )


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<tr><th style="text-align:left">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>'
        for k, v in rows
    )
    return f'<table cellpadding="4">{body}</table>'


class _PartWriter:
    """Appends an upload's bytes to the partial file, skipping what the hub already holds."""

    def __init__(
        self, blobs: BlobStore, sha: str, total: int, offset: int, skip: int, owner: str = ""
    ) -> None:
        self.sha, self.total, self.offset, self.skip, self.owner = sha, total, offset, skip, owner
        self.overflow = False
        self._f = blobs.open_append(sha, owner)
        self._hash = hashlib.sha256() if offset == 0 else None  # every byte seen: no read-back

    @property
    def digest(self) -> str | None:
        return self._hash.hexdigest() if self._hash is not None else None

    def write(self, data: bytes | memoryview) -> None:
        if self.skip:
            cut = min(self.skip, len(data))
            data, self.skip = data[cut:], self.skip - cut
        if not data:
            return
        room = self.total - self.offset
        if len(data) > room:
            self.overflow = True
            data = data[:room]
        self._f.write(data)
        if self._hash is not None:
            self._hash.update(data)
        self.offset += len(data)

    def close(self) -> None:
        if not self._f.closed:
            self._f.flush()
            self._f.close()


_DEPT_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>部门办理结果登记与回执核验</title>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<p><label>部门接口密钥 <input id="key" type="password" required></label></p>
<h1>部门办理结果登记</h1>
<p>填写受理编号和事项，登记受理 / 不予受理 / 办结，结果会回传到受理窗口。</p>
<form id="f">
<p><label>受理编号 <input name="number" required></label></p>
<p><label>事项 id <input name="item_id" required></label></p>
<p><label>结果 <select name="decision"><option value="accepted">受理</option>
<option value="rejected">不予受理</option><option value="completed">办结</option></select></label></p>
<p><label>理由（不予受理必填） <input name="reason"></label></p>
<p><button>登记</button></p></form><pre id="out"></pre>
<h1>收件回执核验</h1>
<p>扫描或粘贴回执二维码内容，用站点登记在平台的公钥核验回执真伪。</p>
<form id="v">
<p><label>回执二维码内容 <input name="payload" size="60" required></label></p>
<p><button>核验</button></p></form><pre id="verdict"></pre>
<script>
const post = async (path, body) => {
  const r = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json',
    'Authorization': 'Bearer ' + document.getElementById('key').value}, body: JSON.stringify(body)});
  return r.json();
};
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault(); const d = Object.fromEntries(new FormData(e.target));
  const a = await post('/v1/dept/decisions', {number: d.number, item_id: d.item_id, decision: d.decision,
    reason: d.reason});
  document.getElementById('out').textContent = JSON.stringify(a, null, 2);
};
document.getElementById('v').onsubmit = async (e) => {
  e.preventDefault(); const d = Object.fromEntries(new FormData(e.target));
  const a = await post('/v1/receipts/verify', {payload: d.payload});
  document.getElementById('verdict').textContent = a.error ? a.error.message
    : (a.valid ? '真实有效' : '无效') + '：' + a.message + (a.number ? '（' + a.number + '）' : '');
};
</script></body></html>
"""
