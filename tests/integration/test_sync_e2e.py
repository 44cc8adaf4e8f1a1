"""The real client engine against the real hub on loopback: offline weeks, the 2-hour push,
decisions and catalogs coming back, two stations at once, the USB route, the command line."""

import argparse
import datetime as dt
import json
import logging
import random
import threading

import keyring
import pytest
import requests
from sqlalchemy import select, text, update

from app.clock import FixedClock
from sync.cli import register
from sync.engine import SyncEngine
from sync.export import ExportError
from sync.hub.importer import import_file
from sync.hub.models import HubCatalog, HubFeed, HubStation, HubSubmission
from sync.hub.server import HubThread
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from tests.expected_logs import (
    AUDIT_ENTRY_REFUSED,
    NO_KEYRING_CHECKPOINT,
    STATUS_UPDATE_REFUSED,
    SYNC_PAUSED,
)
from tests.sync_doubles import (
    FaultProxy,
    MemoryKeyring,
    assert_mirrored,
    intake_with_pages,
    small_catalog,
    station,
)

pytestmark = [
    pytest.mark.integration,
    SYNC_PAUSED,
    STATUS_UPDATE_REFUSED,
    NO_KEYRING_CHECKPOINT,
    AUDIT_ENTRY_REFUSED,
    pytest.mark.expect_log(
        logging.WARNING, "intake.sync", r"(refused|^sync paused|^hub lacks acknowledged)"
    ),
]

T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)  # Monday 09:30 at the station
FAST = SyncConfig(
    backoff_base=0.05,
    backoff_cap=0.3,
    connect_timeout=1,
    read_timeout=3,
    status_interval=0,
    catalog_interval=0,
    batch_events=40,
)


def make_station(tmp_path, code, clock, catalog, hub_url, hub, config=FAST):
    ctx, clerk = station(tmp_path / code, code, clock, catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=config, clock=clock)
    eng.enroll(hub_url, hub.store.issue_enroll_code(code))
    return ctx, clerk, eng


def assert_same(ctx, hub, code="XX01"):
    return assert_mirrored(ctx, hub.store, hub.blobs.read, code)


