"""帮办代办, 优先办, 送达凭证 and the 移交清单 on a real store (issue 15 item 8).

Expected values are written by hand: the agent's number below is a valid GB 11643 number worked
out by hand (check digit of 41072119800101001 is X), the lead department of 新生儿出生 in the
xinxiang jurisdiction is the catalog's 县卫健委, and PDFs are read back with pdftotext.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess

import pytest
from sqlalchemy import text

from app.agent import AgentInput, suggested_priority
from app.errors import IntakeError
from app.views import ApplicantInput
from printing.documents import build_document
from printing.handover import build_delivery_proof, build_handover_list

pytestmark = [pytest.mark.integration]

ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}
ELDER = ApplicantInput(  # born 1949-12-31: 74 on the test day (2024-12-02)
    name="张三",
    resident_id="11010519491231002X",
    phone="13812345678",
    address="新乡县人民路1号",
    sources={"name": "card", "resident_id": "card"},
)
AGENT_ID = "41072119800101001X"
AGENT = AgentInput(name="李四", resident_id=AGENT_ID, phone="13900001111", relation="child")
DAY = dt.date(2024, 12, 2)


def pdf_text(pdf: bytes, tmp_path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def intake(ctx, clerk, *, agent: AgentInput | None = None, finish: bool = True) -> str:
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, ELDER)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    if agent is not None:
        ctx.agents.set_agent(clerk, sid, agent)
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    if finish:
        ctx.intake.finish(clerk, sid)
    return sid


def test_an_agent_adds_the_power_of_attorney_and_is_printed_masked(ctx, staff, tmp_path):
    clerk = staff["clerk"]
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, ELDER)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)  # the bundle's own question says: no agent
    before = {m.id for m in ctx.intake.checklist(sid).materials}
    assert "power_of_attorney" not in before
    ctx.agents.set_agent(clerk, sid, AGENT)
    after = {m.id for m in ctx.intake.checklist(sid).materials}
    assert after - before == {"power_of_attorney", "agent_id_card"}
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    ctx.intake.finish(clerk, sid)
    doc = ctx.documents.document(clerk, sid, "receipt")
    txt = pdf_text(build_document(doc), tmp_path, "r.pdf")
    assert "代办人" in txt and "李四（子女）" in txt
    assert "410721********001X" in txt and AGENT_ID not in txt  # masked on the receipt
    assert "代办人（签字）" in txt
    assert "授权委托书" in txt
    # Removing the agent (before finishing another intake) removes the extra papers again.
    sid2 = intake(ctx, clerk, agent=AGENT, finish=False)
    ctx.agents.set_agent(clerk, sid2, None)
    assert "power_of_attorney" not in {m.id for m in ctx.intake.checklist(sid2).materials}
    assert ctx.agents.agent(sid2) is None


def test_the_agent_is_encrypted_at_rest(ctx, staff):
    sid = intake(ctx, staff["clerk"], agent=AGENT)
    assert ctx.agents.agent(sid).resident_id == AGENT_ID
    with ctx.sessions() as s:
        raw = s.execute(text("SELECT name, resident_id, phone FROM agents")).one()
        payloads = s.execute(text("SELECT payload FROM events WHERE type='agent_set'")).all()
    for value in raw:
        assert "李四" not in str(value) and AGENT_ID not in str(value)
        assert "13900001111" not in str(value)
    assert payloads and all(AGENT_ID not in str(p) for (p,) in payloads)


@pytest.mark.parametrize(
    "change, code",
    [
        ({"resident_id": "41072119800101001"}, "applicant.resident_id"),  # 17 digits
        ({"resident_id": "410721198001010011"}, "applicant.resident_id"),  # wrong check digit
        ({"resident_id": ELDER.resident_id}, "agent.is_applicant"),
        ({"phone": "1390000111"}, "applicant.phone"),
        ({"relation": "friend"}, "choice.unknown"),
        ({"name": "  "}, "person.name"),
    ],
)
def test_a_bad_agent_is_refused_and_nothing_is_kept(ctx, staff, change, code):
    clerk = staff["clerk"]
    sid = intake(ctx, clerk, finish=False)
    bad = AgentInput(**{**AGENT.__dict__, **change})
    with pytest.raises(IntakeError) as exc:
        ctx.agents.set_agent(clerk, sid, bad)
    assert exc.value.code == code
    assert exc.value.details["field"].startswith("agent.") or code == "agent.is_applicant"
    assert ctx.agents.agent(sid) is None
    with ctx.sessions() as s:
        assert s.execute(text("SELECT count(*) FROM events WHERE type='agent_set'")).scalar() == 0


def test_priority_offered_from_the_birth_date_and_printed(ctx, staff, tmp_path):
    # 60th birthday: from that day on, not the day before (worked out by hand).
    assert suggested_priority(dt.date(1964, 12, 2), DAY) == "elderly"
    assert suggested_priority(dt.date(1964, 12, 3), DAY) == ""
    assert suggested_priority(None, DAY) == ""
    clerk = staff["clerk"]
    sid = intake(ctx, clerk, finish=False)
    assert ctx.agents.suggestion(sid) == "elderly"  # the applicant was born in 1949
    with pytest.raises(IntakeError) as exc:
        ctx.agents.set_priority(clerk, sid, "vip")
    assert exc.value.code == "choice.unknown" and exc.value.details["field"] == "priority"
    ctx.agents.set_priority(clerk, sid, "disabled")
    ctx.intake.finish(clerk, sid)
    assert ctx.agents.priority(sid) == "disabled"
    txt = pdf_text(build_document(ctx.documents.document(clerk, sid, "receipt")), tmp_path, "p")
    assert "优先办" in txt and "残疾人" in txt
    with pytest.raises(IntakeError):  # part of the intake: not changed after receipt
        ctx.agents.set_priority(clerk, sid, "")
    other = intake(ctx, clerk)  # no priority
    rows = {r.submission_id: r for r in ctx.queries.ledger(DAY)}
    assert rows[sid].label == "已收件·优先办" and rows[sid].to_json()["priority"] == "disabled"
    assert rows[other].label == "已收件" and rows[other].priority == ""


def decided(ctx, clerk, sid: str) -> None:
    ctx.intake.mark_pushed(sid)
    for item in ctx.intake.checklist(sid).active_items:
        ctx.intake.record_decision(None, sid, item.id, "accepted")
        ctx.intake.record_decision(None, sid, item.id, "completed")


@pytest.mark.parametrize(
    "carrier, number, code",
    [
        ("sf", "SF123", "delivery.tracking_shape"),
        ("yto", "SF1234567890123", "delivery.tracking_shape"),
        ("", "773012345678", "delivery.carrier"),  # digits only: which carrier is not known
        ("dhl", "1234567890", "delivery.carrier"),
        ("sf", "", "intake.tracking_required"),
    ],
)
def test_express_needs_a_carrier_and_a_number_of_its_shape(ctx, staff, carrier, number, code):
    clerk = staff["clerk"]
    sid = intake(ctx, clerk)
    decided(ctx, clerk, sid)
    with pytest.raises(IntakeError) as exc:
        ctx.intake.deliver(clerk, sid, method="express", carrier=carrier, tracking_number=number)
    assert exc.value.code == code
    assert ctx.queries.get(sid).stage == "completed"


def test_delivery_proof_by_express_and_at_the_window(ctx, staff, tmp_path):
    clerk = staff["clerk"]
    sid = intake(ctx, clerk)
    with pytest.raises(IntakeError) as exc:
        ctx.deliveries.proof(sid)
    assert exc.value.code == "delivery.none"
    decided(ctx, clerk, sid)
    ctx.intake.deliver(
        clerk,
        sid,
        method="express",
        tracking_number="sf 1234 5678 90123",
        address="新乡县人民路1号",
    )
    proof = ctx.deliveries.proof(sid)
    assert (proof.method, proof.carrier, proof.tracking_number) == (
        "express",
        "顺丰速运",
        "SF1234567890123",
    )
    txt = pdf_text(build_delivery_proof(proof), tmp_path, "d.pdf")
    for part in ("送达凭证", "邮寄送达", "顺丰速运", "SF1234567890123", "新乡县人民路1号", "王芳"):
        assert part in txt, part

    sid2 = intake(ctx, clerk, agent=AGENT)
    decided(ctx, clerk, sid2)
    ctx.intake.deliver(clerk, sid2, method="window")  # collected by whoever acts: the agent
    proof2 = ctx.deliveries.proof(sid2)
    assert proof2.method == "window" and proof2.recipient == "李四"
    txt2 = pdf_text(build_delivery_proof(proof2), tmp_path, "w.pdf")
    assert "窗口领取" in txt2 and "领取人" in txt2 and "李四" in txt2 and "领取人（签字）" in txt2


def test_handover_list_per_lead_department_recorded_once(ctx, staff, tmp_path):
    clerk = staff["clerk"]
    first = intake(ctx, clerk, agent=AGENT)
    second = intake(ctx, clerk)
    draft = intake(ctx, clerk, finish=False)  # not received: its paper is not at the window
    assert ctx.handover.departments(DAY) == {"县卫健委": 2}
    with pytest.raises(IntakeError) as exc:
        ctx.handover.create(clerk, "县卫健委", DAY, received_by=" ")
    assert exc.value.code == "person.name" and exc.value.details["field"] == "received_by"
    with pytest.raises(IntakeError) as exc:
        ctx.handover.create(clerk, "县民政局", DAY, received_by="赵六")
    assert exc.value.code == "handover.nothing"

    listed = ctx.handover.create(clerk, "县卫健委", DAY, received_by="赵六")
    assert listed.number == "YJ-20241202-01"
    assert [e.submission_id for e in listed.entries] == [first, second]
    first_paper = {p.name: (p.form, p.copies) for p in listed.entries[0].paper}
    assert first_paper["授权委托书"] == ("原件", 1)  # the agent's paper goes along
    assert ctx.handover.handed_over(first) == "YJ-20241202-01"
    assert ctx.handover.handed_over(draft) is None
    assert ctx.handover.pending(DAY) == []  # nothing twice
    with pytest.raises(IntakeError) as exc:
        ctx.handover.create(clerk, "县卫健委", DAY, received_by="赵六")
    assert exc.value.code == "handover.nothing"
    (batch,) = ctx.handover.batches(DAY)
    assert (batch.department, batch.received_by, batch.intakes, batch.clerk_name) == (
        "县卫健委",
        "赵六",
        2,
        "王芳",
    )
    with ctx.sessions() as s:
        rows = s.execute(
            text("SELECT submission_id FROM events WHERE type='handed_over' ORDER BY station_seq")
        ).all()
    assert [r[0] for r in rows] == [first, second]
    with ctx.sessions() as s:  # the receiver's name is ciphertext at rest
        (raw,) = s.execute(text("SELECT received_by FROM handover_batches")).one()
    assert "赵六" not in str(raw)

    txt = pdf_text(build_handover_list(ctx.handover.document(listed.number)), tmp_path, "h.pdf")
    for part in ("纸质材料移交清单", "YJ-20241202-01", "县卫健委", "赵六", "王芳", "授权委托书"):
        assert part in txt, part
    assert "移交人" in txt and "接收人" in txt
    assert ctx.queries.get(first).number in txt and ctx.queries.get(second).number in txt


def test_handover_of_named_intakes_only(ctx, staff, caplog):
    caplog.set_level(logging.INFO)
    clerk = staff["clerk"]
    a = intake(ctx, clerk)
    b = intake(ctx, clerk)
    number_b = ctx.queries.get(b).number
    listed = ctx.handover.create(clerk, "县卫健委", DAY, "赵六", numbers=[number_b])
    assert [e.submission_id for e in listed.entries] == [b]
    assert [e.submission_id for e in ctx.handover.pending(DAY)] == [a]
    with pytest.raises(IntakeError) as exc:
        ctx.handover.create(clerk, "县卫健委", DAY, "赵六", numbers=[number_b])
    assert exc.value.code == "handover.not_pending"
    assert "张三" not in caplog.text and AGENT_ID not in caplog.text
