"""`intake rating add|decline|list|followup`: 好差评 at the command line, with its refusals."""

import pytest

from .test_cli import js, run

pytestmark = pytest.mark.integration


def _numbers(capsys, db):
    js(capsys, "demo-data", "--count", "12", "--days", "1", "--db", str(db))
    code, rows = js(capsys, "ledger", "--db", str(db))
    assert code == 0
    return [r["number"] for r in rows]


def test_rating_add_list_and_followup(capsys, tmp_path):
    db = str(tmp_path / "r.sqlite3")
    first, second, third = _numbers(capsys, db)[:3]
    code, data = js(capsys, "rating", "add", first, "--level", "5", "--db", db)
    assert code == 0 and data["level"] == "very_satisfied" and data["level_label"] == "非常满意"
    assert data["followup_due"] is None

    code, data = js(
        capsys,
        "rating",
        "add",
        second,
        "--level",
        "不满意",
        "--reason",
        "slow",
        "--reason",
        "other",
        "--text",
        "等了很久",
        "--db",
        db,
    )
    assert code == 0 and data["reasons"] == ["slow", "other"] and data["followup_due"]
    bad_id = data["id"]
    code, data = js(capsys, "rating", "decline", third, "--db", db)
    assert code == 0 and data["level"] is None and data["level_label"] == "未评价"

    code, rows = js(capsys, "rating", "list", "--db", db)
    assert code == 0 and sorted(r["number"] for r in rows) == sorted([first, second, third])
    code, rows = js(capsys, "rating", "list", "--open", "--db", db)
    assert [r["number"] for r in rows] == [second]

    code, out, _err = run(capsys, "rating", "followup", str(bad_id), "--note", "已回访", "--db", db)
    assert code == 0 and "已办结" in out and second in out
    code, rows = js(capsys, "rating", "list", "--open", "--db", db)
    assert rows == []


def test_rating_twice_is_refused_and_the_first_kept(capsys, tmp_path):
    db = str(tmp_path / "r.sqlite3")
    number = _numbers(capsys, db)[0]
    assert js(capsys, "rating", "add", number, "--level", "满意", "--db", db)[0] == 0
    code, data = js(
        capsys, "rating", "add", number, "--level", "1", "--reason", "attitude", "--db", db
    )
    assert code == 1 and data["error"]["code"] == "rating.duplicate"
    code, out, err = run(
        capsys, "rating", "add", number, "--level", "1", "--reason", "attitude", "--db", db
    )
    assert code == 1 and out == "" and "不能重复评价" in err and "Traceback" not in err
    code, rows = js(capsys, "rating", "list", "--db", db)
    assert [r["level"] for r in rows] == ["satisfied"]


@pytest.mark.parametrize(
    ("argv", "code_text"),
    [
        (["--level", "很好"], "rating.level"),
        (["--level", "2"], "rating.reasons"),
        (["--level", "2", "--reason", "rude"], "rating.reason"),
    ],
)
def test_rating_bad_input_is_refused_in_chinese(capsys, tmp_path, argv, code_text):
    db = str(tmp_path / "r.sqlite3")
    number = _numbers(capsys, db)[0]
    code, data = js(capsys, "rating", "add", number, *argv, "--db", db)
    assert code == 1 and data["error"]["code"] == code_text
    code, rows = js(capsys, "rating", "list", "--db", db)
    assert rows == []
