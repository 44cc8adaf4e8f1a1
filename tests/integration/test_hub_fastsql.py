"""The hub's hot path on PostgreSQL through psycopg's prepared statements (sync/hub/fastsql.py):
it reads and writes exactly what the Core statements do, its statements are prepared once per
connection and reused, its errors are SQLAlchemy's, and a connection PostgreSQL dropped is
recovered from as before (503 with retry, then a fresh pool).

PostgreSQL: INTAKE_TEST_PG_URL, else a throwaway cluster."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
import uuid
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from sync.hub.blobs import BlobStore
from sync.hub.crypto import ENV_KEYS, MasterKeys
from sync.hub.enrolment import PRINCIPALS
from sync.hub.fastsql import INSERT_EVENTS, KNOWN_EVENTS, PAIRS, Sql
from sync.hub.server import HubThread
from sync.hub.store import HubStore
from tests.sync_doubles import drop_database, fresh_database

pytestmark = pytest.mark.integration

KEYS = "kf " + base64.b64encode(b"F" * 32).decode()
AT = "2024-12-02T01:30:00.000000Z"


@pytest.fixture
def databases(pg_admin_url):
    """Fresh databases by name -> URL, dropped after the test."""
    made: dict[str, str] = {}

    def make(tag: str) -> str:
        name = f"hubfast_{tag}_{uuid.uuid4().hex[:8]}"
        made[name] = fresh_database(pg_admin_url, name)
        return made[name]

    yield make
    for name in made:
        drop_database(pg_admin_url, name)


def new_store(url: str, *, fast: bool) -> HubStore:
    store = HubStore(url, masters=MasterKeys.parse(KEYS))
    assert store.fast_sql  # psycopg: the fast path is the default here
    store.fast_sql = fast
    return store


def ev(sid: str, seq: int, etype: str = "created", payload: Any = None, eid: str | None = None):
    return {
        "id": eid or str(uuid.uuid4()),
        "seq": seq,
        "submission_id": sid,
        "type": etype,
        "payload": payload if payload is not None else {},
        "clerk_id": 1,
        "at": AT,
    }


def page(n: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + hashlib.shake_256(f"page-{n}".encode()).digest(2000)


def ids(n: int) -> list[str]:
    """N fixed UUIDs: both runs of the script use the same ones."""
    return [str(uuid.UUID(int=0xFA57 << 64 | i)) for i in range(n)]


class Clock:
    def __init__(self) -> None:
        self.t = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.t += dt.timedelta(seconds=1)
        return self.t


def script(store: HubStore, blobs: BlobStore) -> list[Any]:
    """One station's traffic touching every hot statement and its refusals, the same inputs
    each time; returns every answer (tokens' own ids left out: they are random)."""
    store.now = Clock()  # type: ignore[method-assign]
    s1, s2, s3, *e = ids(20)
    p1, p2, p3 = page(1), page(2), page(3)
    h1, h2, h3 = (hashlib.sha256(x).hexdigest() for x in (p1, p2, p3))
    for x in (p1, p2):
        blobs.put(x)
    store_a, store_b = ids(22)[20:]
    tok_a = store.enroll(store.issue_enroll_code("XX01"), store_a)["token"]
    tok_b = store.enroll(store.issue_enroll_code("XX02"), store_b)["token"]
    pa, pb = store.authenticate(tok_a), store.authenticate(tok_b)
    out: list[Any] = []
    out.append(
        store.manifests(
            pa,
            [
                {"submission_id": s1, "pages": [{"sha256": h1, "size": 2004}, {"sha256": h2, "size": 2004}]},
                {"submission_id": s2, "pages": [{"sha256": h3, "size": 2004}]},
            ],
            blobs,
        )
    )  # fmt: skip
    store.add_holder(pa, [h1, h2])
    store.add_holder(pa, [h1])  # again: nothing new
    out.append(sorted(store.held_pages(pa, [h1, h2, h3])))
    out.append(
        store.manifests(pa, [{"submission_id": s1, "pages": [{"sha256": h1, "size": 2004}]}], blobs)
    )
    out.append(store.manifests(pb, [{"submission_id": s1, "pages": []}], blobs))
    first = [
        ev(s1, 1, "created", eid=e[0]),
        ev(s1, 2, "applicant_set", {"name": "欧阳明轩", "id_number": "11010519491231002X"}, e[1]),
        ev(s1, 3, "notified", {"number": "XX01-0001"}, e[2]),
        ev(s1, 4, "received", {"number": "XX01-0001", "items": ["it-1", "it-2"]}, e[3]),
        ev(s1, 5, "page_attached", {"sha256": h1, "size": 2004, "attachment": "a1"}, e[4]),
        ev(s2, 6, "created", eid=e[5]),
    ]
    out.append(store.ingest_events(pa, store_a, first, blobs))
    out.append(store.ingest_events(pa, store_a, first[:2], blobs))  # duplicates
    again = [
        {**first[1], "payload": {"name": "别人"}},  # the same id, other content
        ev(s1, 3, "answered", {"answers": {}}, e[6]),  # a taken sequence number
        ev(s2, 7, "page_attached", {"sha256": h3, "size": 2004, "attachment": "a3"}, e[7]),
        ev(s2, 8, "received", {"number": "XX01-0002", "items": ["it-1"]}, e[8]),  # skipped
    ]
    out.append(store.ingest_events(pa, store_a, again, blobs))
    later = [ev(s1, 9, "digitised", eid=e[9]), ev(s2, 10, "withdrawn", eid=e[10])]
    out.append(store.ingest_events(pa, store_a, later, blobs))  # existing submissions: updated
    out.append(store.ingest_events(pb, store_b, [ev(s1, 1, "created", eid=e[11])], blobs))
    out.append(store.ingest_events(pa, store_a, [ev(s3, 11, "created", eid=e[12])], blobs))
    for n, (item, decision) in enumerate((("it-1", "accepted"), ("it-2", "rejected"))):
        store.decide(
            item_id=item, decision=decision, submission_id=s1, decision_id=f"d{n}", reason="缺件"
        )
    out.append(store.feed(pa, 0, 1))
    out.append(store.feed(pa, 0, 100))
    out.append(store.feed(pa, 500, 100))  # past the feed's end (a restored hub): its real end
    out.append(store.feed(pb, 0, 100))
    PRINCIPALS.clear()
    found = store.authenticate(tok_a)
    out.append((found.station_id, found.station_code, found.store_id, found.scope))
    store.revoke("XX02")
    PRINCIPALS.clear()
    for token in (tok_b, "ist1.nobody"):
        try:
            store.authenticate(token)
        except Exception as exc:  # the refusal is part of the answer compared
            out.append(getattr(exc, "code", repr(exc)))
    return out


TABLES = {
    "hub_submissions": "id",
    "hub_events": "id",
    "hub_manifest_pages": "submission_id, sha256",
    "hub_page_holders": "station_id, sha256",
    "hub_feed": "station_id, cursor",
    "hub_stations": "id",
}


def dump(store: HubStore) -> dict[str, list[dict[str, Any]]]:
    """The hot path's tables as rows (event payloads opened: sealing is randomised)."""
    out = {}
    with store.engine.connect() as c:
        for table, order in TABLES.items():
            rows = [
                dict(r._mapping) for r in c.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            ]
            for r in rows:
                if table == "hub_events":
                    r["payload"] = store.payload_of(r["id"], r["payload"])
                r.pop("last_seen_at", None)  # written by the request layer, not here
            out[table] = rows
    return out  # fmt: skip


def prepared(store: HubStore) -> list[tuple[str, int]]:
    """pg_prepared_statements of the store's one pooled connection: (statement, executions)."""
    assert store.engine.pool.checkedin() == 1  # type: ignore[attr-defined]  # one connection
    with store.engine.connect() as c:
        return [
            (stmt, int(generic) + int(custom))
            for stmt, generic, custom in c.exec_driver_sql(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            )
        ]


def shape(sql: str) -> str:
    """SQL with its parameters as one token ($1 on the server, %(name)s in fastsql)."""
    return re.sub(r"\$\d+|%\(\w+\)s", "?", sql)


def test_the_fast_path_reads_and_writes_what_the_core_statements_do(databases, tmp_path):
    fast = new_store(databases("fast"), fast=True)
    core = new_store(databases("core"), fast=False)
    try:
        answers = {}
        for name, store in (("fast", fast), ("core", core)):
            blobs = BlobStore(tmp_path / name, sealer=store.sealer)
            answers[name] = script(store, blobs)
        assert answers["fast"] == answers["core"]
        # the script is not vacuous: it stored, refused, skipped and fed back
        statuses = [r["status"] for a in answers["core"][4:10] for r in a["results"]]
        assert statuses.count("stored") == 9 and statuses.count("duplicate") == 2
        codes = {r.get("code") for a in answers["core"][4:10] for r in a["results"]}
        assert {
            "event.conflict",
            "event.seq_conflict",
            "page.missing",
            "submission.forbidden",
        } <= codes
        assert answers["core"][3]["refused"][0]["code"] == "submission.forbidden"
        assert [u["decision"] for u in answers["core"][11]["updates"]] == ["accepted", "rejected"]
        assert answers["core"][12]["next_cursor"] == 2 and answers["core"][-2:] == ["auth.revoked", "auth.invalid"]  # fmt: skip
        written = dump(fast)
        assert written == dump(core)
        assert len(written["hub_events"]) == 9 and len(written["hub_manifest_pages"]) == 3
        assert {r["stage"] for r in written["hub_submissions"]} == {
            "digitised",
            "withdrawn",
            "draft",
        }
        # each side ran its own path: every pair's SQL is prepared on the fast store's connection,
        # none on the Core store's
        on_fast = {shape(s) for s, _ in prepared(fast)}
        assert {p.name for p in PAIRS if shape(p.sql) not in on_fast} == set()
        on_core = {shape(s) for s, _ in prepared(core)}
        assert not on_core & {shape(p.sql) for p in PAIRS}
    finally:
        fast.close()
        core.close()


def test_the_hot_statements_are_prepared_once_and_reused_across_reads(databases, tmp_path):
    store = new_store(databases("prep"), fast=True)
    try:
        blobs = BlobStore(tmp_path / "blobs", sealer=store.sealer)
        sid = ids(1)[0]
        store_id = str(uuid.uuid4())
        token = store.enroll(store.issue_enroll_code("XX01"), store_id)["token"]
        p = store.authenticate(token)
        for n in range(6):
            sid = str(uuid.uuid4())
            data = page(100 + n)
            sha = hashlib.sha256(data).hexdigest()
            blobs.put(data)
            store.manifests(p, [{"submission_id": sid, "pages": [{"sha256": sha, "size": len(data)}]}], blobs)  # fmt: skip
            store.add_holder(p, [sha])
            batch = [
                ev(sid, 10 * n + 1),
                ev(sid, 10 * n + 2, "page_attached", {"sha256": sha, "size": len(data)}),
                ev(sid, 10 * n + 3, "digitised"),
            ]
            assert {r["status"] for r in store.ingest_events(p, store_id, batch, blobs)["results"]} == {"stored"}  # fmt: skip
            store.feed(p, 0, 100)  # reads between the intakes end their transactions too
            PRINCIPALS.clear()
            store.authenticate(token)
            assert store.current_catalog() is None  # a catalog poll: a Session, rolled back
        found = prepared(store)
        by_shape: dict[str, list[int]] = {}
        for stmt, runs in found:
            by_shape.setdefault(shape(stmt), []).append(runs)
        # one server-side statement each, run by every intake (not prepared again after a read)
        assert by_shape[shape(KNOWN_EVENTS.sql)] == [6]
        assert by_shape[shape(INSERT_EVENTS.sql)] == [18]
        for pair in PAIRS:
            if pair.name in ("known_events", "known_subs", "held", "subs_and_pages", "feed_page", "token"):  # fmt: skip
                assert len(by_shape[shape(pair.sql)]) == 1 and by_shape[shape(pair.sql)][0] >= 6, pair.name  # fmt: skip
    finally:
        store.close()


def test_a_psycopg_error_is_sqlalchemys_and_a_raced_batch_is_redone(
    databases, tmp_path, monkeypatch
):
    store = new_store(databases("race"), fast=True)
    try:
        blobs = BlobStore(tmp_path / "blobs", sealer=store.sealer)
        store_id = str(uuid.uuid4())
        p = store.authenticate(store.enroll(store.issue_enroll_code("XX01"), store_id)["token"])
        sid = str(uuid.uuid4())
        batch = [ev(sid, 1), ev(sid, 2, "applicant_set", {"name": "欧阳明轩"})]
        assert store.ingest_events(p, store_id, batch, blobs)["results"][0]["status"] == "stored"
        row = {"id": batch[0]["id"], "station_id": p.station_id, "store_id": store_id, "seq": 99,
               "submission_id": sid, "type": "created", "payload": "{}", "clerk_id": None,
               "at": AT, "digest": "0" * 64, "via": "online", "arrived_at": store.now()}  # fmt: skip
        with pytest.raises(IntegrityError), store.write_core() as c:
            Sql(c, True).many(INSERT_EVENTS, [row])
        with pytest.raises(IntegrityError), store.write_core() as c:
            Sql(c, True).many(INSERT_EVENTS, [row, {**row, "id": str(uuid.uuid4()), "seq": 100}])
        # a copy of the batch that read the database before the first copy's commit: its
        # insert collides, the store re-reads and answers duplicate (nothing stored twice)
        import sync.hub.ingest as ingest

        real, reads = ingest._Known.read, []

        def stale(q: Any, principal: Any, events: list[Any]) -> Any:
            reads.append(1)
            return real(q, principal, []) if len(reads) == 1 else real(q, principal, events)

        monkeypatch.setattr(ingest._Known, "read", stale)
        res = store.ingest_events(p, store_id, batch, blobs)
        assert [r["status"] for r in res["results"]] == ["duplicate", "duplicate"] and len(
            reads
        ) == 2
        assert store.counts()["events"] == 2
    finally:
        store.close()


def _terminate(admin_url: str, db_url: str) -> int:
    """Drop every connection to DB_URL's database, as a PostgreSQL restart does."""
    name = db_url.rsplit("/", 1)[1]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            return len(
                c.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": name},
                ).all()
            )
    finally:
        engine.dispose()


