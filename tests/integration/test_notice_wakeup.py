"""The notice sender sleeps until it has work: a notice queued in its process wakes it once the
transaction committed (a department's decision, a station's own decision event), a retry it
scheduled wakes it when due, and requests that queue nothing leave it asleep. Its backstop poll
is set to an hour here, so a notice that goes out at all went out because it was woken."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest
import requests

from sync.hub.notify.base import ProviderError, SendResult
from sync.hub.notify.logging_provider import LoggingProvider
from sync.hub.notify.sender import NoticeSender
from sync.hub.server import HubThread
from tests.sync_doubles import drop_database, fresh_database

pytestmark = pytest.mark.integration

HOUR = 3600.0


@pytest.fixture()
def quiet_hub(tmp_path, monkeypatch):
    """The real hub without its own sender: each test starts one with a long backstop."""
    monkeypatch.setenv("INTAKE_HUB_NOTIFY_PROVIDER", "off")
    h = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    yield h
    h.stop()


@pytest.fixture()
def quiet_pg_hub(tmp_path, monkeypatch, pg_admin_url):
    """The same on PostgreSQL (psycopg's connections, the pool as a county runs it)."""
    monkeypatch.setenv("INTAKE_HUB_NOTIFY_PROVIDER", "off")
    name = f"wake_{uuid.uuid4().hex[:10]}"
    h = HubThread(fresh_database(pg_admin_url, name), tmp_path / "hub-blobs").start()
    yield h
    h.stop()
    drop_database(pg_admin_url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_hub(request):
    return request.getfixturevalue("quiet_hub" if request.param == "sqlite" else "quiet_pg_hub")


class Station:
    """A station speaking the protocol directly: enrolled, sending one intake's events."""

    def __init__(self, hub: HubThread, code: str = "XX01") -> None:
        self.hub, self.store_id = hub, str(uuid.uuid4())
        r = requests.post(
            f"{hub.url}/v1/enrollments",
            json={"code": hub.store.issue_enroll_code(code), "store_id": self.store_id},
        )
        assert r.status_code == 201, r.text
        self.http = requests.Session()
        self.http.headers["Authorization"] = "Bearer " + r.json()["token"]
        self.seq = 0

    def send(self, sid: str, *events: tuple[str, dict]) -> None:
        wire = []
        for etype, payload in events:
            self.seq += 1
            wire.append(
                {
                    "id": str(uuid.uuid4()),
                    "seq": self.seq,
                    "submission_id": sid,
                    "type": etype,
                    "payload": payload,
                    "clerk_id": 1,
                    "at": "2026-12-02T01:30:00.000000Z",
                }
            )
        r = self.http.post(
            f"{self.hub.url}/v1/events", json={"store_id": self.store_id, "events": wire}
        )
        assert r.status_code == 200 and {x["status"] for x in r.json()["results"]} == {"stored"}

    def intake(self, n: int) -> str:
        sid = str(uuid.uuid4())
        self.send(
            sid,
            ("created", {}),
            ("applicant_set", {"name": "张三", "phone": "13812345678"}),
            ("received", {"number": f"XX01-20261202-{n:04d}", "items": ["birth"]}),
        )
        return sid


def wait_for(condition, seconds: float = 20.0) -> bool:
    done = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        done.wait(0.05)
    return condition()


def statuses(hub: HubThread, sid: str) -> list[str]:
    return [n["status"] for n in hub.store.notices_of(sid)]


def test_a_departments_decision_wakes_the_sender_at_once(any_hub):
    hub = any_hub
    sid = Station(hub).intake(1)
    provider = LoggingProvider()
    sender = NoticeSender(hub.store, provider, interval=HOUR).start()
    try:
        r = requests.post(
            f"{hub.url}/v1/dept/decisions",
            json={"submission_id": sid, "item_id": "birth", "decision": "accepted"},
            headers={"Authorization": "Bearer " + hub.store.issue_dept_key("卫健委")},
        )
        assert r.status_code == 201, r.text
        assert wait_for(lambda: statuses(hub, sid) == ["sent"])
        assert [n.kind for n in provider.sent] == ["accepted"]
    finally:
        sender.stop()


def test_a_stations_own_decision_event_wakes_the_sender_at_once(any_hub):
    hub = any_hub
    station = Station(hub)
    sid = station.intake(1)
    provider = LoggingProvider()
    sender = NoticeSender(hub.store, provider, interval=HOUR).start()
    try:
        station.send(sid, ("item_decided", {"item": "birth", "decision": "completed"}))
        assert wait_for(lambda: statuses(hub, sid) == ["sent"])
        assert [n.kind for n in provider.sent] == ["completed"]
    finally:
        sender.stop()


class FailingOnce:
    name = "flaky"

    def __init__(self) -> None:
        self.calls = 0
        self.sent: list[str] = []

    def send(self, notice):
        self.calls += 1
        if self.calls == 1:
            raise ProviderError("gateway.http_503")
        self.sent.append(notice.id)
        return SendResult(ref="m1")


@pytest.mark.expect_log(logging.WARNING, "intake.hub.notify", r"^notice \w+ for .* not sent ")
def test_a_retry_the_sender_scheduled_goes_out_when_due_without_a_poll(quiet_hub):
    hub = quiet_hub
    station = Station(hub)
    sid = station.intake(1)
    provider = FailingOnce()
    sender = NoticeSender(hub.store, provider, interval=HOUR, backoff=0.2, backoff_max=0.2)
    sender.start()
    try:
        station.send(sid, ("item_decided", {"item": "birth", "decision": "accepted"}))
        assert wait_for(lambda: statuses(hub, sid) == ["sent"])
        (row,) = hub.store.notices_of(sid)
        assert (row["attempts"], provider.calls, provider.sent) == (2, 2, [row["id"]])
    finally:
        sender.stop()


def test_requests_that_queue_no_notice_leave_the_sender_asleep(quiet_hub, monkeypatch):
    hub = quiet_hub
    looks = []
    claim = hub.store.claim_notices
    monkeypatch.setattr(hub.store, "claim_notices", lambda *a: looks.append(1) or claim(*a))
    sender = NoticeSender(hub.store, LoggingProvider(), interval=HOUR).start()
    try:
        assert wait_for(lambda: len(looks) == 1)  # its first look, at start
        station = Station(hub)
        sids = [station.intake(n) for n in range(1, 4)]  # transactions, but no notice
        assert requests.get(f"{hub.url}/v1/status-updates", headers=station.http.headers).ok
        station.send(sids[0], ("item_decided", {"item": "birth", "decision": "accepted"}))
        assert wait_for(lambda: statuses(hub, sids[0]) == ["sent"])
        assert len(looks) == 2  # woken once, by the one notice
    finally:
        sender.stop()
