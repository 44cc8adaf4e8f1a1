"""GET /v1/dept/submissions pages through the cases in the order the hub got them, with a
cursor: every case once however many there are (it used to answer the oldest 1 000 forever),
one that an offline township sends days late still comes after the cursor, a case is listed
30 s after it arrived (a transaction stamped earlier but committed later is not skipped), and a
department whose items are rare reads on without one request scanning everything.
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
import requests
from sqlalchemy import text

from tests.hub_doubles import station_session
from tests.sync_doubles import hub_on

from .test_sync_hub import ev

pytestmark = pytest.mark.integration

AT = "2024-12-02T01:30:00.000000Z"


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    with hub_on(request.param, tmp_path, lambda: request.getfixturevalue("pg_admin_url")) as h:
        h.store.listing_lag = dt.timedelta(0)  # listed at once (30 s in service)
        yield h


class Station:
    def __init__(self, hub, code: str) -> None:
        self.hub, self.code, self.seq, self.n = hub, code, 0, 0
        self.s = station_session(
            hub.url, hub.store.issue_enroll_code(code), None, station_code=code
        )

    def send(self, sid: str, *events: tuple[str, dict], at: str = AT) -> list[str]:
        wire = []
        for etype, payload in events:
            self.seq += 1
            wire.append({**ev(sid, self.seq, etype, payload), "at": at})
        r = self.s.post(
            f"{self.hub.url}/v1/events", json={"store_id": self.s.store_id, "events": wire}
        )
        return [x["status"] for x in r.json()["results"]]

    def case(self, items=("hukou",), kind="received", at=AT) -> str:
        """One intake: created, then received (or 一次告知) with a number; AT the station's time."""
        sid = str(uuid.uuid4())
        self.n += 1
        number = f"{self.code}-241202-{self.n:04d}-H"
        made = ("created", {}), (kind, {"number": number, "items": list(items)})
        assert self.send(sid, *made, at=at) == ["stored", "stored"]
        return sid

    def draft(self) -> str:
        sid = str(uuid.uuid4())
        assert self.send(sid, ("created", {})) == ["stored"]
        return sid


def listing(hub, key: str, **params) -> dict:
    r = requests.get(
        f"{hub.url}/v1/dept/submissions",
        params=params,
        headers={"Authorization": "Bearer " + key},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def read_all(hub, key: str, after: str | None = None, limit: int = 3):
    """Every page until `more` is false: (the rows, the last cursor)."""
    rows: list[dict] = []
    while True:
        page = listing(hub, key, limit=limit, **({"after": after} if after else {}))
        rows += page["submissions"]
        after = page["next"]
        if not page["more"]:
            return rows, after


def ids(rows) -> list[str]:
    return [r["submission_id"] for r in rows]


def test_every_case_once_page_by_page_and_a_late_one_after_the_cursor(hub):
    a, b = Station(hub, "XX01"), Station(hub, "XX02")
    county = hub.store.issue_dept_key("行政审批局")  # every item
    made = [a.case() for _ in range(4)] + [b.case(kind="notified")] + [a.case() for _ in range(2)]
    a.draft()  # not a case yet: not listed
    seen, cursor = read_all(hub, county)
    assert ids(seen) == made and cursor is not None

    # an offline township sends an intake received three days ago (its own clock): it comes
    # after the cursor, not before it
    late = b.case(at="2024-11-29T01:30:00.000000Z")
    again, cursor2 = read_all(hub, county, after=cursor)
    assert ids(again) == [late]
    # nothing new: the same cursor back, an empty page
    idle = listing(hub, county, after=cursor2)
    assert idle == {"submissions": [], "next": cursor2, "more": False}


def test_a_department_with_rare_items_reads_on_past_what_is_not_its_own(hub, monkeypatch):
    monkeypatch.setattr("sync.hub.decisions.SCAN_MAX", 2)
    a = Station(hub, "XX01")
    for _ in range(5):
        a.case(items=("hukou",))
    mine = a.case(items=("hukou", "birth_cert"))
    a.case(kind="notified", items=("birth_cert",))  # 一次告知: not received, not pushed
    health = hub.store.issue_dept_key("卫健委", ["birth_cert"])
    first = listing(hub, health)
    assert first["submissions"] == [] and first["more"] and first["next"]  # read 2, none its own
    seen, _ = read_all(hub, health, after=first["next"])
    assert ids(seen) == [mine] and seen[0]["items"] == ["birth_cert"]  # only its own item


def test_a_case_is_listed_once_it_is_30_s_old_by_the_hubs_clock(hub):
    hub.store.listing_lag = dt.timedelta(seconds=30)
    a = Station(hub, "XX01")
    county = hub.store.issue_dept_key("行政审批局")
    sid = a.case()
    assert listing(hub, county)["submissions"] == []
    real_now = hub.store.now
    hub.store.now = lambda: real_now() + dt.timedelta(seconds=31)
    try:
        assert [x["submission_id"] for x in listing(hub, county)["submissions"]] == [sid]
    finally:
        hub.store.now = real_now


@pytest.mark.parametrize("bad", ["yesterday", "2026-12-07T00:00:00.000000Z~not-a-uuid", "~"])
def test_a_malformed_cursor_is_a_400_that_says_what_to_send(hub, bad):
    key = hub.store.issue_dept_key("行政审批局")
    r = requests.get(
        f"{hub.url}/v1/dept/submissions",
        params={"after": bad},
        headers={"Authorization": "Bearer " + key},
        timeout=10,
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "request.cursor" and "next" in err["message"] and not err["retry"]


@pytest.mark.expect_log(logging.WARNING, "intake.hub", r"items_json is damaged; read as no items$")
def test_a_row_damaged_by_hand_does_not_stop_the_listing_behind_it(hub):
    a = Station(hub, "XX01")
    county = hub.store.issue_dept_key("行政审批局")
    health = hub.store.issue_dept_key("卫健委", ["birth_cert"])
    damaged = a.case(items=("birth_cert",))
    after = a.case(items=("birth_cert",))
    with hub.store.engine.begin() as c:
        c.execute(
            text("UPDATE hub_submissions SET items_json = '{not json' WHERE id = :id"),
            {"id": damaged},
        )
    rows, _ = read_all(hub, county)
    assert ids(rows) == [damaged, after] and rows[0]["items"] == []
    rows, _ = read_all(hub, health)
    assert ids(rows) == [after]  # no item of its own on the damaged row: not shown
    r = requests.post(
        f"{hub.url}/v1/dept/decisions",
        json={"submission_id": damaged, "item_id": "birth_cert", "decision": "accepted"},
        headers={"Authorization": "Bearer " + county},
        timeout=10,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "decision.unknown_item"