def _pusher(hub: HubThread) -> Any:
    """A station enrolled over HTTP: push(events) posts them as its batch."""
    store_id = str(uuid.uuid4())
    code = hub.store.issue_enroll_code("XX01")
    r = requests.post(f"{hub.url}/v1/enrollments", json={"code": code, "store_id": store_id})
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + r.json()["token"]

    def push(events: list[Any]) -> requests.Response:
        return s.post(f"{hub.url}/v1/events", json={"store_id": store_id, "events": events})

    return push


def _pids(store: HubStore, n: int) -> set[int]:
    conns = [store.engine.connect() for _ in range(n)]
    try:
        return {int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in conns}
    finally:
        for c in conns:
            c.close()


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "core"])
def test_a_dropped_connection_fails_once_then_the_whole_stale_pool_is_replaced(
    databases, pg_admin_url, tmp_path, fast
):
    url = databases("drop")
    store = new_store(url, fast=fast)
    try:
        blobs = BlobStore(tmp_path / "blobs", sealer=store.sealer)
        store_id = str(uuid.uuid4())
        p = store.authenticate(store.enroll(store.issue_enroll_code("XX01"), store_id)["token"])
        sid = str(uuid.uuid4())
        store.ingest_events(p, store_id, [ev(sid, 1)], blobs)
        old = _pids(store, 3)  # three pooled connections
        assert len(old) == 3 and _terminate(pg_admin_url, url) >= 3
        batch = [ev(sid, 2, "applicant_set", {"name": "欧阳明轩"})]
        with pytest.raises(OperationalError) as failed:
            store.ingest_events(p, store_id, batch, blobs)
        assert failed.value.connection_invalidated
        # the retry lands on a fresh connection and stores the batch (nothing half-written)
        assert store.ingest_events(p, store_id, batch, blobs)["results"][0]["status"] == "stored"
        assert not _pids(store, 3) & old  # no stale connection left in the pool
        assert store.counts()["events"] == 2
    finally:
        store.close()


