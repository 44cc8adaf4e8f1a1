"""The sync engine: drains the outbox to the hub and brings status updates and catalogs back.

A plain object, never run on the GUI thread: the window's task runner calls `step()` on its
network pool (one small unit of work, never sleeps; the result says when to call again), the
command line calls `run_until_idle()`. This module is the loop and its backoff; each job is a
module of sync/jobs/ with a small class the loop drives:

- `events` (with `pages`): pages before the events that name them (manifest first, so only missing
  pages or missing tails of pages travel), events in station order in batches;
- `marks`: intakes the hub holds in full are marked pushed;
- `status_pull`, `catalog_pull`: department decisions and the catalog, when the queue is empty
  (and now and then during a long drain); `notices_pull` with the decisions: the notices the hub
  sent the applicants (短信告知), their status and time;
- `audit_push`: after the events, the next batch of the station's hash-chained audit log to the
  hub's copy (during a long drain only full batches); `receipt_key`: the receipt-signing public
  key, if the hub does not have it yet;
- `usb_export`: everything unacknowledged as one signed file.
The link (settings, token, enrollment, client) is sync/link.py; what the window shows,
sync/backlog.py.

Failures are of two scopes (sync.errors): a link failure (offline, hub down, 429/5xx, garbage
answers, revoked token) makes everything wait with exponential backoff and jitter, honouring
Retry-After, and blames no item; an item failure is counted on that item, and after
`max_failures` of the same kind the item is parked for a person and the queue moves on.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.catalog_load import CatalogProvider
from app.clock import Clock, SystemClock
from app.intake import IntakeService
from app.version import __version__
from local_db.attachments import AttachmentStore
from sync import backlog
from sync.client import HubClient, TransportConfig
from sync.errors import SyncError, sync_error
from sync.export import ExportSummary
from sync.jobs.audit_push import AuditPush
from sync.jobs.catalog_pull import CatalogPull
from sync.jobs.events import EventPush
from sync.jobs.marks import PushedMarks
from sync.jobs.notices_pull import NoticePull
from sync.jobs.online import OnlinePull
from sync.jobs.receipt_key import ReceiptKey, ReceiptKeyPush
from sync.jobs.shared import DrainReport, SyncConfig, Work
from sync.jobs.status_pull import StatusPull
from sync.jobs.usb_export import export_pending
from sync.keystore import KeyringTokenStore, TokenStore
from sync.link import HubLink
from sync.outbox import Outbox
from sync.status import QueueItem, SyncStatus

REPORT_INTERVAL = 30.0  # seconds between refreshes of the station's report to the hub
log = logging.getLogger("intake.sync")


@dataclass(frozen=True)
class StepResult:
    kind: str  # uploaded | pulled | idle | waiting | failed | not_enrolled
    more: bool  # call again soon
    wait: float | None = None  # seconds until a retry is due


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
        audit_anchor: Any = None,  # app.audit_anchor.AuditAnchor: signs the head the hub acked
    ) -> None:
        self.sessions = sessions
        self.intake = intake
        self.catalogs = catalogs
        self.attachments = attachments
        self.tokens: TokenStore = tokens or KeyringTokenStore()
        self.config = config or SyncConfig()
        self.clock = clock or SystemClock()
        self.outbox = Outbox(sessions)
        self.link = HubLink(sessions, self.outbox, self.tokens, self.config, client_factory)
        self.work = Work(self.outbox, attachments, self.config, self.clock)
        self.marks = PushedMarks(self.work, sessions, intake)
        self.events = EventPush(self.work, self.marks)
        self.status_pull = StatusPull(self.work, sessions, intake)
        self.notice_pull = NoticePull(self.work, sessions)
        self.catalog_pull = CatalogPull(self.work, catalogs, catalog_archive)
        self.audit = AuditPush(self.work, audit_anchor)
        self.receipt_key = ReceiptKeyPush(self.work, signer)
        self.online = OnlinePull(self.work, sessions)  # the online channel's queue and answers
        self._rng = rng or random.Random()
        self._lock = threading.RLock()
        self._link_failures = 0
        self._retry_at: float | None = None  # time.monotonic() when the link may be tried again
        self._problem: SyncError | None = None
        self._last_success: dt.datetime | None = None
        self._next_report = 0.0
        self.catalog_pull.restore()

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

    @property
    def signer(self) -> ReceiptKey | None:
        """The receipt signer (None without a keyring: its key goes to the hub once there)."""
        return self.receipt_key.signer

    # ------------------------------------------------------------------ enrollment and settings

    def transport_config(self) -> TransportConfig | None:
        return self.link.transport_config()

    def configure(
        self, *, ca_bundle: str | bool | None = False, proxy: str | bool | None = False
    ) -> None:
        """Change the CA bundle or proxy (None clears; False leaves as is)."""
        with self._lock:
            self.link.configure(ca_bundle=ca_bundle, proxy=proxy)

    def enroll(
        self, url: str, code: str, *, ca_bundle: str | None = None, proxy: str | None = None
    ) -> dict[str, Any]:
        """Exchange the administrator's one-time code for this station's token (kept in the OS
        keyring, never in a file). Returns what was stored, without the token."""
        out = self.link.enroll(url, code, self.signer, ca_bundle=ca_bundle, proxy=proxy)
        with self._lock:  # a new hub, perhaps: nothing known of it is kept
            self.link.drop_client()
            self._problem, self._retry_at, self._link_failures = None, None, 0
            self.events.reconciled = False
            self.events.combined = True  # a new hub, perhaps: ask it for POST /v1/intakes again
            self.receipt_key.reset()
            self.audit.supported = True
        return out

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
        self.catalog_pull.restore()

    # ------------------------------------------------------------------ the loop

    def step(self) -> StepResult:
        with self._lock:
            self.work.report.steps += 1
            try:
                client = self.link.client()
            except SyncError as exc:  # keyring unavailable
                self._problem = exc
                return StepResult("not_enrolled", False)
            if client is None:
                self._problem = sync_error("sync.not_enrolled", retry=False)
                return StepResult("not_enrolled", False)
            self.marks.flush_if_due()
            if time.monotonic() >= self._next_report:
                self._report_station(client)
            if self._retry_at is not None and time.monotonic() < self._retry_at:
                return StepResult("waiting", True, self._retry_at - time.monotonic())
            try:
                if not self.events.reconciled:
                    self.events.reconcile(client)
                done = self._retry_requested(client) or self.events.upload(client)
                if done:
                    self._drain_extras(client)
                    self._succeeded()
                    return StepResult("uploaded", True, 0)
                self.marks.flush()
                more = self._pull(client)
                self._succeeded()
                return StepResult("pulled" if more else "idle", more, 0 if more else None)
            except SyncError as exc:
                return self._failed(exc)

    def _drain_extras(self, client: HubClient) -> None:
        """During a drain: decisions now and then, full audit batches. Acknowledged intakes are
        marked every `mark_every` seconds (sync.jobs.marks), not after each batch."""
        if time.monotonic() >= self.status_pull.due:
            self.status_pull.pull(client)
        self.audit.push(client, full_only=True)

    def _pull(self, client: HubClient) -> bool:
        """The queue is empty: decisions, the catalog, the receipt key, the audit log's tail.
        True when more is waiting."""
        mono = time.monotonic()
        more = False
        if mono >= self.status_pull.due:
            more = self.status_pull.pull(client)
            more = self.notice_pull.pull(client) or more  # 短信告知 sent for them, with them
        if mono >= self.catalog_pull.due:
            self.catalog_pull.pull(client)
        self.receipt_key.send(client)
        if mono >= self.online.due:
            self.online.pull(client)
        more = self.audit.push(client) or more  # after the pulls: decisions are audited too
        return more or self.outbox.max_seq() > self.outbox.cursor()  # decisions just recorded

    def _retry_requested(self, client: HubClient) -> int:
        """Items a person asked to try again (out of order: they were parked)."""
        items = self.outbox.items(states=("retry",))
        for item in items:
            if item.kind == "event":
                self.events.retry(client, item.key)
            elif item.kind == "page":
                self.outbox.resolve("page", item.key)
            elif item.kind == "status" and item.error_code == "sync.status_not_applicable":
                self.status_pull.retry(client, int(item.key))
            else:  # a malformed status update is the hub's to correct; a catalog is fetched again
                self.outbox.resolve(item.kind, item.key)
                if item.kind == "catalog":
                    self.catalog_pull.due = 0.0
        return len(items)

    def run_until_idle(
        self,
        *,
        max_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: Callable[[], bool] | None = None,
    ) -> DrainReport:
        """Work until nothing is left that the link allows (the command line, tests)."""
        start = time.monotonic()
        self.work.report = DrainReport()
        self.status_pull.due = self.catalog_pull.due = self.online.due = 0.0
        while True:
            r = self.step()
            if r.kind == "not_enrolled" or (not r.more and r.kind in ("idle", "pulled")):
                break
            if self._problem is not None and self._problem.code in backlog.PERSON_CODES:
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
        report = self.work.report
        report.status = self.status().to_json()
        return report

    # ------------------------------------------------------------------ outcomes and backoff

    def _succeeded(self) -> None:
        if self._problem is not None or self._last_success is None:
            log.info("sync link up")
        self._problem = None
        self._link_failures = 0
        self._retry_at = None
        self._last_success = self.clock.now()

    def _backoff(self, exc: SyncError) -> float:
        cfg = self.config
        if exc.code in backlog.PERSON_CODES:
            delay = cfg.person_backoff
        else:
            ceiling = min(
                cfg.backoff_cap, cfg.backoff_base * (2 ** min(self._link_failures - 1, 30))
            )
            # "equal jitter": never hammer, never idle long
            delay = self._rng.uniform(ceiling / 2, ceiling)
        if exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, cfg.retry_after_cap))
        return delay

    def _failed(self, exc: SyncError) -> StepResult:
        self.marks.flush()  # what the hub acknowledged before the failure is pushed all the same
        self._link_failures += 1
        delay = self._backoff(exc)
        if self._problem is None or self._problem.code != exc.code:
            log.warning("sync paused: %s (retry in %.0fs)", exc.code, delay)
        self._problem = exc
        self.work.report.failures.append(exc.code)
        self._retry_at = time.monotonic() + delay
        self.events.link_failed()
        return StepResult("failed", True, delay)

    # ------------------------------------------------------------------ what the window shows

    def _link_view(self) -> backlog.LinkView:
        next_attempt = None
        if self._retry_at is not None:
            wait = max(0.0, self._retry_at - time.monotonic())
            next_attempt = self.clock.now() + dt.timedelta(seconds=wait)
        return backlog.LinkView(
            self._problem, self._last_success, next_attempt, self._link_failures
        )

    def status(self) -> SyncStatus:
        return backlog.link_status(self.outbox, self._link_view(), self.clock.now())

    def needs_person(self) -> bool:
        return backlog.needs_person(self.outbox, self._problem)

    def queue(self, limit: int = 500) -> list[QueueItem]:
        """Submissions waiting (oldest first), then items that failed or wait for a person."""
        return backlog.backlog(self.outbox, self.sessions, self._link_view(), limit)

    def wake(self) -> None:
        """A person pressed "sync now": forget the link's backoff (and the status interval) so
        the next step tries the hub at once."""
        with self._lock:
            self._retry_at = None
            self.status_pull.due = self.online.due = 0.0

    def retry(self, item_id: str | None = None) -> int:
        """A person asks to try a parked item again ("item:<n>"), or all of them (None)."""
        n = self.outbox.request_retry(int(item_id.split(":", 1)[1]) if item_id else None)
        with self._lock:
            self._retry_at = None
            self.receipt_key.done = None
        return n

    # ------------------------------------------------------------------ USB export

    def export(self, path: Path | str) -> ExportSummary:
        """Everything the hub has not acknowledged, with its pages, as one signed file."""
        token = self.link.token()
        token_id = self.outbox.get("token_id")
        if not token or not token_id:
            raise sync_error("sync.not_enrolled", retry=False)
        return export_pending(self.work, path, token=token, token_id=token_id)
