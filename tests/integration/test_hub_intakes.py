"""POST /v1/intakes: a batch's manifests, page bytes and events in ONE request, against the real
hub on loopback (SQLite and a real PostgreSQL; pages in a real S3-compatible server for the store
failure). Requests are counted at the hub from its /metrics (prometheus_client's parser)."""

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import random
import uuid

import boto3
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.clock import FixedClock
from sync.client import HubClient
from sync.engine import SyncConfig, SyncEngine
from sync.errors import sync_error
from sync.hub.crypto import ENV_KEYS
from sync.hub.models import HubEvent, HubManifestPage, HubPageHolder
from sync.hub.server import HubThread
from sync.keystore import MemoryTokenStore
from sync.protocol import INTAKE_BUNDLE, frame_header, intake_bundle
from tests.hub_doubles import S3Server
from tests.sync_doubles import (
    assert_mirrored,
    complete_newborn_draft,
    drop_database,
    fresh_database,
    small_catalog,
    station,
)

pytestmark = pytest.mark.integration

FAST = SyncConfig(backoff_base=0.05, backoff_cap=0.3, status_interval=0, catalog_interval=0)
UPLOAD_ROUTES = ("/v1/manifests", "/v1/blobs", "/v1/blobs/{sha}", "/v1/events", "/v1/intakes")
KEY = "ka " + base64.b64encode(b"A" * 32).decode()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.sqlite3"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = f"hubintake_{uuid.uuid4().hex[:10]}"
    yield fresh_database(admin, name)
    drop_database(admin, name)


@pytest.fixture
def new_hub(db_url, tmp_path):
    with HubThread(db_url, tmp_path / "blobs") as hub:
        yield hub


@pytest.fixture
def old_hub(db_url, tmp_path):
    """The hub of the previous version, as a station sees it: every route but POST /v1/intakes.
    The classic routes are the same code in both versions, so removing the one new route gives
    exactly the older API (the previous release's code is not installed beside this one)."""
    hub = HubThread(db_url, tmp_path / "blobs")
    hub.app.router.routes[:] = [
        r for r in hub.app.router.routes if getattr(r, "path", "") != "/v1/intakes"
    ]
    with hub:
        yield hub


def requests_by_route(hub) -> dict[tuple[str, str], float]:
    """(route template, status) -> requests answered, for the upload routes."""
    text = requests.get(f"{hub.url}/metrics", timeout=10).text
    out: dict[tuple[str, str], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "intake_hub_requests_total" and s.labels["method"] in ("POST", "PUT"):
                key = (s.labels["route"], s.labels["status"])
                out[key] = out.get(key, 0) + s.value
    return out


def uploads(hub) -> dict[str, float]:
    counts: dict[str, float] = {}
    for (route, _status), n in requests_by_route(hub).items():
        if route in UPLOAD_ROUTES or route == "<unmatched>":
            counts[route] = counts.get(route, 0) + n
    return counts


def two_page_intake(ctx, clerk, seed: int) -> tuple[str, list[bytes]]:
    """A received 新生儿出生 intake whose first paper material gets two scanned pages."""
    rng = random.Random(seed)
    sid = complete_newborn_draft(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    material = next(m for m in ctx.intake.checklist(sid).materials if m.needs_pages)
    pages = [rng.randbytes(30_000), rng.randbytes(45_000)]
    for data in pages:
        ctx.pages.attach_page(clerk, sid, material.id, data, "image/jpeg")
    return sid, pages


def make_station(tmp_path, hub, factory=None):
    clock = FixedClock(dt.datetime(2026, 12, 2, 1, 30, tzinfo=dt.UTC))
    ctx, clerk = station(tmp_path / "st", "XX01", clock, small_catalog(tmp_path / "catalog"))
    kw = {"client_factory": factory} if factory else {}
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock, **kw)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    return ctx, clerk, eng


def hub_rows(hub) -> tuple[int, int, int]:
    """Events, page holders and manifest pages the hub's database holds."""
    with hub.store.sessions() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(t))
            for t in (HubEvent, HubPageHolder, HubManifestPage)
        )