@pytest.mark.expect_log(logging.WARNING, "intake.hub", r"^database unavailable: OperationalError")
def test_over_http_a_dropped_connection_is_a_503_to_retry_then_the_retry_is_stored(
    databases, pg_admin_url, tmp_path, monkeypatch
):
    monkeypatch.setenv(ENV_KEYS, KEYS)
    monkeypatch.setenv("INTAKE_HUB_NOTIFY_INTERVAL", "300")  # the sender stays off the pool
    url = databases("http")
    with HubThread(url, tmp_path / "blobs") as hub:
        assert hub.store.fast_sql
        push = _pusher(hub)
        sid = str(uuid.uuid4())
        assert push([ev(sid, 1)]).status_code == 200
        assert _terminate(pg_admin_url, url) >= 1
        batch = [ev(sid, 2, "applicant_set", {"name": "欧阳明轩"})]
        busy = push(batch)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
        err = busy.json()["error"]
        assert err["code"] == "hub.busy" and err["retry"] is True
        again = push(batch)
        assert again.status_code == 200 and again.json()["results"][0]["status"] == "stored"
        assert hub.store.counts()["events"] == 2


@pytest.mark.expect_log(logging.WARNING, "intake.hub", r"^database connections all in use$")
def test_db_pool_size_is_the_ceiling_and_a_full_pool_is_a_503_to_retry(
    databases, tmp_path, monkeypatch
):
    # The operator sizes PostgreSQL's max_connections by processes × db_pool_size (deploy/,
    # docs/hub-sizing.md): a process must never open more.
    monkeypatch.setenv(ENV_KEYS, KEYS)
    monkeypatch.setenv("INTAKE_HUB_NOTIFY_INTERVAL", "300")
    monkeypatch.setenv("INTAKE_HUB_DB_POOL_SIZE", "3")
    monkeypatch.setattr("sync.hub.db.POOL_WAIT", 0.5)
    url = databases("pool")
    with HubThread(url, tmp_path / "blobs") as hub:
        pool = hub.store.engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        push = _pusher(hub)
        sid = str(uuid.uuid4())
        assert push([ev(sid, 1)]).status_code == 200
        held = [hub.store.engine.connect() for _ in range(3)]
        try:
            busy = push([ev(sid, 2)])
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
            assert busy.json()["error"]["code"] == "hub.busy"
            assert busy.json()["error"]["retry"] is True
            assert pool.checkedout() == 3  # type: ignore[attr-defined]
        finally:
            for c in held:
                c.close()
        again = push([ev(sid, 2)])
        assert again.status_code == 200 and again.json()["results"][0]["status"] == "stored"
        assert hub.store.counts()["events"] == 2
