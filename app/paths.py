"""Where things live: bundled resources and the user's data directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "yijianshi-intake"


def resources_dir() -> Path:
    # PyInstaller unpacks data next to the executable; a source or editable install keeps it at
    # the repository top level.
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def data_dir() -> Path:
    """The per-user data directory (database, attachments, printed PDFs, logs)."""
    override = os.environ.get("INTAKE_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    return data_dir() / "intake.sqlite3"
