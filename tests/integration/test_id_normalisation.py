"""Numbers typed in other scripts' digits reach the store, its blind indexes and the command line
as the same ASCII number (issue: '²…' ended in an internal error; Arabic-Indic digits were stored
as typed, so a search by the ASCII number missed the same person)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.views import ApplicantInput

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

ARABIC_ID = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X"  # 11010519491231002X
FULLWIDTH_PHONE = "１３８１２３４５６７８"  # 13812345678


def test_service_stores_ascii_and_search_finds_the_person(ctx, staff):
    clerk = staff["clerk"]
    sid = ctx.intake.start(clerk)
    view = ctx.intake.set_applicant(
        clerk, sid, ApplicantInput(name="张三", resident_id=ARABIC_ID, phone=FULLWIDTH_PHONE)
    )
    assert view.resident_id == "11010519491231002X" and view.phone == "13812345678"
    assert view.problems() == {}
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(
        clerk,
        sid,
        {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True},
    )
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    ctx.intake.finish(clerk, sid)
    # the same person found by the ASCII number, the typed form, and the phone
    for q in ("11010519491231002X", ARABIC_ID, "13812345678", FULLWIDTH_PHONE):
        assert [r.submission_id for r in ctx.queries.search(q)] == [sid], q


def _cli(tmp_path, *argv):
    env = dict(os.environ, INTAKE_DATA_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-m", "app", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_cli_superscript_digit_is_a_clear_refusal_not_an_internal_error(tmp_path):
    p = _cli(tmp_path, "id-check", "²10105199003071239")
    assert p.returncode == 1, p.stderr
    assert "校验位" in p.stdout and "内部错误" not in p.stdout + p.stderr
    p = _cli(tmp_path, "id-check", "²10105199003071239", "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["valid"] is False


def test_cli_arabic_indic_digits_are_normalised(tmp_path):
    p = _cli(tmp_path, "id-check", ARABIC_ID, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["normalized"] == "11010519491231002X"


def test_a_draft_keeps_a_wrong_number_in_ascii_digits(ctx, staff):
    clerk = staff["clerk"]
    sid = ctx.intake.start(clerk)
    view = ctx.intake.set_applicant(
        clerk, sid, ApplicantInput(name="李四", resident_id="٣٢٠١٠٢١٩٨٠٠١٠١٠٠١٣")
    )
    assert view.resident_id == "320102198001010013" and "校验位" in view.problems()["resident_id"]
