"""The engine's decisions, deterministic, against an in-memory hub behind the client interface:
backoff with jitter and Retry-After, link failures never blamed on items, a poison event isolated
and parked after its failures, counts restarting when the kind of failure changes."""

import datetime as dt
import random

import pytest

from app.clock import FixedClock
from sync.engine import SyncEngine
from sync.errors import sync_error
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from sync.outbox import Failure
from sync.protocol import ranges
from tests.expected_logs import SYNC_PAUSED
from tests.sync_doubles import intake_with_pages, small_catalog, station

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = SYNC_PAUSED

T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)


class FakeHub:
    """The HubClient interface over dicts; `fail[method]` is a list of errors raised in turn."""

    def __init__(self):
        self.events, self.blobs, self.feed, self.audit = {}, {}, [], {}
        self.fail: dict[str, list] = {}
        self.always: dict[str, Exception] = {}
        self.poison: set[str] = set()
        self.calls: list[str] = []
        self.combined = False  # True: the hub offers POST /v1/intakes

    def _call(self, name):
        self.calls.append(name)
        if name in self.always:
            raise self.always[name]
        if self.fail.get(name):
            raise self.fail[name].pop(0)

    def close(self):
        pass

    def enroll(self, code, store_id, station_code, receipt_key=None):
        return {"token": "ist1.t", "token_id": "tid", "station_code": station_code}

    def ping(self):
        self._call("ping")
        return {"api_version": 1}

    def received(self, start, end):
        self._call("received")
        return ranges(sorted(e["seq"] for e in self.events.values() if start <= e["seq"] <= end))

    def manifests(self, manifests):
        self._call("manifests")
        needed = {
            p["sha256"]: p for m in manifests for p in m["pages"] if p["sha256"] not in self.blobs
        }
        return {"needed": [dict(p, offset=0) for p in needed.values()], "refused": []}

    def post_blobs(self, parts):
        self._call("post_blobs")
        for sha, _offset, _total, data in parts:
            self.blobs[sha] = data
        return [{"sha256": sha, "offset": total, "complete": True} for sha, _o, total, _d in parts]

    def put_blob(self, sha, total, offset, data):
        self._call("put_blob")
        self.blobs[sha] = self.blobs.get(sha, b"")[:offset] + data
        return {
            "sha256": sha,
            "offset": offset + len(data),
            "complete": offset + len(data) == total,
        }

    def post_events(self, store_id, events):
        self._call("post_events")
        if any(e["id"] in self.poison for e in events):
            raise sync_error("sync.server_error", status=500)
        out = []
        for e in events:
            out.append(
                {"id": e["id"], "status": "duplicate" if e["id"] in self.events else "stored"}
            )
            self.events[e["id"]] = e
        return {"results": out, "submissions": []}

    def post_intake(self, store_id, manifests, pages, events):
        """POST /v1/intakes: None (a hub of the previous version, 404) unless `combined`."""
        self._call("post_intake")
        if not self.combined:
            return None
        for sha, data in pages:
            self.blobs[sha] = data
        needed = self.manifests(manifests)["needed"]
        self.calls.pop()  # the manifests went with this request
        lacking = {n["sha256"] for n in needed}
        out = []
        for e in events:
            if e["type"] == "page_attached" and e["payload"]["sha256"] in lacking:
                out.append(
                    {"id": e["id"], "status": "refused", "code": "page.missing", "retry": True}
                )
                continue
            out.append(
                {"id": e["id"], "status": "duplicate" if e["id"] in self.events else "stored"}
            )
            self.events[e["id"]] = e
        blobs = [{"sha256": sha, "offset": len(d), "complete": True} for sha, d in pages]
        return {"blobs": blobs, "needed": needed, "refused": [], "results": out, "submissions": []}

    def post_audit(self, store_id, entries):
        self._call("post_audit")
        self.audit.update((e["id"], e) for e in entries)
        return {"last_id": entries[-1]["id"], "stored": len(entries), "duplicate": 0}

    def post_receipt_key(self, key_id, public_key):
        self._call("post_receipt_key")
        return {"status": "stored", "key_id": key_id}

    def status_updates(self, after, limit):
        self._call("status_updates")
        ups = [u for u in self.feed if u["cursor"] > after][:limit]
        return {"updates": ups, "next_cursor": ups[-1]["cursor"] if ups else after, "more": False}

    def notices(self, after, limit):
        self._call("notices")
        return {"notices": [], "next_cursor": after, "more": False}

    def catalog(self, known):
        self._call("catalog")


