"""The hub's HTTP API (version 1, sync/openapi.yaml) on FastAPI, assembled from one router per
area (sync/hub/routes).

Page uploads are read as a stream and written as they arrive, so a cut connection keeps every
byte that reached the hub and the station resumes at that offset. Database work runs in the
thread pool; refusals are JSON `{"error": {code, message, retry}}` with a Retry-After header
where waiting helps. Nothing personal is logged: ids and intake numbers only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from sync.hub import ops
from sync.hub.blobs import BlobError, BlobStore
from sync.hub.errors import HubError
from sync.hub.routes import (
    department,
    enrollment,
    feed,
    intakes,
    notices,
    online,
    pages,
    receipt,
    upload,
)
from sync.hub.routes.common import (
    BODY_MODELS,
    TAGS,
    HubContext,
    error_response,
    validation_error,
)
from sync.hub.routes.pages import blob_refusal
from sync.hub.store import HubStore
from sync.protocol import API_VERSION
from sync.schemas import DESCRIPTION

log = logging.getLogger("intake.hub.api")

ROUTERS = (enrollment, upload, pages, intakes, feed, notices, department, receipt, online)

# Layers FastAPI puts around every request that do nothing for the hub: the OpenTelemetry
# exception hook (no OpenTelemetry here; the hub has its own metrics and log) and the app-wide
# body limit when none is set (each route reads its body itself, within its own limit). Each is
# a coroutine frame and a try block per request.
_IDLE_LAYERS = ("ExceptionTelemetryMiddleware", "AppBodyLimitMiddleware")


class HubAPI(FastAPI):
    def build_middleware_stack(self) -> Any:
        outer: Any = super().build_middleware_stack()
        idle = set(_IDLE_LAYERS) if self.max_body_size is None else {_IDLE_LAYERS[0]}
        layer = outer
        while (inner := getattr(layer, "app", None)) is not None:
            if type(inner).__name__ in idle:
                layer.app = inner.app
                continue
            if inner is self.router:
                break
            layer = inner
        return outer


def create_app(
    store: HubStore,
    blobs: BlobStore,
    *,
    hub_id: str = "hub",
    metrics: bool = True,
    log_access: bool = True,
    platform_token: str | None = None,
) -> FastAPI:
    app = HubAPI(
        title="一件事一次办 intake exchange (station ↔ county hub)",
        version=str(API_VERSION),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.hub = HubContext(store, blobs, hub_id)
    app.state.platform_token = platform_token  # the online platform's credential (routes/online)
    app.state.stopping = asyncio.Event()  # set by the server when the grace for a shutdown is over
    _handle_errors(app)
    ops.install(app, store, blobs, hub_id=hub_id, metrics=metrics, log_access=log_access)
    for module in ROUTERS:  # the routes themselves (include_router would wrap each router)
        app.router.routes.extend(module.router.routes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _handle_errors(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(_request: Request, exc: HubError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(BlobError)
    async def _blob_store(_request: Request, exc: BlobError) -> JSONResponse:
        if exc.code != "blob.disk_full":  # counted where the write failed
            ops.count_blob_error(exc, "read")
        return error_response(blob_refusal(exc))

    @app.exception_handler(OperationalError)
    async def _db_busy(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return error_response(
            HubError(503, "hub.busy", "平台数据库繁忙，请稍后重试", retry=True, retry_after=2)
        )

    @app.exception_handler(PoolTimeout)
    async def _pool_full(_request: Request, exc: PoolTimeout) -> JSONResponse:
        # every connection of db_pool_size busy for POOL_WAIT seconds: back off, not a fault
        log.warning("database connections all in use")
        return error_response(
            HubError(503, "hub.busy", "平台繁忙，请稍后重试", retry=True, retry_after=2)
        )

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return error_response(HubError(500, "hub.internal", "平台内部错误", retry=True))


def _openapi(app: FastAPI) -> dict[str, Any]:
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
