"""One definition of an intake for figures, ledger, day-close seal and report (issue 11 item 10).

An intake is a submission that reached a verdict (一次告知 or 收件); a draft, kept or discarded,
is none. It is booked on the local day of its first verdict, or on the next working day when that
day was already closed. The oracle below computes this in plain Python from the event histories
and the closes the test made, and every place that counts intakes must agree with it.
"""

import datetime as dt
import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from app.clock import STATION_TZ, FixedClock
from app.context import build_context
from app.reports import Period
from printing.ledger_report import build_day_close_report

from .conftest import station_staff, undo_revisions_after_0005
from .test_intake_service import new_intake

pytestmark = pytest.mark.integration
T0 = dt.datetime(2024, 12, 5, 1, 30, tzinfo=dt.UTC)  # Thursday 09:30 at the station

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "start",
                "fill",
                "fill",
                "finish",
                "finish",
                "discard",
                "withdraw",
                "push",
                "advance",
                "close",
            ]
        ),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=28,
)


def _local(at):
    return at.astimezone(STATION_TZ).date()


def _next_weekday(day):
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _station(ctx):
    """The station with a clerk and a supervisor: (clerk, supervisor)."""
    made = station_staff(ctx)
    return made["clerk"], made["supervisor"]


def _setup(tmp, catalog):
    clock = FixedClock(T0)
    ctx = build_context(Path(tmp) / "d.sqlite3", clock=clock, catalog_path=catalog)
    clerk, sup = _station(ctx)
    return ctx, clock, clerk, sup


def _run(ctx, clock, clerk, sup, ops):
    """Apply OPS; returns every submission id made and the closes as {day: time closed}."""
    made, filled, closes = [], [], {}
    for op, k in ops:
        clock.advance(seconds=30)  # every step at its own instant: a close and a verdict never tie
        stage = {sid: ctx.queries.get(sid).stage for sid in made}
        drafts = [sid for sid in made if stage[sid] == "draft"]
        if op == "start":
            made.append(ctx.intake.start(clerk))  # opened and abandoned, nothing entered
        elif op == "fill":
            sid = new_intake(ctx, clerk, marks="all" if k % 3 else None)
            made.append(sid)
            filled.append(sid)
        elif op == "finish":
            ready = [sid for sid in filled if stage[sid] == "draft"]
            if ready:
                ctx.intake.finish(clerk, ready[k % len(ready)])
        elif op == "discard" and drafts:
            ctx.intake.discard(clerk, drafts[k % len(drafts)])
        elif op == "withdraw":
            open_ = [
                sid for sid in made if stage[sid] in ("notified", "received", "digitised", "pushed")
            ]
            if open_:
                ctx.intake.withdraw(clerk, open_[k % len(open_)], "申请人要求撤回")
        elif op == "push":
            due = [sid for sid in made if stage[sid] in ("received", "digitised")]
            if due:
                ctx.intake.mark_pushed(due[k % len(due)])
        elif op == "advance":
            clock.advance(hours=(1, 3, 7, 15, 26)[k % 5])
        elif op == "close":
            today = _local(clock.now())
            if today not in closes:
                ctx.dayclose.close(sup, "super1234", today)
                closes[today] = clock.now()
    return made, closes


def _oracle(ctx, made, closes):
    """{submission id: booked day} of every intake, from its events and the closes made."""
    booked = {}
    for sid in made:
        verdicts = [
            at
            for etype, _payload, at in ctx.queries.events(sid)
            if etype in ("notified", "received")
        ]
        if not verdicts:
            continue  # never reached a verdict: not an intake
        day = _local(verdicts[0])
        while day in closes and closes[day] <= verdicts[0]:
            day = _next_weekday(day)
        booked[sid] = day
    return booked


def _report_text(pdf):
    return re.sub(
        r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    )


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
def test_figures_ledger_seal_and_report_count_the_same_intakes(newborn_catalog, ops):
    with tempfile.TemporaryDirectory() as tmp:
        ctx, clock, clerk, sup = _setup(tmp, newborn_catalog)
        try:
            made, closes = _run(ctx, clock, clerk, sup, ops)
            booked = _oracle(ctx, made, closes)
            now = clock.now()
            today = _local(now)
            days = sorted(
                {_local(T0) + dt.timedelta(days=i) for i in range((today - _local(T0)).days + 1)}
                | set(booked.values())
                | set(closes)
            )
            for day in days:
                expected = {sid for sid, d in booked.items() if d == day}
                period = Period.of("day", day)
                rec = ctx.reports.reconcile(sup, period, now)
                assert rec.counts["all"] == len(expected), day
                assert set(ctx.reports.intakes_for(sup, "all", period, now)) == expected, day
                assert sum(n for _b, _name, n in rec.by_bundle) == len(expected)
                rows = ctx.queries.ledger(day)
                assert {r.submission_id for r in rows} == expected, day
                closed = ctx.dayclose.closed(day)
                if closed is not None:
                    assert closed.submissions == len(expected), day  # nothing joined a closed day
                elif day <= today:
                    basis = ctx.dayclose.prepare(sup, "super1234", day)
                    assert basis.submissions == len(expected), day
                    if day == today:  # the printed report, read back, says the same
                        work = ctx.reports.open_work(sup, day, now)
                        text = _report_text(
                            build_day_close_report(
                                "新乡县政务服务中心", rec, rows, basis, work, sup.display_name
                            )
                        )
                        assert f"受理明细（共{len(expected)}件）" in text
                        assert f"受理件数：{len(expected)}" in text
            for sid, day in booked.items():  # the number carries the day it is booked on
                assert ctx.queries.get(sid).number.split("-")[1] == f"{day:%y%m%d}"
            assert ctx.dayclose.verify(sup) == []
        finally:
            ctx.close()


