"""The sync engine: drains the outbox to the hub and brings status updates and catalogs back.

A plain object, never run on the GUI thread: the window's task runner calls `step()` on its
network pool (one small unit of work, never sleeps; the result says when to call again), the
command line calls `run_until_idle()`. Order of work in a step: pages before the events that
name them (manifest first, so only missing pages or missing tails of pages travel), events in
station order in batches, then status updates and the catalog when the queue is empty (and now
and then during a long drain).

After the events, a step sends the next batch of the station's hash-chained audit log to the hub's
copy (the whole chain from its first entry; during a long drain only full batches, so the drain
pays one request per few hundred entries), and enrolls the receipt-signing public key if the hub
does not have it yet.

Failures are of two scopes (sync.errors): a link failure (offline, hub down, 429/5xx, garbage
answers, revoked token) makes everything wait with exponential backoff and jitter, honouring
Retry-After, and blames no item; an item failure is counted on that item, and after
`max_failures` of the same kind the item is parked for a person and the queue moves on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, sessionmaker

from app.catalog import CatalogProvider, read_packed
from app.clock import Clock, SystemClock
from app.errors import CatalogError, DomainError, StoreError
from app.intake import IntakeService
from app.version import __version__
from local_db.attachments import AttachmentStore
from local_db.models import Event, Station, Submission, SubmissionItem, SyncItem
from sync.client import HubClient, TransportConfig
from sync.errors import TEXTS, SyncError, sync_error
from sync.export import ExportSummary, write_export
from sync.keystore import KeyringTokenStore, TokenStore, token_key
from sync.outbox import Failure, Outbox, PendingEvent
from sync.protocol import check_status_update, in_ranges, is_sha256
from sync.status import Problem, QueueItem, SyncStatus

REPORT_INTERVAL = 30.0  # seconds between refreshes of the station's report to the hub
log = logging.getLogger("intake.sync")

OFFLINE_CODES = {"sync.offline", "sync.timeout", "sync.interrupted", "sync.proxy"}
PERSON_CODES = {"sync.unauthorized", "sync.tls", "sync.not_enrolled", "sync.keyring"}
_RANK = {None: 0, "accepted": 1, "completed": 2, "rejected": 2}


@dataclass(frozen=True)
class SyncConfig:
    """Tunables (defaults suit a village link; tests shorten the waits)."""

    batch_events: int = 500
    batch_audit: int = 500  # audit entries per POST /v1/audit
    batch_page_bytes: int = 8 * 1024 * 1024  # pages behind one event batch
    blob_batch_bytes: int = 4 * 1024 * 1024  # one POST /v1/blobs
    large_page: int = 2 * 1024 * 1024  # from this size a page goes by PUT in resumable chunks
    chunk_bytes: int = 4 * 1024 * 1024
    max_failures: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    retry_after_cap: float = 3600.0
    person_backoff: float = 600.0  # revoked token / bad certificate: look again every 10 minutes
    mark_every: float = 5.0  # during a long drain, mark acknowledged intakes pushed this often
    status_interval: float = 30.0
    catalog_interval: float = 600.0
    connect_timeout: float = 3.0
    read_timeout: float = 30.0


@dataclass(frozen=True)
class StepResult:
    kind: str  # uploaded | pulled | idle | waiting | failed | not_enrolled
    more: bool  # call again soon
    wait: float | None = None  # seconds until a retry is due


@dataclass
class DrainReport:
    events_sent: int = 0
    events_already_there: int = 0
    events_resent: int = 0  # acknowledged events a restored hub no longer held
    events_parked: int = 0
    audit_sent: int = 0  # audit entries the hub's copy took
    pages_sent: int = 0
    page_bytes_sent: int = 0
    pushed: list[str] = field(default_factory=list)  # intake numbers marked pushed
    decisions_applied: int = 0
    decisions_refused: int = 0
    catalog_installed: str | None = None
    failures: list[str] = field(default_factory=list)  # error codes met on the way
    steps: int = 0
    status: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ReceiptKey(Protocol):
    """The public half of the station's receipt signer (app.receipts.ReceiptSigner)."""

    key_id: str

    def public_key_text(self) -> str: ...


