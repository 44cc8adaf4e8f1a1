"""The receipt-signing public key to the hub (POST /v1/receipt-keys) when it lacks it: the
keyring was not there at enrollment, or the key changed (the hub keeps every key a station had)."""

from __future__ import annotations

import logging
from typing import Protocol

from sync.client import HubClient
from sync.errors import SyncError
from sync.jobs.shared import Work, hub_said

log = logging.getLogger("intake.sync")


class ReceiptKey(Protocol):
    """The public half of the station's receipt signer (app.receipts.ReceiptSigner)."""

    key_id: str

    def public_key_text(self) -> str: ...


class ReceiptKeyPush:
    def __init__(self, work: Work, signer: ReceiptKey | None) -> None:
        self.work = work
        self.signer = signer  # None without a keyring: enrolled with the hub once one is there
        self.done: str | None = None  # key id known to be at the hub (or parked)
        self.supported = True  # False: an older hub without the endpoint (not asked again)

    def reset(self) -> None:
        """A new enrollment: the hub may be another one."""
        self.done, self.supported = None, True

    def send(self, client: HubClient) -> None:
        signer, outbox = self.signer, self.work.outbox
        if signer is None or self.done == signer.key_id or not self.supported:
            return
        if outbox.get("receipt_key_id") == signer.key_id or signer.key_id in outbox.parked_keys(
            "receipt_key"
        ):
            self.done = signer.key_id
            return
        try:
            client.post_receipt_key(signer.key_id, signer.public_key_text())
        except SyncError as exc:
            if exc.status == 404:
                self.supported = False
                return
            if exc.scope != "item":
                raise
            failure = self.work.failure(
                "receipt_key", signer.key_id, "sync.receipt_key_refused", hub=hub_said(exc)
            )
            outbox.record_failure(failure, self.work.now(), 1, None, park=True)
            self.done = signer.key_id
            log.warning("receipt key %s refused by the hub", signer.key_id)
            return
        outbox.commit_batch(
            cursor=None,
            resolved=[("receipt_key", signer.key_id)],
            now=self.work.now(),
            receipt_key_id=signer.key_id,
        )
        self.done = signer.key_id
        log.info("receipt key %s enrolled with the hub", signer.key_id)
