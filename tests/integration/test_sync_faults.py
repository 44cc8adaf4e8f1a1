"""Bad links and bad hubs: a fault-injecting proxy between station and hub, refused items parked
for a person, the client killed with SIGKILL during upload, the hub killed mid-request."""

import datetime as dt
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from app.clock import FixedClock
from local_db.models import Counter, Event
from sync.engine import SyncEngine
from sync.hub.server import HubThread
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore, token_key
from tests.expected_logs import BAD_HEADERS, SYNC_PAUSED
from tests.sync_doubles import (
    FaultProxy,
    assert_mirrored,
    intake_with_pages,
    small_catalog,
    station,
)

pytestmark = [
    pytest.mark.integration,
    SYNC_PAUSED,
    BAD_HEADERS,
    pytest.mark.expect_log(logging.WARNING, "intake.sync", r"(^sync paused|refused)"),
]

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)


def assert_same(ctx, hub, code="XX01"):
    return assert_mirrored(ctx, hub.store, hub.blobs.read, code)


CFG = SyncConfig(
    backoff_base=0.05,
    backoff_cap=0.3,
    connect_timeout=1,
    read_timeout=2,
    status_interval=0,
    catalog_interval=0,
    batch_events=25,
    large_page=1024 * 1024,
    chunk_bytes=256 * 1024,
    blob_batch_bytes=256 * 1024,
    max_failures=20,
)


@pytest.fixture()
def setup(tmp_path):
    hub = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    proxy = FaultProxy(hub.port, seed=11, stall=3.0).start()
    clock = FixedClock(T0)
    ctx, clerk = station(tmp_path / "st", "XX01", clock, small_catalog(tmp_path / "catalog"))
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=CFG, clock=clock)
    eng.enroll(proxy.url, hub.store.issue_enroll_code("XX01"))
    yield hub, proxy, ctx, clerk, eng
    proxy.stop()
    hub.stop()
    ctx.close()


def test_random_faults_on_the_link_lose_nothing_and_double_nothing(setup):
    hub, proxy, ctx, clerk, eng = setup
    rng = random.Random(3)
    sids = [
        intake_with_pages(ctx, clerk, rng, big=1_500_000 if n % 4 == 0 else None) for n in range(10)
    ]
    proxy.faults = {
        "reset": 0.04,
        "drop": 0.05,
        "delay": 0.03,
        "error500": 0.03,
        "error429": 0.02,
        "error503": 0.02,
        "html": 0.03,
        "cut_answer": 0.05,
        "trickle": 0.01,
    }
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        eng.run_until_idle(max_seconds=20)
        if eng.status().waiting == 0 and all(ctx.queries.get(s).stage == "pushed" for s in sids):
            break
    assert len(proxy.injected) >= 6, proxy.injected
    print("faults injected", proxy.injected, "requests", proxy.requests)
    proxy.faults = {}
    eng.run_until_idle(max_seconds=30)
    assert eng.status().waiting == 0 and eng.status().needs_person == 0
    assert all(ctx.queries.get(s).stage == "pushed" for s in sids)
    assert_same(ctx, hub)
    with ctx.sessions() as s:
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"


EXPECT = {
    "error500": ("error", "sync.server_error", "平台内部出错"),
    "error429": ("error", "sync.rate_limited", "繁忙"),
    "error503": ("error", "sync.server_error", "平台内部出错"),
    "html": ("error", "sync.bad_response", "应答格式不正确"),
    "cut_answer": ("offline", "sync.interrupted", "连接中断"),
    "trickle": ("offline", "sync.timeout", "响应太慢"),
    "reset": ("offline", "sync.interrupted", "连接中断"),
}


@pytest.mark.parametrize("mode", sorted(EXPECT))
def test_a_bad_hub_answer_keeps_the_queue_says_why_and_recovers(setup, mode):
    hub, proxy, ctx, clerk, eng = setup
    sids = [intake_with_pages(ctx, clerk, random.Random(n)) for n in range(2)]
    proxy.faults = {mode: 1.0}
    first = eng.step()
    assert first.kind == "failed"
    if mode in ("error429", "error503"):
        assert first.wait >= 1.0  # Retry-After: 1 is honoured
    for _ in range(2):
        time.sleep(max(0.35, eng.step().wait or 0))
    st = eng.status()
    state, code, words = EXPECT[mode]
    if mode == "reset":  # a reset at connect time may read as "offline"
        assert st.problem.code in ("sync.interrupted", "sync.offline")
    else:
        assert (st.state, st.problem.code) == (state, code), st
        assert words in st.problem.message and st.problem.fix
    assert st.waiting == 2 and st.needs_person == 0
    assert all(ctx.queries.get(s).pushed_at is None for s in sids)
    proxy.faults = {}
    time.sleep(1.0)
    eng.run_until_idle(max_seconds=30)
    assert eng.status().state == "online"
    assert all(ctx.queries.get(s).stage == "pushed" for s in sids)
    assert_same(ctx, hub)