class SyncEngine:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        intake: IntakeService,
        catalogs: CatalogProvider,
        attachments: AttachmentStore,
        *,
        tokens: TokenStore | None = None,
        config: SyncConfig | None = None,
        clock: Clock | None = None,
        client_factory: Callable[[TransportConfig, str | None], HubClient] | None = None,
        catalog_archive: Path | None = None,
        rng: random.Random | None = None,
        signer: ReceiptKey | None = None,
        audit_anchor: Any = None,
    ) -> None:
        self.sessions = sessions
        self.audit_anchor = (
            audit_anchor  # app.audit_anchor.AuditAnchor: signs the head the hub acknowledged
        )
        self.intake = intake
        self.catalogs = catalogs
        self.attachments = attachments
        self.tokens: TokenStore = tokens or KeyringTokenStore()
        self.config = config or SyncConfig()
        self.clock = clock or SystemClock()
        self.outbox = Outbox(sessions)
        self._client_factory = client_factory or (lambda cfg, token: HubClient(cfg, token))
        self._archive = catalog_archive
        self._rng = rng or random.Random()
        self._lock = threading.RLock()
        self._client: HubClient | None = None
        self._client_key: tuple[Any, ...] | None = None
        self._reconciled = False
        self._hub_has: list[list[int]] = []
        self._batch_limit = self.config.batch_events
        self._link_failures = 0
        self._retry_at: float | None = None  # time.monotonic() when the link may be tried again
        self._problem: SyncError | None = None
        self._last_success: dt.datetime | None = None
        self._next_status = 0.0
        self._next_catalog = 0.0
        self._next_report = 0.0
        self._report = DrainReport()
        self._to_mark: list[tuple[str, str | None]] = []
        self._mark_due = 0.0
        self.signer = signer  # None without a keyring: enrolled with the hub once one is there
        self._key_done: str | None = None  # key id known to be at the hub (or parked)
        self._audit_limit = self.config.batch_audit
        self._unsupported: set[str] = set()  # endpoints an older hub lacks (404): not asked again
        self.restore_catalog()

    @classmethod
    def from_context(cls, ctx: Any, **kw: Any) -> SyncEngine:
        kw.setdefault("clock", ctx.clock)  # the store's clock, as every service
        kw.setdefault("signer", ctx.signer)
        kw.setdefault("audit_anchor", ctx.audit_anchor)
        return cls(
            ctx.sessions,
            ctx.intake,
            ctx.catalogs,
            ctx.attachments,
            catalog_archive=ctx.files_dir / "catalogs",
            **kw,
        )

    # ------------------------------------------------------------------ enrollment and settings

    def _now(self) -> dt.datetime:
        return self.clock.now()

    def transport_config(self) -> TransportConfig | None:
        url = self.outbox.get("hub_url")
        if not url:
            return None
        return TransportConfig(
            base_url=url,
            ca_bundle=self.outbox.get("ca_bundle"),
            proxy=self.outbox.get("proxy"),
            connect_timeout=self.config.connect_timeout,
            read_timeout=self.config.read_timeout,
        )

    def configure(
        self, *, ca_bundle: str | bool | None = False, proxy: str | bool | None = False
    ) -> None:
        """Change the CA bundle or proxy (None clears; False leaves as is)."""
        values: dict[str, object] = {}
        if ca_bundle is not False:
            values["ca_bundle"] = ca_bundle or None
        if proxy is not False:
            values["proxy"] = proxy or None
        self.outbox.set(**values)
        with self._lock:
            self._client = None

    def enroll(
        self, url: str, code: str, *, ca_bundle: str | None = None, proxy: str | None = None
    ) -> dict[str, Any]:
        """Exchange the administrator's one-time code for this station's token (kept in the OS
        keyring, never in a file). Returns what was stored, without the token."""
        store_id = self.outbox.store_id()
        with self.sessions() as s:
            station = s.scalars(select(Station).where(Station.is_local)).first()
            local_code = station.code if station else None
        cfg = TransportConfig(
            base_url=url,
            ca_bundle=ca_bundle,
            proxy=proxy,
            connect_timeout=self.config.connect_timeout,
            read_timeout=self.config.read_timeout,
        )
        client = self._client_factory(cfg, None)
        signer = self.signer
        try:
            if signer is None:
                answer = client.enroll(code, store_id, local_code)
            else:
                answer = client.enroll(
                    code,
                    store_id,
                    local_code,
                    {"key_id": signer.key_id, "public_key": signer.public_key_text()},
                )
        finally:
            client.close()
        self.tokens.set(token_key(store_id), answer["token"])
        key = answer.get("receipt_key")
        taken = isinstance(key, dict) and key.get("status") in ("stored", "duplicate")
        # a key the hub did not take is sent again by the next step (and parked if refused again)
        self.outbox.set(
            hub_url=url,
            station_code=answer["station_code"],
            token_id=answer["token_id"],
            ca_bundle=ca_bundle,
            proxy=proxy,
            receipt_key_id=signer.key_id if signer is not None and taken else None,
        )
        with self._lock:
            self._client, self._problem, self._retry_at, self._reconciled = None, None, None, False
            self._link_failures = 0
            self._key_done, self._unsupported = None, set()
        log.info("station %s enrolled at the hub", answer["station_code"])
        return {
            "hub_url": url,
            "station_code": answer["station_code"],
            "token_id": answer["token_id"],
            "store_id": store_id,
        }

    def _token(self) -> str | None:
        return self.tokens.get(token_key(self.outbox.store_id()))

    def _get_client(self) -> HubClient | None:
        cfg = self.transport_config()
        if cfg is None:
            return None
        token = self._token()
        if not token:
            return None
        key = (cfg, token)
        if self._client is None or self._client_key != key:
            if self._client is not None:
                self._client.close()
            self._client = self._client_factory(cfg, token)
            self._client_key = key
        return self._client

    def _report_station(self, client: HubClient) -> None:
        """What the hub's `intake hub stations` shows for this station (client and catalog
        versions, events waiting here), sent with the requests; refreshed twice a minute so a
        long drain does not count its queue at every step."""
        events, _subs, _oldest = self.outbox.waiting(self.outbox.cursor())
        report = getattr(client, "report", None)
        if report is not None:
            report(__version__, self.catalogs.current.version, events)
        self._next_report = time.monotonic() + REPORT_INTERVAL

    def restore_catalog(self) -> None:
        """Put back the catalog last installed from the hub (the composition root loads the
        bundled one at start)."""
        digest = self.outbox.get("catalog_digest")
        if not digest or not self._archive or self.catalogs.current.digest == digest:
            return
        path = self._archive / f"{digest}.json"
        if not path.exists():
            return
        try:
            self.catalogs.replace(read_packed(path))
        except CatalogError as exc:
            log.info("synced catalog not restored: %s", exc.code)

    # ------------------------------------------------------------------ the loop

    def step(self) -> StepResult:
        with self._lock:
            self._report.steps += 1
            try:
                client = self._get_client()
            except SyncError as exc:  # keyring unavailable
                self._problem = exc
                return StepResult("not_enrolled", False)
            if client is None:
                self._problem = sync_error("sync.not_enrolled", retry=False)
                return StepResult("not_enrolled", False)
            if self._to_mark and time.monotonic() >= self._mark_due:
                self._mark_now()
            if time.monotonic() >= self._next_report:
                self._report_station(client)
            if self._retry_at is not None and time.monotonic() < self._retry_at:
                return StepResult("waiting", True, self._retry_at - time.monotonic())
            # Intakes the hub acknowledged are marked pushed every `mark_every` seconds during a
            # long drain, and at once when the queue is empty: marking between uploads instead
            # of after each batch keeps the local store's commits off the disk while pages are
            # being made durable (measured: 3 ms a mark instead of 7). A crash before marking is
            # caught by the sweep at the next start.
            try:
                if not self._reconciled:
                    self._reconcile(client)
                done = self._retry_requested(client) or self._upload(client)
            except SyncError as exc:
                return self._failed(exc)
            try:
                if not done:
                    self._mark_now()
                mono = time.monotonic()
                if done:
                    if mono >= self._next_status:
                        self._pull_status(client)
                    self._push_audit(client, full_only=True)
                    self._succeeded()
                    return StepResult("uploaded", True, 0)
                more = False
                if mono >= self._next_status:
                    more = self._pull_status(client)
                if mono >= self._next_catalog:
                    self._pull_catalog(client)
                self._send_receipt_key(client)
                more = (
                    self._push_audit(client) or more
                )  # after the pulls: decisions are audited too
                more = (
                    more or self.outbox.max_seq() > self.outbox.cursor()
                )  # decisions just recorded
                self._succeeded()
                return StepResult("pulled" if more else "idle", more, 0 if more else None)
            except SyncError as exc:
                return self._failed(exc)

    def run_until_idle(
        self,
        *,
        max_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: Callable[[], bool] | None = None,
    ) -> DrainReport:
        """Work until nothing is left that the link allows (the command line, tests)."""
        start = time.monotonic()
        self._report = DrainReport()
        self._next_status = self._next_catalog = 0.0
        while True:
            r = self.step()
            if r.kind == "not_enrolled" or (not r.more and r.kind in ("idle", "pulled")):
                break
            if self._problem is not None and self._problem.code in PERSON_CODES:
                break
            if stop is not None and stop():
                break
            elapsed = time.monotonic() - start
            if max_seconds is not None and elapsed >= max_seconds:
                break
            if r.wait:
                wait = (
                    r.wait if max_seconds is None else min(r.wait, max(0.0, max_seconds - elapsed))
                )
                if max_seconds is not None and elapsed + r.wait > max_seconds:
                    break
                sleep(wait)
        report = self._report
        report.status = self.status().to_json()
        return report

    # ------------------------------------------------------------------ outcomes

    def _succeeded(self) -> None:
        if self._problem is not None or self._last_success is None:
            log.info("sync link up")
        self._problem = None
        self._link_failures = 0
        self._retry_at = None
        self._last_success = self._now()

    def _backoff(self, exc: SyncError) -> float:
        cfg = self.config
        if exc.code in PERSON_CODES:
            delay = cfg.person_backoff
        else:
            ceiling = min(
                cfg.backoff_cap, cfg.backoff_base * (2 ** min(self._link_failures - 1, 30))
            )
            delay = self._rng.uniform(
                ceiling / 2, ceiling
            )  # "equal jitter": never hammer, never idle long
        if exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, cfg.retry_after_cap))
        return delay

    def _failed(self, exc: SyncError) -> StepResult:
        self._mark_now()  # what the hub acknowledged before the failure is pushed all the same
        self._link_failures += 1
        delay = self._backoff(exc)
        if self._problem is None or self._problem.code != exc.code:
            log.warning("sync paused: %s (retry in %.0fs)", exc.code, delay)
        self._problem = exc
        self._report.failures.append(exc.code)
        self._retry_at = time.monotonic() + delay
        self._reconciled = False
        self._batch_limit = max(1, self._batch_limit)
        return StepResult("failed", True, delay)

    # ------------------------------------------------------------------ upload

    def _reconcile(self, client: HubClient) -> None:
        """Learn which of our events the hub already holds (after a USB import, a lost answer,
        a crash): they are never sent again. And whether it still holds every event below the
        cursor: a hub restored from a backup has lost what it acknowledged since, and those
        events are sent again (the hub's copy of the audit log does the same with audit.gap)."""
        cursor = self.outbox.cursor()
        if cursor > 0:
            self._rewind_to_hub(client, cursor)
            cursor = self.outbox.cursor()
        top = self.outbox.max_seq()
        self._hub_has = client.received(cursor + 1, top) if top > cursor else []
        new = cursor
        for first, last in self._hub_has:
            if first <= new + 1 <= last:
                new = last
        if new > cursor:
            self.outbox.commit_batch(cursor=new, now=self._now())
            self._report.events_already_there += new - cursor
            log.info("hub already holds events up to %d", new)
        self._reconciled = True
        self._push_ready(None)

    def _rewind_to_hub(self, client: HubClient, cursor: int) -> None:
        held = client.received(1, cursor)
        gaps, nxt = [], 1
        for first, last in held:
            if first > nxt:
                gaps.append((nxt, min(first - 1, cursor)))
            nxt = max(nxt, last + 1)
        if nxt <= cursor:
            gaps.append((nxt, cursor))
        if not gaps:
            return
        missing = self.outbox.first_unsent(gaps, self.outbox.parked_events_after(0))
        if missing is None:
            return
        self.outbox.rewind(missing - 1)
        self._report.events_resent += cursor - missing + 1
        log.warning("hub lacks acknowledged events from %d: sending again from there", missing)

    def _retry_requested(self, client: HubClient) -> int:
        """Items a person asked to try again (out of order: they were parked)."""
        items = self.outbox.items(states=("retry",))
        if not items:
            return 0
        for item in items:
            if item.kind == "event":
                evs = self.outbox.events_by_id([item.key])
                if not evs:
                    self.outbox.resolve("event", item.key)
                    continue
                self._send(client, evs, advance=False)
            elif item.kind == "page":
                self.outbox.resolve("page", item.key)
            elif item.kind == "status" and item.error_code == "sync.status_not_applicable":
                self._retry_status(client, int(item.key))
            else:  # a malformed status update is the hub's to correct; a catalog is fetched again
                self.outbox.resolve(item.kind, item.key)
                if item.kind == "catalog":
                    self._next_catalog = 0.0
        return len(items)

    def _retry_status(self, client: HubClient, cursor: int) -> None:
        """Fetch the one parked status update that could not apply again (the status cursor went
        past it) and apply it: a decision that arrived before the one it follows applies once
        that one is here; one that still cannot apply is parked again with the new reason."""
        answer = client.status_updates(cursor - 1, 1)
        found = [u for u in answer["updates"] if isinstance(u, dict) and u.get("cursor") == cursor]
        self.outbox.resolve("status", str(cursor))  # applying parks it again if it still cannot
        if not found:
            log.info("status update %d is no longer on the hub", cursor)
            return
        problem = check_status_update(found[0])
        if problem:
            self._park_status(cursor, "sync.bad_status_update", problem, found[0])
        else:
            self._apply_update(found[0])

    def _upload(self, client: HubClient) -> int:
        cursor = self.outbox.cursor()
        parked = self.outbox.parked_events_after(cursor)
        rows = self.outbox.pending(cursor, self._batch_limit + len(parked))
        if not rows:
            return 0
        todo = [r for r in rows if r.seq not in parked]
        if not todo:  # only parked events ahead: step over them
            self.outbox.commit_batch(cursor=rows[-1].seq, now=self._now())
            return len(rows)
        batch: list[PendingEvent] = []
        page_bytes = 0
        for r in todo[: self._batch_limit]:
            page = r.page
            if page and batch and page_bytes + page[1] > self.config.batch_page_bytes:
                break
            page_bytes += page[1] if page else 0
            batch.append(r)
        # include parked events lying inside the batch, so the cursor can pass them
        last = batch[-1].seq
        return self._send(client, batch, advance=True, upto=last)

    def _send(
        self,
        client: HubClient,
        batch: list[PendingEvent],
        *,
        advance: bool,
        upto: int | None = None,
    ) -> int:
        now = self._now()
        parked: list[Failure] = []
        wire: list[dict[str, Any]] = []
        sent: list[PendingEvent] = []
        for r in batch:
            if in_ranges(r.seq, self._hub_has):
                self._report.events_already_there += 1
                continue
            try:
                wire.append(r.wire())
                sent.append(r)
            except ValueError:
                parked.append(self._failure("event", r.id, "sync.local_event", r))
        bad_pages = self._send_pages(client, sent) if any(r.page for r in sent) else {}
        if bad_pages:
            keep = []
            for r, w in zip(sent, wire, strict=True):
                page = r.page
                if page and page[0] in bad_pages:
                    parked.append(self._failure("event", r.id, bad_pages[page[0]], r))
                else:
                    keep.append((r, w))
            sent, wire = [k[0] for k in keep], [k[1] for k in keep]
        results: list[dict[str, Any]] = []
        if wire:
            try:
                results = client.post_events(self.outbox.store_id(), wire)["results"]
            except SyncError as exc:
                self._suspect(client, exc, sent[0] if len(sent) == 1 else None)
                results = [{"id": sent[0].id, "status": "parked"}]  # _suspect parked the one event
        stop_at: int | None = None  # seq of the first event that must be sent again
        resolved: list[tuple[str, str]] = []
        for r, res in zip(sent, results, strict=True):
            status = res["status"]
            if status == "parked":
                continue
            if status in ("stored", "duplicate"):
                if status == "stored":
                    self._report.events_sent += 1
                else:
                    self._report.events_already_there += 1
                resolved.append(("event", r.id))
                continue
            if status == "refused" and not res.get("retry"):
                code = (
                    "sync.forbidden"
                    if res.get("code") == "submission.forbidden"
                    else (
                        "sync.conflict"
                        if str(res.get("code", "")).endswith("conflict")
                        else "sync.refused"
                    )
                )
                parked.append(
                    self._failure("event", r.id, code, r, hub=str(res.get("message", ""))[:200])
                )
                continue
            # retryable: a page the hub does not hold (yet), or skipped behind it
            if status == "refused":
                item = self.outbox.record_failure(
                    self._failure("event", r.id, "sync.page_corrupt", r),
                    now,
                    self.config.max_failures,
                    None,
                )
                if item.state == "needs_person":
                    self._report.events_parked += 1
                    continue
            stop_at = r.seq
            break
        self._report.events_parked += len(parked)
        new_cursor: int | None
        if advance:
            if stop_at is not None:
                new_cursor = stop_at - 1
            else:
                new_cursor = upto if upto is not None else (batch[-1].seq if batch else None)
        else:
            new_cursor = None
        self.outbox.commit_batch(cursor=new_cursor, parked=parked, resolved=resolved, now=now)
        if stop_at is None:
            self._batch_limit = min(self.config.batch_events, self._batch_limit * 2)
        self._push_ready({r.submission_id for r in batch}, defer=advance)
        if stop_at is not None:
            raise sync_error("sync.interrupted", message="页面尚未全部送达，稍后续传")
        return len(batch)

    def _page_key(self, sha: str) -> str:
        """A page's key in the sync items: its keyed address, never the plain digest (which would
        let a copy of the database confirm the page is here)."""
        try:
            return str(self.attachments.address(sha))
        except ValueError:
            return sha

    def _failure(
        self, kind: str, key: str, code: str, r: PendingEvent | None = None, hub: str = ""
    ) -> Failure:
        if kind == "page":
            key = self._page_key(key)
        message, fix = TEXTS.get(code, TEXTS["sync.refused"])
        if hub:
            message = f"{message}（平台说明：{hub}）"
        return Failure(
            kind, key, code, message, fix, r.submission_id if r else None, r.seq if r else None
        )

    def _suspect(
        self,
        client: HubClient,
        exc: SyncError,
        single: PendingEvent | None,
        page: str | None = None,
    ) -> None:
        """A request failed with a 5xx, garbage or a refusal: the link's fault, or this request's?
        Ask the hub a trivial question; if it answers, shrink the batch and, once down to one item,
        count the failure on that item. Returns only when that item is now parked; raises
        otherwise (the step then backs off)."""
        if (
            exc.code not in ("sync.server_error", "sync.bad_response", "sync.too_large")
            and exc.scope != "item"
        ):
            raise exc
        if exc.code != "sync.too_large" and exc.scope != "item":
            client.ping()  # raises the link's own failure when the hub is down
        if self._batch_limit > 1 and (single is None or exc.code == "sync.too_large"):
            self._batch_limit = max(1, self._batch_limit // 4)
            raise exc
        if single is None and page is None:
            raise exc
        f = (
            self._failure("page", page, "sync.page_corrupt")
            if page
            else self._failure(
                "event", single.id, exc.code if exc.code in TEXTS else "sync.refused", single
            )
        )  # type: ignore[union-attr]
        item = self.outbox.record_failure(
            f,
            self._now(),
            self.config.max_failures,
            None,
            park=exc.scope == "item" and not exc.retry,
        )
        if item.state != "needs_person":
            raise exc
        if single is None:  # a parked page: the events naming it are parked on the next try
            raise exc

    # ------------------------------------------------------------------ pages

    def _send_pages(self, client: HubClient, events: list[PendingEvent]) -> dict[str, str]:
        """Manifest first, then only what the hub lacks. Returns {sha: error code} for pages that
        cannot be sent (missing or damaged here, or parked)."""
        parked = self.outbox.parked_keys("page")  # keyed addresses
        sids = list(dict.fromkeys(r.submission_id for r in events if r.page))
        pages = self.outbox.pages_of(sids)
        for r in events:
            page = r.page
            if page and page not in pages.setdefault(r.submission_id, []):
                pages[r.submission_id].append(page)
        bad: dict[str, str] = {
            sha: "sync.page_corrupt"
            for sid in sids
            for sha, _size in pages[sid]
            if self._page_key(sha) in parked
        }
        manifests = [
            {
                "submission_id": sid,
                "pages": [{"sha256": sha, "size": size} for sha, size in pages[sid]],
            }
            for sid in sids
        ]
        try:
            answer = client.manifests(manifests)
        except SyncError as exc:
            self._suspect(client, exc, None)
            raise
        needed = answer["needed"]
        small: list[tuple[str, int, int, bytes]] = []
        small_bytes = 0
        for n in needed:
            if (
                not isinstance(n, dict)
                or not is_sha256(n.get("sha256"))
                or not isinstance(n.get("offset"), int)
                or not isinstance(n.get("size"), int)
            ):
                raise sync_error("sync.bad_response", message="needed 格式不对")
            sha, size, offset = n["sha256"], n["size"], n["offset"]
            if sha in bad:
                continue
            try:
                data = self.attachments.get(sha)
            except (StoreError, ValueError):
                bad[sha] = "sync.page_missing"
                continue
            if len(data) != size or not 0 <= offset <= size:
                bad[sha] = "sync.page_missing"
                continue
            if size >= self.config.large_page:
                self._put_large(client, sha, data, offset)
                continue
            small.append((sha, offset, size, data[offset:]))
            small_bytes += size - offset
            if small_bytes >= self.config.blob_batch_bytes:
                self._post_small(client, small)
                small, small_bytes = [], 0
        if small:
            self._post_small(client, small)
        return bad

    def _post_small(self, client: HubClient, parts: list[tuple[str, int, int, bytes]]) -> None:
        try:
            results = client.post_blobs(parts)
        except SyncError as exc:
            self._suspect(client, exc, None, page=parts[0][0] if len(parts) == 1 else None)
            raise
        by_sha = {r.get("sha256"): r for r in results if isinstance(r, dict)}
        incomplete = []
        for sha, offset, total, data in parts:
            r = by_sha.get(sha)
            if r is None:
                raise sync_error("sync.bad_response", message="页面应答缺项")
            if r.get("complete"):
                self._report.pages_sent += 1
                self._report.page_bytes_sent += len(data)
            else:
                incomplete.append((sha, r.get("error")))
        for sha, err in incomplete:
            if err == "blob.hash_mismatch":
                item = self.outbox.record_failure(
                    self._failure("page", sha, "sync.page_corrupt"),
                    self._now(),
                    self.config.max_failures,
                    None,
                )
                if item.state == "needs_person":
                    continue
        if incomplete:
            raise sync_error("sync.interrupted", message="部分页面未送达，稍后续传")

    def _put_large(self, client: HubClient, sha: str, data: bytes, offset: int) -> None:
        total = len(data)
        if offset >= total:  # every byte is there, the page only waits to be finished
            r = client.put_blob(sha, total, total, b"")
            if r.get("complete"):
                self._report.pages_sent += 1
            return
        while offset < total:
            chunk = data[offset : offset + self.config.chunk_bytes]
            try:
                r = client.put_blob(sha, total, offset, chunk)
            except SyncError as exc:
                if exc.status == 422:  # the hub found the whole page damaged and dropped it
                    self.outbox.record_failure(
                        self._failure("page", sha, "sync.page_corrupt"),
                        self._now(),
                        self.config.max_failures,
                        None,
                    )
                if exc.status == 409:  # someone else is uploading it, or our offset is stale
                    raise sync_error("sync.interrupted", message="页面续传位置变化") from exc
                raise
            new = r.get("offset")
            if not isinstance(new, int) or (new <= offset and not r.get("complete")):
                raise sync_error("sync.bad_response", message="续传偏移不对")
            self._report.page_bytes_sent += len(chunk)
            offset = new
            if r.get("complete"):
                self._report.pages_sent += 1
                return

    # ------------------------------------------------------------------ audit log and receipt key

    def _push_audit(self, client: HubClient, *, full_only: bool = False) -> bool:
        """Send the next batch of the audit log to the hub's copy; True when more entries wait.
        FULL_ONLY (during a drain): only when a whole batch is waiting."""
        if "audit" in self._unsupported:
            return False
        cursor = self.outbox.get_int("audit_acked_id")
        waiting = self.outbox.audit_max_id() - cursor
        if waiting <= 0 or (full_only and waiting < self._audit_limit):
            return False
        if self.outbox.parked_keys("audit"):
            return False  # the hub refused a link of the chain: a person looks first (retry())
        entries = self.outbox.audit_after(cursor, self._audit_limit)
        if not entries:
            return False
        first, sent = entries[0]["id"], entries[-1]["id"]
        try:
            answer = client.post_audit(self.outbox.store_id(), entries)
        except SyncError as exc:
            self._audit_failed(client, exc, first)
            return False
        last, refused = answer["last_id"], answer.get("refused")
        if refused is None:
            if last < sent:
                raise sync_error("sync.bad_response", message="审计记录应答与所发不符")
            self.outbox.commit_batch(
                cursor=None, resolved=[("audit", str(first))], now=self._now(), audit_acked_id=sent
            )
            self._report.audit_sent += len(entries)
            self._audit_limit = min(self.config.batch_audit, self._audit_limit * 2)
            if self.audit_anchor is not None:  # the hub holds a copy up to here: sign the head
                self.audit_anchor.checkpoint("sync_ack")
            return self.outbox.audit_max_id() > sent
        bad = refused["entry_id"]
        said = str(refused["message"])[:200]
        if refused["code"] == "audit.gap":
            if last < cursor:  # the hub's copy ends before what we took as acknowledged (a new hub)
                log.info("hub's audit copy ends at %d: sending again from there", last)
                self.outbox.set(audit_acked_id=last)
                return True
            said = (
                f"第{bad}条审计记录与前一条不衔接（其前的记录在本机被删除）"  # we sent all we have
            )
        # The hub kept every entry before the refused one; the rest wait for a person.
        keep = max(cursor, min(last, bad - 1))
        failure = self._failure("audit", str(bad), "sync.audit_refused", hub=said)
        self.outbox.commit_batch(
            cursor=None, parked=[failure], now=self._now(), audit_acked_id=keep
        )
        self._report.audit_sent += max(0, keep - cursor)
        log.warning("audit entry %d refused by the hub: %s", bad, refused["code"])
        return False

    def _audit_failed(self, client: HubClient, exc: SyncError, first: int) -> None:
        """A failed audit request: the link's fault raises (the step backs off); a refusal of the
        batch parks it, so the events keep going."""
        if exc.status == 404:  # an older hub without POST /v1/audit
            log.info("the hub keeps no audit copy")
            self._unsupported.add("audit")
            return
        if exc.code == "sync.too_large" and self._audit_limit > 1:
            self._audit_limit = max(1, self._audit_limit // 4)
            raise exc
        if exc.scope == "item":
            failure = self._failure("audit", str(first), "sync.audit_refused", hub=_hub_said(exc))
            self.outbox.record_failure(failure, self._now(), 1, None, park=True)
            log.warning(
                "audit batch from %d refused by the hub: %s",
                first,
                exc.details.get("hub_code", exc.code),
            )
            return
        if exc.code in ("sync.server_error", "sync.bad_response"):
            client.ping()  # raises the link's own failure when the hub is down
            item = self.outbox.record_failure(
                self._failure("audit", str(first), exc.code),
                self._now(),
                self.config.max_failures,
                None,
            )
            if item.state == "needs_person":
                return
        raise exc

    def _send_receipt_key(self, client: HubClient) -> None:
        """Enroll the receipt-signing public key with the hub when it lacks it: the keyring was
        not there at enrollment, or the key changed (the hub keeps every key a station had)."""
        signer = self.signer
        if signer is None or self._key_done == signer.key_id or "receipt_key" in self._unsupported:
            return
        if self.outbox.get(
            "receipt_key_id"
        ) == signer.key_id or signer.key_id in self.outbox.parked_keys("receipt_key"):
            self._key_done = signer.key_id
            return
        try:
            client.post_receipt_key(signer.key_id, signer.public_key_text())
        except SyncError as exc:
            if exc.status == 404:
                self._unsupported.add("receipt_key")
                return
            if exc.scope != "item":
                raise
            failure = self._failure(
                "receipt_key", signer.key_id, "sync.receipt_key_refused", hub=_hub_said(exc)
            )
            self.outbox.record_failure(failure, self._now(), 1, None, park=True)
            self._key_done = signer.key_id
            log.warning("receipt key %s refused by the hub", signer.key_id)
            return
        self.outbox.commit_batch(
            cursor=None,
            resolved=[("receipt_key", signer.key_id)],
            now=self._now(),
            receipt_key_id=signer.key_id,
        )
        self._key_done = signer.key_id
        log.info("receipt key %s enrolled with the hub", signer.key_id)

    # ------------------------------------------------------------------ pushed, status, catalog

    def _push_ready(self, sids: set[str] | None, *, defer: bool = False) -> None:
        """Mark pushed every digitised intake whose events (and so pages) the hub holds in full
        (DEFER: in the next step, overlapped with its requests)."""
        cursor = self.outbox.cursor()
        with self.sessions() as s:
            stmt = select(Submission.id, Submission.number).where(
                Submission.state == "digitised",
                Submission.pushed_at.is_(None),
                ~exists().where(
                    and_(Event.submission_id == Submission.id, Event.station_seq > cursor)
                ),
                ~exists().where(
                    and_(
                        SyncItem.submission_id == Submission.id,
                        SyncItem.kind == "event",
                        SyncItem.state.in_(("needs_person", "failing", "retry")),
                    )
                ),
            )
            if sids is not None:
                if not sids:
                    return
                stmt = stmt.where(Submission.id.in_(list(sids)))
            ready = [(sid, number) for sid, number in s.execute(stmt)]
        if defer:
            if not self._to_mark:
                self._mark_due = time.monotonic() + self.config.mark_every
            self._to_mark.extend(ready)
        else:
            self._mark(ready)

    def _mark_now(self) -> None:
        marks, self._to_mark = self._to_mark, []
        self._mark(marks)

    def _mark(self, ready: list[tuple[str, str | None]]) -> None:
        if not ready:
            return
        try:
            # One transaction for the lot; an intake changed meanwhile (withdrawn, already
            # marked) is skipped by the service.
            marked = set(self.intake.mark_pushed_many([sid for sid, _ in ready]))
            self._report.pushed.extend(number or sid for sid, number in ready if sid in marked)
        except StoreError as exc:  # the next sweep tries again
            log.warning("marking pushed failed: %s", exc.code)
            return
        log.info("%d intakes pushed", len(ready))

    def _pull_status(self, client: HubClient) -> bool:
        self._next_status = time.monotonic() + self.config.status_interval
        cursor = self.outbox.get_int("status_cursor")
        answer = client.status_updates(cursor, 200)
        updates = answer["updates"]
        for u in updates:
            c = u.get("cursor") if isinstance(u, dict) else None
            if not isinstance(c, int) or isinstance(c, bool) or c <= cursor:
                raise sync_error("sync.bad_response", message="办理结果游标不对")
            problem = check_status_update(u)
            if problem:
                self._park_status(c, "sync.bad_status_update", problem, u)
            else:
                self._apply_update(u)
            cursor = c
            self.outbox.set(status_cursor=cursor)
        back = answer.get("next_cursor")
        if (
            not updates
            and isinstance(back, int)
            and not isinstance(back, bool)
            and 0 <= back < cursor
        ):
            # The hub's feed ends before our cursor: it was restored from a backup. Read on from
            # its end, or the decisions it records next would fall below our cursor, unseen.
            log.warning(
                "hub's status feed ends at %d, before ours (%d): reading on from there",
                back,
                cursor,
            )
            self.outbox.set(status_cursor=back)
        return bool(answer.get("more")) and bool(updates)

    def _park_status(self, cursor: int, code: str, why: str, u: Any) -> None:
        message, fix = TEXTS[code]
        sid = (
            u.get("submission_id")
            if isinstance(u, dict) and isinstance(u.get("submission_id"), str)
            else None
        )
        self.outbox.record_failure(
            Failure(
                "status", str(cursor), code, f"{message}（{why}）", fix, sid[:36] if sid else None
            ),
            self._now(),
            1,
            None,
            park=True,
        )
        self._report.decisions_refused += 1
        log.warning("status update %d refused: %s", cursor, code)

    def _apply_update(self, u: dict[str, Any]) -> None:
        sid, item_id, decision, reason = (
            u["submission_id"],
            u["item_id"],
            u["decision"],
            u.get("reason", ""),
        )
        with self.sessions() as s:
            sub = s.get(Submission, sid)
            row = s.get(SubmissionItem, (sid, item_id))
            state = (sub.state, sub.pushed_at) if sub else None
            current = row.decision if row else None
        if state is None:
            self._park_status(u["cursor"], "sync.status_not_applicable", "本机没有该受理记录", u)
            return
        if current == decision or _RANK[current] >= 2 or (_RANK[current] > _RANK.get(decision, 0)):
            return  # already recorded (a replay after a crash)
        try:
            if state[1] is None and state[0] in ("received", "digitised"):
                self.intake.mark_pushed(sid)  # the hub holds it: a decision proves it
            self.intake.record_decision(None, sid, item_id, decision, reason)
        except DomainError as exc:
            self._park_status(u["cursor"], "sync.status_not_applicable", exc.message, u)
            return
        self._report.decisions_applied += 1

    def _pull_catalog(self, client: HubClient) -> None:
        self._next_catalog = time.monotonic() + self.config.catalog_interval
        refused = self.outbox.get("catalog_refused")
        got = client.catalog([self.catalogs.current.digest, refused or ""])
        if got is None:
            return
        digest, version, body = got
        actual = hashlib.sha256(body).hexdigest()
        if actual != digest:
            self._refuse_catalog(actual, f"内容校验不符（版本 {version[:32]}）")
            return
        try:
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "catalog.json"
                path.write_bytes(body)
                packed = read_packed(path)
            new = self.catalogs.replace(packed)
        except CatalogError as exc:
            if exc.code == "catalog.older":
                self.outbox.set(catalog_refused=digest)
                return
            self._refuse_catalog(digest, exc.message)
            return
        except Exception as exc:  # a catalog that passed the schema yet breaks the builder
            self._refuse_catalog(digest, exc.__class__.__name__)
            return
        self.outbox.set(catalog_digest=new.digest, catalog_refused=None)
        self._report.catalog_installed = new.version
        log.info("catalog %s installed from the hub", new.version)

    def _refuse_catalog(self, digest: str, why: str) -> None:
        message, fix = TEXTS["sync.bad_catalog"]
        self.outbox.set(catalog_refused=digest)
        self.outbox.record_failure(
            Failure("catalog", digest, "sync.bad_catalog", f"{message}（{why[:200]}）", fix),
            self._now(),
            1,
            None,
            park=True,
        )
        log.warning("catalog %s refused", digest[:12])

    # ------------------------------------------------------------------ what the window shows

    def _next_attempt(self) -> dt.datetime | None:
        if self._retry_at is None:
            return None
        return self._now() + dt.timedelta(seconds=max(0.0, self._retry_at - time.monotonic()))

    def status(self) -> SyncStatus:
        now = self._now()
        cursor = self.outbox.cursor()
        events, subs, oldest = self.outbox.waiting(cursor)
        needs = self.outbox.count_needs_person()
        problem = self._problem
        enrolled = self.outbox.get("hub_url") is not None
        if not enrolled:
            state = "not_enrolled"
            problem = problem or sync_error("sync.not_enrolled", retry=False)
        elif problem is None:
            state = "online" if self._last_success else "unknown"
        elif problem.code in OFFLINE_CODES:
            state = "offline"
        elif problem.code == "sync.not_enrolled":
            state = "not_enrolled"
        else:
            state = "error"
        return SyncStatus(
            state=state,  # type: ignore[arg-type]
            waiting=subs,
            waiting_events=events,
            oldest_waiting_at=oldest,
            oldest_waiting_seconds=(now - oldest).total_seconds() if oldest else None,
            needs_person=needs,
            last_success_at=self._last_success,
            next_attempt_at=self._next_attempt(),
            problem=Problem(problem.code, problem.message, problem.fix) if problem else None,
            station_code=self.outbox.get("station_code"),
            hub_url=self.outbox.get("hub_url"),
        )

    def needs_person(self) -> bool:
        p = self._problem
        return (
            self.outbox.count_needs_person() > 0
            or (p is not None and p.code in PERSON_CODES)
            or self.outbox.get("hub_url") is None
        )

    def queue(self, limit: int = 500) -> list[QueueItem]:
        """Submissions waiting (oldest first), then items that failed or wait for a person."""
        cursor = self.outbox.cursor()
        problem = self._problem
        out: list[QueueItem] = []
        with self.sessions() as s:
            rows = s.execute(
                select(Event.submission_id, Event.type, Event.at, Event.station_seq)
                .where(Event.station_seq > cursor)
                .order_by(Event.station_seq)
            ).all()
            groups: dict[str, list[Any]] = {}
            for r in rows:
                groups.setdefault(r.submission_id, []).append(r)
            numbers = dict(
                s.execute(
                    select(Submission.id, Submission.number).where(
                        Submission.id.in_(list(groups)[:limit])
                    )
                ).all()
            )
        for n, (sid, evs) in enumerate(list(groups.items())[:limit]):
            head = n == 0 and problem is not None
            out.append(
                QueueItem(
                    id=f"sub:{sid}",
                    kind="submission",
                    state="retrying" if head else "waiting",
                    submission_id=sid,
                    number=numbers.get(sid),
                    events=len(evs),
                    pages=sum(1 for e in evs if e.type == "page_attached"),
                    attempts=self._link_failures if head else 0,
                    since=evs[0].at,
                    last_error=Problem(problem.code, problem.message, problem.fix)
                    if head and problem
                    else None,
                    next_retry_at=self._next_attempt() if head else None,
                )
            )
        for item in self.outbox.items(states=("failing", "needs_person", "retry")):
            out.append(
                QueueItem(
                    id=f"item:{item.id}",
                    kind=item.kind,
                    state=item.state,  # type: ignore[arg-type]
                    submission_id=item.submission_id,
                    number=numbers.get(item.submission_id or "")
                    or self._number(item.submission_id),
                    events=1 if item.kind == "event" else 0,
                    pages=1 if item.kind == "page" else 0,
                    attempts=item.attempts,
                    since=item.first_failed_at,
                    last_error=Problem(item.error_code, item.error_message, item.fix),
                    next_retry_at=item.next_retry_at,
                    detail={"key": item.key, "seq": item.station_seq},
                )
            )
        return out

    def _number(self, sid: str | None) -> str | None:
        if not sid:
            return None
        with self.sessions() as s:
            return s.scalar(select(Submission.number).where(Submission.id == sid))

    def wake(self) -> None:
        """A person pressed "sync now": forget the link's backoff (and the status interval) so
        the next step tries the hub at once."""
        with self._lock:
            self._retry_at = None
            self._next_status = 0.0

    def retry(self, item_id: str | None = None) -> int:
        """A person asks to try a parked item again ("item:<n>"), or all of them (None)."""
        n = self.outbox.request_retry(int(item_id.split(":", 1)[1]) if item_id else None)
        with self._lock:
            self._retry_at = None
            self._key_done = None
        return n

    # ------------------------------------------------------------------ USB export

    def _page_or_none(self, sha: str) -> bytes | None:
        try:
            return self.attachments.get(sha)
        except (StoreError, ValueError):
            return None

    def export(self, path: Path | str) -> ExportSummary:
        """Everything the hub has not acknowledged, with its pages, as one signed file."""
        token = self._token()
        token_id = self.outbox.get("token_id")
        if not token or not token_id:
            raise sync_error("sync.not_enrolled", retry=False)
        cursor = self.outbox.cursor()
        rows: list[PendingEvent] = []
        while True:
            chunk = self.outbox.pending(rows[-1].seq if rows else cursor, 5000)
            if not chunk:
                break
            rows.extend(chunk)
        parked = [
            i.key
            for i in self.outbox.items(kind="event", states=("needs_person", "failing", "retry"))
        ]
        extra = [e for e in self.outbox.events_by_id(parked) if e.seq <= cursor]
        events = sorted(extra + rows, key=lambda e: e.seq)
        wire = []
        for e in events:
            try:
                wire.append(e.wire())
            except ValueError:
                continue
        sids = list(dict.fromkeys(e.submission_id for e in events if e.page))
        pages = self.outbox.pages_of(sids)
        for e in events:
            if e.page and e.page not in pages.setdefault(e.submission_id, []):
                pages[e.submission_id].append(e.page)
        manifests = [
            {"submission_id": sid, "pages": [{"sha256": h, "size": n} for h, n in pages[sid]]}
            for sid in sids
        ]
        # The audit log's unacknowledged tail goes too: the hub's copy must not depend on a link.
        audit: list[dict[str, Any]] = []
        while chunk_audit := self.outbox.audit_after(
            audit[-1]["id"] if audit else self.outbox.get_int("audit_acked_id"), 5000
        ):
            audit.extend(chunk_audit)
        summary = write_export(
            path,
            token=token,
            token_id=token_id,
            station_code=self.outbox.get("station_code") or "",
            store_id=self.outbox.store_id(),
            events=wire,
            manifests=manifests,
            page=self._page_or_none,
            created_at=self._now(),
            audit=audit,
        )
        log.info(
            "export %s written: %d events, %d pages",
            summary.export_id,
            summary.events,
            summary.pages,
        )
        return summary


def _hub_said(exc: SyncError) -> str:
    """The hub's own words of a refusal (without our generic reason around them)."""
    return str(exc.details.get("hub_message") or exc.details.get("hub_code") or exc.code)[:200]
