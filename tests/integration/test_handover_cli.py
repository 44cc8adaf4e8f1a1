"""The CLI of issue 15 item 8, through real subprocesses on a real store: `intake submit` with an
"agent" and "priority", `intake handover pending|create|list`, `intake print handover-list`,
`intake deliver --carrier … --recipient …` and `intake print delivery-proof`. PDFs are read back
with pdftotext; expected values are written by hand."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.context import build_context
from local_db.models import Agent, Submission
from tests.integration.test_submit_cli import (  # noqa: F401
    NEWBORN,
    PERSON,
    cli,
    db,
    decide_all,
    submit,
)

pytestmark = pytest.mark.integration

AGENT = {"name": "李四", "resident_id": "41072119800101001X", "phone": "13900001111"}


def text_of(path: str | Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def marks_for(store: Path, agent: bool) -> dict[str, str]:
    from app import checklist as engine

    ctx = build_context(store)
    try:
        catalog = ctx.catalogs.current
        bundle = catalog.resolve_one("新生儿出生", "xinxiang", "intake")
        result = engine.evaluate(
            bundle, None, NEWBORN, {}, catalog=catalog, jurisdiction="xinxiang", agent=agent
        )
    finally:
        ctx.close()
    return {m.id: "collected" for m in result.materials if m.produced_by is None}


def spec(store: Path, **extra: object) -> dict:
    return {
        "clerk": "wangfang",
        "applicant": PERSON,
        "bundle": "新生儿出生",
        "answers": NEWBORN,
        "marks": marks_for(store, "agent" in extra),
        **extra,
    }


def test_submit_with_an_agent_and_auto_priority(tmp_path, db):  # noqa: F811
    code, out = submit(tmp_path, db, spec(db, agent={**AGENT, "relation": "子女"}, priority="auto"))
    assert code == 0, out
    assert out["outcome"] == "received" and out["agent"] is True
    assert out["priority"] == "elderly"  # the applicant was born in 1949
    receipt = text_of(out["documents"]["receipt"])
    assert "代办人" in receipt and "李四（子女）" in receipt and "410721********001X" in receipt
    assert "优先办" in receipt and "老年人（60周岁及以上）" in receipt


def test_a_bad_agent_leaves_nothing(tmp_path, db):  # noqa: F811
    bad = {**AGENT, "resident_id": "410721198001010011", "relation": "child"}
    code, err = submit(tmp_path, db, spec(db, agent=bad))
    assert code == 1 and err["error"]["code"] == "applicant.resident_id"
    assert "代办人证件号码" in err["error"]["message"] and "校验位" in err["error"]["message"]
    code, err = submit(tmp_path, db, spec(db, agent={**AGENT, "relation": "child", "age": 3}))
    assert code == 1 and err["error"]["code"] == "submit.unknown_field"
    ctx = build_context(db)
    try:
        with ctx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Submission)) == 0
            assert s.scalar(select(func.count()).select_from(Agent)) == 0
    finally:
        ctx.close()


def test_handover_and_delivery_from_the_command_line(tmp_path, db):  # noqa: F811
    code, one = submit(tmp_path, db, spec(db, agent={**AGENT, "relation": "child"}), "a.json")
    assert code == 0
    code, two = submit(tmp_path, db, spec(db), "b.json")
    assert code == 0
    day = one["number"].split("-")[1]
    day = f"20{day[:2]}-{day[2:4]}-{day[4:]}"

    code, pending = cli("handover", "pending", "--day", day, "--db", str(db))
    assert code == 0 and pending["departments"] == {"县卫健委": [one["number"], two["number"]]}
    code, err = cli(
        "handover", "create", "--department", "县卫健委", "--received-by", "赵六",
        "--clerk", "wangfang", "--day", day, "--out", str(tmp_path / "no" / "such" / "dir.pdf"),
        "--db", str(db),
    )  # fmt: skip
    assert code == 1 and err["error"]["code"] == "print.write_failed"
    code, batches = cli("handover", "list", "--db", str(db))
    assert code == 0 and batches == []  # the list was not written: nothing was recorded
    out = tmp_path / "list.pdf"
    code, made = cli(
        "handover", "create", "--department", "县卫健委", "--received-by", "赵六",
        "--clerk", "wangfang", "--day", day, "--out", str(out), "--db", str(db),
    )  # fmt: skip
    assert code == 0 and made["intakes"] == [one["number"], two["number"]]
    listing = text_of(out)
    for part in ("纸质材料移交清单", made["batch"], "县卫健委", "赵六", "王芳", one["number"]):
        assert part in listing, part
    code, again = cli(
        "handover", "create", "--department", "县卫健委", "--received-by", "赵六",
        "--clerk", "wangfang", "--day", day, "--db", str(db),
    )  # fmt: skip
    assert code == 1 and again["error"]["code"] == "handover.nothing"
    code, batches = cli("handover", "list", "--db", str(db))
    assert code == 0 and [(b["batch"], b["intakes"]) for b in batches] == [(made["batch"], 2)]
    reprint = tmp_path / "reprint.pdf"
    code, _ = cli("print", "handover-list", made["batch"], "--out", str(reprint), "--db", str(db))
    assert code == 0 and text_of(reprint) == listing

    decide_all(db, two["number"])
    code, err = cli(
        "deliver", two["number"], "--method", "express", "--carrier", "ems",
        "--tracking-number", "SF1234567890123", "--clerk", "wangfang", "--db", str(db),
    )  # fmt: skip
    assert code == 1 and err["error"]["code"] == "delivery.tracking_shape"
    assert "中国邮政EMS" in err["error"]["message"]
    code, dl = cli(
        "deliver", two["number"], "--method", "express", "--carrier", "ems",
        "--tracking-number", "EA123456789CN", "--address", "新乡县人民路1号",
        "--clerk", "wangfang", "--db", str(db), "--print-dir", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 0 and dl["stage"] == "delivered"
    proof = text_of(dl["documents"]["delivery_proof"])
    for part in ("送达凭证", "邮寄送达", "中国邮政EMS", "EA123456789CN", "新乡县人民路1号"):
        assert part in proof, part
    again_pdf = tmp_path / "proof.pdf"
    code, printed = cli(
        "print", "delivery-proof", two["number"], "--out", str(again_pdf), "--db", str(db)
    )
    assert code == 0 and printed["kind"] == "delivery_proof"
    assert text_of(again_pdf) == proof
    assert json.loads(json.dumps(printed))["number"] == two["number"]