def _next_seq(s):
    row = s.get(Counter, "event_seq")
    row.value += 1
    return row.value


def test_items_that_cannot_go_are_parked_for_a_person_without_blocking_the_rest(setup):
    _hub, _proxy, ctx, clerk, eng = setup
    rng = random.Random(9)
    a, b, c = (intake_with_pages(ctx, clerk, rng) for _ in range(3))
    with ctx.sessions.begin() as s:
        first_of_a = s.scalars(
            select(Event).where(Event.submission_id == a, Event.type == "answered")
        ).first()
        s.execute(update(Event).where(Event.id == first_of_a.id).values(payload="{broken"))
        s.add(
            Event(
                id="00000000-0000-4000-8000-0000000000b1",
                station_seq=_next_seq(s),
                submission_id=b,
                type="page_attached",
                payload='{"material": "x"}',
                clerk_id=None,
                at=T0,
            )
        )  # no sha256
    page = ctx.queries.get(c).pages[0]
    path = ctx.attachments.path(page.sha256)
    good = path.read_bytes()
    path.write_bytes(b"damaged")
    rest = intake_with_pages(ctx, clerk, rng)
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(rest).stage == "pushed"  # the queue moved on
    parked = {q.last_error.code: q for q in eng.queue() if q.state == "needs_person"}
    assert set(parked) == {"sync.local_event", "sync.refused", "sync.page_missing"}
    assert "平台说明" in parked["sync.refused"].last_error.message
    assert "重新拍摄" in parked["sync.page_missing"].last_error.fix
    assert parked["sync.page_missing"].number == ctx.queries.get(c).number
    for sid in (a, b, c):
        assert ctx.queries.get(sid).pushed_at is None  # not everything arrived: not pushed
    st = eng.status()
    assert st.needs_person == 3 and st.waiting == 0 and eng.needs_person()
    # the clerk re-captures nothing here; the file is restored and a person presses retry
    path.write_bytes(good)
    assert eng.retry(parked["sync.page_missing"].id) == 1
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(c).stage == "pushed"
    assert eng.status().needs_person == 2


# ----------------------------------------------------------------------------- processes killed

CHILD = textwrap.dedent("""
    import os, sys
    from app.context import build_context
    from sync.engine import SyncEngine
    from sync.jobs.shared import SyncConfig
    from sync.keystore import MemoryTokenStore
    ctx = build_context(sys.argv[1], catalog_path=sys.argv[2])
    cfg = SyncConfig(backoff_base=0.05, backoff_cap=0.2, connect_timeout=1, read_timeout=5, status_interval=0,
                     catalog_interval=3600, batch_events=6, large_page=512 * 1024, chunk_bytes=128 * 1024,
                     blob_batch_bytes=64 * 1024, max_failures=1000)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore({sys.argv[3]: os.environ["INTAKE_TEST_TOKEN"]}),
                                  config=cfg)
    print("ready", flush=True)
    eng.run_until_idle(max_seconds=float(sys.argv[4]))
    st = eng.status()
    print("done", st.waiting, st.problem.code if st.problem else "", st.needs_person, flush=True)
""")


def _child(ctx, catalog, key, token, seconds):
    env = dict(os.environ, INTAKE_TEST_TOKEN=token, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ctx.db_path), str(catalog), key, str(seconds)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.slow