def test_an_intake_with_two_pages_reaches_the_hub_in_one_request(tmp_path, new_hub):
    ctx, clerk, eng = make_station(tmp_path, new_hub)
    try:
        _sid, pages = two_page_intake(ctx, clerk, 1)
        eng.run_until_idle(max_seconds=30)
        assert eng.status().waiting == 0
        assert uploads(new_hub) == {"/v1/intakes": 1}
        assert requests_by_route(new_hub)[("/v1/intakes", "200")] == 1
        assert_mirrored(ctx, new_hub.store, new_hub.blobs.read)
        assert [new_hub.blobs.read(hashlib.sha256(p).hexdigest()) for p in pages] == pages
        assert eng.work.report.pages_sent == 2
    finally:
        ctx.close()


class LostAnswer(HubClient):
    """The hub does the work of the first POST /v1/intakes, its answer never reaches us."""

    lost = 0

    def post_intake(self, *args, **kw):
        out = super().post_intake(*args, **kw)
        if LostAnswer.lost == 0:
            LostAnswer.lost += 1
            raise sync_error("sync.interrupted")
        return out


@pytest.mark.expect_log(logging.WARNING, "intake.sync", r"^sync paused: sync.interrupted")
def test_a_retry_after_a_lost_answer_stores_nothing_twice(tmp_path, new_hub):
    LostAnswer.lost = 0
    ctx, clerk, eng = make_station(tmp_path, new_hub, lambda cfg, tok: LostAnswer(cfg, tok))
    try:
        _sid, pages = two_page_intake(ctx, clerk, 2)
        assert eng.step().kind == "failed"
        done = hub_rows(new_hub)
        eng.run_until_idle(max_seconds=30)
        assert eng.status().waiting == 0 and LostAnswer.lost == 1
        # after the failure the station asks what the hub holds: everything, nothing is resent
        assert uploads(new_hub) == {"/v1/intakes": 1}
        assert eng.work.report.events_already_there == done[0]
        assert hub_rows(new_hub) == done  # events once, pages once, manifests once
        assert done[1:] == (2, 2)
        local = assert_mirrored(ctx, new_hub.store, new_hub.blobs.read)  # each event exactly once
        assert done[0] == len(local)
        assert [new_hub.blobs.read(hashlib.sha256(p).hexdigest()) for p in pages] == pages
    finally:
        ctx.close()


def enroll(hub):
    store = str(uuid.uuid4())
    r = requests.post(
        f"{hub.url}/v1/enrollments",
        json={"code": hub.store.issue_enroll_code("XX01"), "store_id": store},
    )
    assert r.status_code == 201, r.text
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + r.json()["token"]
    s.store_id = store
    return s


def intake_events(sid: str, pages: list[bytes]) -> list[dict]:
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

    out = [ev(1, "created", {"bundle": "newborn"})]
    for i, p in enumerate(pages):
        sha = hashlib.sha256(p).hexdigest()
        out.append(ev(2 + i, "page_attached", {"sha256": sha, "size": len(p), "page": i + 1}))
    return out


def head_of(s, sid, pages, events):
    manifest = [{"sha256": hashlib.sha256(p).hexdigest(), "size": len(p)} for p in pages]
    return {
        "store_id": s.store_id,
        "manifests": [{"submission_id": sid, "pages": manifest}],
        "events": events,
    }


def post_bundle(hub, s, body):
    return s.post(f"{hub.url}/v1/intakes", data=body, headers={"Content-Type": INTAKE_BUNDLE})


