"""Typed app-level errors: a stable code for programs, a Chinese message for the clerk.

Their base, DomainError, and StoreError live in local_db/errors.py (the lowest layer)."""

from __future__ import annotations

from local_db.errors import DomainError


class CatalogError(DomainError):
    """A catalog file is missing, malformed or inconsistent."""


class ChecklistError(DomainError):
    """Bad input to the checklist engine (unknown item, wrong answer type, bad mark)."""


class IntakeError(DomainError):
    """An intake action the current state or the data does not allow."""


class AuthError(DomainError):
    """Login failures and actions the clerk's role does not allow."""


class DeviceError(DomainError):
    """A capture device (ID reader, camera, scanner) failed or answered garbage."""


class CaptureError(DomainError):
    """A file or image that cannot be captured (not an image, truncated, encrypted, too large)."""
