import datetime as dt

import pytest

from app.errors import IntakeError
from app.state import apply, fold, inputs_from_events

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
            RECEIVED + [("pushed", {}), ("item_decided", {"item": "x", "decision": "accepted"})],
            ("withdrawn", {}),
        ),
        (RECEIVED + [("pushed", {})], ("item_decided", {"item": "x", "decision": "completed"})),
        (RECEIVED + [("pushed", {})], ("item_decided", {"item": "zz", "decision": "accepted"})),
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
