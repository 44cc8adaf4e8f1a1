"""Notices to the applicant (短信告知) end to end: decisions and 送达 at a real hub on loopback
queue notices, the hub's sender hands them to the provider once each, failures are kept and
retried, the station learns what was sent and when, and nothing personal is in the hub's log.

The SMS gateway adapter is tested against a fake gateway on loopback in test_notice_gateway.py;
the race of several hub processes on PostgreSQL in test_notices_pg.py."""

from __future__ import annotations

import json
import logging
import random

import pytest
import requests
from sqlalchemy import create_engine, text

from app.cli import main as cli_main
from app.notices import Notices
from sync.engine import SyncEngine
from sync.hub.notify.base import ProviderError, SendResult
from sync.hub.notify.logging_provider import LoggingProvider
from sync.hub.notify.sender import NoticeSender
from sync.hub.server import HubThread
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from tests.expected_logs import SYNC_PAUSED
from tests.hub_doubles import station_session
from tests.sync_doubles import intake_with_pages, station


def sent_total(metrics: str) -> float:
    """intake_hub_notices_sent_total of one process (a counter since its start)."""
    (line,) = [x for x in metrics.splitlines() if x.startswith("intake_hub_notices_sent_total ")]
    return float(line.split()[1])


pytestmark = [
    pytest.mark.integration,
    SYNC_PAUSED,
]

PHONE, NAME = "13812345678", "张三"  # what tests/sync_doubles.intake_with_pages records
REASON = "出生医学证明信息不符"
FAST = SyncConfig(
    backoff_base=0.05, backoff_cap=0.3, status_interval=0, catalog_interval=0, batch_events=40
)


@pytest.fixture()
def quiet_hub(tmp_path, monkeypatch):
    """The real hub with its own sender off: each test drives a sender itself, step by step."""
    monkeypatch.setenv("INTAKE_HUB_NOTIFY_PROVIDER", "off")
    h = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    yield h
    h.stop()