def test_an_abandoned_empty_draft_is_not_counted_by_the_seal(ctx, staff):
    """The reported case: three intakes and one draft opened and left empty. The seal, the 日结
    line and the report's 受理件数 said 4 while the figures and the ledger said 3."""
    clerk, sup = staff["clerk"], staff["supervisor"]
    for _ in range(3):
        ctx.intake.finish(clerk, new_intake(ctx, clerk))
    ctx.intake.start(clerk)
    day = dt.date(2024, 12, 2)
    assert len(ctx.queries.ledger(day)) == 3
    assert ctx.dayclose.prepare(sup, "super1234", day).submissions == 3
    assert ctx.dayclose.close(sup, "super1234", day).submissions == 3
    assert ctx.dayclose.verify(sup) == []


def test_intake_finished_after_the_close_is_booked_on_the_next_working_day(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    ctx.intake.finish(clerk, new_intake(ctx, clerk))
    waiting = new_intake(ctx, clerk)  # started before the close, finished after it
    day = dt.date(2024, 12, 2)
    closed = ctx.dayclose.close(sup, "super1234", day)
    clock.advance(minutes=20)
    late = ctx.intake.finish(clerk, waiting)
    after = ctx.intake.finish(clerk, new_intake(ctx, clerk))
    tomorrow = dt.date(2024, 12, 3)
    assert late.booked_on == after.booked_on == tomorrow
    assert late.number.startswith("XX01-241203-0001-") and after.number.startswith(
        "XX01-241203-0002-"
    )
    assert [r.submission_id for r in ctx.queries.ledger(day)] != [] and len(
        ctx.queries.ledger(day)
    ) == 1
    assert {r.number for r in ctx.queries.ledger(tomorrow)} == {late.number, after.number}
    assert ctx.dayclose.amendments(sup, day) == []  # a draft's events amend no closed day
    assert ctx.dayclose.closed(day) == closed and ctx.dayclose.verify(sup) == []


def test_friday_after_close_goes_to_monday(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    clock.set(dt.datetime(2024, 12, 6, 9, 0, tzinfo=dt.UTC))  # Friday 17:00 at the station
    ctx.dayclose.close(sup, "super1234", dt.date(2024, 12, 6))
    r = ctx.intake.finish(clerk, new_intake(ctx, clerk))
    assert r.booked_on == dt.date(2024, 12, 9) and "-241209-" in r.number


def test_seals_made_before_the_intake_definition_still_verify(tmp_path, newborn_catalog, clock):
    """A day sealed by the old definition (drafts included) keeps verifying after the upgrade:
    the close remembers which definition its seal used (migration 0006 marks old ones 1)."""
    import sqlite3

    from app import dayclose

    db = tmp_path / "old.sqlite3"
    ctx = build_context(db, clock=clock, catalog_path=newborn_catalog)
    clerk, sup = _station(ctx)
    ctx.intake.finish(clerk, new_intake(ctx, clerk))
    ctx.intake.start(clerk)  # an empty draft, counted by the old definition
    old = dayclose.SEAL_DEFINITION
    dayclose.SEAL_DEFINITION = 1
    try:
        closed = ctx.dayclose.close(sup, "super1234", dt.date(2024, 12, 2))
    finally:
        dayclose.SEAL_DEFINITION = old
    assert closed.submissions == 2  # what the old definition counted
    ctx.close()
    con = sqlite3.connect(db)  # as a store sealed before migration 0006 looks
    undo_revisions_after_0005(con)
    con.execute("UPDATE alembic_version SET version_num = '0005'")
    con.commit()
    con.close()
    ctx = build_context(db, clock=clock, catalog_path=newborn_catalog)  # upgrades to the head
    try:
        assert ctx.dayclose.verify(sup) == []
    finally:
        ctx.close()
