import datetime as dt

import pytest

from app.errors import IntakeError
from app.state import (
    STAGES,
    IntakeInputs,
    apply,
    fold,
    inputs_from_events,
    is_intake,
    item_outcomes,
)

T = dt.datetime(2024, 12, 2, 1, 0, tzinfo=dt.UTC)


def run(*events):
    return fold([(e, p, T) for e, p in events])


RECEIVED = [
    ("created", {}),
    ("bundle_chosen", {"bundle": "b", "items": ["x", "y"]}),
    ("received", {"number": "N1", "items": ["x", "y"], "tolerated": []}),
]


def test_happy_path_to_delivered():
    s = run(
        *RECEIVED,
        ("digitised", {}),
        ("pushed", {}),
        ("item_decided", {"item": "x", "decision": "accepted"}),
        ("item_decided", {"item": "y", "decision": "accepted"}),
        ("item_decided", {"item": "x", "decision": "completed"}),
    )
    assert s.stage == "accepted"
    s = apply(s, "item_decided", {"item": "y", "decision": "completed"}, T)
    assert s.stage == "completed"
    s = apply(s, "delivered", {"items": ["x", "y"]}, T)
    assert s.stage == "delivered" and s.number == "N1"


def test_notified_can_resume_and_be_received():
    s = run(
        ("created", {}),
        ("notified", {"number": "N1"}),
        ("material_marked", {"marks": {"m": "collected"}}),
        ("received", {"number": "N1", "items": ["x"], "tolerated": []}),
    )
    assert s.stage == "received"


def test_tolerance_makes_awaiting_supplement_until_supplemented():
    s = run(
        ("created", {}), ("received", {"number": "N", "items": ["x"], "tolerated": ["m1", "m2"]})
    )
    assert s.awaiting_supplement and "容缺待补" in s.label
    s = apply(s, "supplemented", {"materials": ["m1"]}, T)
    assert s.awaiting_supplement
    s = apply(s, "supplemented", {"materials": ["m2"]}, T)
    assert not s.awaiting_supplement and s.stage == "received"
    with pytest.raises(IntakeError):
        apply(s, "supplemented", {"materials": ["m2"]}, T)


@pytest.mark.parametrize(
    "events,bad",
    [
        (RECEIVED, ("material_marked", {"marks": {}})),  # no editing after receipt
        (RECEIVED, ("received", {"number": "N2", "items": [], "tolerated": []})),
        ([("created", {})], ("pushed", {})),
        ([("created", {})], ("withdrawn", {"reason": "x"})),  # a draft is discarded, not withdrawn
        (
            [*RECEIVED, ("pushed", {}), ("item_decided", {"item": "x", "decision": "accepted"})],
            ("withdrawn", {}),
        ),
        ([*RECEIVED, ("pushed", {})], ("item_decided", {"item": "x", "decision": "completed"})),
        ([*RECEIVED, ("pushed", {})], ("item_decided", {"item": "zz", "decision": "accepted"})),
        (RECEIVED, ("delivered", {"items": ["x"]})),
        ([("created", {})], ("created", {})),
        (RECEIVED, ("discarded", {})),
    ],
)
def test_refused_transitions(events, bad):
    s = run(*events)
    with pytest.raises(IntakeError) as exc:
        apply(s, bad[0], bad[1], T)
    assert exc.value.code.startswith("intake.") and exc.value.message


def test_withdraw_before_decision():
    assert run(*RECEIVED, ("withdrawn", {"reason": "x"})).stage == "withdrawn"


def test_all_rejected_is_rejected():
    s = run(
        *RECEIVED,
        ("pushed", {}),
        ("item_decided", {"item": "x", "decision": "rejected"}),
        ("item_decided", {"item": "y", "decision": "rejected"}),
    )
    assert s.stage == "rejected"


def test_first_event_must_be_created():
    with pytest.raises(IntakeError):
        fold([("received", {"number": "N"}, T)])


def test_inputs_replayed_from_events():
    events = [
        ("created", {}, T),
        ("bundle_chosen", {"bundle": "b", "items": ["x"]}, T),
        ("answered", {"answers": {"q1": True, "q2": 3}}, T),
        ("answered", {"answers": {"q2": None}}, T),
        ("material_marked", {"marks": {"m1": "collected", "m2": "tolerated"}}, T),
        ("material_marked", {"marks": {"m1": None}}, T),
        ("received", {"number": "N", "items": ["x"], "tolerated": ["m2"]}, T),
        ("supplemented", {"materials": ["m2"]}, T),
    ]
    inputs = inputs_from_events(events)
    assert inputs.bundle == "b" and inputs.items == ("x",)
    assert inputs.answers == {"q1": True} and inputs.marks == {"m2": "collected"}


