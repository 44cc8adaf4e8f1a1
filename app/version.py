"""The client's release version (one place: pyproject.toml, the frozen build, the .deb and the
Windows installer all read it from here), and what `intake --version` and 帮助 → 关于 show:
client, database schema and catalog versions."""

from __future__ import annotations

import json
from pathlib import Path

__version__ = "0.1.0"

# Beside app/ in a source tree and in the frozen bundle alike (the spec ships both folders).
_TOP = Path(__file__).resolve().parent.parent
MIGRATION_VERSIONS = _TOP / "local_db" / "migrations" / "versions"


def schema_version() -> str:
    """The newest database schema this program writes (the alembic head, `0005_….py` -> "0005");
    read from the file names, so no database library is loaded."""
    names = sorted(p.name[:4] for p in MIGRATION_VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    return names[-1] if names else "?"


def bundled_catalog_version() -> str:
    from app.paths import resources_dir

    try:
        header = json.loads((resources_dir() / "catalog" / "catalog.json").read_text("utf-8"))
        return str(header["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def versions(catalog_version: str | None = None) -> dict[str, str]:
    """CATALOG_VERSION: the catalog in use when a store is open (it may be newer than the
    bundled one, after a sync); the bundled catalog's otherwise."""
    return {
        "client": __version__,
        "schema": schema_version(),
        "catalog": catalog_version or bundled_catalog_version(),
    }


def version_text(catalog_version: str | None = None) -> str:
    v = versions(catalog_version)
    return (
        f"综合受理窗口客户端 {v['client']}（数据库结构 {v['schema']}，一件事目录 {v['catalog']}）"
    )
