"""Pages before the events that name them: the manifests of their submissions first (the hub
answers which pages it lacks and from which offset), then only those bytes: small pages together
in one POST /v1/blobs, large ones by PUT in resumable chunks. On a batch's first attempt, pages
that fit go with the manifests and events in one POST /v1/intakes (sync.jobs.events)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local_db.errors import StoreError
from sync.client import HubClient
from sync.errors import SyncError, sync_error
from sync.jobs.shared import Work
from sync.outbox import PendingEvent
from sync.protocol import is_sha256

# (client, error, the single event of the request or None, the single page or None): returns
# only when that one item is now parked, raises otherwise (see EventPush.suspect)
Suspect = Callable[[HubClient, SyncError, PendingEvent | None, str | None], None]
Part = tuple[str, int, int, bytes]  # sha, offset, total size, bytes from offset
# Page bytes a batch may carry in one POST /v1/intakes (its first attempt). Such a request does
# not resume: a cut one is sent again whole by the classic path, so the cap bounds what a cut can
# waste; 8 MB is what a batch's pages are limited to anyway (SyncConfig.batch_page_bytes).
COMBINED_MAX_BYTES = 8 * 1024 * 1024


class PagePush:
    def __init__(self, work: Work, suspect: Suspect) -> None:
        self.work = work
        self.suspect = suspect

    def send(self, client: HubClient, events: list[PendingEvent]) -> dict[str, str]:
        """Manifest first, then only what the hub lacks. Returns {sha: error code} for pages that
        cannot be sent (missing or damaged here, or parked)."""
        manifests, bad = self.plan(events)
        self.classic(client, manifests, bad)
        return bad

    def plan(self, events: list[PendingEvent]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The manifests of the submissions EVENTS belong to, and {sha: error code} for the pages
        among them that are parked here."""
        outbox = self.work.outbox
        parked = outbox.parked_keys("page")  # keyed addresses
        sids = list(dict.fromkeys(r.submission_id for r in events if r.page))
        pages = outbox.pages_of(sids)
        for r in events:
            page = r.page
            if page and page not in pages.setdefault(r.submission_id, []):
                pages[r.submission_id].append(page)
        bad: dict[str, str] = {
            sha: "sync.page_corrupt"
            for sid in sids
            for sha, _size in pages[sid]
            if self.work.page_key(sha) in parked
        }
        manifests = [
            {
                "submission_id": sid,
                "pages": [{"sha256": sha, "size": size} for sha, size in pages[sid]],
            }
            for sid in sids
        ]
        return manifests, bad

    def classic(
        self, client: HubClient, manifests: list[dict[str, Any]], bad: dict[str, str]
    ) -> None:
        """POST /v1/manifests, then the bytes the hub lacks; pages that cannot go into BAD."""
        try:
            answer = client.manifests(manifests)
        except SyncError as exc:
            self.suspect(client, exc, None, None)
            raise
        self.upload_needed(client, answer["needed"], bad)

    def bundle(self, events: list[PendingEvent], bad: dict[str, str]) -> list[tuple[str, bytes]]:
        """The pages EVENTS name, with their bytes, for one POST /v1/intakes; empty when they do
        not fit in one (a large page goes resumable, the whole over COMBINED_MAX_BYTES). A page
        unreadable here is left out: the hub answers whether it lacks it, and the classic retry
        parks it as today."""
        cfg = self.work.config
        parts: dict[str, bytes] = {}
        total = 0
        # a page of an intake already pushed is at the hub: its bytes do not travel again (the
        # hub's answer still names it if it lacks it, and the classic upload sends it then)
        keys = {r.page[0]: self.work.page_key(r.page[0]) for r in events if r.page}
        at_hub = self.work.outbox.pushed_addresses(keys.values())
        for r in events:
            page = r.page
            if not page or page[0] in bad or page[0] in parts or keys[page[0]] in at_hub:
                continue
            sha, size = page
            total += size
            if size >= cfg.large_page or total > COMBINED_MAX_BYTES:
                return []
            try:
                data = self.work.attachments.get(sha)
            except (StoreError, ValueError):
                continue
            if len(data) == size:
                parts[sha] = data
        return list(parts.items())

    def took(self, blobs: list[Any]) -> set[str]:
        """The combined request's answer per page: counted when stored; a page the hub found
        damaged counts one more failure on it (as in the classic path). Returns the damaged."""
        damaged = set()
        for r in blobs:
            if not isinstance(r, dict) or not is_sha256(r.get("sha256")):
                raise sync_error("sync.bad_response", variant=16)
            if r.get("complete"):
                self.work.report.pages_sent += 1
                offset = r.get("offset")
                self.work.report.page_bytes_sent += offset if isinstance(offset, int) else 0
            elif r.get("error") == "blob.hash_mismatch":
                damaged.add(r["sha256"])
                self._count_corrupt(r["sha256"])
        return damaged

    def upload_needed(self, client: HubClient, needed: list[object], bad: dict[str, str]) -> None:
        """Send the bytes the hub asked for; a page missing or damaged here goes into BAD."""
        cfg = self.work.config
        small: list[Part] = []
        small_bytes = 0
        for n in needed:
            if (
                not isinstance(n, dict)
                or not is_sha256(n.get("sha256"))
                or not isinstance(n.get("offset"), int)
                or not isinstance(n.get("size"), int)
            ):
                raise sync_error("sync.bad_response", variant=15)
            sha, size, offset = n["sha256"], n["size"], n["offset"]
            if sha in bad:
                continue
            try:
                data = self.work.attachments.get(sha)
            except (StoreError, ValueError):
                bad[sha] = "sync.page_missing"
                continue
            if len(data) != size or not 0 <= offset <= size:
                bad[sha] = "sync.page_missing"
                continue
            if size >= cfg.large_page:
                self._put_large(client, sha, data, offset)
                continue
            small.append((sha, offset, size, data[offset:]))
            small_bytes += size - offset
            if small_bytes >= cfg.blob_batch_bytes:
                self._post_small(client, small)
                small, small_bytes = [], 0
        if small:
            self._post_small(client, small)

    def _post_small(self, client: HubClient, parts: list[Part]) -> None:
        report = self.work.report
        try:
            results = client.post_blobs(parts)
        except SyncError as exc:
            self.suspect(client, exc, None, parts[0][0] if len(parts) == 1 else None)
            raise
        by_sha = {r.get("sha256"): r for r in results if isinstance(r, dict)}
        incomplete = []
        for sha, _offset, _total, data in parts:
            r = by_sha.get(sha)
            if r is None:
                raise sync_error("sync.bad_response", variant=16)
            if r.get("complete"):
                report.pages_sent += 1
                report.page_bytes_sent += len(data)
            else:
                incomplete.append((sha, r.get("error")))
        for sha, err in incomplete:
            if err == "blob.hash_mismatch":
                self._count_corrupt(sha)
        if incomplete:
            raise sync_error("sync.interrupted", variant=3)

    def _count_corrupt(self, sha: str) -> None:
        """The hub found the page damaged: one more failure on it (parked after max_failures)."""
        self.work.outbox.record_failure(
            self.work.failure("page", sha, "sync.page_corrupt"),
            self.work.now(),
            self.work.config.max_failures,
            None,
        )

    def _put_large(self, client: HubClient, sha: str, data: bytes, offset: int) -> None:
        report = self.work.report
        total = len(data)
        if offset >= total:  # every byte is there, the page only waits to be finished
            r = client.put_blob(sha, total, total, b"")
            if r.get("complete"):
                report.pages_sent += 1
            return
        while offset < total:
            chunk = data[offset : offset + self.work.config.chunk_bytes]
            try:
                r = client.put_blob(sha, total, offset, chunk)
            except SyncError as exc:
                if exc.status == 422:  # the hub found the whole page damaged and dropped it
                    self._count_corrupt(sha)
                if exc.status == 409:  # someone else is uploading it, or our offset is stale
                    raise sync_error("sync.interrupted", variant=4) from exc
                raise
            new = r.get("offset")
            if not isinstance(new, int) or (new <= offset and not r.get("complete")):
                raise sync_error("sync.bad_response", variant=17)
            report.page_bytes_sent += len(chunk)
            offset = new
            if r.get("complete"):
                report.pages_sent += 1
                return
