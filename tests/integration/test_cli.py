"""The CLI's JSON shapes and exit codes (in-process through app.cli.main, plus one real
subprocess to prove the console entry point and `python -m app` work)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def js(capsys, *argv):
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


def test_id_check_shapes(capsys):
    code, data = js(capsys, "id-check", "11010519491231002x")
    assert code == 0 and data == {
        "valid": True,
        "kind": "resident_id",
        "normalized": "11010519491231002X",
        "birth_date": "1949-12-31",
        "gender": "female",
        "error": None,
    }
    code, data = js(capsys, "id-check", "91350100M000100Y43")
    assert (
        code == 0
        and data["kind"] == "uscc"
        and data["birth_date"] is None
        and data["gender"] is None
    )
    code, data = js(capsys, "id-check", "320102198001010013")
    assert (
        code == 1
        and data["valid"] is False
        and data["normalized"] is None
        and "校验位" in data["error"]
    )


def test_catalog_list_shape(capsys):
    code, data = js(capsys, "catalog", "list")
    assert code == 0 and len(data) >= 63
    for b in data:
        assert set(b) == {"id", "name", "aliases", "kind", "lead_department", "items"}
        assert b["kind"] in ("enterprise", "personal")
        for i in b["items"]:
            assert set(i) == {"id", "name", "department", "levels"} and i["levels"]


def test_catalog_show_by_alias(capsys):
    code, data = js(capsys, "catalog", "show", "开饭店(餐饮店)")
    assert code == 0 and data["id"] == "restaurant_opening" and data["questions"]
    code, data = js(capsys, "catalog", "show", "没有这个")
    assert code == 1 and data["error"]["code"] == "catalog.unknown_bundle"


def test_catalog_validate(capsys, tmp_path):
    code, data = js(capsys, "catalog", "validate", str(ROOT / "resources" / "catalog"))
    assert code == 0 and data["valid"] and data["bundles"] >= 63
    bad = tmp_path / "bad.json"
    bad.write_text('{"header": {}, "materials": [], "bundles": []}', encoding="utf-8")
    code, data = js(capsys, "catalog", "validate", str(bad))
    assert (
        code == 1
        and data["error"]["code"] == "catalog.schema"
        and "bad.json" in data["error"]["message"]
    )
    code, data = js(capsys, "catalog", "validate", str(tmp_path / "missing.json"))
    assert code == 1 and data["error"]["code"] == "catalog.missing_file"


def test_checklist_shape_and_marks(capsys):
    code, data = js(
        capsys,
        "checklist",
        "新生儿出生",
        "--answer",
        "parents_married=是",
        "--answer",
        "applied_by_agent=否",
        "--answer",
        "parents_local_insured=否",
        "--have",
        "resident_id_card.father",
        "--have",
        "resident_id_card.mother",
        "--exempt",
        "household_register",
        "--tolerate",
        "marriage_certificate",
    )
    assert code == 0
    assert data["verdict"] == "incomplete"
    states = {m["id"]: m["state"] for m in data["materials"]}
    assert states["resident_id_card.father"] == states["resident_id_card.mother"] == "collected"
    assert states["household_register"] == "exempt"
    assert states["marriage_certificate"] == "tolerated"
    assert data["missing"] == [m["id"] for m in data["materials"] if m["state"] == "missing"]
    assert (
        set(data["reduction"]) >= {"separate", "merged"}
        and data["reduction"]["merged"] < data["reduction"]["separate"]
    )
    for m in data["materials"]:
        assert {"id", "name", "state", "required_by"} <= set(m) and m["required_by"]


def test_checklist_partial_items(capsys):
    code, data = js(capsys, "checklist", "newborn_birth", "--items", "vaccination_certificate")
    assert code == 0 and {m["id"] for m in data["materials"]} == {
        "birth_medical_certificate",
        "resident_id_card.guardian",
    }
    assert data["verdict"] == "incomplete" and set(data["missing"]) == {
        "birth_medical_certificate",
        "resident_id_card.guardian",
    }


@pytest.mark.parametrize(
    "argv,code_text",
    [
        (["checklist", "不存在的一件事"], "checklist.unknown_bundle"),
        (["checklist", "新生儿出生", "--items", "bogus"], "checklist.unknown_item"),
        (["checklist", "新生儿出生", "--answer", "parents_married=也许"], "checklist.answer_type"),
        (["checklist", "新生儿出生", "--answer", "nonsense"], "checklist.answer_format"),
        (["checklist", "新生儿出生", "--have", "business_license"], "checklist.mark_not_in_list"),
        (["checklist", "新生儿出生", "--have", "no_such_material"], "checklist.unknown_material"),
        (["checklist", "新生儿出生", "--exempt", "application_form"], "checklist.not_exemptable"),
        (
            ["checklist", "新生儿出生", "--tolerate", "resident_id_card.mother"],
            "checklist.not_tolerable",
        ),
    ],
)
def test_checklist_bad_input(capsys, argv, code_text):
    code, data = js(capsys, *argv)
    assert code == 1 and data["error"]["code"] == code_text and data["error"]["message"]


def test_bad_input_without_json_is_a_chinese_line_on_stderr(capsys):
    code, out, err = run(capsys, "checklist", "新生儿出生", "--items", "bogus")
    assert code == 1 and out == "" and err.startswith("错误：") and "Traceback" not in err


def test_demo_data_and_ledger(capsys, tmp_path):
    db = tmp_path / "demo.sqlite3"
    code, data = js(capsys, "demo-data", "--count", "300", "--days", "5", "--db", str(db))
    assert code == 0 and data["submissions"] == 300 and data["events"] > 300
    from app.context import build_context
    from app.state import fold

    ctx = build_context(db)
    try:
        with ctx.sessions() as s:
            from sqlalchemy import select

            from local_db.models import Submission

            subs = s.scalars(select(Submission)).all()
            days = sorted({x.local_date for x in subs})
            assert len(subs) == 300 and 1 < len(days) <= 5
            for sub in subs[:60]:  # generated events fold to the stored projection
                assert fold(ctx.queries.events(sub.id)).stage == sub.state
    finally:
        ctx.close()
    code, rows = js(capsys, "ledger", "--date", days[-1], "--db", str(db))
    assert code == 0 and rows
    for r in rows:
        assert {"number", "time", "bundle", "id_number", "state", "clerk"} <= set(r)
        assert "*" in r["id_number"] and r["state"] not in ("draft", "discarded")
    code, data = js(capsys, "ledger", "--date", "2024-13-45", "--db", str(db))
    assert code == 1 and data["error"]["code"] == "ledger.date"


def test_database_that_is_not_a_database(capsys, tmp_path):
    bad = tmp_path / "x.sqlite3"
    bad.write_bytes(b"garbage" * 1000)
    code, data = js(capsys, "ledger", "--db", str(bad))
    assert code == 1 and data["error"]["code"] == "store.not_a_database"


def test_print_receipt_via_cli(capsys, tmp_path):
    from pypdf import PdfReader

    db = tmp_path / "p.sqlite3"
    js(capsys, "demo-data", "--count", "20", "--days", "2", "--db", str(db))
    code, rows = js(capsys, "ledger", "--db", str(db))
    number = next(r["number"] for r in rows if r["state"] != "notified")
    out = tmp_path / "r.pdf"
    code, data = js(
        capsys, "print", "receipt", number, "--out", str(out), "--paper", "A5", "--db", str(db)
    )
    assert code == 0 and data["bytes"] == out.stat().st_size
    text = "".join(p.extract_text() for p in PdfReader(out).pages)
    assert number in text and "收件回执" in text
    code, data = js(
        capsys, "print", "receipt", "XX01-241202-0001-0", "--out", str(out), "--db", str(db)
    )
    assert code == 1 and data["error"]["code"] == "print.unknown_number"


def test_console_entry_point_and_module(tmp_path):
    env = {"INTAKE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for cmd in ([str(Path(sys.executable).parent / "intake")], [sys.executable, "-m", "app"]):
        p = subprocess.run(
            [*cmd, "id-check", "440524188001010014", "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["gender"] == "male"
