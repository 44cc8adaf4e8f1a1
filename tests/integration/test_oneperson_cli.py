"""一人一档 from the command line: consent in the intake file, reuse taken by `intake submit`,
`intake consent withdraw|show`, `intake reuse show` — real subprocesses on a real store."""

from __future__ import annotations

import pytest

from tests.integration.test_submit_cli import (  # the same station, CLI runner and PDF reader
    NEWBORN,
    PERSON,
    cli,
    db,  # noqa: F401  (fixture)
    lines_for,
    pdf_text,
    submit,
)

pytestmark = pytest.mark.integration
SCAN = b"\xff\xd8\xff\xe0 household register pages"


def spec(**extra):
    marks = {m.id: "collected" for m in lines_for("newborn_birth", NEWBORN)}
    return {
        "clerk": "wangfang",
        "applicant": dict(PERSON),
        "bundle": "新生儿出生",
        "answers": NEWBORN,
        "marks": marks,
        **extra,
    }


def test_consent_reuse_and_withdrawal_from_the_command_line(tmp_path, db):  # noqa: F811
    (tmp_path / "hr.jpg").write_bytes(SCAN)
    first = spec(pages={"household_register": ["hr.jpg"]})
    first["applicant"]["consent_reuse"] = True
    code, out = submit(tmp_path, db, first, "first.json")
    assert code == 0, out
    number1 = out["number"]
    assert cli("consent", "show", number1, "--db", str(db))[1]["status"] == "granted"

    # the next visit: card data only; the household register is not marked, it is reused
    second = spec(reuse="all")
    second["applicant"] = {"name": PERSON["name"], "resident_id": PERSON["resident_id"]}
    del second["marks"]["household_register"]
    code, out = submit(tmp_path, db, second, "second.json")
    assert code == 0, out
    assert out["outcome"] == "received"
    taken = {(r["kind"], r["id"]): r["from"] for r in out["reused"]}
    assert taken == {
        ("field", "address"): number1,
        ("field", "phone"): number1,
        ("material", "household_register"): number1,
    }
    receipt = pdf_text(out["documents"]["receipt"])
    assert f"复用自{number1}" in receipt and "（一人一档）（同意日期：" in receipt
    code, shown = cli("reuse", "show", out["number"], "--db", str(db))
    assert code == 0 and shown["consent"] == "granted"
    assert {(r["id"], r["from"]) for r in shown["reused"]} >= {("household_register", number1)}

    code, out = cli(
        "consent", "withdraw", PERSON["resident_id"], "--clerk", "wangfang", "--db", str(db)
    )
    assert code == 0 and out["status"] == "withdrawn"
    # withdrawn: the file asks for reuse, nothing is offered, the command is refused whole
    code, out = submit(
        tmp_path, db, spec(reuse={"materials": ["household_register"]}), "third.json"
    )
    assert code == 1 and out["error"]["code"] == "reuse.no_consent"
    assert "已撤回" in out["error"]["message"]
    # what was reused before stays with its origin
    assert cli("reuse", "show", shown["number"], "--db", str(db))[1]["reused"] == shown["reused"]


def test_consent_needs_a_clerk_and_a_known_person(tmp_path, db):  # noqa: F811
    code, out = cli("consent", "grant", PERSON["resident_id"], "--db", str(db))
    assert code == 1 and out["error"]["code"] == "reuse.clerk_required"
    code, out = cli(
        "consent", "grant", PERSON["resident_id"], "--clerk", "wangfang", "--db", str(db)
    )
    assert code == 1 and out["error"]["code"] == "reuse.person_not_found"