def decided_intake(tmp_path, clock, catalog, hub):
    """A station with one intake at the hub: item 0 accepted then completed, item 1 rejected
    with a reason; the station synced the decisions. (ctx, clerk, engine, sid, items, number)"""
    ctx, clerk = station(tmp_path / "XX01", "XX01", clock, catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    sid = intake_with_pages(ctx, clerk, random.Random(3))
    eng.run_until_idle(max_seconds=30)
    v = ctx.queries.get(sid)
    key = hub.store.issue_dept_key("新乡县卫健委")

    def post(**body):
        r = requests.post(
            f"{hub.url}/v1/dept/decisions", json=body, headers={"Authorization": "Bearer " + key}
        )
        assert r.status_code == 201, r.text

    post(number=v.number, item_id=v.items[0], decision="accepted")
    post(submission_id=sid, item_id=v.items[1], decision="rejected", reason=REASON)
    post(submission_id=sid, item_id=v.items[0], decision="completed")
    eng.run_until_idle(max_seconds=30)
    return ctx, clerk, eng, sid, v.items, v.number


def kinds(notices):
    return sorted((n["kind"], n["item_id"]) for n in notices)


def test_decisions_and_delivery_notify_the_applicant_once_each_and_the_window_sees_it(
    tmp_path, clock, catalog, quiet_hub, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    hub = quiet_hub
    ctx, clerk, eng, sid, items, number = decided_intake(tmp_path, clock, catalog, hub)
    try:
        # the decisions went back to the hub as the station's own item_decided events: still
        # one notice per decision
        expected = [("accepted", items[0]), ("completed", items[0]), ("rejected", items[1])]
        assert kinds(hub.store.notices_of(sid)) == expected
        ctx.intake.deliver(clerk, sid, method="window", items=[items[0], items[1]])
        eng.run_until_idle(max_seconds=30)
        eng.run_until_idle(max_seconds=30)  # a second sync sends nothing new
        assert kinds(hub.store.notices_of(sid)) == sorted([*expected, ("collected", "")])
        assert all(n["status"] == "pending" for n in hub.store.notices_of(sid))

        provider = LoggingProvider()
        sender = NoticeSender(hub.store, provider)
        assert sender.run_once() == 4
        assert sender.run_once() == 0  # sent: never again
        sent = {n.kind: n for n in provider.sent}
        assert sorted(sent) == ["accepted", "collected", "completed", "rejected"]
        assert {n.phone for n in provider.sent} == {PHONE}  # the phone the intake recorded
        assert {n.number for n in provider.sent} == {number}
        assert REASON in sent["rejected"].text and "不予受理" in sent["rejected"].text
        assert "受理" in sent["accepted"].text and "办结" in sent["completed"].text
        assert "领取" in sent["collected"].text
        assert all(n["status"] == "sent" and n["sent_at"] for n in hub.store.notices_of(sid))

        # the station learns what was sent and when
        eng.run_until_idle(max_seconds=30)
        at_station = Notices(ctx.sessions).of(sid)
        assert sorted((n.kind, n.item_id) for n in at_station) == sorted(
            [*expected, ("collected", "")]
        )
        assert all(n.status == "sent" and n.sent_at is not None for n in at_station)
        assert {n.status_label for n in at_station} == {"已发送"}
        db = str(ctx.db_path)
    finally:
        ctx.close()

    capsys.readouterr()
    assert cli_main(["notices", number, "--db", db]) == 0
    out = capsys.readouterr().out
    assert f"{number} 短信通知 4 条" in out
    for label in ("受理", "不予受理", "办结", "领取"):
        assert f"  {label}" in out
    assert out.count("已发送") == 4

    # nothing personal in the hub's log, and the database holds phone and text sealed
    hub_lines = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("intake.hub"))
    assert "notice accepted for " + number in hub_lines  # the log does speak of the notices
    assert PHONE not in hub_lines and NAME not in hub_lines and REASON not in hub_lines
    engine = create_engine(hub.store.url)
    with engine.connect() as c:
        raw = c.execute(text("SELECT phone, content FROM hub_notices")).all()
    engine.dispose()
    assert len(raw) == 4
    assert not any(PHONE in phone or REASON in content for phone, content in raw)


class FlakyProvider:
    """Refuses the first FAILURES sends (as a gateway that is down), then takes them."""

    name = "flaky"

    def __init__(self, failures: int, retry: bool = True) -> None:
        self.failures, self.retry = failures, retry
        self.sent: list[str] = []
        self.calls = 0

    def send(self, notice):
        self.calls += 1
        if self.calls <= self.failures:
            raise ProviderError("gateway.http_503", retry=self.retry)
        self.sent.append(notice.id)
        return SendResult(ref=f"m{self.calls}")


@pytest.mark.expect_log(logging.WARNING, "intake.hub.notify", r"^notice \w+ for .* not sent ")
def test_a_failing_provider_keeps_the_notice_retries_it_shows_it_then_sends_it_once(
    tmp_path, clock, catalog, quiet_hub
):
    hub = quiet_hub
    ctx, _clerk, eng, sid, _items, _number = decided_intake(tmp_path, clock, catalog, hub)
    try:
        provider = FlakyProvider(failures=3)
        sender = NoticeSender(hub.store, provider, backoff=0.0001, backoff_max=0.0001)
        assert sender.run_once() == 3  # the three decisions: every send refused
        rows = hub.store.notices_of(sid)
        assert {n["status"] for n in rows} == {"retrying"}
        assert {n["last_error"] for n in rows} == {"gateway.http_503"}
        metrics = requests.get(f"{hub.url}/metrics").text
        assert 'intake_hub_notices{status="retrying"} 3.0' in metrics
        assert 'intake_hub_notices{status="sent"}' not in metrics  # a counter, not a count
        sent_before = sent_total(metrics)
        # the station sees them as failing, to be retried
        eng.run_until_idle(max_seconds=30)
        assert {n.status_label for n in Notices(ctx.sessions).of(sid)} == {"发送失败，将重试"}
        # the gateway is back: each sent once, on its second attempt
        assert sender.run_once() == 3
        assert sender.run_once() == 0
        rows = hub.store.notices_of(sid)
        assert sorted(provider.sent) == sorted(n["id"] for n in rows)
        assert {(n["status"], n["attempts"], n["last_error"]) for n in rows} == {("sent", 2, "")}
        metrics = requests.get(f"{hub.url}/metrics").text
        assert sent_total(metrics) == sent_before + 3
        assert 'intake_hub_notices{status="retrying"} 0.0' in metrics
        eng.run_until_idle(max_seconds=30)
        assert {n.status for n in Notices(ctx.sessions).of(sid)} == {"sent"}
    finally:
        ctx.close()


@pytest.mark.expect_log(logging.WARNING, "intake.hub.notify", r"^notice \w+ for .* not sent ")
def test_a_notice_the_gateway_will_never_take_is_kept_as_failed_and_not_resent(
    tmp_path, clock, catalog, quiet_hub, capsys
):
    hub = quiet_hub
    ctx, _clerk, eng, sid, _items, _number = decided_intake(tmp_path, clock, catalog, hub)
    try:
        provider = FlakyProvider(failures=99, retry=False)
        sender = NoticeSender(hub.store, provider)
        assert sender.run_once() == 3
        assert sender.run_once() == 0 and provider.calls == 3
        rows = hub.store.notices_of(sid)
        assert {(n["status"], n["attempts"]) for n in rows} == {("failed", 1)}
        assert 'intake_hub_notices{status="failed"} 3.0' in requests.get(f"{hub.url}/metrics").text
        eng.run_until_idle(max_seconds=30)
        assert {n.status_label for n in Notices(ctx.sessions).of(sid)} == {"发送失败"}
    finally:
        ctx.close()
    # the county's administrator sees them, fixes the gateway and sends them again
    capsys.readouterr()
    assert cli_main(["hub", "notices", "--db", hub.store.url, "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "发送失败 3" in out and out.count("gateway.http_503") == 3 and PHONE not in out
    # filtered and limited in the database: the newest N, oldest first
    listed = ["hub", "notices", "--db", hub.store.url, "--status", "failed", "--json"]
    assert cli_main([*listed, "--limit", "2"]) == 0
    two = json.loads(capsys.readouterr().out)["notices"]
    every = hub.store.notices_of(sid)
    assert [n["id"] for n in two] == [n["id"] for n in every[-2:]]
    assert cli_main([*listed, "--number", "NO-SUCH-NUMBER"]) == 0
    assert json.loads(capsys.readouterr().out)["notices"] == []
    assert hub.store.notice_counts(outbox_only=True) == {
        "pending": 0,
        "sending": 0,
        "retrying": 0,
        "failed": 3,
    }
    assert cli_main(["hub", "notices", "--db", hub.store.url, "--retry", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["requeued"] == 3 and answer["counts"]["pending"] == 3
    provider.failures = 0
    assert sender.run_once() == 3
    assert {(n["status"], n["attempts"]) for n in hub.store.notices_of(sid)} == {("sent", 2)}
    assert len(provider.sent) == 3


@pytest.mark.expect_log(logging.WARNING, "intake.hub.notify", r"^notice \w+ for .* not sent ")
def test_attempts_run_out_after_the_configured_number(tmp_path, clock, catalog, quiet_hub):
    hub = quiet_hub
    ctx, _clerk, _eng, sid, _items, _number = decided_intake(tmp_path, clock, catalog, hub)
    try:
        provider = FlakyProvider(failures=99)
        sender = NoticeSender(
            hub.store, provider, backoff=0.0001, backoff_max=0.0001, max_attempts=2
        )
        assert sender.run_once() == 3 and sender.run_once() == 3 and sender.run_once() == 0
        rows = hub.store.notices_of(sid)
        assert {(n["status"], n["attempts"]) for n in rows} == {("failed", 2)}
    finally:
        ctx.close()


def test_the_hubs_own_sender_sends_what_a_decision_queues(tmp_path, clock, catalog, hub):
    """The hub as deployed (conftest's hub: the logging provider, its sender thread running)."""
    ctx, _clerk, eng, sid, _items, _number = decided_intake(tmp_path, clock, catalog, hub)
    try:
        for _ in range(200):  # the sender polls every 2 s
            if {n["status"] for n in hub.store.notices_of(sid)} == {"sent"}:
                break
            hub.sender._stop.wait(0.05)
        assert {n["status"] for n in hub.store.notices_of(sid)} == {"sent"}
        assert len(hub.sender.provider.sent) == 3
        eng.run_until_idle(max_seconds=30)
        assert {n.status for n in Notices(ctx.sessions).of(sid)} == {"sent"}
    finally:
        ctx.close()


def test_an_intake_without_a_phone_is_not_sent_and_says_so(tmp_path, quiet_hub):
    """An applicant_set without a phone (an older station's event): kept as no_phone."""
    import uuid

    hub = quiet_hub
    s = station_session(hub.url, hub.store.issue_enroll_code("XX02"))
    store = s.store_id
    sid = str(uuid.uuid4())

    def ev(seq, etype, payload):
        return {
            "id": str(uuid.uuid4()),
            "seq": seq,
            "submission_id": sid,
            "type": etype,
            "payload": payload,
            "clerk_id": 1,
            "at": "2026-12-02T01:30:00.000000Z",
        }

    events = [
        ev(1, "created", {}),
        ev(2, "applicant_set", {"name": NAME}),
        ev(3, "received", {"number": "XX02-20261202-0001", "items": ["birth"]}),
        ev(4, "item_decided", {"item": "birth", "decision": "accepted", "reason": ""}),
    ]
    assert s.post(f"{hub.url}/v1/events", json={"store_id": store, "events": events}).ok
    rows = hub.store.notices_of(sid)
    assert [(n["kind"], n["status"]) for n in rows] == [("accepted", "no_phone")]
    provider = LoggingProvider()
    assert NoticeSender(hub.store, provider).run_once() == 0 and provider.sent == []
