"""Where the station token lives: the OS keyring (Windows Credential Manager, Secret Service on
Linux desktops), never a file. Tests give the keyring an in-memory backend of their own."""

from __future__ import annotations

from typing import Protocol

from sync.errors import SyncError

SERVICE = "yijianshi-intake-sync"


def token_key(store_id: str) -> str:
    return f"station-token:{store_id}"


class TokenStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, token: str) -> None: ...

    def delete(self, key: str) -> None: ...


def _keyring_error(exc: Exception) -> SyncError:
    return SyncError(
        "sync.keyring",
        "系统密钥环不可用，无法读取或保存站点凭据。",
        fix="请在本机登录桌面会话后重试；无桌面的服务器需配置系统密钥环服务。",
        retry=False,
        detail=exc.__class__.__name__,
    )


class KeyringTokenStore:
    """The real store: the `keyring` package's configured backend."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def get(self, key: str) -> str | None:
        import keyring
        import keyring.errors

        try:
            return keyring.get_password(self.service, key)
        except keyring.errors.KeyringError as exc:
            raise _keyring_error(exc) from exc

    def set(self, key: str, token: str) -> None:
        import keyring
        import keyring.errors

        try:
            keyring.set_password(self.service, key, token)
            stored = keyring.get_password(self.service, key)
        except keyring.errors.KeyringError as exc:
            raise _keyring_error(exc) from exc
        if stored != token:  # e.g. the null backend: refuse rather than lose the token silently
            raise _keyring_error(RuntimeError("token not kept"))

    def delete(self, key: str) -> None:
        import keyring
        import keyring.errors

        try:
            keyring.delete_password(self.service, key)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise _keyring_error(exc) from exc


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
