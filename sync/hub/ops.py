"""Operating the hub: Prometheus metrics, the JSON access log, readiness, and each station's last
contact and report (`intake hub stations`).

Metrics are per process (each hub process is scraped on its own port, as deploy/ runs them); with
`PROMETHEUS_MULTIPROC_DIR` set (several workers sharing one port) the request metrics of every
worker are aggregated by prometheus_client's multiprocess collector. Route labels are the route
templates (`/v1/blobs/{sha}`), never a raw path; nothing personal is a label or in a log line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import and_, func, select, text, update

from sync.hub.models import HubManifestPage, HubPageHolder, HubStation, HubSubmission, HubToken
from sync.protocol import REPORT_HEADERS
from sync.schemas import Ready

access_log = logging.getLogger("intake.hub.access")
log = logging.getLogger("intake.hub.ops")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]
]

# A station's last contact is written at most this often per process (or at once when its report
# changes): one UPDATE a minute per station, not one per request.
TOUCH_EVERY = 60.0
STATE_CACHE = 10.0  # seconds a scrape reuses the database-derived gauges
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,31}$")
BLOB_OPERATIONS = ("write", "read")
# Below this much free space on the page directory (or S3's spool) the process is not ready:
# uploads would fail with blob.disk_full, so a balancer with health checks routes around it.
SPOOL_RESERVE = 64 * 1024 * 1024
# Per process, like the request metrics: counted where a store failure is turned into an answer.
_BLOB_ERRORS: dict[str, int] = {}
_BLOB_LOCK = threading.Lock()
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


# ----------------------------------------------------------------------------- station contact


def parse_report(headers: Any) -> tuple[str | None, str | None, int | None]:
    """The station's optional report headers; a malformed value is ignored (telemetry never
    refuses an upload)."""
    client, catalog, backlog = (headers.get(h) for h in REPORT_HEADERS)
    client = client if client and _VERSION.match(client) else None
    catalog = catalog if catalog and _VERSION.match(catalog) else None
    n = (
        int(backlog)
        if backlog and backlog.isascii() and backlog.isdigit() and len(backlog) <= 9
        else None
    )
    return client, catalog, n


class StationContacts:
    """Writes each station's last contact and report, throttled per process."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._last: dict[int, tuple[float, tuple[Any, ...]]] = {}
        self._lock = threading.Lock()

    def due(self, station_id: int, report: tuple[str | None, str | None, int | None]) -> bool:
        """Whether touch() would write (else it returns at once: no thread or database work)."""
        last = self._last.get(station_id)
        return last is None or time.monotonic() - last[0] >= TOUCH_EVERY or last[1] != report

    def touch(self, station_id: int, report: tuple[str | None, str | None, int | None]) -> None:
        mono = time.monotonic()
        with self._lock:
            last = self._last.get(station_id)
            if last is not None and mono - last[0] < TOUCH_EVERY and last[1] == report:
                return
            self._last[station_id] = (mono, report)
        values: dict[str, Any] = {"last_seen_at": dt.datetime.now(dt.UTC)}
        for name, value in zip(
            ("client_version", "catalog_version", "backlog"), report, strict=True
        ):
            if value is not None:
                values[name] = value
        try:
            with self.store.write() as s:
                s.execute(update(HubStation).where(HubStation.id == station_id).values(**values))
        except Exception as exc:  # contact bookkeeping never fails a station's request
            with self._lock:
                self._last.pop(station_id, None)
            log.warning("station contact not recorded: %s", exc.__class__.__name__)


