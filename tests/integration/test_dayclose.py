import datetime as dt

import pytest
from sqlalchemy import select, text, update

from app.errors import AuthError
from local_db.errors import DomainError
from local_db.models import Event
from tests.expected_logs import STAFF_REFUSED

from .test_intake_service import new_intake

pytestmark = [
    pytest.mark.integration,
    STAFF_REFUSED,
]
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
    assert [a.event_type for a in amendments] == ["withdrawn"] and amendments[
        0
    ].submission_id == sid
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
        s.execute(
            update(Event)
            .where(Event.type == "applicant_set")
            .values(payload=payload.replace("张三", "李四"))
        )
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
        s.execute(
            text("update day_closes set seal='ff' || substr(seal, 3) where local_date='2024-12-02'")
        )
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


def test_report_printed_from_the_basis_lets_anyone_recompute_the_seal(ctx, staff, clock):
    import hashlib

    from app.dayclose import SealBasis

    clerk, sup = staff["clerk"], staff["supervisor"]
    ctx.intake.finish(clerk, new_intake(ctx, clerk))
    basis = ctx.dayclose.prepare(sup, "super1234", DAY)
    assert isinstance(basis, SealBasis) and basis.submissions == 1 and basis.prev_seal == "0" * 64
    report = hashlib.sha256(b"the printed report").hexdigest()
    closed = ctx.dayclose.close(sup, "super1234", DAY, report_sha256=report, basis=basis)
    assert closed.seal == basis.seal_for(report)
    assert ctx.dayclose.verify(sup) == []


def test_close_refused_when_the_day_changed_after_the_report_was_built(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    basis = ctx.dayclose.prepare(sup, "super1234", DAY)
    ctx.intake.mark_pushed(sid)  # sync marks it pushed while the PDF is being built
    with pytest.raises(DomainError) as exc:
        ctx.dayclose.close(sup, "super1234", DAY, report_sha256="b" * 64, basis=basis)
    assert exc.value.code == "dayclose.changed_meanwhile" and "重新日结" in exc.value.message
    assert ctx.dayclose.closed(DAY) is None
    # closing again from a fresh basis works
    fresh = ctx.dayclose.prepare(sup, "super1234", DAY)
    assert ctx.dayclose.close(
        sup, "super1234", DAY, report_sha256="b" * 64, basis=fresh
    ).seal == fresh.seal_for("b" * 64)


def test_an_amendment_names_one_persons_copy_for_that_person(ctx, staff, clock):
    """A mark on a per-person line after the close reads 父亲居民身份证, not its line id."""
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid = new_intake(ctx, clerk, marks=None)
    ctx.intake.finish(clerk, sid)  # 一次告知: everything still missing
    ctx.dayclose.close(sup, "super1234", DAY)
    clock.advance(days=1)
    ctx.intake.mark(clerk, sid, "resident_id_card.father", "collected")
    marked = [a for a in ctx.dayclose.amendments(sup, DAY) if a.event_type == "material_marked"]
    assert [a.subjects for a in marked] == [("父亲居民身份证",)]
