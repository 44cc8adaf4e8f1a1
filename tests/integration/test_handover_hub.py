"""Issue 15 item 8 against the real hub on loopback: the agent, the hand-over of paper to the lead
department and the 送达 reach the hub through the station's sync engine, and the department reads
them through its API (GET /v1/dept/submissions/{sid}); the hub's log names no person."""

from __future__ import annotations

import datetime as dt
import logging
import random

import pytest
import requests

from app.agent import AgentInput
from app.views import ApplicantInput
from sync.engine import SyncEngine
from sync.keystore import MemoryTokenStore
from tests.expected_logs import SYNC_PAUSED
from tests.integration.test_sync_e2e import FAST
from tests.sync_doubles import NEWBORN_ANSWERS, station

pytestmark = [
    pytest.mark.integration,
    SYNC_PAUSED,
]

AGENT_ID = "41072119800101001X"
DAY = dt.date(2024, 12, 2)


def agent_intake(ctx, clerk, rng: random.Random) -> str:
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(
        clerk,
        sid,
        ApplicantInput(
            name="张三", resident_id="11010519491231002X", phone="13812345678", sources={}
        ),
    )
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, NEWBORN_ANSWERS)
    ctx.agents.set_agent(clerk, sid, AgentInput("李四", AGENT_ID, "13900001111", "child"))
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    ctx.intake.finish(clerk, sid)
    for m in ctx.intake.checklist(sid).materials:
        if m.needs_pages:
            ctx.pages.attach_page(clerk, sid, m.id, rng.randbytes(3000), "image/jpeg")
    return sid


def test_paper_and_delivery_reach_the_department(tmp_path, clock, catalog, hub, caplog):
    caplog.set_level(logging.DEBUG)
    ctx, clerk = station(tmp_path / "XX01", "XX01", clock, catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    sid = agent_intake(ctx, clerk, random.Random(7))
    assert "power_of_attorney" in {m.id for m in ctx.intake.checklist(sid).materials}
    listed = ctx.handover.create(clerk, "县卫健委", DAY, received_by="赵六")
    eng.run_until_idle(max_seconds=30)

    key = hub.store.issue_dept_key("新乡县卫健委")
    auth = {"Authorization": "Bearer " + key}
    got = requests.get(f"{hub.url}/v1/dept/submissions/{sid}", headers=auth, timeout=10)
    assert got.status_code == 200
    body = got.json()
    assert body["handover"]["batch"] == listed.number == "YJ-20241202-01"
    assert (body["handover"]["department"], body["handover"]["received_by"]) == ("县卫健委", "赵六")
    agent = next(e for e in body["events"] if e["type"] == "agent_set")["payload"]["agent"]
    assert (agent["name"], agent["resident_id"], agent["relation"]) == ("李四", AGENT_ID, "child")
    assert body["deliveries"] == []

    items = body["items"]  # the active items pushed to the departments
    assert items and set(items) <= set(ctx.queries.get(sid).items)
    for decision in ("accepted", "completed"):
        for item in items:
            r = requests.post(
                f"{hub.url}/v1/dept/decisions",
                json={"submission_id": sid, "item_id": item, "decision": decision},
                headers=auth,
                timeout=10,
            )
            assert r.status_code == 201, r.text
    clock.advance(hours=3)
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(sid).stage == "completed"
    ctx.intake.deliver(
        clerk, sid, method="express", carrier="jd", tracking_number="JDVA12345678901"
    )
    eng.run_until_idle(max_seconds=30)

    body = requests.get(f"{hub.url}/v1/dept/submissions/{sid}", headers=auth, timeout=10).json()
    (delivery,) = body["deliveries"]
    assert (delivery["method"], delivery["carrier"], delivery["tracking_number"]) == (
        "express",
        "jd",
        "JDVA12345678901",
    )
    assert delivery["recipient"] == "李四"  # the agent acts: the parcel is addressed to them
    assert sorted(delivery["items"]) == sorted(items)
    assert body["stage"] == "delivered"
    # nothing personal in any log line of station or hub
    for word in ("李四", AGENT_ID, "13900001111", "张三"):
        assert word not in caplog.text, word
    # a malformed id is a 4xx, never a 500
    bad = requests.get(f"{hub.url}/v1/dept/submissions/not-a-uuid", headers=auth, timeout=10)
    assert bad.status_code == 404
    ctx.close()
