"""The 办事指南 of a consultation (咨询): read back from the PDF with pdftotext and compared with
the checklist the clerk saw for the same answers; counted as 咨询, never as an intake."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys

import pytest

from app import checklist as engine
from app.catalog_load import load_catalog
from app.reports import Period
from printing.guide import build_guide_pdf

from .conftest import station_staff

pytestmark = pytest.mark.integration

ANSWERS = {"business_area": "350", "venue_ownership": "rented"}


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "guide.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    )
    return re.sub(r"\s+", "", out.stdout)  # table cells wrap: compare without whitespace


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_leaflet_lists_what_the_checklist_lists(tmp_path):
    from app.clock import FixedClock
    from app.context import build_context  # the full bundled catalog (开办餐饮店)

    clock = FixedClock(dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC))
    ctx = build_context(tmp_path / "full.sqlite3", clock=clock)
    try:
        clerk = station_staff(ctx, "XX02", accounts=("clerk",))["clerk"]
        doc = ctx.consultations.guide(
            clerk, "开办餐饮店", answers=ANSWERS, where="新乡县政务服务中心一楼3号窗口"
        )
        text = _text(build_guide_pdf(doc), tmp_path)
        # What the clerk's screen shows for these answers: the engine on the catalog, read here
        # independently of the guide's own data.
        cat = load_catalog()
        bundle = cat.bundle("open_restaurant") or cat.resolve_one("开办餐饮店", "xinxiang", "x")
        seen = engine.evaluate(bundle, None, ANSWERS, catalog=cat, jurisdiction="xinxiang")
        assert seen.materials, "the answers give materials"
        for line in seen.materials:
            assert _squash(line.name) in text, line.name
            assert _squash(line.material.acceptance_standard) in text, line.name
            if line.tolerable:
                days = line.material.tolerance_days
                assert f"可容缺受理，签署告知承诺书后{days}个工作日内补交" in text, line.name
        exemptable = [m for m in seen.materials if m.exemptable and m.produced_by is None]
        assert exemptable and all(_squash(m.material.exempt_via) in text for m in exemptable)
        for item_line in seen.items:
            item = item_line.item
            if item_line.state == "active":
                assert _squash(item.name) in text and item.department_in("xinxiang") in text
                assert item.time_limit_text in text
            elif item_line.state == "not_applicable":
                assert _squash(item.name) not in text
        assert f"申请材料（一套材料，共{len(seen.materials)}项）" in text
        for q in bundle.questions:
            if q.id in seen.unanswered:
                assert _squash(q.text) in text  # 尚未确认的情形
        # answered: the question and the answer in words (租赁, 350平方米)
        assert "租赁" in text and "350平方米" in text
        # process, time limits, departments, where to go
        assert "各联办部门收到材料后1个工作日内作出受理或不予受理决定" in text
        assert "办理地点：新乡县政务服务中心一楼3号窗口" in text
        assert doc.reference and f"咨询编号：{doc.reference}" in text
    finally:
        ctx.close()


def test_a_consultation_is_counted_as_such_and_not_as_an_intake(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    day = clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    before = ctx.reports.reconcile(sup, Period.of("day", day), clock.now())
    assert before.counts["consultations"] == 0
    doc = ctx.consultations.guide(clerk, "新生儿出生", answers={})
    ctx.consultations.record(clerk, doc)
    doc2 = ctx.consultations.guide(clerk, "新生儿出生")
    ctx.consultations.record(clerk, doc2)
    after = ctx.reports.reconcile(sup, Period.of("day", day), clock.now())
    assert after.counts["consultations"] == 2
    assert after.counts["all"] == before.counts["all"] == 0  # no intake was made
    assert ctx.queries.ledger(day) == []
    # the record holds no person: bundle, items, answers, clerk, time
    from local_db.models import Consultation

    with ctx.sessions() as s:
        rows = s.query(Consultation).all()
    assert {r.bundle_id for r in rows} == {doc.bundle_id}
    assert all(r.clerk_id == clerk.id for r in rows)
    assert json.loads(rows[0].items) == list(doc.item_ids)
    # other days: none
    other = ctx.reports.reconcile(sup, Period.of("day", day - dt.timedelta(days=1)), clock.now())
    assert other.counts["consultations"] == 0


def test_a_wrong_answer_is_refused_in_chinese_and_nothing_is_counted(ctx, staff, clock):
    from local_db.errors import DomainError

    clerk, sup = staff["clerk"], staff["supervisor"]
    with pytest.raises(DomainError) as err:
        ctx.consultations.guide(clerk, "新生儿出生", answers={"no_such_question": "1"})
    assert err.value.code.startswith("checklist.")
    assert re.search(r"[\u4e00-\u9fff]", err.value.message)
    day = clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert (
        ctx.reports.reconcile(sup, Period.of("day", day), clock.now()).counts["consultations"] == 0
    )


def _cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_prints_the_guide_and_records_it_only_when_asked(tmp_path, ctx, staff):
    db = str(ctx.db_path)
    ctx.close()
    env = {**os.environ, "INTAKE_STATION_ADDRESS": "城关镇便民服务中心大厅"}
    out = tmp_path / "g.pdf"
    r = _cli("print", "guide", "新生儿出生", "--out", str(out), "--db", db, "--json", env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["reference"] == "" and data["materials"]
    text = _text(out.read_bytes(), tmp_path)
    assert all(_squash(m) in text for m in data["materials"])
    assert "办理地点：城关镇便民服务中心大厅" in text
    r = _cli("print", "guide", "新生儿出生", "--out", str(out), "--db", db, "--record", env=env)
    assert r.returncode == 0 and "已计入咨询" in r.stdout
    bad = tmp_path / "bad.pdf"
    r = _cli(
        "print",
        "guide",
        "新生儿出生",
        "--answer",
        "nonsense",
        "--out",
        str(bad),
        "--db",
        db,
        env=env,
    )
    assert r.returncode == 1 and not bad.exists()
    assert "Traceback" not in r.stderr and re.search(r"[\u4e00-\u9fff]", r.stderr + r.stdout)
    from app.context import build_context

    c = build_context(db)
    try:
        with c.sessions() as s:
            from local_db.models import Consultation

            assert s.query(Consultation).count() == 1  # only the --record one
    finally:
        c.close()
