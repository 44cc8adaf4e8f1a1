"""The base of the typed domain errors and the store's own: the lowest layer, so every package
(local_db, app, sync, printing) can raise and catch them without climbing up."""

from __future__ import annotations

from local_db import messages


class DomainError(Exception):
    """Base of every error the domain reports on purpose.

    `code` is stable (tests and the CLI's JSON use it); `variant` picks one of the code's texts
    when a code covers several situations; `details` are the named parameters of the text and
    the facts behind it (ids, field names), never personal data. `message` is the Chinese text
    from the catalog (local_db/messages.py), the same for the window and the CLI.
    """

    code: str = "error"

    def __init__(self, code: str, *, variant: int = 0, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.variant = variant
        self.details = details

    @property
    def message(self) -> str:
        return messages.render(self.code, self.variant, self.details)

    def __str__(self) -> str:
        return self.message

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
