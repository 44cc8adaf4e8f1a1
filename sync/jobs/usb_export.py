"""The USB export's content: everything the hub has not acknowledged (events above the cursor and
parked ones, the pages they name, the audit log's unacknowledged tail), written as one signed file
by sync.export."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from local_db.errors import StoreError
from sync.export import ExportSummary, write_export
from sync.jobs.shared import Work
from sync.outbox import PendingEvent

log = logging.getLogger("intake.sync")


def export_pending(work: Work, path: Path | str, *, token: str, token_id: str) -> ExportSummary:
    outbox = work.outbox
    events = _pending_events(work)
    wire = []
    for e in events:
        try:
            wire.append(e.wire())
        except ValueError:
            continue
    sids = list(dict.fromkeys(e.submission_id for e in events if e.page))
    pages = outbox.pages_of(sids)
    for e in events:
        if e.page and e.page not in pages.setdefault(e.submission_id, []):
            pages[e.submission_id].append(e.page)
    manifests = [
        {"submission_id": sid, "pages": [{"sha256": h, "size": n} for h, n in pages[sid]]}
        for sid in sids
    ]
    # The audit log's unacknowledged tail goes too: the hub's copy must not depend on a link.
    audit: list[dict[str, Any]] = []
    while chunk_audit := outbox.audit_after(
        audit[-1]["id"] if audit else outbox.get_int("audit_acked_id"), 5000
    ):
        audit.extend(chunk_audit)

    def page_or_none(sha: str) -> bytes | None:
        try:
            return work.attachments.get(sha)
        except (StoreError, ValueError):
            return None

    summary = write_export(
        path,
        token=token,
        token_id=token_id,
        station_code=outbox.get("station_code") or "",
        store_id=outbox.store_id(),
        events=wire,
        manifests=manifests,
        page=page_or_none,
        created_at=work.now(),
        audit=audit,
    )
    log.info(
        "export %s written: %d events, %d pages", summary.export_id, summary.events, summary.pages
    )
    return summary


def _pending_events(work: Work) -> list[PendingEvent]:
    """Events above the cursor and the parked ones below it, in station order."""
    outbox = work.outbox
    cursor = outbox.cursor()
    rows: list[PendingEvent] = []
    while True:
        chunk = outbox.pending(rows[-1].seq if rows else cursor, 5000)
        if not chunk:
            break
        rows.extend(chunk)
    parked = [
        i.key for i in outbox.items(kind="event", states=("needs_person", "failing", "retry"))
    ]
    extra = [e for e in outbox.events_by_id(parked) if e.seq <= cursor]
    return sorted(extra + rows, key=lambda e: e.seq)