@pytest.fixture()
def world(tmp_path):
    clock = FixedClock(T0)
    ctx, clerk = station(tmp_path / "st", "XX01", clock, small_catalog(tmp_path / "catalog"))
    hub = FakeHub()

    def make(**cfg):
        config = SyncConfig(
            **{
                "backoff_base": 1.0,
                "backoff_cap": 8.0,
                "status_interval": 0,
                "catalog_interval": 0,
                **cfg,
            }
        )
        eng = SyncEngine.from_context(
            ctx,
            tokens=MemoryTokenStore(),
            config=config,
            clock=clock,
            client_factory=lambda _cfg, _token: hub,
            rng=random.Random(1),
        )
        eng.enroll("https://hub.example", "CODE")
        return eng

    yield ctx, clerk, hub, make
    ctx.close()


def test_link_failures_back_off_with_jitter_and_never_park(world):
    ctx, clerk, hub, make = world
    eng = make()
    intake_with_pages(ctx, clerk, random.Random(1))
    hub.always["received"] = sync_error("sync.offline")
    waits = []
    for _ in range(8):
        r = eng.step()
        assert r.kind == "failed"
        waits.append(r.wait)
        assert eng.step().kind == "waiting"  # a quiet wait: the hub is not asked again
        eng.retry()  # "now" (the test does not sleep)
    for n, w in enumerate(waits):
        ceiling = min(8.0, 2**n)
        assert ceiling / 2 <= w <= ceiling
    assert len(set(waits)) > 4  # jittered
    assert hub.calls.count("received") == 8
    st = eng.status()
    assert st.state == "offline" and st.needs_person == 0 and st.waiting == 1
    del hub.always["received"]
    eng.run_until_idle(max_seconds=5)
    assert eng.status().waiting == 0 and eng.status().state == "online"


def test_retry_after_is_honoured(world):
    ctx, clerk, hub, make = world
    eng = make()
    intake_with_pages(ctx, clerk, random.Random(1))
    hub.fail["received"] = [sync_error("sync.rate_limited", retry_after=30)]
    r = eng.step()
    assert r.kind == "failed" and r.wait >= 30
    assert eng.status().next_attempt_at >= T0 + dt.timedelta(seconds=29)


def test_a_revoked_token_stops_the_drain_and_asks_for_a_person(world):
    ctx, clerk, hub, make = world
    eng = make(person_backoff=600)
    intake_with_pages(ctx, clerk, random.Random(1))
    hub.always["received"] = sync_error("sync.unauthorized", retry=False)
    report = eng.run_until_idle(max_seconds=30)
    assert report.steps == 1 and eng.needs_person()
    assert eng.status().state == "error" and eng.status().next_attempt_at >= T0 + dt.timedelta(
        seconds=599
    )


def test_a_poison_event_is_isolated_and_parked_while_the_rest_goes(world):
    ctx, clerk, hub, make = world
    eng = make(backoff_base=0.001, backoff_cap=0.002, batch_events=40, max_failures=3)
    rng = random.Random(2)
    a, b = intake_with_pages(ctx, clerk, rng), intake_with_pages(ctx, clerk, rng)
    poison = next(
        e for e in eng.outbox.pending(0, 1000) if e.submission_id == a and e.type == "answered"
    )
    hub.poison.add(poison.id)
    for _ in range(40):
        eng.run_until_idle(max_seconds=2)
        if eng.status().waiting == 0:
            break
    parked = [q for q in eng.queue() if q.state == "needs_person"]
    assert len(parked) == 1 and parked[0].detail["key"] == poison.id and parked[0].attempts == 3
    assert (
        parked[0].last_error.code == "sync.server_error" and "平台" in parked[0].last_error.message
    )
    sent = {e.id for e in eng.outbox.pending(0, 1000)} - {poison.id}
    assert sent <= set(hub.events) and poison.id not in hub.events
    assert ctx.queries.get(b).stage == "pushed" and ctx.queries.get(a).pushed_at is None
    # a person fixes the hub side and asks again: it goes, out of order, and a is pushed
    hub.poison.clear()
    eng.retry(parked[0].id)
    eng.run_until_idle(max_seconds=5)
    assert (
        poison.id in hub.events
        and ctx.queries.get(a).stage == "pushed"
        and eng.status().needs_person == 0
    )


