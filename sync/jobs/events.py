"""Events in station order, in batches: learn what the hub already holds, send the pages a batch
names (sync.jobs.pages), post the events, then move the outbox cursor and record what was parked
in one local transaction. The batch halves its way down to one event when a request fails for
reasons of its own, so one bad item is parked and the queue moves on. A batch's first attempt
goes in one POST /v1/intakes when its pages fit; its retries take the classic path."""

from __future__ import annotations

import logging
from typing import Any

from local_db import messages
from sync.client import HubClient
from sync.errors import SyncError, sync_error
from sync.jobs.marks import PushedMarks
from sync.jobs.pages import PagePush
from sync.jobs.shared import Work
from sync.outbox import Failure, PendingEvent
from sync.protocol import in_ranges

log = logging.getLogger("intake.sync")


class EventPush:
    def __init__(self, work: Work, marks: PushedMarks) -> None:
        self.work = work
        self.marks = marks
        self.pages = PagePush(work, self.suspect)
        self.reconciled = False
        self._hub_has: list[list[int]] = []
        self.batch_limit = work.config.batch_events
        self.combined = True  # the hub offers POST /v1/intakes (False once it answered 404)
        self.fresh = True  # the next batch is a first attempt (no failure since the last one)

    def link_failed(self) -> None:
        """After a link failure: ask again what the hub holds before sending."""
        self.reconciled = False
        self.batch_limit = max(1, self.batch_limit)

    def reconcile(self, client: HubClient) -> None:
        """Learn which of our events the hub already holds (after a USB import, a lost answer,
        a crash): they are never sent again. And whether it still holds every event below the
        cursor: a hub restored from a backup has lost what it acknowledged since, and those
        events are sent again (the hub's copy of the audit log does the same with audit.gap)."""
        outbox = self.work.outbox
        cursor = outbox.cursor()
        if cursor > 0:
            self._rewind_to_hub(client, cursor)
            cursor = outbox.cursor()
        top = outbox.max_seq()
        self._hub_has = client.received(cursor + 1, top) if top > cursor else []
        new = cursor
        for first, last in self._hub_has:
            if first <= new + 1 <= last:
                new = last
        if new > cursor:
            outbox.commit_batch(cursor=new, now=self.work.now())
            self.work.report.events_already_there += new - cursor
            log.info("hub already holds events up to %d", new)
        self.reconciled = True
        self.marks.ready(None)

    def _rewind_to_hub(self, client: HubClient, cursor: int) -> None:
        outbox = self.work.outbox
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
        missing = outbox.first_unsent(gaps, outbox.parked_events_after(0))
        if missing is None:
            return
        outbox.rewind(missing - 1)
        self.work.report.events_resent += cursor - missing + 1
        log.warning("hub lacks acknowledged events from %d: sending again from there", missing)

    def retry(self, client: HubClient, key: str) -> None:
        """A parked event a person asked to try again (out of order)."""
        evs = self.work.outbox.events_by_id([key])
        if not evs:
            self.work.outbox.resolve("event", key)
            return
        self.send(client, evs, advance=False)

    def upload(self, client: HubClient) -> int:
        """The next batch above the cursor; returns how many events it held (0: none waiting)."""
        outbox = self.work.outbox
        cursor = outbox.cursor()
        parked = outbox.parked_events_after(cursor)
        rows = outbox.pending(cursor, self.batch_limit + len(parked))
        if not rows:
            return 0
        todo = [r for r in rows if r.seq not in parked]
        if not todo:  # only parked events ahead: step over them
            outbox.commit_batch(cursor=rows[-1].seq, now=self.work.now())
            return len(rows)
        batch: list[PendingEvent] = []
        page_bytes = 0
        for r in todo[: self.batch_limit]:
            page = r.page
            if page and batch and page_bytes + page[1] > self.work.config.batch_page_bytes:
                break
            page_bytes += page[1] if page else 0
            batch.append(r)
        # include parked events lying inside the batch, so the cursor can pass them
        last = batch[-1].seq
        return self.send(client, batch, advance=True, upto=last)

    def send(
        self,
        client: HubClient,
        batch: list[PendingEvent],
        *,
        advance: bool,
        upto: int | None = None,
    ) -> int:
        now = self.work.now()
        sent, wire, parked = self._wire(batch)
        try:
            sent, results = self._deliver(client, sent, wire, parked, first=advance and self.fresh)
        except SyncError:
            self.fresh = False  # the batch's next attempt takes the classic, resumable path
            raise
        resolved, stop_at = self._take_results(sent, results, parked)
        self.work.report.events_parked += len(parked)
        new_cursor: int | None = None
        if advance:
            if stop_at is not None:
                new_cursor = stop_at - 1
            else:
                new_cursor = upto if upto is not None else (batch[-1].seq if batch else None)
        self.work.outbox.commit_batch(cursor=new_cursor, parked=parked, resolved=resolved, now=now)
        self.fresh = stop_at is None
        if stop_at is None:
            self.batch_limit = min(self.work.config.batch_events, self.batch_limit * 2)
        self.marks.ready({r.submission_id for r in batch}, defer=advance)
        if stop_at is not None:
            raise sync_error("sync.interrupted", variant=2)
        return len(batch)

    def _deliver(
        self,
        client: HubClient,
        sent: list[PendingEvent],
        wire: list[dict[str, Any]],
        parked: list[Failure],
        *,
        first: bool,
    ) -> tuple[list[PendingEvent], list[dict[str, Any]]]:
        """Pages, then events: in one POST /v1/intakes on a batch's first attempt when the hub
        offers it and the pages fit, else by the classic requests. Returns the events sent and
        the hub's result for each."""
        if any(r.page for r in sent):
            manifests, bad = self.pages.plan(sent)
            if first and self.combined:
                out = self._combined(client, manifests, bad, sent, wire, parked)
                if out is not None:
                    return out
            self.pages.classic(client, manifests, bad)
            if bad:
                sent, wire = self._drop_bad_pages(sent, wire, bad, parked)
        results: list[dict[str, Any]] = []
        if wire:
            try:
                results = client.post_events(self.work.outbox.store_id(), wire)["results"]
            except SyncError as exc:
                self.suspect(client, exc, sent[0] if len(sent) == 1 else None)
                results = [{"id": sent[0].id, "status": "parked"}]  # suspect parked the one event
        return sent, results

    def _combined(
        self,
        client: HubClient,
        manifests: list[dict[str, Any]],
        bad: dict[str, str],
        sent: list[PendingEvent],
        wire: list[dict[str, Any]],
        parked: list[Failure],
    ) -> tuple[list[PendingEvent], list[dict[str, Any]]] | None:
        """The batch in one request; None: it goes by the classic path (pages too large, or a
        hub without the route). A failure is not pinned on an item here: the classic retry
        finds the one to blame, as it always did."""
        pages = self.pages.bundle(sent, bad)
        if not pages:
            return None
        dropped: list[Failure] = []
        if bad:
            sent, wire = self._drop_bad_pages(sent, wire, bad, dropped)
        try:
            answer = client.post_intake(self.work.outbox.store_id(), manifests, pages, wire)
        except SyncError as exc:
            self.suspect(client, exc, None, None)
            raise
        if answer is None:
            # An older hub: the classic requests from now on, for this engine's life or until
            # re-enrolment (SyncEngine.enroll); a hub upgrade is picked up at the next start.
            log.info("the hub has no POST /v1/intakes: using the classic requests")
            self.combined = False
            return None
        parked.extend(dropped)
        damaged = self.pages.took(answer["blobs"])
        ours = {sha for sha, _data in pages}
        rest = [
            n for n in answer["needed"] if not (isinstance(n, dict) and n.get("sha256") in ours)
        ]
        if rest:  # pages of the submissions the hub lacks and this batch did not carry
            self.pages.upload_needed(client, rest, bad)
        # an event whose page the hub found damaged waits for the page (counted on the page); one
        # whose page was not carried (held at the hub, we thought) is sent again now it is there:
        # neither is a failure of the event
        late = {n["sha256"] for n in rest if isinstance(n, dict)}
        results = [
            {"id": r.id, "status": "skipped"}
            if r.page
            and (r.page[0] in damaged or (r.page[0] in late and res.get("code") == "page.missing"))
            else res
            for r, res in zip(sent, answer["results"], strict=True)
        ]
        return sent, results

    def _wire(
        self, batch: list[PendingEvent]
    ) -> tuple[list[PendingEvent], list[dict[str, Any]], list[Failure]]:
        """The events of BATCH to send and their wire form, skipping what the hub holds; an event
        that cannot be put on the wire is parked."""
        parked: list[Failure] = []
        wire: list[dict[str, Any]] = []
        sent: list[PendingEvent] = []
        for r in batch:
            if in_ranges(r.seq, self._hub_has):
                self.work.report.events_already_there += 1
                continue
            try:
                wire.append(r.wire())
                sent.append(r)
            except ValueError:
                parked.append(self.work.failure("event", r.id, "sync.local_event", r))
        return sent, wire, parked

    def _drop_bad_pages(
        self,
        sent: list[PendingEvent],
        wire: list[dict[str, Any]],
        bad_pages: dict[str, str],
        parked: list[Failure],
    ) -> tuple[list[PendingEvent], list[dict[str, Any]]]:
        """Park the events naming a page that cannot go; the rest still go."""
        keep = []
        for r, w in zip(sent, wire, strict=True):
            page = r.page
            if page and page[0] in bad_pages:
                parked.append(self.work.failure("event", r.id, bad_pages[page[0]], r))
            else:
                keep.append((r, w))
        return [k[0] for k in keep], [k[1] for k in keep]

    def _take_results(
        self, sent: list[PendingEvent], results: list[dict[str, Any]], parked: list[Failure]
    ) -> tuple[list[tuple[str, str]], int | None]:
        """The hub's answer per event: (items resolved, seq of the first event that must be sent
        again or None); refusals for good go into PARKED."""
        report = self.work.report
        resolved: list[tuple[str, str]] = []
        for r, res in zip(sent, results, strict=True):
            status = res["status"]
            if status == "parked":
                continue
            if status in ("stored", "duplicate"):
                if status == "stored":
                    report.events_sent += 1
                else:
                    report.events_already_there += 1
                resolved.append(("event", r.id))
                continue
            if status == "refused" and not res.get("retry"):
                hub = str(res.get("message", ""))[:200]
                parked.append(self.work.failure("event", r.id, _refusal_code(res), r, hub=hub))
                continue
            # retryable: a page the hub does not hold (yet), or skipped behind it
            if status == "refused":
                item = self.work.outbox.record_failure(
                    self.work.failure("event", r.id, "sync.page_corrupt", r),
                    self.work.now(),
                    self.work.config.max_failures,
                    None,
                )
                if item.state == "needs_person":
                    report.events_parked += 1
                    continue
            return resolved, r.seq
        return resolved, None

    def suspect(
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
        if self.batch_limit > 1 and (single is None or exc.code == "sync.too_large"):
            self.batch_limit = max(1, self.batch_limit // 4)
            raise exc
        if page is not None:
            f = self.work.failure("page", page, "sync.page_corrupt")
        elif single is not None:
            code = exc.code if exc.code in messages.FIXES else "sync.refused"
            f = self.work.failure("event", single.id, code, single)
        else:
            raise exc
        item = self.work.outbox.record_failure(
            f,
            self.work.now(),
            self.work.config.max_failures,
            None,
            park=exc.scope == "item" and not exc.retry,
        )
        if item.state != "needs_person":
            raise exc
        if single is None:  # a parked page: the events naming it are parked on the next try
            raise exc


def _refusal_code(res: dict[str, Any]) -> str:
    """The hub refused an event for good: why, in our codes."""
    if res.get("code") == "submission.forbidden":
        return "sync.forbidden"
    if str(res.get("code", "")).endswith("conflict"):
        return "sync.conflict"
    return "sync.refused"
