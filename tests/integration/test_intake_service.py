import datetime as dt
import json

import pytest
from sqlalchemy import event, func, select, text

from app import audit
from app.errors import AuthError, IntakeError
from app.state import fold, inputs_from_events
from app.views import ApplicantInput
from local_db.errors import StoreError
from local_db.models import AuditEntry, Event, Submission
from tests.expected_logs import STAFF_REFUSED

pytestmark = [
    pytest.mark.integration,
    STAFF_REFUSED,
]

ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}
PERSON = ApplicantInput(
    name="张三",
    resident_id="11010519491231002X",
    phone="13812345678",
    address="新乡县人民路1号",
    sources={"name": "card", "resident_id": "card"},
)


def new_intake(ctx, clerk, marks="all"):
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, PERSON)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    if marks == "all":
        lines = ctx.intake.checklist(sid).materials
        ctx.intake.mark_many(
            clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None}
        )
    return sid


def test_complete_intake_is_received_with_a_number(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    r = ctx.intake.finish(clerk, sid)
    assert r.stage == "received" and r.verdict == "complete" and r.documents == ("receipt",)
    assert r.number.startswith("XX01-241202-0001-")
    view = ctx.queries.get(sid)
    assert view.stage == "received" and view.number == r.number and view.received_at is not None
    assert view.push_deadline == view.received_at + dt.timedelta(hours=2)


def test_incomplete_intake_is_notified_and_resumes(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk, marks=None)
    ctx.intake.mark(clerk, sid, "resident_id_card.father", "collected")
    r = ctx.intake.finish(clerk, sid)
    assert r.stage == "notified" and r.documents == ("notice",)
    doc = ctx.documents.document(clerk, sid, "notice")
    assert {m.name for m in doc.materials} == {
        r.checklist.line(m).name for m in r.checklist.missing
    }
    # the applicant comes back with everything: same intake, same number
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    again = ctx.intake.finish(clerk, sid)
    assert again.stage == "received" and again.number == r.number


def test_tolerance_path_sets_due_date_and_supplement(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.mark(clerk, sid, "marriage_certificate", "tolerated")
    r = ctx.intake.finish(clerk, sid)
    assert r.verdict == "complete_with_tolerance" and r.documents == ("commitment", "receipt")
    # the 户口登记 item promises 1 working day: the commitment cannot outlast it
    assert r.tolerance_due == dt.date(2024, 12, 3)
    view = ctx.queries.get(sid)
    assert view.awaiting_supplement and view.tolerated_outstanding == ("marriage_certificate",)
    ctx.intake.supplement(clerk, sid, ["marriage_certificate"])
    assert not ctx.queries.get(sid).awaiting_supplement


def test_tolerating_a_material_that_may_not_be_tolerated_is_refused(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk, marks=None)
    with pytest.raises(Exception) as exc:
        ctx.intake.mark(clerk, sid, "application_form", "tolerated")
    assert exc.value.code == "checklist.not_tolerable"
    assert "application_form" not in ctx.queries.get(sid).marks


def test_invalid_id_number_is_kept_on_the_draft_and_refused_at_finish(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    view = ctx.intake.set_applicant(
        clerk, sid, ApplicantInput(name="李四", resident_id="320102198001010013")
    )
    # nothing typed is lost: the draft keeps the number as typed, with its problem
    assert view.resident_id == "320102198001010013" and "校验位" in view.problems()["resident_id"]
    with pytest.raises(IntakeError) as exc:
        ctx.intake.finish(clerk, sid)
    assert exc.value.code == "applicant.resident_id" and "校验位" in exc.value.message
    assert ctx.queries.get(sid).stage == "draft" and ctx.queries.get(sid).number is None
    ctx.intake.set_applicant(
        clerk,
        sid,
        ApplicantInput(name="李四", resident_id="11010519491231002x", phone="13812345678"),
    )
    assert ctx.intake.finish(clerk, sid).stage == "received"


def test_finish_needs_applicant_and_answers(ctx, staff):
    clerk = staff["clerk"]
    sid = ctx.intake.start(clerk)
    ctx.intake.choose(clerk, sid, "newborn_birth")
    with pytest.raises(IntakeError) as exc:
        ctx.intake.finish(clerk, sid)
    assert exc.value.code == "intake.no_applicant"
    ctx.intake.set_applicant(clerk, sid, PERSON)
    with pytest.raises(IntakeError) as exc:
        ctx.intake.finish(clerk, sid)
    assert exc.value.code == "intake.unanswered" and "结婚登记" in exc.value.message
    assert ctx.queries.get(sid).stage == "draft" and ctx.queries.get(sid).number is None


def test_partial_choice_of_items(ctx, staff):
    clerk = staff["clerk"]
    sid = ctx.intake.start(clerk)
    ctx.intake.choose(clerk, sid, "新生儿出生", ["vaccination_certificate"])
    r = ctx.intake.checklist(sid)
    assert [i.item.id for i in r.items] == ["vaccination_certificate"]
    assert {m.id for m in r.materials} == {"birth_medical_certificate", "resident_id_card.guardian"}
    with pytest.raises(Exception) as exc:
        ctx.intake.choose(clerk, sid, "新生儿出生", ["no_such_item"])
    assert exc.value.code == "checklist.unknown_item"


def test_state_is_derived_from_events(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.mark(clerk, sid, "marriage_certificate", "tolerated")
    ctx.intake.finish(clerk, sid)
    ctx.intake.supplement(clerk, sid, ["marriage_certificate"])
    events = ctx.queries.events(sid)
    folded = fold(events)
    view = ctx.queries.get(sid)
    assert folded.stage == view.stage and folded.number == view.number
    assert folded.awaiting_supplement == view.awaiting_supplement
    assert folded.received_at == view.received_at
    inputs = inputs_from_events(events)
    assert inputs.bundle == view.bundle_id and inputs.items == view.items
    assert inputs.answers == view.answers and inputs.marks == view.marks
    # every event carries the clerk and the time, in per-station order
    with ctx.sessions() as s:
        rows = s.scalars(
            select(Event).where(Event.submission_id == sid).order_by(Event.station_seq)
        ).all()
    assert all(r.clerk_id == clerk.id for r in rows)
    assert [r.station_seq for r in rows] == sorted(r.station_seq for r in rows)


def test_refused_transition_writes_nothing(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    before = len(ctx.queries.events(sid))
    with pytest.raises(IntakeError) as exc:
        ctx.intake.mark(clerk, sid, "resident_id_card.father", None)
    assert exc.value.code == "intake.transition" and "已收件" in exc.value.message
    assert len(ctx.queries.events(sid)) == before
    assert ctx.queries.get(sid).marks["resident_id_card.father"] == "collected"


def test_withdraw_and_deliver(ctx, staff, clock):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    with pytest.raises(IntakeError):
        ctx.intake.withdraw(clerk, sid, "  ")
    ctx.intake.withdraw(clerk, sid, "申请人要求撤回")
    assert ctx.queries.get(sid).stage == "withdrawn"
    assert ctx.documents.document(clerk, sid, "return_list").kind == "return_list"

    sid2 = new_intake(ctx, clerk)
    r = ctx.intake.finish(clerk, sid2)
    ctx.intake.mark_pushed(sid2)
    for item in r.checklist.active_items:
        ctx.intake.record_decision(None, sid2, item.id, "accepted")
        ctx.intake.record_decision(None, sid2, item.id, "completed")
    assert ctx.queries.get(sid2).stage == "completed"
    with pytest.raises(IntakeError) as exc:
        ctx.intake.deliver(clerk, sid2, method="express")
    assert exc.value.code == "intake.tracking_required"
    ctx.intake.deliver(
        clerk, sid2, method="express", tracking_number="SF1234567890123", address="新乡县人民路1号"
    )
    assert ctx.queries.get(sid2).stage == "delivered"


def test_numbers_are_sequential_per_station_and_day(ctx, staff, clock):
    clerk = staff["clerk"]
    numbers = []
    for _ in range(3):
        numbers.append(ctx.intake.finish(clerk, new_intake(ctx, clerk)).number)
    clock.advance(days=1)
    numbers.append(ctx.intake.finish(clerk, new_intake(ctx, clerk)).number)
    assert [n.split("-")[2] for n in numbers] == ["0001", "0002", "0003", "0001"]
    assert numbers[3].split("-")[1] == "241203"


def test_drafts_are_offered_again(ctx, staff):
    clerk = staff["clerk"]
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, PERSON)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    drafts = ctx.queries.open_drafts(clerk)
    assert [d.id for d in drafts] == [sid] and drafts[0].applicant.name == "张三"
    ctx.intake.discard(clerk, sid)
    assert ctx.queries.open_drafts(clerk) == []


def test_search_and_ledger(ctx, staff, clock):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    number = ctx.intake.finish(clerk, sid).number
    draft = ctx.intake.start(clerk)  # drafts are not in the ledger
    for q in (number, "11010519491231002X", "13812345678", "张三", "2024-12-02"):
        assert [r.submission_id for r in ctx.queries.search(q)] == [sid] or q == "2024-12-02", q
    assert sid in [r.submission_id for r in ctx.queries.search("2024-12-02")]
    rows = ctx.queries.ledger(dt.date(2024, 12, 2))
    assert [r.submission_id for r in rows] == [sid] and draft not in [r.submission_id for r in rows]
    row = rows[0].to_json()
    assert row["id_number"] == "110105********002X" and row["applicant"] == "张*"
    assert row["identity_source"] == "card" and row["clerk"] == "王芳"
    assert ctx.queries.find_by_number(number) == sid


def test_state_changes_and_views_are_audited(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    ctx.queries.get(sid, clerk)
    with ctx.sessions() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert (
            "intake.received" in actions and "intake.view" in actions and "login.ok" not in actions
        )
        assert audit.verify(s) == []
        raw = json.dumps(
            [(a.action, a.target, a.detail) for a in s.scalars(select(AuditEntry))],
            ensure_ascii=False,
        )
    assert "11010519491231002X" not in raw and "张三" not in raw


def test_audit_chain_detects_an_edit(ctx, staff):
    ctx.staff.login("wang", "clerk1234")
    with ctx.sessions() as s:
        s.execute(text("update audit_entries set detail='x' where id=2"))
        s.commit()
        problems = audit.verify(s)
    assert problems and problems[0].code == "audit.hash_mismatch" and problems[0].entry_id == 2


def test_full_disk_leaves_nothing_half_written(ctx, staff):
    clerk = staff["clerk"]
    engine = ctx.sessions.kw["bind"]
    with ctx.sessions() as s:
        pages = s.execute(text("pragma page_count")).scalar_one()

    @event.listens_for(engine, "connect")
    def _limit(dbapi_conn, _rec):
        dbapi_conn.execute(f"pragma max_page_count={pages + 2}")

    engine.dispose()
    done = 0
    with pytest.raises(StoreError) as exc:
        for _ in range(500):
            sid = ctx.intake.start(clerk)
            ctx.intake.set_applicant(clerk, sid, PERSON)
            done += 1
    assert exc.value.code == "store.disk_full" and "磁盘空间不足" in exc.value.message
    event.remove(engine, "connect", _limit)
    engine.dispose()
    with ctx.sessions() as s:
        subs = s.scalars(select(Submission)).all()
        for sub in subs:  # every stored submission is whole: its events fold to its projection
            assert fold(ctx.queries.events(sub.id)).stage == sub.state
        assert s.execute(text("pragma integrity_check")).scalar_one() == "ok"
        created = s.scalar(select(func.count()).select_from(Event).where(Event.type == "created"))
    assert created == len(subs) and len(subs) in (done, done + 1)


# -- staff and roles -------------------------------------------------------------------------


def test_login_lockout_and_roles(ctx, staff, clock):
    with pytest.raises(AuthError) as exc:
        ctx.staff.login("wang", "wrong")
    assert exc.value.code == "auth.bad_credentials"
    for _ in range(4):
        with pytest.raises(AuthError):
            ctx.staff.login("wang", "wrong")
    with pytest.raises(AuthError) as exc:
        ctx.staff.login("wang", "clerk1234")
    assert exc.value.code == "auth.locked"
    clock.advance(minutes=6)
    assert ctx.staff.login("wang", "clerk1234").role == "clerk"
    with pytest.raises(AuthError) as exc:
        ctx.staff.create_account(
            staff["clerk"], username="x", display_name="某", role="admin", password="abcd1234"
        )
    assert exc.value.code == "auth.forbidden" and "管理员" in exc.value.message
    with pytest.raises(AuthError):
        ctx.staff.list_accounts(staff["clerk"])
    assert len(ctx.staff.list_accounts(staff["supervisor"])) == 3


def test_weak_password_and_station_code(ctx):
    with pytest.raises(AuthError) as exc:
        ctx.staff.setup_station(
            code="IO",
            name="a",
            centre_name="b",
            jurisdiction=None,
            admin_username="a",
            admin_display_name="a",
            admin_password="abcd1234",
        )
    assert exc.value.code == "setup.station_code"
    with pytest.raises(AuthError) as exc:
        ctx.staff.setup_station(
            code="XX01",
            name="a",
            centre_name="b",
            jurisdiction=None,
            admin_username="a",
            admin_display_name="a",
            admin_password="short",
        )
    assert exc.value.code == "account.weak_password"
    assert ctx.staff.needs_setup()  # nothing half-created


def test_passwords_are_hashed_with_scrypt(ctx, staff):
    with ctx.sessions() as s:
        hashes = [r[0] for r in s.execute(text("select password_hash from staff"))]
    assert all(h.startswith("scrypt$") and "clerk1234" not in h for h in hashes)


def test_catalog_version_recorded_and_reproducible_after_replacement(ctx, staff):
    from app.catalog_files import read_packed

    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    old = ctx.documents.document(None, sid, "receipt")
    packed = read_packed(ctx.catalogs.current and ctx.db_path.parent / "catalog")
    packed["header"]["version"] = "2030.01.01-1"
    packed["bundles"][0]["items"][1]["materials"].append({"id": "photo_2inch"})
    ctx.catalogs.replace(packed)
    assert ctx.queries.get(sid).catalog_version == "2026.12.07-1"
    assert ctx.documents.document(None, sid, "receipt").materials == old.materials


def test_pages_of_every_paper_material_make_the_intake_digitised(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.mark(clerk, sid, "household_register", "exempt")  # fetched electronically: no paper
    r = ctx.intake.finish(clerk, sid)
    assert r.stage == "received"
    paper = [m.id for m in r.checklist.materials if m.needs_pages]
    assert paper and "household_register" not in paper
    for n, mid in enumerate(paper):
        page = ctx.pages.attach_page(clerk, sid, mid, f"page {n}".encode(), "image/jpeg")
        assert ctx.pages.page_bytes(page) == f"page {n}".encode()
        stage = ctx.queries.get(sid).stage
        assert stage == ("digitised" if n == len(paper) - 1 else "received")
    assert ctx.queries.get(sid).digitised_at is not None
    with pytest.raises(IntakeError) as exc:
        ctx.pages.attach_page(clerk, sid, "business_license", b"x", "image/jpeg")
    assert exc.value.code == "capture.material_not_in_list"


def test_pages_rotate_reorder_and_remove(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    pages = [
        ctx.pages.attach_page(clerk, sid, "household_register", f"p{n}".encode(), "image/jpeg")
        for n in range(3)
    ]
    assert [p.position for p in pages] == [1, 2, 3]
    turned = ctx.pages.rotate_page(clerk, sid, pages[0].id, 90)
    assert (
        turned.rotation == 90 and ctx.pages.rotate_page(clerk, sid, pages[0].id, 270).rotation == 0
    )
    with pytest.raises(IntakeError):
        ctx.pages.rotate_page(clerk, sid, pages[0].id, 45)
    order = ctx.pages.move_page(clerk, sid, pages[2].id, 1)
    assert [p.id for p in order] == [pages[2].id, pages[0].id, pages[1].id]
    ctx.pages.remove_page(clerk, sid, pages[0].id)
    view = ctx.queries.get(sid)
    assert [p.id for p in view.pages_for("household_register")] == [pages[2].id, pages[1].id]
    with pytest.raises(IntakeError) as exc:
        ctx.pages.move_page(clerk, sid, pages[1].id, 5)
    assert exc.value.code == "capture.bad_position"
    assert {e[0] for e in ctx.queries.events(sid)} >= {"page_rotated", "page_moved", "page_removed"}


def test_ledger_without_applicants_filled_later_equals_the_full_ledger(ctx, staff, clock):
    """The window's fast path (list first, applicant cells as painted) shows the same lines."""
    from app.clock import STATION_TZ
    from app.demo import generate

    generate(ctx.sessions, ctx.catalogs.current, 120, days=1, seed=11, now=clock.now())
    day = clock.now().astimezone(STATION_TZ).date()
    full = ctx.queries.ledger(day)
    bare = ctx.queries.ledger(day, applicants=False)
    assert len(full) == 120 and all(r.applicant_pending and not r.applicant_name for r in bare)
    assert ctx.queries.with_applicants(bare) == full
    ids = [r.submission_id for r in reversed(full)][:50]
    assert [r.submission_id for r in ctx.queries.rows_for(ids)] == ids
    assert ctx.queries.rows_for(ids) == [r for r in reversed(full)][:50]
    cells = ctx.queries.applicant_cells(ids[:3])
    assert {
        sid: (r.applicant_name, r.applicant_id_masked, r.identity_source)
        for r in full
        if r.submission_id in ids[:3]
        for sid in [r.submission_id]
    } == cells


@pytest.mark.parametrize(
    "typed, field, code",
    [
        ({"birth_date": dt.date(1949, 12, 13)}, "birth_date", "id.birth_date_mismatch"),
        ({"gender": "男"}, "gender", "id.gender_mismatch"),  # 11010519491231002X is a woman's
    ],
)
def test_birth_date_or_gender_contradicting_the_id_number_is_refused_at_finish(
    ctx, staff, typed, field, code
):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    view = ctx.intake.set_applicant(
        clerk,
        sid,
        ApplicantInput(name="张三", resident_id="11010519491231002X", phone="13812345678", **typed),
    )
    assert "不符" in view.problems()[field]  # the draft keeps it, and says what is wrong
    with pytest.raises(IntakeError) as exc:
        ctx.intake.finish(clerk, sid)
    assert exc.value.code == f"applicant.{field}" and exc.value.details["field"] == field
    assert exc.value.details["reason"] == code and "不符" in exc.value.message
    assert ctx.queries.get(sid).stage == "draft" and ctx.queries.get(sid).number is None
    ctx.intake.set_applicant(
        clerk,
        sid,
        ApplicantInput(
            name="张三",
            resident_id="11010519491231002X",
            gender="女",
            birth_date=dt.date(1949, 12, 31),
            phone="13812345678",
        ),
    )
    assert ctx.intake.finish(clerk, sid).stage == "received"


def test_search_by_part_of_an_intake_number(ctx, staff):
    """A clerk types the tail of the number read off a receipt (`0002-D`): the intake is found,
    with or without the dashes; a fragment matching no number finds nothing."""
    clerk = staff["clerk"]
    first = ctx.intake.finish(clerk, new_intake(ctx, clerk)).number
    second_sid = new_intake(ctx, clerk)
    second = ctx.intake.finish(clerk, second_sid).number
    assert first.startswith("XX01-241202-0001-") and second.startswith("XX01-241202-0002-")
    tail = second[len("XX01-241202-") :]  # "0002-" + its check character
    for q in (tail, tail.lower(), tail.replace("-", ""), "241202-0002", " 0002 "):
        assert [r.submission_id for r in ctx.queries.search(q)] == [second_sid], q
    assert {r.number for r in ctx.queries.search("241202")} == {first, second}
    assert ctx.queries.search("0003-") == []
