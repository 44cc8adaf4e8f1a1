"""The hub's typed refusal, shared by the store, the schema check and the HTTP routes."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """A refusal the API turns into an HTTP status and a JSON error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry: bool = False,
        retry_after: float | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry = retry
        self.retry_after = retry_after
        self.details = details

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "retry": self.retry,
                **self.details,
            }
        }