def test_a_page_whose_bytes_do_not_match_its_address_is_refused_with_its_events(new_hub):
    s = enroll(new_hub)
    sid = str(uuid.uuid4())
    good, meant = os.urandom(20_000), os.urandom(30_000)
    events = intake_events(sid, [good, meant])
    damaged = meant[:-1] + bytes([meant[-1] ^ 1])
    head = head_of(s, sid, [good, meant], events)
    shas = [hashlib.sha256(p).hexdigest() for p in (good, meant)]
    body = intake_bundle(head, [(shas[0], good)])  # the good page, then the damaged one
    body += frame_header(shas[1], 0, len(damaged), len(damaged)) + damaged
    r = post_bundle(new_hub, s, body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["blobs"][0] == {"sha256": shas[0], "offset": len(good), "complete": True}
    assert out["blobs"][1]["complete"] is False
    assert out["blobs"][1]["error"] == "blob.hash_mismatch"
    assert out["needed"] == [{"sha256": shas[1], "size": len(meant), "offset": 0}]
    assert [x["status"] for x in out["results"]] == ["stored", "stored", "refused"]
    assert out["results"][2]["code"] == "page.missing" and out["results"][2]["retry"] is True
    stored = {e["id"] for e in new_hub.store.events_of("XX01")}
    assert stored == {events[0]["id"], events[1]["id"]}
    p = new_hub.store.authenticate(s.headers["Authorization"][7:])
    assert new_hub.store.held_pages(p, shas) == {shas[0]}


def test_a_new_countys_first_bundle_with_every_page_refused_is_answered_not_a_503(new_hub):
    # no page is sealed, so the county's data key is first made for the events: before the
    # transaction, else SQLite waited on the transaction's own lock (503 hub.busy)
    s = enroll(new_hub)
    sid = str(uuid.uuid4())
    page = os.urandom(20_000)
    sha = hashlib.sha256(page).hexdigest()
    head = head_of(s, sid, [page], intake_events(sid, [page]))
    raw = json.dumps(head).encode()
    body = b"%d\n" % len(raw) + raw + frame_header(sha, 10, 100, len(page)) + page[10:110]
    r = post_bundle(new_hub, s, body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["blobs"] == [
        {"sha256": sha, "offset": 0, "complete": False, "error": "blob.offset"}
    ]
    assert answer["needed"] == [{"sha256": sha, "size": len(page), "offset": 0}]
    assert [x["status"] for x in answer["results"]] == ["stored", "refused"]
    assert answer["results"][1]["code"] == "page.missing"
    assert hub_rows(new_hub) == (1, 0, 1)  # the created event and the manifest, no page


def test_the_same_bundle_sent_again_stores_nothing_twice(new_hub):
    s = enroll(new_hub)
    sid = str(uuid.uuid4())
    pages = [os.urandom(20_000), os.urandom(25_000)]
    events = intake_events(sid, pages)
    parts = [(hashlib.sha256(p).hexdigest(), p) for p in pages]
    body = intake_bundle(head_of(s, sid, pages, events), parts)
    first = post_bundle(new_hub, s, body)  # its answer is lost on the way back
    assert [x["status"] for x in first.json()["results"]] == ["stored"] * 3
    again = post_bundle(new_hub, s, body)
    assert again.status_code == 200
    assert [x["status"] for x in again.json()["results"]] == ["duplicate"] * 3
    assert [b["complete"] for b in again.json()["blobs"]] == [True, True]
    assert hub_rows(new_hub) == (3, 2, 2)
    stored = sorted(p.name for p in (new_hub.blobs.root).glob("??/??/*"))
    assert stored == sorted(sha for sha, _ in parts)


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"12x\n{}", 400, "intake.frame"),
        (b"2\n{}", 400, "request.schema"),
        (b"99999999999\n", 413, "request.too_large"),
        (b"40\n{}", 400, "intake.frame"),  # the head never ends
        (b"", 400, "intake.frame"),
    ],
)
def test_malformed_bundles_are_refused_with_a_4xx(new_hub, body, status, code):
    s = enroll(new_hub)
    r = post_bundle(new_hub, s, body)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    wrong = s.post(
        f"{new_hub.url}/v1/intakes", data=b"2\n{}", headers={"Content-Type": "text/plain"}
    )
    assert wrong.status_code == 415
    assert requests.post(f"{new_hub.url}/v1/intakes", data=b"").status_code == 401


