"""The window and the CLI show the same catalog text for the same error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.catalog_load import load_catalog
from app.cli import main as cli_main

UNKNOWN = "不存在的一件事"
EXPECTED = f"目录中没有一件事“{UNKNOWN}”。"  # local_db/messages.py, catalog.unknown_bundle


def test_window_and_cli_show_the_same_text(qtbot: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from ui.tasks import InlineTaskRunner, TaskError

    catalog = load_catalog()
    runner = InlineTaskRunner()
    shown: list[TaskError] = []
    runner.run_db(lambda: catalog.resolve_one(UNKNOWN, None, "catalog"), on_error=shown.append)
    assert [(e.code, e.message) for e in shown] == [("catalog.unknown_bundle", EXPECTED)]

    assert cli_main(["catalog", "show", UNKNOWN, "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert (error["code"], error["message"]) == ("catalog.unknown_bundle", EXPECTED)

    assert cli_main(["catalog", "show", UNKNOWN]) == 1
    assert capsys.readouterr().err.strip() == f"错误：{EXPECTED}"
