"""The hub's database schema: alembic migrations in sync/hub/migrations, applied at start.

A hub database made with create_all before migrations existed (its tables, no version table) is
stamped at the revision whose tables it has, then upgraded like any other.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from sync.hub.errors import HubError

log = logging.getLogger("intake.hub.schema")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_FIRST = frozenset(
    {
        "hub_stations",
        "hub_enroll_codes",
        "hub_tokens",
        "hub_dept_keys",
        "hub_submissions",
        "hub_events",
        "hub_manifest_pages",
        "hub_feed",
        "hub_item_decisions",
        "hub_catalogs",
        "hub_imports",
    }
)
# The hubs made with create_all before migrations existed, newest first: (revision, its tables).
LEGACY = (
    ("0002", _FIRST | {"hub_audit_entries", "hub_receipt_keys"}),
    ("0001", _FIRST),
)


def known_revisions() -> list[str]:
    """Our revisions, oldest first, from the file names (`0002_….py` is "0002")."""
    return sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def head_revision() -> str:
    return known_revisions()[-1]


def _config(conn: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> str:
    """Create or upgrade the hub's tables; returns the revision the database is at. Raises
    HubError for a database of a newer hub, or one that holds only some of the hub's tables."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Processes started together (systemd's target, compose) migrate one at a time: the
            # others wait here, then find the schema at head. Released at commit.
            conn.execute(text("SELECT pg_advisory_xact_lock(7243017)"))
        tables = set(inspect(conn).get_table_names())
        current = None
        if "alembic_version" in tables:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current is not None and current not in known_revisions():
            raise HubError(
                500,
                "hub.newer_schema",
                f"平台数据库来自更新版本的平台程序（结构版本 {current}），本程序不能使用。请升级平台程序。",
            )
        head = head_revision()
        if current == head:
            return head
        from alembic import command

        cfg = _config(conn)
        hub_tables = {t for t in tables if t.startswith("hub_")}
        if current is None and hub_tables:  # made by create_all before migrations existed
            revision = next((rev for rev, known in LEGACY if hub_tables == known), None)
            if revision is None:
                missing = "、".join(sorted(LEGACY[0][1] - hub_tables)) or "无"
                raise HubError(
                    500,
                    "hub.unknown_schema",
                    f"平台数据库的数据表与任何版本都不符（缺少：{missing}），不是本平台的数据库或已损坏。",
                )
            command.stamp(cfg, revision)
            log.info("hub database made before migrations: stamped at %s", revision)
        command.upgrade(cfg, "head")
        log.info("hub database upgraded from %s to %s", current or "empty", head)
        return head