@pytest.fixture
def s3_hub(tmp_path, monkeypatch):
    with S3Server() as s3:
        for k, v in {ENV_KEYS: KEY, **s3.env()}.items():
            monkeypatch.setenv(k, v)
        with HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "spool") as hub:
            assert hub.blobs.backend == "s3"
            yield hub, s3


@pytest.mark.expect_log(logging.WARNING, "intake.hub.s3", r"^object store did not take page")
def test_an_object_store_failing_mid_request_is_a_503_with_nothing_acknowledged(s3_hub):
    hub, s3 = s3_hub
    s = enroll(hub)
    sid = str(uuid.uuid4())
    pages = [os.urandom(50_000), os.urandom(60_000)]
    events = intake_events(sid, pages)
    body = intake_bundle(
        head_of(s, sid, pages, events), [(hashlib.sha256(p).hexdigest(), p) for p in pages]
    )
    cut = len(body) - 30_000

    def halves():  # the object store goes away while the pages arrive
        yield body[:cut]
        s3.stop()
        yield body[cut:]

    r = s.post(f"{hub.url}/v1/intakes", data=halves(), headers={"Content-Type": INTAKE_BUNDLE})
    err = r.json()["error"]
    assert r.status_code == 503 and err["code"] == "blob.store_unavailable", r.text
    assert err["retry"] is True and int(r.headers["Retry-After"]) >= 1
    assert hub.store.events_of("XX01") == []  # nothing acknowledged, nothing written
    assert hub_rows(hub) == (0, 0, 0)

    s3.start()  # back (moto keeps objects in memory: the bucket is made again)
    boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=S3Server.ACCESS,
        aws_secret_access_key=S3Server.SECRET,
        region_name="us-east-1",
    ).create_bucket(Bucket="intake-pages")
    again = post_bundle(hub, s, body)
    assert again.status_code == 200, again.text
    assert [x["status"] for x in again.json()["results"]] == ["stored"] * 3
    assert [hub.blobs.read(hashlib.sha256(p).hexdigest()) for p in pages] == pages
    assert hub_rows(hub) == (3, 2, 2)


def test_a_new_station_against_an_older_hub_falls_back_and_remembers(tmp_path, old_hub):
    ctx, clerk, eng = make_station(tmp_path, old_hub)
    try:
        two_page_intake(ctx, clerk, 3)
        eng.run_until_idle(max_seconds=30)
        assert eng.status().waiting == 0 and eng.events.combined is False
        two_page_intake(ctx, clerk, 4)
        eng.run_until_idle(max_seconds=30)
        assert eng.status().waiting == 0
        counts = uploads(old_hub)
        assert counts["<unmatched>"] == 1  # asked once, then remembered
        assert counts["/v1/manifests"] == 2 and counts["/v1/events"] == 2
        assert "/v1/intakes" not in counts
        assert_mirrored(ctx, old_hub.store, old_hub.blobs.read)
        eng.enroll(old_hub.url, old_hub.store.issue_enroll_code("XX01"))
        assert eng.events.combined is True  # a re-enrolment asks the hub again
    finally:
        ctx.close()


def test_an_old_station_using_the_classic_path_still_syncs_with_the_new_hub(tmp_path, new_hub):
    ctx, clerk, eng = make_station(tmp_path, new_hub)
    try:
        eng.events.combined = False  # what a station of the previous version does
        two_page_intake(ctx, clerk, 5)
        eng.run_until_idle(max_seconds=30)
        assert eng.status().waiting == 0
        counts = uploads(new_hub)
        assert "/v1/intakes" not in counts
        assert counts["/v1/manifests"] == 1 and counts["/v1/blobs"] == 1
        assert counts["/v1/events"] == 1
        assert_mirrored(ctx, new_hub.store, new_hub.blobs.read)
    finally:
        ctx.close()
