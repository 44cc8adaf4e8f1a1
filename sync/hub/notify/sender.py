"""The sender: a background thread in every hub process that claims due notices from the
outbox (several processes never take the same one), hands each to the provider, and records
the outcome — sent, retried later with exponential backoff, or failed for good (kept, listed on
the hub's metrics and at the station). A sender that dies mid-send leaves its claim to run out;
the notice is then sent again with the same id, which the gateway takes as the same message.

The sender sleeps until it has something to do: a notice this process queued (woken after the
commit, sync/hub/notify/wake.py), a retry it scheduled coming due, or else the backstop poll
(INTERVAL) for what it cannot be told of — a failed notice queued again from the command line, a
claim of a process that died. An idle hub thus costs no CPU: each wake-up after an idle gap costs
several times the same work run hot."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError

from sync.hub.notify.base import NoticeProvider, ProviderError, mask_phone
from sync.hub.notify.wake import on_queued

log = logging.getLogger("intake.hub.notify")


class NoticeSender:
    def __init__(
        self,
        store: Any,
        provider: NoticeProvider,
        *,
        interval: float = 30.0,
        backoff: float = 30.0,
        backoff_max: float = 3600.0,
        max_attempts: int = 20,
        lease: float = 120.0,
        batch: int = 20,
    ) -> None:
        self.store, self.provider = store, provider
        self.interval, self.backoff, self.backoff_max = interval, backoff, backoff_max
        self.max_attempts, self.lease, self.batch = max_attempts, lease, batch
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unlisten: Callable[[], None] | None = None
        self._due: float | None = None  # monotonic time of the soonest retry this sender set

    def wake(self) -> None:
        """Look at the outbox now (a notice was queued): called from any thread."""
        self._wake.set()

    def _retry_at(self, seconds: float) -> None:
        at = time.monotonic() + seconds + 0.01  # not before the row's own next_at
        self._due = at if self._due is None else min(self._due, at)

    def retry_in(self, attempts: int) -> float:
        return float(min(self.backoff * 2 ** max(attempts - 1, 0), self.backoff_max))

    def run_once(self) -> int:
        """Claim and send one batch; the number of notices handled."""
        claimed = self.store.claim_notices(self.batch, self.lease)
        for claim, attempts, notice in claimed:
            try:
                result = self.provider.send(notice)
            except ProviderError as exc:
                last = not exc.retry or attempts >= self.max_attempts
                retry_in = None if last else self.retry_in(attempts)
                status = self.store.finish_notice(
                    notice.id,
                    claim,
                    provider=self.provider.name,
                    error=exc.code,
                    retry_in=retry_in,
                )
                if status == "retrying" and retry_in is not None:
                    self._retry_at(retry_in)
                log.warning(
                    "notice %s for %s to %s not sent (%s, attempt %d): %s",
                    notice.kind,
                    notice.number,
                    mask_phone(notice.phone),
                    exc.code,
                    attempts,
                    status,
                )
                continue
            except Exception:  # a provider's own bug: keep the notice, say so, retry later
                log.exception("notice provider %s failed on %s", self.provider.name, notice.number)
                if self.store.finish_notice(
                    notice.id,
                    claim,
                    provider=self.provider.name,
                    error="provider.internal",
                    retry_in=self.retry_in(attempts),
                ):
                    self._retry_at(self.retry_in(attempts))
                continue
            self.store.finish_notice(notice.id, claim, provider=self.provider.name, ref=result.ref)
            log.info("notice %s for %s sent (%s)", notice.kind, notice.number, self.provider.name)
        return len(claimed)

    def _sleep(self) -> None:
        """Until woken, stopped, a retry is due, or the backstop poll."""
        timeout = self.interval
        if self._due is not None:
            timeout = max(0.0, min(timeout, self._due - time.monotonic()))
        self._wake.wait(timeout)
        self._wake.clear()
        if self._due is not None and self._due <= time.monotonic():
            self._due = None  # the turn that follows claims what came due

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() >= self.batch
            except OperationalError as exc:  # database away (the requests say so): next turn
                log.info("notice sender paused: %s", exc.__class__.__name__)
                busy = False
            except Exception:  # never die: the notices stay in the outbox
                log.exception("notice sender failed; trying again")
                busy = False
            if not busy and not self._stop.is_set():
                self._sleep()

    def start(self) -> NoticeSender:
        engine = getattr(self.store, "engine", None)
        if engine is not None:
            self._unlisten = on_queued(engine, self.wake)
        self._thread = threading.Thread(target=self._loop, name="notice-sender", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._thread is not None:
            self._thread.join(30)
