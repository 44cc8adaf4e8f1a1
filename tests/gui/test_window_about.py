"""帮助 → 关于: the client, database schema and catalog versions of the running station."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_version import alembic_head

pytestmark = pytest.mark.gui


def test_about_shows_client_schema_and_catalog_versions(window: Any) -> None:
    help_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().startswith("帮助")
    )
    assert "关于" in [a.text() for a in help_menu.actions()]
    text = window.about_text()
    assert "客户端版本：0.1.0" in text
    assert f"数据库结构版本：{alembic_head()}" in text
    assert f"一件事目录版本：{window.session.catalog.version}" in text
