"""Where the station token lives: the OS keyring (Windows Credential Manager, Secret Service on
Linux desktops), never a file. Tests give the keyring an in-memory backend of their own."""

from __future__ import annotations

from typing import Protocol

from local_db.keys import KeyringSecretStore
from sync.errors import SyncError

SERVICE = "yijianshi-intake-sync"


def token_key(store_id: str) -> str:
    return f"station-token:{store_id}"


class TokenStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, token: str) -> None: ...

    def delete(self, key: str) -> None: ...


def _keyring_error(exc: Exception) -> SyncError:
    return SyncError("sync.keyring", variant=2, retry=False, detail=exc.__class__.__name__)


class KeyringTokenStore(KeyringSecretStore):
    """The real store: the keyring under the sync service name, failing with sync's own code."""

    def __init__(self, service: str = SERVICE) -> None:
        super().__init__(service, error=_keyring_error)


class MemoryTokenStore:
    """A token held in memory only (a process given its token by its parent, tests)."""

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        self.tokens = dict(tokens or {})

    def get(self, key: str) -> str | None:
        return self.tokens.get(key)

    def set(self, key: str, token: str) -> None:
        self.tokens[key] = token

    def delete(self, key: str) -> None:
        self.tokens.pop(key, None)
