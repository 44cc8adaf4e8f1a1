"""The test harness's own keyring backend: a JSON file under $XDG_DATA_HOME, so subprocesses a
test starts see the same data keys. Lives in tests/ (never installed with the application) and
is chosen only by tests/conftest.py through PYTHON_KEYRING_BACKEND."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class TestFileKeyring(KeyringBackend):
    priority = 0  # type: ignore[assignment]  # never picked by keyring's own detection

    @staticmethod
    def _path() -> Path:
        base = os.environ.get("XDG_DATA_HOME") or tempfile.gettempdir()
        return Path(base) / "yjs-test-keyring.json"

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self._path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write(self, values: dict[str, str]) -> None:
        path = self._path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kr-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(values, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        values = self._read()
        values[f"{service}\x00{username}"] = password
        self._write(values)

    def delete_password(self, service: str, username: str) -> None:
        values = self._read()
        if values.pop(f"{service}\x00{username}", None) is None:
            raise PasswordDeleteError(username)
        self._write(values)
