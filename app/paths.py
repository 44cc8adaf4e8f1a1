"""Where things live: bundled resources and the user's data directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from app.options import DATA_DIR, from_env

APP_NAME = "yijianshi-intake"


def resources_dir() -> Path:
    # PyInstaller unpacks data next to the executable; a source or editable install keeps it at
    # the repository top level.
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def user_data_root(platform: str | None = None) -> Path:
    """Where a user's data goes on PLATFORM (default: this one): %LOCALAPPDATA%\\yijianshi-intake
    on Windows (local, not roaming: the database must not follow the clerk to other machines),
    $XDG_DATA_HOME or ~/.local/share/yijianshi-intake on Linux. Never under the program's folder,
    which installing, upgrading and removing replace."""
    platform = platform or sys.platform
    dirs: type[platformdirs.PlatformDirsABC]
    if platform.startswith("win"):
        local = os.environ.get("LOCALAPPDATA")  # set for every Windows session
        if local:
            return Path(local) / APP_NAME
        from platformdirs.windows import Windows as dirs
    elif platform == "darwin":
        from platformdirs.macos import MacOS as dirs
    else:
        from platformdirs.unix import Unix as dirs
    return Path(dirs(APP_NAME, appauthor=False, roaming=False).user_data_dir)


def data_dir() -> Path:
    """The per-user data directory (database, attachments, printed PDFs, logs)."""
    override = from_env(DATA_DIR)
    path = override if override is not None else user_data_root()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    return data_dir() / "intake.sqlite3"
