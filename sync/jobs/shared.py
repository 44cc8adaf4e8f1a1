"""What every job of the sync engine shares: the tunables, the drain report, the outbox and the
way an item's failure is written down."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from app.clock import Clock
from local_db import messages
from local_db.attachments import AttachmentStore
from sync.errors import SyncError
from sync.outbox import Failure, Outbox, PendingEvent


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


@dataclass
class Work:
    """The jobs' common ground: one per engine. REPORT is replaced at each drain."""

    outbox: Outbox
    attachments: AttachmentStore
    config: SyncConfig
    clock: Clock
    report: DrainReport = field(default_factory=DrainReport)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def page_key(self, sha: str) -> str:
        """A page's key in the sync items: its keyed address, never the plain digest (which would
        let a copy of the database confirm the page is here)."""
        try:
            return str(self.attachments.address(sha))
        except ValueError:
            return sha

    def failure(
        self, kind: str, key: str, code: str, r: PendingEvent | None = None, hub: str = ""
    ) -> Failure:
        """An item's failure as the outbox records it, with the Chinese reason and fix of CODE
        (and the hub's own words, when it gave some)."""
        if kind == "page":
            key = self.page_key(key)
        if code not in messages.FIXES:  # not a sync code: the generic refusal
            code = "sync.refused"
        message, fix = messages.render(code), messages.fix(code)
        if hub:
            message = f"{message}（平台说明：{hub}）"
        return Failure(
            kind, key, code, message, fix, r.submission_id if r else None, r.seq if r else None
        )


def hub_said(exc: SyncError) -> str:
    """The hub's own words of a refusal (without our generic reason around them)."""
    return str(exc.details.get("hub_message") or exc.details.get("hub_code") or exc.code)[:200]
