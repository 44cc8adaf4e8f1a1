"""The provider interface: one notice in, a provider reference out, or a ProviderError saying
whether trying again may help. Providers never log the phone number or the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

KINDS = ("accepted", "rejected", "completed", "collected")
KIND_LABELS = {"accepted": "受理", "rejected": "不予受理", "completed": "办结", "collected": "领取"}


@dataclass(frozen=True)
class OutgoingNotice:
    id: str  # the hub's notice id: the gateway's idempotency key (a resend is not a new SMS)
    kind: str
    number: str  # the intake number
    phone: str
    text: str
    params: dict[str, str] = field(default_factory=dict)  # the template's parameters


@dataclass(frozen=True)
class SendResult:
    ref: str  # the provider's message id


class ProviderError(Exception):
    """A notice the provider did not take. CODE is short and carries no personal data (it is
    stored, shown to the station and logged); RETRY False: sending it again cannot help."""

    def __init__(self, code: str, *, retry: bool = True) -> None:
        super().__init__(code)
        self.code = code[:64]
        self.retry = retry


class NoticeProvider(Protocol):
    name: str

    def send(self, notice: OutgoingNotice) -> SendResult: ...


def mask_phone(phone: str) -> str:
    """138****5678: what a log line may show of a phone number."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