# ----------------------------------------------------------------------------- the whole table
# Every event tried in every stage, the result written by hand from the counter procedure
# (DESIGN §4: draft → notified → received → digitised → pushed → per item accepted | rejected →
# completed → delivered; withdrawn before any decision; edits only before a verdict on receipt).
# A stage name is the stage after the event; otherwise the error code it must raise.
# Submissions have two items x, y; the tolerated material m is outstanding from receipt on.
T_ = "intake.transition"
DUP = "intake.duplicate_create"
ORDER = "intake.decision_order"
NOT_READY = "intake.not_ready_for_delivery"

HISTORY = {
    "draft": [],
    "notified": [("notified", {"number": "N1"})],
    "received": [("received", {"number": "N1", "items": ["x", "y"], "tolerated": ["m"]})],
}
HISTORY["digitised"] = HISTORY["received"] + [("digitised", {})]
HISTORY["pushed"] = HISTORY["digitised"] + [("pushed", {})]
HISTORY["accepted"] = HISTORY["pushed"] + [("item_decided", {"item": "x", "decision": "accepted"})]
HISTORY["rejected"] = HISTORY["pushed"] + [
    ("item_decided", {"item": "x", "decision": "rejected"}),
    ("item_decided", {"item": "y", "decision": "rejected"}),
]
HISTORY["completed"] = HISTORY["accepted"] + [
    ("item_decided", {"item": "y", "decision": "accepted"}),
    ("item_decided", {"item": "x", "decision": "completed"}),
    ("item_decided", {"item": "y", "decision": "completed"}),
]
HISTORY["delivered"] = HISTORY["completed"] + [("delivered", {"items": ["x", "y"]})]
HISTORY["withdrawn"] = HISTORY["received"] + [("withdrawn", {"reason": "申请人撤回"})]
HISTORY["discarded"] = [("discarded", {})]

EVENTS = {
    "applicant_set": {},
    "bundle_chosen": {"bundle": "b", "items": ["x", "y"]},
    "answered": {"answers": {}},
    "material_marked": {"marks": {}},
    "notified": {"number": "N2"},
    "received": {"number": "N2", "items": ["x", "y"], "tolerated": []},
    "page_attached": {},
    "page_removed": {},
    "page_rotated": {},
    "page_moved": {},
    "digitised": {},
    "pushed": {},
    "item_decided": {"item": "y", "decision": "rejected"},
    "supplemented": {"materials": ["m"]},
    "withdrawn": {"reason": "申请人撤回"},
    "delivered": {"items": ["x"]},
    "document_printed": {},
    "discarded": {},
    "created": {},
}
EDIT = ("applicant_set", "bundle_chosen", "answered", "material_marked")
PAGE = ("page_attached", "page_removed", "page_rotated", "page_moved")


def _row(stage, **results):
    """Every event refused in STAGE (T_) except created (DUP) and those given."""
    row = {e: T_ for e in EVENTS}
    row["created"] = DUP
    for key, value in results.items():
        for e in {"edit": EDIT, "page": PAGE}.get(key, (key,)):
            row[e] = value
    return row


TABLE = {
    "draft": _row(
        "draft", edit="draft", page="draft", notified="notified", received="received",
        discarded="discarded",
    ),
    "notified": _row(
        "notified", edit="notified", page="notified", notified="notified", received="received",
        withdrawn="withdrawn", document_printed="notified",
    ),
    "received": _row(
        "received", page="received", digitised="digitised", pushed="pushed",
        supplemented="received", withdrawn="withdrawn", document_printed="received",
    ),
    "digitised": _row(
        "digitised", page="digitised", pushed="pushed", supplemented="digitised",
        withdrawn="withdrawn", document_printed="digitised",
    ),
    "pushed": _row(
        "pushed", page="pushed", item_decided="accepted", supplemented="pushed",
        withdrawn="withdrawn", document_printed="pushed",
    ),
    "accepted": _row(
        "accepted", page="accepted", item_decided="accepted", supplemented="accepted",
        delivered=NOT_READY, document_printed="accepted",
    ),
    "rejected": _row(
        "rejected", item_decided=ORDER, delivered="rejected", document_printed="rejected"
    ),
    "completed": _row(
        "completed", item_decided=ORDER, supplemented="completed", delivered="completed",
        document_printed="completed",
    ),
    "delivered": _row("delivered", document_printed="delivered"),
    "withdrawn": _row("withdrawn", document_printed="withdrawn"),
    "discarded": _row("discarded"),
}  # fmt: skip


