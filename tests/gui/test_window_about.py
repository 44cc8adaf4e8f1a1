"""帮助 → 关于: the client, database schema and catalog versions of the running station."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_version import alembic_head

pytestmark = pytest.mark.gui


def test_about_shows_client_schema_and_catalog_versions(window: Any) -> None:
    from PySide6.QtWidgets import QMenu

    # findChildren, not action.menu(): on PySide6 6.9 the latter's wrapper is already deleted.
    menus = [m for m in window.menuBar().findChildren(QMenu) if m.title().startswith("帮助")]
    assert len(menus) == 1
    assert "关于" in [a.text() for a in menus[0].actions()]
    text = window.about_text()
    assert "客户端版本：0.1.0" in text
    assert f"数据库结构版本：{alembic_head()}" in text
    assert f"一件事目录版本：{window.session.catalog.version}" in text


def test_login_names_the_backup_written_before_an_upgrade(qtbot: Any, tmp_path: Any) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from app.context import build_context
    from app.demo import setup_demo_station
    from local_db.engine import _alembic_config
    from tests.gui.conftest import running_shell
    from ui.tasks import InlineTaskRunner

    db = tmp_path / "t.db"
    from local_db.crypto import load_data_key

    first = build_context(db)
    setup_demo_station(first.staff)
    secrets = first.secrets
    first.close()
    engine = create_engine(f"sqlite:///{db}")  # back to the previous release's schema
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["data_key_loader"] = lambda cur: load_data_key(cur, secrets)
        command.downgrade(cfg, "0004")
    engine.dispose()

    ctx = build_context(db)  # what the new release does at start
    try:
        backups = list(tmp_path.glob("t.before-*.yjsbak"))
        assert len(backups) == 1
        for app_shell in running_shell(qtbot, InlineTaskRunner(), ctx):
            hint = app_shell.login.hint_label.text()
            assert backups[0].name in hint and "数据库已升级" in hint
    finally:
        ctx.close()
