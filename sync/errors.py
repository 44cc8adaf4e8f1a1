"""Sync errors: a stable code (its reason and fix are in the catalog, local_db/messages.py) and
how to retry.

`scope` says who a failure belongs to: "link" (the network, the hub or the station's
credentials: every item waits, none is blamed) or "item" (this one event, page or update: it is
counted, and parked for a person after too many failures of the same kind).
"""

from __future__ import annotations

from typing import Literal

from local_db import messages
from local_db.errors import DomainError

Scope = Literal["link", "item"]


class SyncError(DomainError):
    """A failure of the exchange with the hub. Its reason and fix come from the catalog;
    `hub_message` (the hub's own explanation of a refusal, for the clerk) follows the reason."""

    def __init__(
        self,
        code: str,
        *,
        variant: int = 0,
        scope: Scope = "link",
        retry: bool = True,
        retry_after: float | None = None,
        status: int | None = None,
        **details: object,
    ) -> None:
        super().__init__(code, variant=variant, **details)
        self.scope: Scope = scope
        self.retry = retry
        self.retry_after = retry_after
        self.status = status

    @property
    def message(self) -> str:
        text = super().message
        hub = self.details.get("hub_message")
        return f"{text}（{hub}）" if isinstance(hub, str) and hub else text

    @property
    def fix(self) -> str:
        return messages.fix(self.code, self.variant)

    def to_json(self) -> dict[str, object]:
        out = super().to_json()
        out.update(fix=self.fix, scope=self.scope, retry=self.retry)
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out


def sync_error(
    code: str, *, variant: int = 0, scope: Scope = "link", retry: bool = True, **kw: object
) -> SyncError:
    """A SyncError for CODE; `retry_after` and `status` are taken only when they are numbers."""
    retry_after = kw.pop("retry_after", None)
    status = kw.pop("status", None)
    return SyncError(
        code,
        variant=variant,
        scope=scope,
        retry=retry,
        retry_after=retry_after if isinstance(retry_after, (int, float)) else None,
        status=status if isinstance(status, int) else None,
        **kw,
    )