def _outcome(state, etype):
    try:
        return apply(state, etype, EVENTS[etype], T).stage
    except IntakeError as exc:
        return exc.code


def test_every_event_in_every_stage_follows_the_table():
    assert set(TABLE) == set(STAGES)
    wrong = {}
    for stage, row in TABLE.items():
        state = run(("created", {}), *HISTORY[stage])
        assert state.stage == stage
        for etype, expected in row.items():
            got = _outcome(state, etype)
            if got != expected:
                wrong[(stage, etype)] = (got, expected)
    assert wrong == {}


def test_pushed_needs_a_receipt():
    # a 一次告知 (notified) has nothing to push: materials are incomplete
    state = run(("created", {}), ("notified", {"number": "N1"}))
    with pytest.raises(IntakeError) as exc:
        apply(state, "pushed", {}, T)
    assert exc.value.code == "intake.transition"


def test_only_created_starts_a_submission_and_unknown_events_are_refused():
    assert apply(None, "created", {}, T).stage == "draft"
    with pytest.raises(IntakeError) as exc:
        apply(None, "notified", {"number": "N1"}, T)
    assert exc.value.code == "intake.no_submission"
    with pytest.raises(IntakeError) as exc:
        apply(run(("created", {})), "teleported", {}, T)
    assert exc.value.code == "intake.unknown_event"


# ----------------------------------------------------------------------------- item outcomes
# Days are the station's local days (China, UTC+8), not UTC days and not instants.
def _utc(y, mo, d, h, mi):
    return dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC)


def test_delivery_later_the_same_local_day_is_on_time():
    # completed 00:30 on 2 Dec in China (still 1 Dec in UTC), handed over 09:00 the same day
    out = item_outcomes([("completed", _utc(2024, 12, 1, 16, 30), _utc(2024, 12, 2, 1, 0))])
    assert out["delivered_late"] is False


def test_delivery_after_local_midnight_is_late_though_the_utc_day_is_the_same():
    # completed 23:30 on 2 Dec in China, handed over 00:30 on 3 Dec (both 2 Dec in UTC)
    out = item_outcomes([("completed", _utc(2024, 12, 2, 15, 30), _utc(2024, 12, 2, 16, 30))])
    assert out["delivered_late"] is True


def test_undelivered_since_is_the_earliest_local_completion_day():
    items = [
        ("completed", _utc(2024, 12, 3, 2, 0), None),  # 3 Dec in China
        ("completed", _utc(2024, 12, 1, 16, 30), None),  # 00:30 on 2 Dec in China (1 Dec UTC)
        ("completed", _utc(2024, 11, 30, 1, 0), _utc(2024, 11, 30, 2, 0)),  # delivered: not owed
        ("accepted", _utc(2024, 11, 20, 1, 0), None),  # not completed: nothing to hand over
    ]
    out = item_outcomes(items)
    assert out["undelivered_since"] == dt.date(2024, 12, 2)
    assert out["delivered_late"] is False
    assert out["items_accepted"] is True and out["items_rejected"] is False


def test_outcome_flags():
    assert item_outcomes([]) == {
        "items_accepted": False,
        "items_rejected": False,
        "undelivered_since": None,
        "delivered_late": False,
    }
    out = item_outcomes([("rejected", _utc(2024, 12, 2, 1, 0), None), (None, None, None)])
    assert out == {
        "items_accepted": False,
        "items_rejected": True,
        "undelivered_since": None,
        "delivered_late": False,
    }
    # a completed item counts as accepted too
    assert item_outcomes([("completed", None, None)])["items_accepted"] is True


# ----------------------------------------------------------------------------- details
def _at(minute):
    return T + dt.timedelta(minutes=minute)


def test_each_step_records_its_time_and_number():
    s = fold(
        [
            ("created", {}, _at(0)),
            ("notified", {"number": "N1"}, _at(1)),
            ("received", {"number": "N2", "items": ["x"]}, _at(2)),  # no tolerated key: none
            ("digitised", {}, _at(3)),
            ("pushed", {}, _at(4)),
        ]
    )
    assert (s.number, s.items, s.tolerated_outstanding) == ("N2", ("x",), frozenset())
    assert (s.received_at, s.digitised_at, s.pushed_at, s.finished_at) == (
        _at(2),
        _at(3),
        _at(4),
        _at(2),
    )
    n = fold([("created", {}, _at(0)), ("notified", {"number": "N1"}, _at(1))])
    assert (n.number, n.finished_at, n.received_at) == ("N1", _at(1), None)


