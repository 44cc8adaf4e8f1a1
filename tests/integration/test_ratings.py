"""好差评 (app/ratings.py): one rating per intake, reasons for a 差评, its follow-up (整改) due one
working day later and closed by a supervisor with a note, and the supervisor's figures."""

import datetime as dt

import pytest
from sqlalchemy import select

from app.errors import AuthError, IntakeError
from app.reports import Period
from local_db.models import AuditEntry, Event, Rating
from tests.expected_logs import STAFF_REFUSED

from .test_intake_service import new_intake

pytestmark = [
    pytest.mark.integration,
    STAFF_REFUSED,
]
FRIDAY = dt.datetime(2024, 12, 6, 2, 0, tzinfo=dt.UTC)  # Friday 10:00 in the station's zone


def finished(ctx, clerk):
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    return sid


def test_a_good_rating_is_stored_with_intake_and_clerk_and_has_no_followup(ctx, staff):
    clerk = staff["clerk"]
    sid = finished(ctx, clerk)
    view = ctx.ratings.rate(clerk, sid, "satisfied")
    assert view.level_label == "满意" and view.clerk_name == "王芳" and view.clerk_id == clerk.id
    assert view.number == ctx.queries.get(sid).number
    assert view.followup_due is None and not view.followup_open
    with ctx.sessions() as s:
        types = s.scalars(select(Event.type).where(Event.submission_id == sid)).all()
    assert types[-1] == "rated"


def test_a_second_rating_is_refused_and_the_first_kept(ctx, staff):
    clerk = staff["clerk"]
    sid = finished(ctx, clerk)
    ctx.ratings.rate(clerk, sid, "very_satisfied")
    with pytest.raises(IntakeError) as err:
        ctx.ratings.rate(clerk, sid, "very_dissatisfied", ["attitude"])
    assert err.value.code == "rating.duplicate"
    assert "已评价（非常满意）" in err.value.message and "不能重复评价" in err.value.message
    assert ctx.ratings.get(sid).level == "very_satisfied"
    with ctx.sessions() as s:
        assert len(s.scalars(select(Rating)).all()) == 1
        rated = s.scalars(select(Event).where(Event.type == "rated")).all()
    assert len(rated) == 1  # nothing half-written by the refused one


def test_a_bad_rating_needs_a_reason_and_other_needs_words(ctx, staff):
    clerk = staff["clerk"]
    sid = finished(ctx, clerk)
    with pytest.raises(IntakeError) as err:
        ctx.ratings.rate(clerk, sid, "dissatisfied")
    assert err.value.code == "rating.reasons" and "至少选择一项原因" in err.value.message
    with pytest.raises(IntakeError) as err:
        ctx.ratings.rate(clerk, sid, "dissatisfied", ["other"])
    assert err.value.code == "rating.reasons"
    with pytest.raises(IntakeError) as err:
        ctx.ratings.rate(clerk, sid, "satisfied", ["slow"])
    assert err.value.code == "rating.reasons" and err.value.variant == 2
    with pytest.raises(IntakeError) as err:
        ctx.ratings.rate(clerk, sid, "dissatisfied", ["rude"])
    assert err.value.code == "rating.reason"
    assert ctx.ratings.get(sid) is None
    view = ctx.ratings.rate(clerk, sid, "dissatisfied", ["slow", "other"], "排队一个小时")
    assert view.reason_labels == ("办事效率低", "其他") and view.reason_text == "排队一个小时"


def test_a_draft_cannot_be_rated(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    with pytest.raises(IntakeError) as err:
        ctx.ratings.rate(clerk, sid, "satisfied")
    assert err.value.code == "rating.not_finished"


def test_followup_of_a_friday_bad_rating_is_due_monday_and_overdue_tuesday(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    clock.set(FRIDAY)
    sid = finished(ctx, clerk)
    view = ctx.ratings.rate(clerk, sid, "very_dissatisfied", ["repeat_trips"])
    assert view.followup_due == dt.date(2024, 12, 9)  # Monday, by hand
    clock.set(dt.datetime(2024, 12, 9, 9, 0, tzinfo=dt.UTC))  # Monday 17:00: still due
    assert not ctx.ratings.get(sid).overdue
    clock.set(dt.datetime(2024, 12, 10, 1, 0, tzinfo=dt.UTC))  # Tuesday 09:00
    assert ctx.ratings.get(sid).overdue
    assert [r.id for r in ctx.ratings.list_ratings(open_only=True)] == [view.id]
    with ctx.sessions() as s:
        assert s.get(Rating, view.id).followup_note is None
    closed = ctx.ratings.close_followup(sup, view.id, "已约谈窗口人员并电话回访申请人")
    assert closed.followup_note == "已约谈窗口人员并电话回访申请人"
    assert not closed.followup_open and not closed.overdue
    assert ctx.ratings.list_ratings(open_only=True) == []
    with ctx.sessions() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "rating.followup_closed")
        ).one()
    assert entry.staff_id == sup.id and entry.detail == "late"


def test_only_a_supervisor_closes_a_followup_once_with_a_note(ctx, staff):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid = finished(ctx, clerk)
    view = ctx.ratings.rate(clerk, sid, "dissatisfied", ["unclear"])
    with pytest.raises(AuthError):
        ctx.ratings.close_followup(clerk, view.id, "自己关闭")
    with pytest.raises(IntakeError) as err:
        ctx.ratings.close_followup(sup, view.id, "   ")
    assert err.value.code == "rating.note"
    ctx.ratings.close_followup(sup, view.id, "已整改")
    with pytest.raises(IntakeError) as err:
        ctx.ratings.close_followup(sup, view.id, "再次")
    assert err.value.code == "rating.followup_closed"
    assert ctx.ratings.get(sid).followup_note == "已整改"
    good = ctx.ratings.rate(clerk, finished(ctx, clerk), "basic")
    with pytest.raises(IntakeError) as err:
        ctx.ratings.close_followup(sup, good.id, "无")
    assert err.value.code == "rating.no_followup"


def test_declined_is_not_a_rating_and_a_later_rating_replaces_it(ctx, staff):
    clerk = staff["clerk"]
    sid = finished(ctx, clerk)
    assert ctx.ratings.decline(clerk, sid).level_label == "未评价"
    with pytest.raises(IntakeError) as err:
        ctx.ratings.decline(clerk, sid)
    assert err.value.code == "rating.duplicate"
    assert ctx.ratings.rate(clerk, sid, "satisfied").level == "satisfied"
    with ctx.sessions() as s:
        assert len(s.scalars(select(Rating)).all()) == 1


def test_supervisor_figures_show_distribution_rate_and_followups(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    for level, reasons in [
        ("very_satisfied", []),
        ("very_satisfied", []),
        ("basic", []),
        ("dissatisfied", ["slow"]),
    ]:
        ctx.ratings.rate(clerk, finished(ctx, clerk), level, reasons)
    ctx.ratings.decline(clerk, finished(ctx, clerk))
    clock.advance(days=2)  # Wednesday: Monday's 差评 was due Tuesday
    rec = ctx.reports.reconcile(sup, Period.of("day", dt.date(2024, 12, 2)), clock.now())
    f = rec.ratings
    assert f is not None
    assert f.counts == {
        "very_satisfied": 2,
        "satisfied": 0,
        "basic": 1,
        "dissatisfied": 1,
        "very_dissatisfied": 0,
    }
    assert f.declined == 1 and f.rated == 4
    assert f.good == 3 and f.satisfaction == 75.0  # 3 好评 of 4 ratings, by hand
    assert (f.open_followups, f.overdue_followups) == (1, 1)