def test_client_killed_at_random_points_during_upload(tmp_path):
    hub = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    catalog = small_catalog(tmp_path / "catalog")
    clock = FixedClock(T0)
    ctx, clerk = station(tmp_path / "st", "XX01", clock, catalog)
    tokens = MemoryTokenStore()
    eng = SyncEngine.from_context(ctx, tokens=tokens, config=CFG, clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    key = token_key(eng.outbox.store_id())
    rng = random.Random(42)
    killed_mid_work = 0
    # A child that finished before the kill proves nothing: run more trials (up to twice the
    # number) until enough kills landed mid-work, however fast this machine uploads.
    # 20 in the suite (CI time); TRIALS=100 for the long campaign
    planned = int(os.environ.get("TRIALS", "20"))
    needed = int(0.8 * planned)
    trials = 0
    try:
        while trials < planned or (killed_mid_work < needed and trials < 2 * planned):
            trials += 1
            for _ in range(2):
                clock.advance(minutes=7)
                intake_with_pages(
                    ctx,
                    clerk,
                    rng,
                    page_sizes=(5_000, 120_000),
                    big=rng.choice((None, None, 700_000, 1_500_000)),
                )
            child = _child(ctx, catalog, key, tokens.get(key), 30)
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.5))
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                killed_mid_work += 1
            child.wait(30)
        assert killed_mid_work >= needed
        finisher = _child(ctx, catalog, key, tokens.get(key), 60)
        out, _ = finisher.communicate(timeout=120)
        assert "done 0" in out
        local = assert_same(ctx, hub)
        assert sum(1 for e in local.values() if e.type == "pushed") == 2 * trials
        with ctx.sessions() as s:
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        hub.stop()
        ctx.close()


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _hub_process(tmp_path, port):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync.hub",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp_path}/hub.sqlite3",
            "--blobs",
            str(tmp_path / "hub-blobs"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert "listening" in p.stdout.readline()
    return p


@pytest.mark.slow
def test_hub_killed_mid_request_and_restarted(tmp_path):
    from sync.hub.blobs import BlobStore
    from sync.hub.store import HubStore

    port = _free_port()
    hub = _hub_process(tmp_path, port)
    store = HubStore(f"sqlite:///{tmp_path}/hub.sqlite3")
    clock = FixedClock(T0)
    ctx, clerk = station(tmp_path / "st", "XX01", clock, small_catalog(tmp_path / "catalog"))
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=CFG, clock=clock)
    eng.enroll(f"http://127.0.0.1:{port}", store.issue_enroll_code("XX01"))
    rng = random.Random(5)
    sids = [
        intake_with_pages(
            ctx, clerk, rng, page_sizes=(20_000, 200_000), big=2_000_000 if n % 2 == 0 else None
        )
        for n in range(60)
    ]
    done = threading.Event()

    def drain():
        while not done.is_set():
            eng.run_until_idle(max_seconds=5)
            if eng.status().waiting == 0 and all(
                ctx.queries.get(s).stage == "pushed" for s in sids
            ):
                return

    worker = threading.Thread(target=drain)
    worker.start()
    kills = busy = 0
    try:
        for _ in range(8):
            time.sleep(rng.uniform(0.1, 0.5))
            busy += eng.status().waiting > 0
            hub.send_signal(signal.SIGKILL)
            hub.wait(10)
            kills += 1
            time.sleep(0.3)
            hub = _hub_process(tmp_path, port)
        worker.join(120)
        assert not worker.is_alive()
    finally:
        done.set()
        worker.join(10)
        hub.send_signal(signal.SIGTERM)
        hub.wait(10)
    assert kills == 8 and busy >= 6, busy  # most kills hit the hub with work in flight

    blobs = BlobStore(tmp_path / "hub-blobs", sealer=store.sealer)  # pages are sealed at rest
    assert_mirrored(ctx, store, blobs.read)
    assert all(ctx.queries.get(s).stage == "pushed" for s in sids)
    store.close()
    ctx.close()


def test_a_proxy_page_in_place_of_the_catalog_is_a_bad_answer_not_a_catalog(setup):
    """A gateway's login page answering GET /v1/catalog (200, text/html, no digest) is a bad
    answer of the link — retried like any other — not a broken catalog parked for a person
    (it was: its checksum "did not match", and the station waited for someone to look)."""
    from sync.client import HubClient, SyncError, TransportConfig

    _hub, proxy, _ctx, _clerk, eng = setup
    client = HubClient(TransportConfig(proxy.url), token=eng.link.token())
    proxy.faults = {"html": 1.0}
    with pytest.raises(SyncError) as exc:
        client.catalog([])
    assert exc.value.code == "sync.bad_response"
    client.close()


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