def test_labels_and_awaiting_supplement():
    assert run(("created", {})).label == "草稿"
    s = run(("created", {}), ("received", {"number": "N", "items": ["x"], "tolerated": ["m"]}))
    assert s.awaiting_supplement and s.label == "已收件（容缺待补）"
    assert run(("created", {}), ("received", {"number": "N", "items": ["x"]})).label == "已收件"
    w = apply(s, "withdrawn", {"reason": "r"}, T)
    assert not w.awaiting_supplement and w.label == "已撤回"
    r = run(
        ("created", {}),
        ("received", {"number": "N", "items": ["x"], "tolerated": ["m"]}),
        ("pushed", {}),
        ("item_decided", {"item": "x", "decision": "rejected"}),
    )
    assert r.stage == "rejected" and not r.awaiting_supplement and r.label == "不予受理"


def test_intake_stages():
    assert not is_intake("draft") and not is_intake("discarded")
    for stage in STAGES:
        if stage not in ("draft", "discarded"):
            assert is_intake(stage), stage


def test_refusal_messages_name_the_stage_and_the_action():
    notified = run(("created", {}), ("notified", {"number": "N1"}))
    with pytest.raises(IntakeError) as exc:
        apply(notified, "pushed", {}, T)
    assert exc.value.message == "当前状态为“已一次告知”，不能标记为已推送。"
    assert (exc.value.details["stage"], exc.value.details["event"]) == ("notified", "pushed")
    received = run(*RECEIVED)
    expected = {
        "applicant_set": "修改申请人信息",
        "bundle_chosen": "修改所选事项",
        "answered": "修改情形回答",
        "material_marked": "修改材料标记",
        "notified": "出具一次告知通知书",
        "received": "收件",
        "item_decided": "登记部门办理结果",
        "delivered": "登记送达",
        "discarded": "作废草稿",
    }
    for etype, what in expected.items():
        with pytest.raises(IntakeError) as exc:
            apply(received, etype, EVENTS[etype], T)
        assert exc.value.message == f"当前状态为“已收件”，不能{what}。", etype
    with pytest.raises(IntakeError) as exc:
        apply(run(("created", {})), "withdrawn", {}, T)
    assert exc.value.message == "当前状态为“草稿”，不能撤回申请（部门已作出决定或尚未收件）。"
    draft = run(("created", {}))
    for etype, what in {
        "digitised": "标记为已数字化",
        "supplemented": "补正材料",
        "document_printed": "打印文书",
    }.items():
        with pytest.raises(IntakeError) as exc:
            apply(draft, etype, EVENTS[etype], T)
        assert exc.value.message == f"当前状态为“草稿”，不能{what}。", etype
    delivered = run(("created", {}), *HISTORY["delivered"])
    for etype, what in {
        "page_attached": "添加材料页面",
        "page_removed": "删除材料页面",
        "page_rotated": "旋转材料页面",
        "page_moved": "调整页面顺序",
    }.items():
        with pytest.raises(IntakeError) as exc:
            apply(delivered, etype, {}, T)
        assert exc.value.message == f"当前状态为“已送达”，不能{what}。", etype


def test_decisions_and_deliveries():
    pushed = run(*RECEIVED, ("pushed", {}))
    with pytest.raises(IntakeError) as exc:
        apply(pushed, "item_decided", {"item": "zz", "decision": "accepted"}, T)
    assert (
        exc.value.code == "intake.unknown_item"
        and {"item": "zz"}.items() <= exc.value.details.items()
    )
    with pytest.raises(IntakeError) as exc:
        apply(pushed, "item_decided", {"item": "x", "decision": "completed"}, T)
    assert exc.value.code == "intake.decision_order"
    assert exc.value.message == "事项办理结果顺序不对：已是“待受理”，不能再登记“completed”。"
    # one completed, one rejected: completed until both are handed over, then delivered
    s = pushed
    for item, decision in [("x", "accepted"), ("x", "completed"), ("y", "rejected")]:
        s = apply(s, "item_decided", {"item": item, "decision": decision}, T)
    assert s.stage == "completed" and s.decisions == {"x": "completed", "y": "rejected"}
    s = apply(s, "delivered", {"items": ["y"]}, T)
    assert s.stage == "completed" and s.delivered_items == frozenset({"y"})
    for bad in ([], ["y"], ["x", "zz"]):  # nothing, already handed over, not ready
        with pytest.raises(IntakeError) as exc:
            apply(s, "delivered", {"items": bad}, T)
        assert exc.value.code == "intake.not_ready_for_delivery"
    s = apply(s, "delivered", {"items": ["x"]}, T)
    assert s.stage == "delivered"
    # accepted then rejected (the department changed its mind before completing)
    a = apply(pushed, "item_decided", {"item": "x", "decision": "accepted"}, T)
    a = apply(a, "item_decided", {"item": "x", "decision": "rejected"}, T)
    assert a.decisions == {"x": "rejected"} and a.stage == "accepted"  # y still pending
    a = apply(a, "item_decided", {"item": "y", "decision": "rejected"}, T)
    assert a.stage == "rejected"
    a = apply(a, "delivered", {"items": ["x", "y"]}, T)
    assert a.stage == "delivered"


