"""A submission's state, derived from its events (DESIGN §4).

`apply` is pure: it checks that an event is allowed in the current state and returns the next
state, or raises IntakeError. The service calls it before writing an event, so a refused
transition is never stored; `fold` replays a submission's whole history and must agree with the
projection kept in the `submissions` table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.errors import IntakeError

STAGES = (
    "draft",
    "notified",
    "received",
    "digitised",
    "pushed",
    "accepted",
    "rejected",
    "completed",
    "delivered",
    "withdrawn",
    "discarded",
)
STAGE_LABELS = {
    "draft": "草稿",
    "notified": "已一次告知",
    "received": "已收件",
    "digitised": "已数字化",
    "pushed": "已推送",
    "accepted": "已受理",
    "rejected": "不予受理",
    "completed": "已办结",
    "delivered": "已送达",
    "withdrawn": "已撤回",
    "discarded": "已作废",
}
EDITABLE = ("draft", "notified")
_CAPTURE_OPEN = ("draft", "notified", "received", "digitised", "pushed", "accepted")
_BEFORE_DECISION = ("notified", "received", "digitised", "pushed")
# An intake is a submission that reached a verdict (一次告知 or 收件) — every stage after that,
# withdrawn included. A draft, kept or discarded, is not one. Figures, ledger, day-close seal and
# report all count by this one definition.
NOT_INTAKE = ("draft", "discarded")
INTAKE_STAGES = tuple(s for s in STAGES if s not in NOT_INTAKE)
_FINISHED = INTAKE_STAGES


def is_intake(stage: str) -> bool:
    return stage in INTAKE_STAGES


@dataclass(frozen=True)
class SubmissionState:
    stage: str = "draft"
    number: str | None = None
    items: tuple[str, ...] = ()  # active items at receipt (what departments decide on)
    decisions: Mapping[str, str] = field(default_factory=dict)
    delivered_items: frozenset[str] = frozenset()
    tolerated_outstanding: frozenset[str] = frozenset()
    received_at: dt.datetime | None = None
    digitised_at: dt.datetime | None = None
    pushed_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def awaiting_supplement(self) -> bool:
        return bool(self.tolerated_outstanding) and self.stage not in ("withdrawn", "rejected")

    @property
    def label(self) -> str:
        text = STAGE_LABELS[self.stage]
        return text + "（容缺待补）" if self.awaiting_supplement else text


def _refuse(state: SubmissionState, event: str, what: str) -> IntakeError:
    return IntakeError(
        "intake.transition",
        stage=state.stage,
        event=event,
        stage_label=STAGE_LABELS[state.stage],
        what=what,
    )


_WHAT = {
    "applicant_set": "修改申请人信息",
    "bundle_chosen": "修改所选事项",
    "answered": "修改情形回答",
    "material_marked": "修改材料标记",
    "notified": "出具一次告知通知书",
    "received": "收件",
    "page_attached": "添加材料页面",
    "page_removed": "删除材料页面",
    "page_rotated": "旋转材料页面",
    "page_moved": "调整页面顺序",
    "digitised": "标记为已数字化",
    "pushed": "标记为已推送",
    "item_decided": "登记部门办理结果",
    "supplemented": "补正材料",
    "withdrawn": "撤回申请",
    "delivered": "登记送达",
    "document_printed": "打印文书",
    "discarded": "作废草稿",
    "rated": "评价",
    "rating_declined": "登记未评价",
    "rating_followed_up": "办结差评整改",
    "agent_set": "修改代办人",
    "priority_set": "修改优先办标记",
    "handed_over": "移交纸质材料",
}


# Where each event may happen. `withdrawn` has its own rule (no decision yet) in `apply`.
_ALLOWED: Mapping[str, tuple[str, ...]] = {
    "applicant_set": EDITABLE,
    "bundle_chosen": EDITABLE,
    "answered": EDITABLE,
    "material_marked": EDITABLE,
    "notified": EDITABLE,
    "received": EDITABLE,
    "page_attached": _CAPTURE_OPEN,
    "page_removed": _CAPTURE_OPEN,
    "page_rotated": _CAPTURE_OPEN,
    "page_moved": _CAPTURE_OPEN,
    "digitised": ("received",),
    "pushed": ("received", "digitised"),
    "item_decided": ("pushed", "accepted", "rejected", "completed"),
    "supplemented": ("received", "digitised", "pushed", "accepted", "completed"),
    "delivered": ("accepted", "completed", "rejected"),
    "document_printed": _FINISHED,
    "discarded": ("draft",),
    # 好差评 (app/ratings.py): about a finished intake, whatever happened to it since
    "rated": _FINISHED,
    "rating_declined": _FINISHED,
    "rating_followed_up": _FINISHED,
    # 帮办代办 / 优先办 (app/agent.py) are part of the intake; the paper goes to the lead
    # department (app/handover.py) once received, before or after the decisions.
    "agent_set": EDITABLE,
    "priority_set": EDITABLE,
    "handed_over": ("received", "digitised", "pushed", "accepted", "rejected", "completed"),
}


def apply(
    state: SubmissionState | None, etype: str, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    if state is None:
        if etype != "created":
            raise IntakeError("intake.no_submission", event=etype)
        return SubmissionState()
    if etype == "created":
        raise IntakeError("intake.duplicate_create")
    if etype == "withdrawn":
        if state.stage in _BEFORE_DECISION and not state.decisions:
            return replace(state, stage="withdrawn")
        raise IntakeError(
            "intake.transition",
            variant=2,
            stage=state.stage,
            event=etype,
            stage_label=STAGE_LABELS[state.stage],
        )
    stages = _ALLOWED.get(etype)
    if stages is None:
        raise IntakeError("intake.unknown_event", event=etype)
    if state.stage not in stages:
        raise _refuse(state, etype, _WHAT.get(etype, etype))
    step = _STEPS.get(etype)
    return state if step is None else step(state, payload, at)


def _notified(
    state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    return replace(state, stage="notified", number=payload["number"], finished_at=at)


def _received(
    state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    return replace(
        state,
        stage="received",
        number=payload["number"],
        items=tuple(payload["items"]),
        tolerated_outstanding=frozenset(payload.get("tolerated", ())),
        received_at=at,
        finished_at=at,
    )


def _digitised(
    state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    return replace(state, stage="digitised", digitised_at=at)


def _pushed(state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime) -> SubmissionState:
    return replace(state, stage="pushed", pushed_at=at)


def _item_decided(
    state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    item, decision = payload["item"], payload["decision"]
    if item not in state.items:
        raise IntakeError("intake.unknown_item", item=item)
    previous = state.decisions.get(item)
    allowed = {None: ("accepted", "rejected"), "accepted": ("completed", "rejected")}
    if decision not in allowed.get(previous, ()):
        if previous is None:
            raise IntakeError("intake.decision_order", variant=2, item=item, decision=decision)
        raise IntakeError("intake.decision_order", item=item, previous=previous, decision=decision)
    decisions = {**state.decisions, item: decision}
    return replace(
        state,
        stage=_decided_stage(state.items, decisions, state.delivered_items),
        decisions=decisions,
    )


def _supplemented(
    state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    materials = set(payload["materials"])
    if not materials or not materials <= state.tolerated_outstanding:
        raise IntakeError("intake.nothing_to_supplement")
    return replace(state, tolerated_outstanding=state.tolerated_outstanding - materials)


def _delivered(
    state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    items = set(payload["items"])
    ready = {i for i, d in state.decisions.items() if d in ("completed", "rejected")}
    if not items or not items <= ready or items & state.delivered_items:
        raise IntakeError("intake.not_ready_for_delivery")
    delivered = state.delivered_items | items
    return replace(
        state,
        delivered_items=delivered,
        stage=_decided_stage(state.items, state.decisions, delivered),
    )


def _discarded(
    state: SubmissionState, payload: Mapping[str, Any], at: dt.datetime
) -> SubmissionState:
    return replace(state, stage="discarded")


# What an allowed event changes; an event not listed here leaves the state as it is.
_STEPS: Mapping[
    str, Callable[[SubmissionState, Mapping[str, Any], dt.datetime], SubmissionState]
] = {
    "notified": _notified,
    "received": _received,
    "digitised": _digitised,
    "pushed": _pushed,
    "item_decided": _item_decided,
    "supplemented": _supplemented,
    "delivered": _delivered,
    "discarded": _discarded,
}


def _decided_stage(
    items: tuple[str, ...], decisions: Mapping[str, str], delivered: frozenset[str]
) -> str:
    if not any(decisions.values()):
        return "pushed"
    if all(decisions.get(i) == "rejected" for i in items):
        return "delivered" if set(items) <= delivered else "rejected"
    pending = [i for i in items if decisions.get(i) in (None, "accepted")]
    if pending:
        return "accepted"
    return "delivered" if set(items) <= delivered else "completed"


def fold(events: Iterable[tuple[str, Mapping[str, Any], dt.datetime]]) -> SubmissionState:
    state: SubmissionState | None = None
    for etype, payload, at in events:
        state = apply(state, etype, payload, at)
    if state is None:
        raise IntakeError("intake.no_submission")
    return state


@dataclass(frozen=True)
class IntakeInputs:
    """What the checklist was computed from, as the events tell it."""

    bundle: str | None
    items: tuple[str, ...]
    answers: Mapping[str, object]
    marks: Mapping[str, str]


def inputs_from_events(
    events: Iterable[tuple[str, Mapping[str, Any], dt.datetime]],
) -> IntakeInputs:
    """Replay choice, answers and marks (the store's tables are a projection of these)."""
    bundle: str | None = None
    items: tuple[str, ...] = ()
    answers: dict[str, object] = {}
    marks: dict[str, str] = {}
    for etype, payload, _ in events:
        if etype == "bundle_chosen":
            if bundle is not None and payload["bundle"] != bundle:
                answers, marks = {}, {}
            bundle, items = payload["bundle"], tuple(payload["items"])
        elif etype == "answered":
            for q, v in payload["answers"].items():
                if v is None:
                    answers.pop(q, None)
                else:
                    answers[q] = v
        elif etype == "material_marked":
            for m, v in payload["marks"].items():
                if v is None:
                    marks.pop(m, None)
                else:
                    marks[m] = v
        elif etype == "supplemented":
            for m in payload["materials"]:
                marks[m] = "collected"
    return IntakeInputs(bundle, items, answers, marks)


def item_outcomes(
    items: Iterable[tuple[str | None, dt.datetime | None, dt.datetime | None]],
) -> dict[str, Any]:
    """What the supervisor's figures need from a submission's items, kept on the submission so a
    month of figures is one pass over submissions: ITEMS are (decision, decided_at, delivered_at).

    - items_accepted: some item accepted or completed; items_rejected: some item rejected;
    - undelivered_since: the earliest local day an item was completed and is still undelivered;
    - delivered_late: some completed item was delivered on a later local day than it was completed.
    Migration 0005 computes the same from existing rows (keep the two in step).
    """
    from app.clock import local_day

    accepted = rejected = late = False
    pending: list[dt.date] = []
    for decision, decided_at, delivered_at in items:
        accepted |= decision in ("accepted", "completed")
        rejected |= decision == "rejected"
        if decision == "completed" and decided_at is not None:
            if delivered_at is None:
                pending.append(local_day(decided_at))
            elif local_day(delivered_at) > local_day(decided_at):
                late = True
    return {
        "items_accepted": accepted,
        "items_rejected": rejected,
        "undelivered_since": min(pending) if pending else None,
        "delivered_late": late,
    }