def test_the_count_restarts_when_the_kind_of_failure_changes(world):
    _ctx, _clerk, _hub, make = world
    eng = make(max_failures=3)

    def f(code):
        return Failure("page", "a" * 64, code, "原因", "办法")

    for code in ("sync.page_corrupt", "sync.page_corrupt", "sync.refused"):
        item = eng.outbox.record_failure(f(code), T0, 3, None)
    assert (item.attempts, item.state) == (1, "failing")
    for _ in range(2):
        item = eng.outbox.record_failure(f("sync.refused"), T0, 3, None)
    assert (item.attempts, item.state) == (3, "needs_person")


def test_a_feed_that_goes_backwards_is_refused_whole(world):
    ctx, clerk, hub, make = world
    eng = make()
    sid = intake_with_pages(ctx, clerk, random.Random(3))
    eng.run_until_idle(max_seconds=5)
    item = ctx.queries.get(sid).items[0]
    base = {
        "submission_id": sid,
        "item_id": item,
        "reason": "",
        "decided_at": "2024-12-02T02:00:00.000000Z",
    }
    hub.feed = [
        dict(base, cursor=5, decision="accepted"),
        dict(base, cursor=3, decision="completed"),
    ]
    r = eng.step()
    assert r.kind == "failed" and eng.status().problem.code == "sync.bad_response"
    assert eng.outbox.get_int("status_cursor") == 5  # the good one before it was applied and kept
    assert ctx.queries.get(sid).decisions == {item: "accepted"}


def test_not_enrolled_says_so(tmp_path):
    ctx, _clerk = station(
        tmp_path / "st", "XX01", FixedClock(T0), small_catalog(tmp_path / "catalog")
    )
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore())
    assert eng.step().kind == "not_enrolled"
    st = eng.status()
    assert st.state == "not_enrolled" and "登记码" in st.problem.fix and eng.needs_person()
    ctx.close()


def test_a_batch_goes_in_one_request_first_and_its_retry_takes_the_classic_path(world):
    ctx, clerk, hub, make = world
    eng = make()
    hub.combined = True
    intake_with_pages(ctx, clerk, random.Random(3))
    hub.fail["post_intake"] = [sync_error("sync.server_error", status=500)]
    assert eng.step().kind == "failed"
    assert hub.calls.count("post_intake") == 1 and not hub.events
    eng._retry_at = None  # the back-off is another test's business
    assert eng.step().kind == "uploaded"
    assert hub.calls.count("post_intake") == 1  # no second try of the combined request
    assert {"manifests", "post_blobs", "post_events"} <= set(hub.calls)
    hub.calls.clear()
    intake_with_pages(ctx, clerk, random.Random(4))  # the next batch: one request again
    assert eng.step().kind == "uploaded"
    uploads = {"post_intake", "manifests", "post_blobs", "put_blob", "post_events"}
    assert [c for c in hub.calls if c in uploads] == ["post_intake"]
    assert eng.status().waiting == 0


def test_pages_over_the_cap_or_large_go_by_the_classic_path(world):
    ctx, clerk, hub, make = world
    eng = make(large_page=10_000)
    hub.combined = True
    intake_with_pages(ctx, clerk, random.Random(5), page_sizes=(20_000, 30_000))
    assert eng.step().kind == "uploaded"
    assert "post_intake" not in hub.calls and "put_blob" in hub.calls
