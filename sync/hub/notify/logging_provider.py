"""The provider for tests and demonstrations: it sends nothing and logs that it would have —
kind, intake number and masked phone only (never the number in full, never the text)."""

from __future__ import annotations

import logging

from sync.hub.notify.base import OutgoingNotice, SendResult, mask_phone

log = logging.getLogger("intake.hub.notify")


class LoggingProvider:
    name = "log"

    def __init__(self) -> None:
        self.sent: list[OutgoingNotice] = []  # what a test inspects

    def send(self, notice: OutgoingNotice) -> SendResult:
        self.sent.append(notice)
        log.info(
            "notice %s for %s to %s (logging provider)",
            notice.kind,
            notice.number,
            mask_phone(notice.phone),
        )
        return SendResult(ref="log-" + notice.id[:8])