def stations(store: Any, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every station: last contact, reported backlog, pages the hub still lacks, versions."""
    now = now or dt.datetime.now(dt.UTC)
    with store.sessions() as s:
        rows = s.execute(
            select(
                HubStation.id,
                HubStation.code,
                HubStation.name,
                HubStation.last_seen_at,
                HubStation.client_version,
                HubStation.catalog_version,
                HubStation.backlog,
            ).order_by(HubStation.code)
        ).all()
        missing = dict(s.execute(_pages_missing()).all())
        active = dict(
            s.execute(
                select(HubToken.station_id, func.count())
                .where(HubToken.revoked_at.is_(None))
                .group_by(HubToken.station_id)
            ).all()
        )
    out = []
    for sid, code, name, seen, client, catalog, backlog in rows:
        if seen is not None and seen.tzinfo is None:  # SQLite hands back naive UTC
            seen = seen.replace(tzinfo=dt.UTC)
        out.append(
            {
                "station": code,
                "name": name,
                "enrolled": bool(active.get(sid)),
                "last_seen_at": seen.isoformat(timespec="seconds") if seen else None,
                "last_seen_age_s": round((now - seen).total_seconds()) if seen else None,
                "backlog_events": backlog,
                "pages_missing": int(missing.get(sid, 0)),
                "client_version": client,
                "catalog_version": catalog,
            }
        )
    return out


def _pages_missing() -> Any:
    """Per station: pages its manifests name that it has not finished sending."""
    return (
        select(HubSubmission.station_id, func.count())
        .select_from(HubManifestPage)
        .join(HubSubmission, HubSubmission.id == HubManifestPage.submission_id)
        .outerjoin(
            HubPageHolder,
            and_(
                HubPageHolder.station_id == HubSubmission.station_id,
                HubPageHolder.sha256 == HubManifestPage.sha256,
            ),
        )
        # only the pages not held when named (a partial index): a join over every page ever
        # sent took ~1 s per scrape at a county's year (1.5 M pages), minutes at a province's
        .where(HubManifestPage.missing, HubPageHolder.sha256.is_(None))
        .group_by(HubSubmission.station_id)
    )


# ----------------------------------------------------------------------------- metrics


class _StateCollector:
    """Gauges read from the database at scrape time (cached briefly: N processes, one query)."""

    def __init__(self, store: Any, spool: Any = None) -> None:
        self.store = store
        self.spool = spool  # the directory whose free space is reported
        self._cache: tuple[float, list[dict[str, Any]]] | None = None
        self._lock = threading.Lock()

    def _rows(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._cache is None or time.monotonic() - self._cache[0] > STATE_CACHE:
                self._cache = (time.monotonic(), stations(self.store))
            return self._cache[1]

    def collect(self) -> Any:
        try:
            rows = self._rows()
        except Exception as exc:  # a scrape must answer even with the database away
            log.warning("state metrics unavailable: %s", exc.__class__.__name__)
            rows = []
        age = GaugeMetricFamily(
            "intake_hub_station_last_seen_age_seconds",
            "seconds since the station's last authenticated request (written once a minute)",
            labels=["station"],
        )
        backlog = GaugeMetricFamily(
            "intake_hub_station_backlog_events",
            "events waiting in the station's outbox, as it last reported",
            labels=["station"],
        )
        pages = GaugeMetricFamily(
            "intake_hub_station_pages_missing",
            "pages named in the station's manifests that the hub does not hold yet",
            labels=["station"],
        )
        for r in rows:
            if r["last_seen_age_s"] is not None:
                age.add_metric([r["station"]], r["last_seen_age_s"])
            if r["backlog_events"] is not None:
                backlog.add_metric([r["station"]], r["backlog_events"])
            pages.add_metric([r["station"]], r["pages_missing"])
        yield age
        yield backlog
        yield pages
        total = GaugeMetricFamily(
            "intake_hub_backlog_events", "events waiting at all stations, as reported"
        )
        total.add_metric([], sum(r["backlog_events"] or 0 for r in rows))
        yield total
        missing = GaugeMetricFamily(
            "intake_hub_pages_missing", "pages named in manifests that the hub does not hold yet"
        )
        missing.add_metric([], sum(r["pages_missing"] for r in rows))
        yield missing
        errors = CounterMetricFamily(
            "intake_hub_blob_store_errors",
            "page store operations that did not complete (object store refused or timed out)",
            labels=["operation"],
        )
        with _BLOB_LOCK:
            for op in BLOB_OPERATIONS:  # present at 0, so an alert's rate() has a series
                errors.add_metric([op], _BLOB_ERRORS.get(op, 0))
        yield errors
        if self.spool is not None:
            free = GaugeMetricFamily(
                "intake_hub_spool_free_bytes",
                "free space on the disk of the page directory (S3: the upload spool); "
                "uploads are refused as blob.disk_full when it runs out",
            )
            try:
                free.add_metric([], shutil.disk_usage(self.spool).free)
                yield free
            except OSError as exc:
                log.warning("spool free space unavailable: %s", exc.__class__.__name__)
        yield from _notice_gauges(self.store)


def _notice_gauges(store: Any) -> Any:
    """The notice outbox by status (pending, sending, retrying, failed): every status present,
    at 0 when empty, so an alert on failed or on a growing backlog has a series; and the
    notices this process sent, a counter (sent notices only ever grow: counting them in the
    database on every scrape would read every notice ever made)."""
    from sync.hub.notices import sent_count

    sent = CounterMetricFamily(
        "intake_hub_notices_sent", "notices to applicants this process sent (since its start)"
    )
    sent.add_metric([], sent_count())
    yield sent
    counts = getattr(store, "notice_counts", None)
    if counts is None:
        return
    try:
        found = counts(outbox_only=True)
    except Exception as exc:  # a scrape must answer even with the database away
        log.warning("notice metrics unavailable: %s", exc.__class__.__name__)
        return
    gauge = GaugeMetricFamily(
        "intake_hub_notices",
        "notices to applicants in the outbox (pending, sending, retrying) or failed, by status",
        labels=["status"],
    )
    for status, n in found.items():
        gauge.add_metric([status], n)
    yield gauge


class HubMetrics:
    def __init__(self, store: Any, hub_id: str = "hub", spool: Any = None) -> None:
        self.hub_id = hub_id
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "intake_hub_requests",
            "requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "intake_hub_request_duration_seconds",
            "time to answer, by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "intake_hub_requests_in_flight",
            "requests being answered (the process's queue)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.state = _StateCollector(store, spool)
        self.state_registry = CollectorRegistry(auto_describe=False)
        self.state_registry.register(self.state)

    def render(self) -> bytes:
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        return generate_latest(registry) + generate_latest(self.state_registry)


# ----------------------------------------------------------------------------- access log + timing


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


class OpsMiddleware:
    """Times every request, counts it by route template, and writes one JSON access line: no
    query string, no body, no header; the station's code when it authenticated."""

    def __init__(
        self, app: ASGIApp, metrics: HubMetrics | None, log_access: bool, hub_id: str
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log_access = log_access
        self.hub_id = hub_id

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500
        sent = 0

        async def _send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        m = self.metrics
        if m is not None:
            m.in_flight.inc()
        try:
            await self.app(scope, receive, _send)
        finally:
            seconds = time.perf_counter() - t0
            route, method = route_of(scope), scope.get("method", "")
            if m is not None:
                m.in_flight.dec()
                m.requests.labels(route=route, method=method, status=str(status)).inc()
                m.latency.labels(route=route, method=method).observe(seconds)
            if self.log_access and access_log.isEnabledFor(logging.INFO):
                state = scope.get("state") or {}
                line = {
                    "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                    "hub": self.hub_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                    "bytes_out": sent,
                    "station": state.get("station"),
                }
                access_log.info(json.dumps(line, ensure_ascii=False, separators=(",", ":")))


def setup_access_log(stream: Any = None) -> None:
    """Access lines as bare JSON on stderr (journald or the container log collects them)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.handlers[:] = [handler]
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


# ----------------------------------------------------------------------------- readiness


def readiness(store: Any, blobs: Any) -> dict[str, str]:
    """Each dependency: "ok" or the class of its failure (no message: it may carry a URL)."""
    checks: dict[str, str] = {}
    try:
        with store.engine.connect() as c:
            c.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = exc.__class__.__name__
    try:
        if getattr(blobs, "backend", "local") == "s3":
            blobs.client.head_bucket(Bucket=blobs.config.bucket)
        else:
            os.stat(blobs.root)
        checks["blob_store"] = "ok"
    except Exception as exc:
        checks["blob_store"] = exc.__class__.__name__
    try:
        spool_free = shutil.disk_usage(blobs.root).free >= SPOOL_RESERVE
        checks["spool"] = "ok" if spool_free else "disk_full"
    except OSError as exc:
        checks["spool"] = exc.__class__.__name__
    return checks


# ----------------------------------------------------------------------------- wiring


def install(
    app: FastAPI,
    store: Any,
    blobs: Any,
    *,
    hub_id: str = "hub",
    metrics: bool = True,
    log_access: bool = True,
) -> None:
    """Add the access log and metrics middleware, `/metrics` and `/readyz` to the hub's app, and
    the station-contact recorder its station dependency calls (`note_station`)."""
    from fastapi.responses import JSONResponse, Response

    hub_metrics = HubMetrics(store, hub_id, getattr(blobs, "root", None)) if metrics else None
    app.state.metrics = hub_metrics
    app.state.contacts = StationContacts(store)
    app.add_middleware(OpsMiddleware, metrics=hub_metrics, log_access=log_access, hub_id=hub_id)

    if hub_metrics is not None:

        @app.get(
            "/metrics",
            tags=["enrollment"],
            summary="Prometheus metrics of this process (text format 0.0.4)",
            responses={
                200: {"content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}}}
            },
            response_class=Response,
            response_model=None,
        )
        async def prometheus() -> Response:
            from starlette.concurrency import run_in_threadpool

            body = await run_in_threadpool(hub_metrics.render)
            return Response(body, media_type=CONTENT_TYPE)

    @app.get(
        "/readyz",
        tags=["enrollment"],
        summary="ready for traffic: database and page store reachable, not stopping",
        responses={
            200: {"model": Ready, "description": "ready"},
            503: {"model": Ready, "description": "not ready (Retry-After)"},
        },
        response_model=None,
    )
    async def readyz() -> JSONResponse:
        """Ready for traffic: database and page store answer, and the process is not stopping
        (nginx and the orchestrator route around a 503); /healthz only says the process is up."""
        from starlette.concurrency import run_in_threadpool

        checks = await run_in_threadpool(readiness, store, blobs)
        stopping = getattr(app.state, "stopping", None)
        if stopping is not None and stopping.is_set():
            checks["process"] = "stopping"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"ready": ok, "hub_id": hub_id, "checks": checks},
            status_code=200 if ok else 503,
            headers={} if ok else {"Retry-After": "5"},
        )


def note_station(request: Any, principal: Any) -> None:
    """After a station authenticated (in the thread pool): its code for the access log, and its
    last contact and report for `intake hub stations`."""
    request.state.station = principal.station_code
    contacts = getattr(request.app.state, "contacts", None)
    if contacts is not None:
        contacts.touch(principal.station_id, parse_report(request.headers))


def contact_due(request: Any, principal: Any) -> bool:
    """Whether note_station has database work to do for this request."""
    contacts = getattr(request.app.state, "contacts", None)
    return contacts is not None and contacts.due(
        principal.station_id, parse_report(request.headers)
    )


def count_blob_error(exc: Any, operation: str) -> None:
    """Count EXC when it is the page store failing (not a station's damaged page)."""
    if getattr(exc, "retry", False):
        with _BLOB_LOCK:
            _BLOB_ERRORS[operation] = _BLOB_ERRORS.get(operation, 0) + 1
