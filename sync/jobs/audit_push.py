"""The station's hash-chained audit log to the hub's copy (POST /v1/audit), the whole chain from
its first entry, in batches; during a long drain only full batches, so the drain pays one request
per few hundred entries. A link of the chain the hub refuses is parked for a person; the entries
before it stay acknowledged."""

from __future__ import annotations

import logging
from typing import Any

from sync.client import HubClient
from sync.errors import SyncError, sync_error
from sync.jobs.shared import Work, hub_said

log = logging.getLogger("intake.sync")


class AuditPush:
    def __init__(self, work: Work, anchor: Any = None) -> None:
        self.work = work
        self.anchor = anchor  # app.audit_anchor.AuditAnchor: signs the head the hub acknowledged
        self.limit = work.config.batch_audit
        self.supported = True  # False: an older hub without POST /v1/audit (not asked again)

    def push(self, client: HubClient, *, full_only: bool = False) -> bool:
        """Send the next batch of the audit log to the hub's copy; True when more entries wait.
        FULL_ONLY (during a drain): only when a whole batch is waiting."""
        outbox = self.work.outbox
        if not self.supported:
            return False
        cursor = outbox.get_int("audit_acked_id")
        waiting = outbox.audit_max_id() - cursor
        if waiting <= 0 or (full_only and waiting < self.limit):
            return False
        if outbox.parked_keys("audit"):
            return False  # the hub refused a link of the chain: a person looks first (retry())
        entries = outbox.audit_after(cursor, self.limit)
        if not entries:
            return False
        first, sent = entries[0]["id"], entries[-1]["id"]
        try:
            answer = client.post_audit(outbox.store_id(), entries)
        except SyncError as exc:
            self._failed(client, exc, first)
            return False
        last, refused = answer["last_id"], answer.get("refused")
        if refused is None:
            if last < sent:
                raise sync_error("sync.bad_response", variant=14)
            outbox.commit_batch(
                cursor=None,
                resolved=[("audit", str(first))],
                now=self.work.now(),
                audit_acked_id=sent,
            )
            self.work.report.audit_sent += len(entries)
            self.limit = min(self.work.config.batch_audit, self.limit * 2)
            if self.anchor is not None:  # the hub holds a copy up to here: sign the head
                self.anchor.checkpoint("sync_ack")
            return bool(outbox.audit_max_id() > sent)
        return self._refused(refused, cursor, last)

    def _refused(self, refused: dict[str, Any], cursor: int, last: int) -> bool:
        """The hub kept every entry before the refused one; the rest wait for a person (or, when
        the hub's copy ends before what we took as acknowledged, go again from there)."""
        bad = refused["entry_id"]
        said = str(refused["message"])[:200]
        if refused["code"] == "audit.gap":
            if last < cursor:  # the hub's copy ends before what we took as acknowledged (a new hub)
                log.info("hub's audit copy ends at %d: sending again from there", last)
                self.work.outbox.set(audit_acked_id=last)
                return True
            said = (
                f"第{bad}条审计记录与前一条不衔接（其前的记录在本机被删除）"  # we sent all we have
            )
        keep = max(cursor, min(last, bad - 1))
        failure = self.work.failure("audit", str(bad), "sync.audit_refused", hub=said)
        self.work.outbox.commit_batch(
            cursor=None, parked=[failure], now=self.work.now(), audit_acked_id=keep
        )
        self.work.report.audit_sent += max(0, keep - cursor)
        log.warning("audit entry %d refused by the hub: %s", bad, refused["code"])
        return False

    def _failed(self, client: HubClient, exc: SyncError, first: int) -> None:
        """A failed audit request: the link's fault raises (the step backs off); a refusal of the
        batch parks it, so the events keep going."""
        work = self.work
        if exc.status == 404:  # an older hub without POST /v1/audit
            log.info("the hub keeps no audit copy")
            self.supported = False
            return
        if exc.code == "sync.too_large" and self.limit > 1:
            self.limit = max(1, self.limit // 4)
            raise exc
        if exc.scope == "item":
            failure = work.failure("audit", str(first), "sync.audit_refused", hub=hub_said(exc))
            work.outbox.record_failure(failure, work.now(), 1, None, park=True)
            log.warning(
                "audit batch from %d refused by the hub: %s",
                first,
                exc.details.get("hub_code", exc.code),
            )
            return
        if exc.code in ("sync.server_error", "sync.bad_response"):
            client.ping()  # raises the link's own failure when the hub is down
            item = work.outbox.record_failure(
                work.failure("audit", str(first), exc.code),
                work.now(),
                work.config.max_failures,
                None,
            )
            if item.state == "needs_person":
                return
        raise exc