def test_supplements():
    s = run(("created", {}), ("received", {"number": "N", "items": ["x"], "tolerated": ["m"]}))
    for bad in ([], ["other"], ["m", "other"]):
        with pytest.raises(IntakeError) as exc:
            apply(s, "supplemented", {"materials": bad}, T)
        assert exc.value.code == "intake.nothing_to_supplement"
        assert exc.value.message == "所选材料不在待补正清单中。"


def test_no_submission_and_duplicates():
    with pytest.raises(IntakeError) as exc:
        fold([])
    assert exc.value.code == "intake.no_submission" and exc.value.message == "受理记录不存在。"
    with pytest.raises(IntakeError) as exc:
        apply(None, "pushed", {}, T)
    assert {"event": "pushed"}.items() <= exc.value.details.items()
    with pytest.raises(IntakeError) as exc:
        apply(run(("created", {})), "created", {}, T)
    assert exc.value.message == "受理记录已存在。"
    with pytest.raises(IntakeError) as exc:
        apply(run(("created", {})), "teleported", {}, T)
    assert exc.value.message == "未知的事件类型“teleported”。"
    assert {"event": "teleported"}.items() <= exc.value.details.items()


def test_a_new_bundle_clears_answers_and_marks_the_same_keeps_them():
    base = [
        ("created", {}, T),
        ("bundle_chosen", {"bundle": "b", "items": ["x"]}, T),
        ("answered", {"answers": {"q1": True}}, T),
        ("material_marked", {"marks": {"m1": "collected"}}, T),
    ]
    same = inputs_from_events([*base, ("bundle_chosen", {"bundle": "b", "items": ["y"]}, T)])
    assert (
        same.items == ("y",) and same.answers == {"q1": True} and same.marks == {"m1": "collected"}
    )
    other = inputs_from_events([*base, ("bundle_chosen", {"bundle": "c", "items": ["z"]}, T)])
    assert (other.bundle, other.items, other.answers, other.marks) == ("c", ("z",), {}, {})
    assert inputs_from_events([("created", {}, T)]) == IntakeInputs(None, (), {}, {})


def test_error_details_and_wording_for_each_refusal():
    with pytest.raises(IntakeError) as exc:
        apply(None, "pushed", {}, T)
    assert exc.value.message == "受理记录不存在。"
    pushed = run(*RECEIVED, ("pushed", {}))
    with pytest.raises(IntakeError) as exc:
        apply(pushed, "item_decided", {"item": "zz", "decision": "accepted"}, T)
    assert exc.value.message == "该事项不在本次受理范围内。"
    with pytest.raises(IntakeError) as exc:
        apply(pushed, "item_decided", {"item": "x", "decision": "completed"}, T)
    assert {"item": "x"}.items() <= exc.value.details.items()
    with pytest.raises(IntakeError) as exc:
        apply(run(("created", {}), *HISTORY["accepted"]), "delivered", {"items": ["x"]}, T)
    assert exc.value.message == "所选事项尚未办结或已送达，不能登记送达。"
    with pytest.raises(IntakeError) as exc:
        apply(run(("created", {})), "withdrawn", {}, T)
    assert {"stage": "draft", "event": "withdrawn"}.items() <= exc.value.details.items()


def test_clearing_an_answer_or_mark_never_given_is_harmless():
    events = [
        ("created", {}, T),
        ("answered", {"answers": {"q1": None}}, T),
        ("material_marked", {"marks": {"m1": None}}, T),
    ]
    assert inputs_from_events(events) == IntakeInputs(None, (), {}, {})


def test_any_accepted_item_counts_whatever_the_order():
    out = item_outcomes([("accepted", T, None), ("rejected", T, None)])
    assert out["items_accepted"] is True and out["items_rejected"] is True
    assert item_outcomes([("accepted", T, None)])["items_accepted"] is True