def test_a_week_offline_is_drained_when_the_link_returns(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    port = hub.port
    hub.stop()  # the link goes down for a week
    rng = random.Random(7)
    sids = []
    for day in range(7):
        for k in range(3):
            clock.set(T0 + dt.timedelta(days=day, hours=k))
            sids.append(intake_with_pages(ctx, clerk, rng))
    r = eng.step()
    assert r.kind == "failed" and r.wait is not None
    st = eng.status()
    assert st.state == "offline" and st.waiting == 21 and st.problem.code == "sync.offline"
    assert "未联网" in st.text and "21件待上传" in st.text and "6天" in st.text
    assert "资料已保存在本机" in st.text
    queue = eng.queue()
    assert (
        len(queue) == 21
        and queue[0].state == "retrying"
        and queue[0].last_error.code == "sync.offline"
    )
    assert all(q.state == "waiting" for q in queue[1:]) and queue[0].pages >= 1
    assert all(ctx.queries.get(s).pushed_at is None for s in sids)

    back = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs", port=port).start()
    try:
        report = eng.run_until_idle(max_seconds=60)
        assert_same(ctx, back)
        assert len(report.pushed) == 21 and report.pages_sent > 21
        for sid in sids:
            v = ctx.queries.get(sid)
            assert v.stage == "pushed" and v.pushed_at == clock.now()
        st = eng.status()
        assert st.state == "online" and st.waiting == 0 and st.text == "已联网 · 全部已上传"
        assert eng.queue() == []
    finally:
        back.stop()


def test_received_intakes_are_pushed_within_two_hours(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    sid = intake_with_pages(ctx, clerk, random.Random(1))
    clock.advance(minutes=12)  # the worker's next turn
    eng.run_until_idle(max_seconds=30)
    v = ctx.queries.get(sid)
    assert (
        v.received_at == T0
        and v.digitised_at == T0
        and v.pushed_at == T0 + dt.timedelta(minutes=12)
    )
    assert v.pushed_at <= v.push_deadline
    row = ctx.queries.ledger(dt.date(2024, 12, 2))[0]
    assert (row.received_at, row.digitised_at, row.pushed_at) == (
        v.received_at,
        v.digitised_at,
        v.pushed_at,
    )


def test_an_intake_still_missing_pages_is_sent_but_not_marked_pushed(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    sid = intake_with_pages(ctx, clerk, random.Random(1))
    v = ctx.queries.get(sid)
    # a second intake whose paper is not captured yet: received, not digitised
    from app.views import ApplicantInput
    from tests.sync_doubles import NEWBORN_ANSWERS

    sid2 = ctx.intake.start(clerk)
    ctx.intake.set_applicant(
        clerk,
        sid2,
        ApplicantInput(name="李四", resident_id="11010519491231002X", phone="13812345678"),
    )
    ctx.intake.choose(clerk, sid2, "新生儿出生")
    ctx.intake.answer_many(clerk, sid2, NEWBORN_ANSWERS)
    ctx.intake.mark_many(
        clerk,
        sid2,
        {m.id: "collected" for m in ctx.intake.checklist(sid2).materials if m.produced_by is None},
    )
    ctx.intake.finish(clerk, sid2)
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(sid).stage == "pushed" and v.number
    assert ctx.queries.get(sid2).stage == "received" and ctx.queries.get(sid2).pushed_at is None
    # once the paper is captured and sent, it is pushed
    for m in ctx.intake.checklist(sid2).materials:
        if m.needs_pages:
            ctx.pages.attach_page(clerk, sid2, m.id, b"page-" + m.id.encode(), "image/png")
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(sid2).stage == "pushed"
    assert_same(ctx, hub)


def _dept(hub):
    key = hub.store.issue_dept_key("新乡县卫健委")
    return lambda **body: requests.post(
        f"{hub.url}/v1/dept/decisions", json=body, headers={"Authorization": "Bearer " + key}
    )


def test_department_decisions_reach_the_window(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    sid = intake_with_pages(ctx, clerk, random.Random(2))
    eng.run_until_idle(max_seconds=30)
    items = ctx.queries.get(sid).items
    post = _dept(hub)
    number = ctx.queries.get(sid).number
    assert post(number=number, item_id=items[0], decision="accepted").status_code == 201
    assert (
        post(
            submission_id=sid, item_id=items[1], decision="rejected", reason="出生医学证明信息不符"
        ).status_code
        == 201
    )
    clock.advance(hours=3)
    report = eng.run_until_idle(max_seconds=30)
    assert report.decisions_applied == 2
    v = ctx.queries.get(sid)
    assert v.decisions == {items[0]: "accepted", items[1]: "rejected"} and v.stage == "accepted"
    for item in items[2:]:
        post(submission_id=sid, item_id=item, decision="accepted")
    for item in [items[0], *items[2:]]:
        post(submission_id=sid, item_id=item, decision="completed")
    eng.run_until_idle(max_seconds=30)
    v = ctx.queries.get(sid)
    assert v.stage == "completed" and v.decisions[items[1]] == "rejected"
    # the decisions recorded at the window went back to the hub as the station's own events
    assert_same(ctx, hub)
    # a replay of the feed (as after a crash between applying and saving the cursor) is harmless
    eng.outbox.set(status_cursor=0)
    again = eng.run_until_idle(max_seconds=30)
    assert again.decisions_applied == 0 and again.decisions_refused == 0
    assert ctx.queries.get(sid).decisions == v.decisions


def _feed_row(hub, sid, item, decision, reason=""):
    with hub.store.write() as s:
        sub = s.get(HubSubmission, sid)
        st = s.get(HubStation, sub.station_id)
        st.feed_seq += 1
        s.add(
            HubFeed(
                station_id=st.id,
                cursor=st.feed_seq,
                submission_id=sid,
                item_id=item,
                decision=decision,
                reason=reason,
                department="",
                decision_id=f"raw-{st.feed_seq}",
                decided_at=T0,
            )
        )


def test_malformed_status_updates_are_refused_and_reported(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    sid = intake_with_pages(ctx, clerk, random.Random(3))
    eng.run_until_idle(max_seconds=30)
    items = ctx.queries.get(sid).items
    before = ctx.queries.events(sid)
    _feed_row(hub, sid, items[0], "maybe")  # not a decision
    _feed_row(hub, sid, items[0], "completed")  # completed before accepted
    _feed_row(hub, sid, "no_such_item", "accepted")
    with hub.store.write() as s:  # a submission this station never had
        foreign = "00000000-0000-4000-8000-000000000001"
        st = s.scalars(select(HubStation).where(HubStation.code == "XX01")).one()
        s.add(
            HubSubmission(
                id=foreign,
                station_id=st.id,
                stage="received",
                items_json="[]",
                created_at=T0,
                updated_at=T0,
            )
        )
    _feed_row(hub, foreign, items[0], "accepted")
    _feed_row(hub, sid, items[0], "accepted")  # a good one after the bad ones still arrives
    report = eng.run_until_idle(max_seconds=30)
    assert report.decisions_refused == 4 and report.decisions_applied == 1
    assert ctx.queries.get(sid).decisions == {items[0]: "accepted"}
    assert ctx.queries.events(sid)[: len(before)] == before
    parked = [q for q in eng.queue() if q.state == "needs_person"]
    assert len(parked) == 4 and all(q.kind == "status" for q in parked)
    assert all("办理结果" in q.last_error.message and q.last_error.fix for q in parked)
    assert eng.status().needs_person == 4 and "4项需人工处理" in eng.status().text
    with ctx.sessions() as s:
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_a_parked_decision_retried_is_fetched_again_and_applies_once_it_can(
    tmp_path, clock, catalog, hub
):
    """办结 arrived before 受理: parked. Once 受理 is here, 重试 fetches the parked update
    from the hub again (the status cursor went past it) and applies it."""
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    sid = intake_with_pages(ctx, clerk, random.Random(4))
    eng.run_until_idle(max_seconds=30)
    item = ctx.queries.get(sid).items[0]
    _feed_row(hub, sid, item, "completed")
    eng.run_until_idle(max_seconds=30)
    parked = [q for q in eng.queue() if q.state == "needs_person"]
    assert [q.kind for q in parked] == ["status"] and ctx.queries.get(sid).decisions == {}
    _feed_row(hub, sid, item, "accepted")
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(sid).decisions == {item: "accepted"}
    assert eng.retry(parked[0].id) == 1
    report = eng.run_until_idle(max_seconds=30)
    assert report.decisions_applied == 1
    assert ctx.queries.get(sid).decisions == {item: "completed"}
    assert eng.status().needs_person == 0 and not [q for q in eng.queue() if q.kind == "status"]


def test_a_retried_decision_that_still_cannot_apply_is_parked_again(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    sid = intake_with_pages(ctx, clerk, random.Random(5))
    eng.run_until_idle(max_seconds=30)
    _feed_row(hub, sid, "no_such_item", "accepted")
    eng.run_until_idle(max_seconds=30)
    first = [q for q in eng.queue() if q.state == "needs_person"]
    assert len(first) == 1
    eng.retry(first[0].id)
    eng.run_until_idle(max_seconds=30)
    again = [q for q in eng.queue() if q.state == "needs_person"]
    assert [q.kind for q in again] == ["status"] and again[0].last_error is not None
    assert ctx.queries.get(sid).decisions == {}


def test_a_new_catalog_version_is_picked_up_and_kept(tmp_path, clock, catalog, hub):
    ctx, _clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    old = ctx.catalogs.current
    hub.store.publish_catalog(small_catalog(tmp_path / "newcat", "2099.01.01-1"))
    report = eng.run_until_idle(max_seconds=30)
    assert (
        report.catalog_installed == "2099.01.01-1"
        and ctx.catalogs.current.version == "2099.01.01-1"
    )
    assert ctx.catalogs.get(old.digest).version == old.version  # old intakes keep their catalog
    # a restart loads the bundled catalog; the engine puts the synced one back
    ctx.close()
    from app.context import build_context

    ctx2 = build_context(ctx.db_path, clock=clock, catalog_path=catalog)
    assert ctx2.catalogs.current.version == old.version
    SyncEngine.from_context(ctx2, tokens=eng.tokens, config=FAST, clock=clock)
    assert ctx2.catalogs.current.version == "2099.01.01-1"
    ctx2.close()


def test_a_broken_catalog_from_the_hub_is_refused(tmp_path, clock, catalog, hub):
    ctx, _clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    current = ctx.catalogs.current
    import hashlib

    body = json.dumps({"header": {"version": "2099.9"}, "materials": [], "bundles": []}).encode()
    with hub.store.write() as s:
        s.add(
            HubCatalog(
                digest=hashlib.sha256(body).hexdigest(),
                version="2099.9",
                packed=body,
                published_at=dt.datetime.now(dt.UTC),
            )
        )
    eng.run_until_idle(max_seconds=30)
    assert ctx.catalogs.current is current
    parked = [q for q in eng.queue() if q.kind == "catalog"]
    assert (
        len(parked) == 1
        and parked[0].state == "needs_person"
        and "目录" in parked[0].last_error.message
    )
    # refused once, not fetched again every turn
    eng.run_until_idle(max_seconds=30)
    assert len([q for q in eng.queue() if q.kind == "catalog"]) == 1
    # a body that does not match its digest is refused too
    with hub.store.write() as s:
        s.execute(update(HubCatalog).values(packed=b'{"truncated'))
    eng.outbox.set(catalog_refused=None)
    eng.run_until_idle(max_seconds=30)
    assert ctx.catalogs.current is current


def test_two_stations_sync_at_once(tmp_path, clock, catalog, hub):
    a = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    b = make_station(tmp_path, "XX02", FixedClock(T0), catalog, hub.url, hub)
    for n, (ctx, clerk, _eng) in enumerate((a, b)):
        rng = random.Random(n)
        for _ in range(6):
            intake_with_pages(ctx, clerk, rng)
    errors = []

    def run(eng):
        try:
            eng.run_until_idle(max_seconds=60)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(x[2],)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    local_a = assert_same(a[0], hub, "XX01")
    local_b = assert_same(b[0], hub, "XX02")
    assert not set(local_a) & set(local_b)
    assert hub.store.counts()["submissions"] == 12


def test_usb_export_is_imported_and_nothing_is_sent_twice(tmp_path, clock, catalog, hub):
    proxy = FaultProxy(hub.port).start()  # counts the bytes of the later online sync
    try:
        ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, proxy.url, hub)
        rng = random.Random(5)
        sids = [intake_with_pages(ctx, clerk, rng, page_sizes=(20_000, 60_000)) for _ in range(5)]
        (tmp_path / "usb").mkdir()
        summary = eng.export(tmp_path / "usb" / "XX01.intake-export")
        assert summary.events > 0 and summary.pages > 0
        raw = summary.path.read_bytes()
        assert "张三".encode() not in raw and b"11010519491231002X" not in raw  # encrypted
        # a tampered copy is refused whole
        bad = tmp_path / "bad.intake-export"
        flipped = bytearray(raw)
        flipped[len(flipped) // 2] ^= 0x40
        bad.write_bytes(bytes(flipped))
        with pytest.raises(ExportError) as exc:
            import_file(hub.store, hub.blobs, bad)
        assert exc.value.code == "export.signature" and hub.store.counts()["events"] == 0
        out = import_file(hub.store, hub.blobs, summary.path)
        assert out["events"]["stored"] == summary.events and out["pages"] == summary.pages
        # the audit log travels too: the hub's copy is the station's chain, entry for entry
        with ctx.sessions() as s:
            hashes = list(s.scalars(text("SELECT hash FROM audit_entries ORDER BY id")))
        assert hashes and out["audit"] == {"stored": len(hashes), "duplicate": 0, "refused": None}
        assert [e["hash"] for e in hub.store.audit_of("XX01")] == hashes
        again = import_file(hub.store, hub.blobs, summary.path)
        assert again["events"]["duplicate"] == summary.events and not again["first_import"]
        assert again["audit"]["duplicate"] == len(hashes)
        page_bytes = sum(
            len(ctx.attachments.get(p.sha256)) for s in sids for p in ctx.queries.get(s).pages
        )
        proxy.reset_counts()
        report = eng.run_until_idle(max_seconds=30)
        assert report.pages_sent == 0 and report.page_bytes_sent == 0
        assert report.events_already_there == summary.events
        assert report.events_sent == len(sids)  # only the new "pushed" events
        assert proxy.up < page_bytes / 20
        assert_same(ctx, hub)
    finally:
        proxy.stop()


def test_usb_export_with_an_altered_audit_entry_keeps_the_events_and_reports_the_entry(
    tmp_path, clock, catalog, hub, capsys
):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    intake_with_pages(ctx, clerk, random.Random(3))
    with ctx.sessions() as s:
        ids = list(s.scalars(text("SELECT id FROM audit_entries ORDER BY id")))
    middle = ids[len(ids) // 2]
    with ctx.sessions() as s:  # edited behind the program's back, before the export
        s.execute(text("UPDATE audit_entries SET detail = 'changed' WHERE id = :i"), {"i": middle})
        s.commit()
    summary = eng.export(tmp_path / "x.intake-export")
    out = import_file(hub.store, hub.blobs, summary.path)
    assert out["events"]["stored"] == summary.events
    assert out["audit"]["refused"]["code"] == "audit.hash_mismatch"
    assert out["audit"]["refused"]["entry_id"] == middle
    assert [e["id"] for e in hub.store.audit_of("XX01")] == ids[: ids.index(middle)]
    # `intake hub import` says so by its exit status, for the operator
    code, out = cli(
        capsys,
        "hub",
        "import",
        str(summary.path),
        "--db",
        f"sqlite:///{tmp_path}/hub.sqlite3",
        "--blobs",
        str(tmp_path / "hub-blobs"),
    )
    assert code == 1 and json.loads(out)["audit"]["refused"]["entry_id"] == middle


def test_export_signed_by_another_token_is_refused(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    intake_with_pages(ctx, clerk, random.Random(1))
    summary = eng.export(tmp_path / "x.intake-export")
    hub.store.revoke("XX01")
    with pytest.raises(Exception) as exc:
        import_file(hub.store, hub.blobs, summary.path)
    assert exc.value.code == "import.revoked"


def test_revoked_token_keeps_the_queue_and_says_so(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = make_station(tmp_path, "XX01", clock, catalog, hub.url, hub)
    hub.store.revoke("XX01")
    sid = intake_with_pages(ctx, clerk, random.Random(1))
    eng.run_until_idle(max_seconds=10)
    st = eng.status()
    assert (
        st.state == "error"
        and st.problem.code == "sync.unauthorized"
        and "吊销" in st.problem.message
    )
    assert "重新登记" in st.problem.fix and st.waiting == 1 and eng.needs_person()
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))  # the administrator's new code
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(sid).stage == "pushed" and eng.status().state == "online"
    assert_same(ctx, hub)


@pytest.fixture()
def memory_keyring():
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


def cli(capsys, *argv):
    parser = argparse.ArgumentParser(prog="intake")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code = args.func(args)
    out = capsys.readouterr().out
    return code, out


def test_command_line_enroll_and_sync(tmp_path, clock, catalog, hub, memory_keyring, capsys):
    ctx, clerk = station(tmp_path / "st", "XX01", clock, catalog)
    intake_with_pages(ctx, clerk, random.Random(1))
    db = str(ctx.db_path)
    hub_db = f"sqlite:///{tmp_path}/hub.sqlite3"
    code, out = cli(capsys, "hub", "enroll-code", "--db", hub_db, "--station", "XX01", "--json")
    assert code == 0
    enroll_code = json.loads(out)["code"]
    code, out = cli(capsys, "station", "enroll", hub.url, enroll_code, "--db", db, "--json")
    assert code == 0 and json.loads(out)["station_code"] == "XX01"
    tokens = [
        v
        for (service, _user), v in memory_keyring.passwords.items()
        if service == "yijianshi-intake-sync"
    ]
    assert len(tokens) == 1 and tokens[0].startswith("ist1.")
    for f in tmp_path.rglob("*"):  # the token is in the keyring and nowhere on disk
        if f.is_file() and "hub" not in f.name:
            assert tokens[0].encode() not in f.read_bytes(), f
    code, out = cli(capsys, "sync", "--once", "--db", db, "--json")
    report = json.loads(out)
    assert code == 0 and report["events_sent"] > 0 and len(report["pushed"]) == 1
    code, out = cli(capsys, "sync", "--status", "--db", db)
    assert json.loads(out)["state"] in ("online", "unknown")
    code, out = cli(capsys, "hub", "revoke", "--db", hub_db, "--station", "XX01")
    intake_with_pages(ctx, clerk, random.Random(2))
    code, out = cli(capsys, "sync", "--once", "--db", db, "--max-wait", "5")
    assert code == 1 and json.loads(out)["status"]["problem"]["code"] == "sync.unauthorized"
    ctx.close()


def test_command_line_exit_code_when_the_link_is_down(
    tmp_path, clock, catalog, hub, memory_keyring, capsys
):
    ctx, clerk = station(tmp_path / "st", "XX01", clock, catalog)
    db = str(ctx.db_path)
    enroll_code = hub.store.issue_enroll_code("XX01")
    assert cli(capsys, "station", "enroll", hub.url, enroll_code, "--db", db)[0] == 0
    hub.stop()
    intake_with_pages(ctx, clerk, random.Random(1))
    code, out = cli(capsys, "sync", "--once", "--db", db, "--max-wait", "1")
    assert code == 75 and json.loads(out)["status"]["state"] == "offline"
    ctx.close()


def test_command_line_enrollment_sends_the_receipt_key_and_the_hub_lists_it(
    tmp_path, clock, catalog, hub, memory_keyring, capsys
):
    ctx, clerk = station(
        tmp_path / "st", "XX01", clock, catalog
    )  # the keyring holds its signing key
    assert ctx.signer is not None
    db, hub_db = str(ctx.db_path), f"sqlite:///{tmp_path}/hub.sqlite3"
    assert (
        cli(capsys, "station", "enroll", hub.url, hub.store.issue_enroll_code("XX01"), "--db", db)[
            0
        ]
        == 0
    )
    code, out = cli(capsys, "hub", "receipt-keys", "--db", hub_db, "--station", "XX01")
    assert code == 0 and json.loads(out) == {ctx.signer.key_id: ctx.signer.public_key_text()}
    # and `intake sync --once` leaves the hub a copy of the audit log
    intake_with_pages(ctx, clerk, random.Random(1))
    code, out = cli(capsys, "sync", "--once", "--db", db, "--json")
    assert code == 0 and json.loads(out)["audit_sent"] > 0
    with ctx.sessions() as s:
        hashes = list(s.scalars(text("SELECT hash FROM audit_entries ORDER BY id")))
    assert [e["hash"] for e in hub.store.audit_of("XX01")] == hashes
    ctx.close()


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
