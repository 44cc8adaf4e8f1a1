"""`intake --version`: client, database schema and catalog versions, each checked against a
source the version code does not read (alembic's own revision chain, the catalog header)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def alembic_head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "local_db" / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_version_names_client_schema_and_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    catalog = json.loads((ROOT / "resources/catalog/catalog.json").read_text("utf-8"))["version"]
    assert "客户端 0.1.0" in out  # pyproject's version, by hand
    assert f"数据库结构 {alembic_head()}" in out
    assert f"一件事目录 {catalog}" in out
