"""Departments' 1-working-day deadline to accept (001 §四(二)3), counted on China's calendar from
the push: the supervisor's figure 部门逾期未受理 and the list of overdue items.

Dates are hand-written around 国庆 2026 (10-01…10-07 off, Saturday 10-10 worked).
"""

from __future__ import annotations

import datetime as dt

import pytest

from app import workdays
from app.reports import FIGURE_LABELS, Period
from tests.integration.test_intake_service import new_intake

pytestmark = pytest.mark.integration
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _library_calendar():
    workdays.install({})


def _at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


def _pushed_intake(ctx, clerk, clock, when):
    clock.set(when)
    sid = new_intake(ctx, clerk)
    items = ctx.intake.finish(clerk, sid).checklist.active_items
    ctx.intake.mark_pushed(sid)
    return sid, items


def _figure(ctx, sup, day, now):
    rec = ctx.reports.reconcile(sup, Period.of("month", day), now)
    return rec.counts["dept_overdue"]


def test_a_push_before_the_national_day_is_due_after_the_holiday(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid, items = _pushed_intake(ctx, clerk, clock, _at(2026, 9, 30))
    assert FIGURE_LABELS["dept_overdue"] == "部门逾期未受理"
    # Due by the end of 2026-10-08 (10-01…10-07 are the holiday): not overdue through the
    # holiday nor on the due day itself — a weekday-only rule would have made it overdue on 10-02.
    for now in (_at(2026, 10, 2), _at(2026, 10, 7, 23, 59), _at(2026, 10, 8, 23, 59)):
        assert _figure(ctx, sup, dt.date(2026, 9, 30), now) == 0
    now = _at(2026, 10, 9, 8, 30)
    assert _figure(ctx, sup, dt.date(2026, 9, 30), now) == 1
    assert ctx.reports.intakes_for(
        sup, "dept_overdue", Period.of("day", dt.date(2026, 9, 30)), now
    ) == [sid]
    overdue = ctx.reports.overdue_acceptances(sup, Period.of("month", dt.date(2026, 9, 30)), now)
    assert [(o.item_id, o.due, o.decided_at) for o in overdue] == [
        (i.id, dt.date(2026, 10, 8), None) for i in items
    ]
    by_id = {i.id: i for i in items}
    for o in overdue:
        assert o.item_name == by_id[o.item_id].name
        assert o.department == by_id[o.item_id].department_in("xinxiang") and o.department
        assert o.status == "仍未作出受理决定"


def test_a_decision_on_the_due_day_is_in_time_and_one_day_later_is_late(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    on_time, items_a = _pushed_intake(ctx, clerk, clock, _at(2026, 9, 30, 9))
    late, items_b = _pushed_intake(ctx, clerk, clock, _at(2026, 9, 30, 11))
    clock.set(_at(2026, 10, 8, 17))
    for item in items_a:
        ctx.intake.record_decision(None, on_time, item.id, "accepted")
    clock.set(_at(2026, 10, 9, 9))
    ctx.intake.record_decision(None, late, items_b[0].id, "accepted")
    ctx.intake.record_decision(None, late, items_b[1].id, "rejected", "材料不符合法定形式")
    for item in items_b[2:]:
        ctx.intake.record_decision(None, late, item.id, "accepted")
    # 办结 later does not move the acceptance decision's time.
    clock.set(_at(2026, 10, 20, 9))
    ctx.intake.record_decision(None, on_time, items_a[0].id, "completed")
    now = _at(2026, 10, 20, 10)
    day = dt.date(2026, 9, 30)
    assert _figure(ctx, sup, day, now) == 1
    assert ctx.reports.intakes_for(sup, "dept_overdue", Period.of("day", day), now) == [late]
    overdue = ctx.reports.overdue_acceptances(sup, Period.of("day", day), now)
    assert {o.submission_id for o in overdue} == {late}
    assert len(overdue) == len(items_b)
    assert all(o.status == "10月09日作出决定（逾期）" for o in overdue)


def test_a_push_on_the_adjusted_saturday_counts_that_day_as_received(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    _pushed_intake(ctx, clerk, clock, _at(2026, 10, 10, 15))  # 调休: a working Saturday
    day = dt.date(2026, 10, 10)
    assert _figure(ctx, sup, day, _at(2026, 10, 12, 20)) == 0  # due Monday 10-12
    assert _figure(ctx, sup, day, _at(2026, 10, 13, 8)) == 1


def test_a_withdrawn_intake_is_no_longer_waiting_for_a_decision(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid, _items = _pushed_intake(ctx, clerk, clock, _at(2026, 12, 1))
    clock.set(_at(2026, 12, 1, 11))
    ctx.intake.withdraw(clerk, sid, "申请人主动撤回")
    assert _figure(ctx, sup, dt.date(2026, 12, 1), _at(2026, 12, 10)) == 0


def test_intakes_pushed_before_the_store_tracked_the_deadline_get_their_due_day(ctx, staff, clock):
    """A store upgraded to 0014 has pushed intakes without a due day: the first reconciliation
    of their period gives them one (the migration cannot count working days)."""
    from local_db.models import Submission

    clerk, sup = staff["clerk"], staff["supervisor"]
    sid, _items = _pushed_intake(ctx, clerk, clock, _at(2026, 9, 30))
    with ctx.sessions.begin() as s:
        sub = s.get(Submission, sid)
        sub.acceptance_due, sub.acceptance_pending = None, False
    assert _figure(ctx, sup, dt.date(2026, 9, 30), _at(2026, 10, 9)) == 1
    with ctx.sessions() as s:
        assert s.get(Submission, sid).acceptance_due == dt.date(2026, 10, 8)


def test_cli_lists_the_overdue_items_of_a_period(ctx, staff, clock):
    import json
    import subprocess
    import sys

    clerk = staff["clerk"]
    sid, items = _pushed_intake(ctx, clerk, clock, _at(2026, 9, 30))
    number = ctx.queries.get(sid).number
    db = str(ctx.db_path)
    ctx.close()
    args = ["overdue-acceptance", "--date", "2026-09-30", "--period", "day", "--db", db]
    # The command's clock is the real one: long past 2026-10-08, so every item is overdue.
    r = subprocess.run(
        [sys.executable, "-m", "app", *args, "--json"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["period"] == ["2026-09-30", "2026-09-30"]
    assert [(i["number"], i["item"], i["due"]) for i in data["items"]] == [
        (number, item.id, "2026-10-08") for item in items
    ]
    r = subprocess.run(
        [sys.executable, "-m", "app", *args[:-2], "--db", db, "--period", "week"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and f"部门逾期未受理 {len(items)} 项" in r.stdout


def test_a_decision_learnt_late_counts_at_the_departments_time(ctx, staff, clock):
    """A station offline for days learns of a decision late: the hub's decision time counts
    (never a time after the station's own clock)."""
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid, items = _pushed_intake(ctx, clerk, clock, _at(2026, 9, 30))
    clock.set(_at(2026, 10, 15))  # synced a week after the holiday
    for item in items:
        ctx.intake.record_decision(None, sid, item.id, "accepted", decided_at=_at(2026, 10, 8, 16))
    assert _figure(ctx, sup, dt.date(2026, 9, 30), _at(2026, 10, 15, 12)) == 0
    sid2, items2 = _pushed_intake(ctx, clerk, clock, _at(2026, 10, 15, 9))
    clock.set(_at(2026, 10, 19, 9))
    ctx.intake.record_decision(None, sid2, items2[0].id, "accepted", decided_at=_at(2026, 12, 1))
    overdue = ctx.reports.overdue_acceptances(
        sup, Period.of("day", dt.date(2026, 10, 15)), clock.now()
    )
    late = [o for o in overdue if o.item_id == items2[0].id]
    assert late and late[0].decided_at == _at(2026, 10, 19, 9)  # a future hub time: now
