"""Secrets in the OS keyring (Windows Credential Manager, Secret Service on Linux desktops),
never in a file; an in-memory store for tests and for a process handed its secrets."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from local_db.errors import DomainError

SERVICE = "yijianshi-intake"


class SecretKeyError(DomainError):
    """A key is missing, unreadable or wrong."""


class SecretStore(Protocol):
    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


def _unavailable(exc: Exception) -> SecretKeyError:
    return SecretKeyError("keys.keyring_unavailable", detail=exc.__class__.__name__)


# Backends that keep secrets in a readable file beside the data (keyrings.alt's file keyrings:
# base64 in ~/.local/share/python_keyring/) or not at all (null, fail): a data key there protects
# nothing from whoever copies the disk.
_PLAINTEXT_MODULES = ("keyrings.alt.file",)
_NO_KEYRING_MODULES = ("keyring.backends.null", "keyring.backends.fail")


def _backends(backend: object) -> list[object]:
    members = getattr(backend, "backends", None)  # keyring.backends.chainer.ChainerBackend
    return list(members) if isinstance(members, (list, tuple)) and members else [backend]


def refused_backend(backend: object) -> tuple[str, str] | None:
    """(code, class name) when BACKEND (or any member of a chain) must not hold production
    secrets: keys.insecure_keyring for a plaintext file, keys.keyring_unavailable for none."""
    for b in _backends(backend):
        cls = type(b)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if cls.__module__.startswith(_PLAINTEXT_MODULES) or "plaintext" in cls.__qualname__.lower():
            return "keys.insecure_keyring", name
        if cls.__module__.startswith(_NO_KEYRING_MODULES) and len(_backends(backend)) == 1:
            return "keys.keyring_unavailable", name
    return None


class KeyringSecretStore:
    """The `keyring` package's configured backend under SERVICE. A failing keyring raises what
    ERROR makes of the exception (the sync token store has its own code and fix text); a
    plaintext file backend is refused before a secret is read from or written to it."""

    def __init__(
        self, service: str = SERVICE, error: Callable[[Exception], DomainError] = _unavailable
    ) -> None:
        self.service = service
        self._error = error

    def _check_backend(self) -> None:
        import keyring

        refused = refused_backend(keyring.get_keyring())
        if refused is None:
            return
        code, name = refused
        if code == "keys.insecure_keyring":
            raise SecretKeyError("keys.insecure_keyring", backend=name)
        raise self._error(RuntimeError(name))

    def get(self, name: str) -> str | None:
        import keyring
        import keyring.errors

        self._check_backend()
        try:
            return keyring.get_password(self.service, name)
        except keyring.errors.KeyringError as exc:
            raise self._error(exc) from exc

    def set(self, name: str, value: str) -> None:
        import keyring
        import keyring.errors

        self._check_backend()
        try:
            keyring.set_password(self.service, name, value)
            kept = keyring.get_password(self.service, name)
        except keyring.errors.KeyringError as exc:
            raise self._error(exc) from exc
        if kept != value:  # e.g. the null backend: refuse rather than lose a secret silently
            raise self._error(RuntimeError("secret not kept"))

    def delete(self, name: str) -> None:
        import keyring
        import keyring.errors

        self._check_backend()
        try:
            keyring.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise self._error(exc) from exc


class MemorySecretStore:
    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value


class FileSecretStore:
    """Secrets in a JSON file readable only by its owner. For demo mode on a machine without a
    keyring (the demo's data is invented): a file beside the data protects nothing from someone
    who has the disk, so production never uses it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise _unavailable(exc) from exc
        return {str(k): str(v) for k, v in data.items()}

    def get(self, name: str) -> str | None:
        return self._read().get(name)

    def set(self, name: str, value: str) -> None:
        values = self._read()
        values[name] = value
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(values, f)
        os.replace(tmp, self.path)


def keyring_usable(store: SecretStore) -> bool:
    """Whether STORE keeps what is given to it (the null backend answers but forgets)."""
    try:
        if store.get("keyring-probe") != "ok":
            store.set("keyring-probe", "ok")
    except SecretKeyError:
        return False
    return True


def get_or_create_key(store: SecretStore, name: str) -> bytes:
    """A 256-bit key kept under NAME, created on first use."""
    value = store.get(name)
    if value is None:
        value = base64.b64encode(secrets.token_bytes(32)).decode()
        store.set(name, value)
    return decode_key(value, name)


def decode_key(value: str, name: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (ValueError, TypeError):
        key = b""
    if len(key) != 32:
        raise SecretKeyError("keys.malformed", name=name)
    return key


def recovery_code(key: bytes) -> str:
    """The key as groups a person can write down and type back (base32, no padding)."""
    text = base64.b32encode(key).decode().rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def key_from_recovery_code(code: str) -> bytes:
    text = code.replace("-", "").replace(" ", "").upper()
    try:
        key = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SecretKeyError("keys.bad_recovery_code")
    return key
