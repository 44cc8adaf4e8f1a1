"""The base of the typed domain errors and the store's own: the lowest layer, so every package
(local_db, app, sync, printing) can raise and catch them without climbing up."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain reports on purpose.

    `code` is stable (tests and the CLI's JSON use it); `message` is the Chinese text shown to
    the clerk; `details` holds the facts behind it (ids, field names) without personal data.
    """

    code: str = "error"

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            **{k: _plain(v) for k, v in self.details.items()},
        }


def _plain(value: object) -> object:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


class StoreError(DomainError):
    """The local database cannot be opened, is from a newer schema, or refused a write."""
