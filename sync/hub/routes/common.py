"""What every route shares: reading and checking bodies, error answers, authentication and the
hub context (app.state.hub), documented responses."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from sync.hub import ops
from sync.hub.blobs import BlobStore
from sync.hub.db import Department, Principal
from sync.hub.errors import HubError
from sync.hub.store import HubStore
from sync.online_schemas import BODY_MODELS as ONLINE_MODELS
from sync.schemas import (
    AuditIn,
    DecisionIn,
    EnrollmentIn,
    Error,
    Event,
    EventsIn,
    ManifestsIn,
    ReceiptKey,
    VerifyIn,
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
    *ONLINE_MODELS,
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
TAGS = [
    {"name": n}
    for n in ("enrollment", "upload", "audit", "feed", "department", "receipt", "online")
]
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


async def read_body(request: Request, model: type[M]) -> M:
    """The JSON body checked against MODEL (the request schema in the description)."""
    return checked(await read_json(request), model)


def checked(value: Any, model: type[M]) -> M:
    """VALUE checked against MODEL: a 400 naming the first place that does not fit."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "（整体）"
        raise HubError(
            400, "request.schema", f"请求内容不符合接口说明：{where}", field=where
        ) from exc


def error_response(exc: HubError) -> JSONResponse:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if "offset" in exc.details:
        headers["Upload-Offset"] = str(exc.details["offset"])
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def stream(request: Request, timeout: float) -> AsyncIterator[bytes]:
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


async def read_json(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_JSON_BODY:
        raise HubError(413, "request.too_large", "请求过大，请分批发送")
    body = bytearray()
    try:
        async for chunk in stream(request, READ_TIMEOUT):
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
    return loads_checked(data)


def loads_checked(data: bytes) -> Any:
    """JSON text as a value: no NaN, no giant number, no nesting deeper than MAX_JSON_DEPTH."""
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


def validation_error(exc: RequestValidationError) -> HubError:
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


@dataclass(frozen=True)
class HubContext:
    """What every route works with (app.state.hub): nothing in it belongs to one request, and
    nothing another hub process would need lives only here."""

    store: HubStore
    blobs: BlobStore
    hub_id: str


def hub_context(request: Request) -> HubContext:
    return request.app.state.hub  # type: ignore[no-any-return]


async def station(request: Request, _doc: Any = Depends(STATION_AUTH)) -> Principal:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        raise HubError(401, "auth.missing", "缺少站点凭据")

    store, token = hub_context(request).store, auth[7:].strip()
    known = store.cached_principal(token)
    if known is not None and not ops.contact_due(request, known):
        request.state.station = known.station_code  # checked seconds ago: no thread, no database
        return known

    def authenticate() -> Principal:
        p: Principal = store.authenticate(token)
        ops.note_station(request, p)  # access log's station, `intake hub stations`
        return p

    return await run_in_threadpool(authenticate)


async def department(request: Request, _doc: Any = Depends(DEPT_AUTH)) -> Department:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        raise HubError(401, "auth.missing", "缺少部门接口密钥")
    return await run_in_threadpool(hub_context(request).store.authenticate_dept, auth[7:].strip())


def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Awaitable[Any]:
    """Run blocking work (the database, the object store) in the thread pool."""
    return run_in_threadpool(fn, *args, **kw)


async def _hub(request: Request) -> HubContext:
    """hub_context as a dependency: a coroutine, so FastAPI calls it in the event loop (a plain
    function dependency costs a thread-pool hop per request, a large share of a request's CPU)."""
    return hub_context(request)


Hub = Annotated[HubContext, Depends(_hub)]
Station = Annotated[Principal, Depends(station)]
Dept = Annotated[Department, Depends(department)]


# ----------------------------------------------------------------------------- direct answers
# The routes every station calls all day (healthz, ping, catalog, status-updates, manifests,
# events, intakes) are described to OpenAPI by their declared endpoints like any other —
# parameters, security, request and response schemas — but answered by a handler that does by
# hand what FastAPI's machinery does per request for them: no dependency solving, no response
# model re-validation and re-encoding of a dict that is JSON already. Same authentication
# (station()), same refusals (HubError through the app's handlers), same metrics and access log.

Handler = Callable[[Request], Awaitable[Any]]
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


def answer_directly(router: Any, path: str, method: str, handler: Handler) -> None:
    """Answer METHOD PATH of ROUTER with HANDLER(request) (a Response, or a dict sent as JSON)."""
    for route in router.routes:
        if getattr(route, "path", None) == path and method in getattr(route, "methods", ()):
            route.app = _plain(handler)
            return
    raise LookupError(f"{method} {path}")


def _plain(handler: Handler) -> Callable[..., Awaitable[None]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        out = await handler(Request(scope, receive, send))
        response = JSONResponse(out) if isinstance(out, dict) else out
        await response(scope, receive, send)

    return app


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    """Query parameter NAME as an integer within LO..HI, refused as FastAPI's check would be
    (validation_error's message)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise HubError(400, "request.parameter", f"参数 {name} 应为整数", parameter=name)
    value = int(text)
    if value < lo:
        message = f"参数 {name} 应为整数（{lo}～）"
    elif value > hi:
        message = f"参数 {name} 应为整数（～{hi}）"
    else:
        return value
    raise HubError(400, "request.parameter", message, parameter=name)
