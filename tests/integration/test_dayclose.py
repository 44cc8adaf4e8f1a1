import datetime as dt

import pytest
from sqlalchemy import select, text, update

from app.errors import AuthError, DomainError
from local_db.models import Event

from .test_intake_service import new_intake

pytestmark = pytest.mark.integration
DAY = dt.date(2024, 12, 2)


def test_close_seals_and_later_changes_are_amendments(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    closed = ctx.dayclose.close(sup, "super1234", DAY)
    assert closed.submissions == 1 and closed.events > 5 and closed.prev_seal == "0" * 64
    assert ctx.dayclose.verify(sup) == []
    clock.advance(days=1)
    ctx.intake.withdraw(clerk, sid, "申请人要求撤回")
    amendments = ctx.dayclose.amendments(sup, DAY)
    assert [a.event_type for a in amendments] == ["withdrawn"] and amendments[0].submission_id == sid
    assert ctx.dayclose.verify(sup) == []  # an amendment does not break the seal
    with pytest.raises(DomainError) as exc:
        ctx.dayclose.close(sup, "super1234", DAY)
    assert exc.value.code == "dayclose.already_closed"


def test_silent_edit_breaks_the_seal(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    ctx.dayclose.close(sup, "super1234", DAY)
    with ctx.sessions() as s:  # an edit by someone holding the key: validly encrypted, not amended
        payload = s.scalar(select(Event.payload).where(Event.type == "applicant_set"))
        s.execute(update(Event).where(Event.type == "applicant_set").values(payload=payload.replace("张三", "李四")))
        s.commit()
    problems = ctx.dayclose.verify(sup)
    assert [p.code for p in problems] == ["dayclose.records_changed"] and problems[0].day == DAY


def test_chain_links_days(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    ctx.intake.finish(clerk, new_intake(ctx, clerk))
    first = ctx.dayclose.close(sup, "super1234", DAY)
    clock.advance(days=1)
    ctx.intake.finish(clerk, new_intake(ctx, clerk))
    second = ctx.dayclose.close(sup, "super1234", DAY + dt.timedelta(days=1))
    assert second.prev_seal == first.seal
    with ctx.sessions() as s:
        s.execute(text("update day_closes set seal='ff' || substr(seal, 3) where local_date='2024-12-02'"))
        s.commit()
    assert "dayclose.chain_broken" in {p.code for p in ctx.dayclose.verify(sup)}


def test_only_supervisors_with_their_password(ctx, staff):
    with pytest.raises(AuthError) as exc:
        ctx.dayclose.close(staff["clerk"], "clerk1234", DAY)
    assert exc.value.code == "auth.forbidden"
    with pytest.raises(AuthError) as exc:
        ctx.dayclose.close(staff["supervisor"], "wrong", DAY)
    assert exc.value.code == "auth.bad_password"
    assert ctx.dayclose.closed(DAY) is None
    with pytest.raises(DomainError) as exc:
        ctx.dayclose.close(staff["supervisor"], "super1234", DAY + dt.timedelta(days=3))
    assert exc.value.code == "dayclose.future"


def test_swapped_report_breaks_the_seal(ctx, staff):
    clerk, sup = staff["clerk"], staff["supervisor"]
    ctx.intake.finish(clerk, new_intake(ctx, clerk))
    ctx.dayclose.close(sup, "super1234", DAY, report_sha256="a" * 64)
    with ctx.sessions() as s:
        s.execute(text("update day_closes set report_sha256='" + "b" * 64 + "'"))
        s.commit()
    assert [p.code for p in ctx.dayclose.verify(sup)] == ["dayclose.chain_broken"]
