"""Typed domain errors: a stable code for programs, a Chinese message for the clerk."""

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


class CatalogError(DomainError):
    """A catalog file is missing, malformed or inconsistent."""


class ChecklistError(DomainError):
    """Bad input to the checklist engine (unknown item, wrong answer type, bad mark)."""


class StoreError(DomainError):
    """The local database cannot be opened, is from a newer schema, or refused a write."""


class IntakeError(DomainError):
    """An intake action the current state or the data does not allow."""


class AuthError(DomainError):
    """Login failures and actions the clerk's role does not allow."""


class DeviceError(DomainError):
    """A capture device (ID reader, camera, scanner) failed or answered garbage."""


class CaptureError(DomainError):
    """A file or image that cannot be captured (not an image, truncated, encrypted, too large)."""
