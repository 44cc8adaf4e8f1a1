"""The hub as a county / province service: personal data sealed at rest (database and object
store), pages in S3-compatible storage (a real server on loopback, moto's server mode, in its own
process so it can be stopped mid-upload), and several hub processes on one PostgreSQL.

PostgreSQL: INTAKE_TEST_PG_URL (`.ci/run` provides it), else a throwaway cluster."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from sync.hub.crypto import ENV_KEYS, MasterKeys
from sync.hub.server import HubThread
from sync.protocol import frame_header
from tests.expected_logs import S3_PAGE_NOT_TAKEN
from tests.hub_doubles import S3Server, free_port, station_session
from tests.sync_doubles import small_catalog

NAME, RESIDENT_ID, PHONE = "欧阳明轩", "11010519491231002X", "13912345678"
ADDRESS = "浙江省杭州市西湖区文三路90号"
KEY_A = "ka " + base64.b64encode(b"A" * 32).decode()
KEY_B = "kb " + base64.b64encode(b"B" * 32).decode()


@pytest.fixture
def s3():
    with S3Server() as server:
        yield server


@pytest.fixture
def hub_env(monkeypatch, s3):
    """The hub's configuration as an operator sets it: master key and object store."""
    env = {ENV_KEYS: KEY_A, **s3.env()}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def page_bytes(n: int = 300_000, seed: int = 1) -> bytes:
    """A scanned page's worth of bytes: a JPEG header, then varied content."""
    body = hashlib.shake_256(f"page-{seed}".encode()).digest(n - 4)
    return b"\xff\xd8\xff\xe0" + body


def ev(sid: str, seq: int, etype: str, payload: dict, eid: str | None = None) -> dict:
    return {
        "id": eid or str(uuid.uuid4()),
        "seq": seq,
        "submission_id": sid,
        "type": etype,
        "payload": payload,
        "clerk_id": 1,
        "at": "2026-12-02T01:30:00.000000Z",
    }


def intake(sid: str, first_seq: int, pages: list[bytes]) -> list[dict]:
    """A realistic intake's events: applicant with name, ID number, phone and address, its
    pages, then 收件."""
    events = [
        ev(sid, first_seq, "created", {"bundle": "newborn"}),
        ev(
            sid,
            first_seq + 1,
            "applicant_set",
            {"name": NAME, "resident_id": RESIDENT_ID, "phone": PHONE, "address": ADDRESS},
        ),
    ]
    for i, data in enumerate(pages):
        sha = hashlib.sha256(data).hexdigest()
        payload = {"sha256": sha, "size": len(data), "material": "birth_cert", "page": i + 1}
        events.append(ev(sid, first_seq + 2 + i, "page_attached", payload))
    number = f"XX01-20261202-{first_seq:04d}"
    events.append(
        ev(sid, first_seq + 2 + len(pages), "received", {"number": number, "items": ["birth"]})
    )
    return events


def post_pages(url: str, s: requests.Session, pages: list[bytes]) -> requests.Response:
    body = b"".join(
        frame_header(hashlib.sha256(p).hexdigest(), 0, len(p), len(p)) + p for p in pages
    )
    return s.post(
        f"{url}/v1/blobs", data=body, headers={"Content-Type": "application/x-intake-blobs"}
    )


def post_events(url: str, s: requests.Session, events: list[dict]) -> list[str]:
    r = s.post(f"{url}/v1/events", json={"store_id": s.store_id, "events": events})
    assert r.status_code == 200, r.text
    return [x["status"] for x in r.json()["results"]]


def raw_database(url: str) -> bytes:
    """Every value of every hub table, as the database holds it (no hub code involved)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    dsn = f"host={u.host} port={u.port} user={u.username} dbname={u.database}"
    if u.password:
        dsn += f" password={u.password}"
    out = bytearray()
    with psycopg.connect(dsn) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        assert "hub_events" in tables and "hub_data_keys" in tables
        for t in tables:
            for row in conn.execute(f'SELECT * FROM "{t}"').fetchall():
                for v in row:
                    if isinstance(v, (bytes, memoryview)):
                        out += bytes(v)
                    elif v is not None:
                        out += str(v).encode()
                    out += b"\x00"
    return bytes(out)


def raw_bucket(s3: S3Server, bucket: str = "intake-pages") -> list[bytes]:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=S3Server.ACCESS,
        aws_secret_access_key=S3Server.SECRET,
        region_name="us-east-1",
    )
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return [client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed]


def plaintext_found(haystack: bytes, pages: list[bytes]) -> list[str]:
    needles = {
        "name": NAME.encode(),
        "resident_id": RESIDENT_ID.encode(),
        "phone": PHONE.encode(),
        "address": ADDRESS.encode(),
        # a JSON-escaped name (\\u6b27…) is the same name
        "name_escaped": NAME.encode("unicode_escape").replace(b"\\u", b"\\\\u")[:12],
    }
    found = [k for k, n in needles.items() if n in haystack]
    for i, p in enumerate(pages):
        for off in (0, len(p) // 2, len(p) - 64):
            if p[off : off + 64] in haystack:
                found.append(f"page{i}@{off}")
    return found


# ----------------------------------------------------------------------------- at rest


def test_the_database_and_the_object_store_hold_no_plaintext_personal_data(
    tmp_path, pg_url, s3, hub_env
):
    pages = [page_bytes(seed=1), page_bytes(200_000, seed=2)]
    with HubThread(pg_url, tmp_path / "spool") as hub:
        assert hub.blobs.backend == "s3"
        code = hub.store.issue_enroll_code("XX01", county="330106")
        s = station_session(hub.url, code)
        r = post_pages(hub.url, s, pages)
        assert r.status_code == 200 and all(b["complete"] for b in r.json()["blobs"]), r.text
        sid = str(uuid.uuid4())
        assert set(post_events(hub.url, s, intake(sid, 1, pages))) == {"stored"}
        # the hub itself reads it back (decrypted): the data is there, only sealed
        applicant = next(e for e in hub.store.events_of("XX01") if e["type"] == "applicant_set")
        assert applicant["payload"]["name"] == NAME
        assert applicant["payload"]["resident_id"] == RESIDENT_ID
        assert [hub.blobs.read(hashlib.sha256(p).hexdigest()) for p in pages] == pages
        # sealed under the county's data key, named in the value
        with hub.store.sessions() as db:
            from sqlalchemy import select

            from sync.hub.models import HubDataKey

            keys = {(k.id, k.county, k.master_key_id) for k in db.scalars(select(HubDataKey))}
        assert keys == {("330106.ka", "330106", "ka")}
    database, objects = raw_database(pg_url), raw_bucket(s3)
    assert len(objects) == 2
    assert plaintext_found(database, pages) == []
    assert plaintext_found(b"\x00".join(objects), pages) == []
    # the check itself finds plaintext where there is some
    assert plaintext_found(database + NAME.encode() + pages[1][:64], pages) == ["name", "page1@0"]


def test_a_master_key_rotation_keeps_old_data_readable_and_rewrap_retires_the_old_key(
    tmp_path, monkeypatch
):
    url = f"sqlite:///{tmp_path}/hub.sqlite3"
    monkeypatch.setenv(ENV_KEYS, KEY_A)
    with HubThread(url, tmp_path / "blobs") as hub:
        s = station_session(hub.url, hub.store.issue_enroll_code("XX01"))
        old = [page_bytes(5000, seed=3)]
        assert post_pages(hub.url, s, old).status_code == 200
        assert set(post_events(hub.url, s, intake(str(uuid.uuid4()), 1, old))) == {"stored"}
    monkeypatch.setenv(ENV_KEYS, f"{KEY_A};{KEY_B}")  # the operator adds a new master key
    with HubThread(url, tmp_path / "blobs") as hub:
        new = [page_bytes(5000, seed=4)]
        assert post_pages(hub.url, s, new).status_code == 200
        assert set(post_events(hub.url, s, intake(str(uuid.uuid4()), 10, new))) == {"stored"}
        with hub.store.sessions() as db:
            from sqlalchemy import select

            from sync.hub.models import HubDataKey, HubEvent

            wraps = dict(db.execute(select(HubDataKey.id, HubDataKey.master_key_id)).all())
            payloads = [p for (p,) in db.execute(select(HubEvent.payload))]
        # new writes under a data key made under the new master key; the old one still opens
        assert wraps == {"hub.ka": "ka", "hub.kb": "kb"}
        assert all(p.startswith("e1:") for p in payloads)
        assert len(hub.store.events_of("XX01")) == 2 * len(intake(str(uuid.uuid4()), 1, old))
        out = hub.store.rewrap(hub.blobs)
        assert out["rewrapped"] == 1 and out["master_key"] == "kb"
    monkeypatch.setenv(ENV_KEYS, KEY_B)  # the old master key retired
    with HubThread(url, tmp_path / "blobs") as hub:
        names = [
            e["payload"]["name"] for e in hub.store.events_of() if e["type"] == "applicant_set"
        ]
        assert names == [NAME, NAME]
        for p in old + new:
            assert hub.blobs.read(hashlib.sha256(p).hexdigest()) == p
    # without the right master key the hub does not start: a clear refusal, not sealing new
    # data under a key the other processes do not have
    from sync.hub.errors import HubError
    from sync.hub.store import HubStore

    with pytest.raises(HubError) as exc:
        HubStore(url, masters=MasterKeys.parse(KEY_A))
    assert exc.value.code == "hub.master_key" and "kb" in exc.value.message


def test_rewrap_command_seals_under_the_newest_master_key(tmp_path):
    key_file = tmp_path / "master.keys"
    key_file.write_text(KEY_A + "\n")
    env = {
        **os.environ,
        "INTAKE_HUB_MASTER_KEY_FILE": str(key_file),
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop(ENV_KEYS, None)
    db = f"sqlite:///{tmp_path}/hub.sqlite3"
    from sync.hub.store import HubStore

    store = HubStore(db, masters=MasterKeys.parse(KEY_A))
    sealed = store.sealer.seal("hub", b"before the rotation", b"row-1")
    store.close()
    key_file.write_text(KEY_A + "\n" + KEY_B + "\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "hub",
            "rewrap",
            "--db",
            db,
            "--json",
            "--blobs",
            str(tmp_path / "blobs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert '"rewrapped": 1' in run.stdout and '"master_key": "kb"' in run.stdout
    store = HubStore(db, masters=MasterKeys.parse(KEY_B))  # only the new key: still opens
    try:
        assert store.sealer.open(sealed, b"row-1") == b"before the rotation"
    finally:
        store.close()


# ----------------------------------------------------------------------------- bad input


def s3_client(s3: S3Server):
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=S3Server.ACCESS,
        aws_secret_access_key=S3Server.SECRET,
        region_name="us-east-1",
    )


def put(url: str, s: requests.Session, sha: str, total: int, offset: int, data: bytes):
    return s.put(
        f"{url}/v1/blobs/{sha}",
        data=data,
        headers={"Upload-Offset": str(offset), "Upload-Length": str(total)},
    )


def test_an_object_store_stopped_mid_upload_gets_a_503_to_retry_and_nothing_acknowledged(
    tmp_path, pg_url, s3, hub_env
):
    big, small = page_bytes(3_000_000, seed=5), page_bytes(40_000, seed=6)
    big_sha, small_sha = (hashlib.sha256(p).hexdigest() for p in (big, small))
    half = len(big) // 2
    with HubThread(pg_url, tmp_path / "spool") as hub:
        s = station_session(hub.url, hub.store.issue_enroll_code("XX01"))
        first = put(hub.url, s, big_sha, len(big), 0, big[:half])
        assert first.status_code == 200 and first.json() == {
            "sha256": big_sha,
            "offset": half,
            "complete": False,
        }
        s3.stop()  # the object store goes away mid-upload
        rest = put(hub.url, s, big_sha, len(big), half, big[half:])
        err = rest.json()["error"]
        assert rest.status_code == 503 and err["code"] == "blob.store_unavailable"
        assert err["retry"] is True and int(rest.headers["Retry-After"]) >= 1
        assert "页面存储" in err["message"]
        # nothing half-acknowledged: the page is not on the hub for the station ...
        assert s.head(f"{hub.url}/v1/blobs/{big_sha}").status_code in (404, 503)
        sid = str(uuid.uuid4())
        events = intake(sid, 1, [big])
        r = s.post(f"{hub.url}/v1/events", json={"store_id": s.store_id, "events": events})
        assert r.status_code == 200
        statuses = [x["status"] for x in r.json()["results"]]
        assert statuses[:2] == ["stored", "stored"] and "stored" not in statuses[2:]
        page_ev = r.json()["results"][2]
        assert page_ev["code"] == "page.missing" and page_ev["retry"] is True
        # ... and a batch of pages while it is down is refused as a whole, retry later
        batch = post_pages(hub.url, s, [small])
        assert batch.status_code == 503 and batch.json()["error"]["retry"] is True
        assert [b["complete"] for b in batch.json()["error"]["blobs"]] == [False]
        assert hub.store.held_pages(_principal(hub, s), [big_sha, small_sha]) == set()

        s3.start()  # it is back (moto keeps objects in memory: the bucket is made again)
        s3_client(s3).create_bucket(Bucket="intake-pages")
        # the station resumes where the hub said: every byte was kept, only the store is done
        again = put(hub.url, s, big_sha, len(big), len(big), b"")
        assert again.status_code == 200 and again.json()["complete"] is True
        assert post_pages(hub.url, s, [small]).json()["blobs"][0]["complete"] is True
        r = s.post(f"{hub.url}/v1/events", json={"store_id": s.store_id, "events": events})
        assert [x["status"] for x in r.json()["results"]] == ["duplicate"] * 2 + ["stored"] * 2
        assert hub.blobs.read(big_sha) == big
    assert len(raw_bucket(s3)) == 2


def _principal(hub, s):
    return hub.store.authenticate(s.headers["Authorization"][7:])


def test_a_revoked_token_and_a_damaged_page_are_refused_with_retry_false(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEYS, KEY_A)
    with HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "blobs") as hub:
        s = station_session(hub.url, hub.store.issue_enroll_code("XX01"))
        page = page_bytes(10_000, seed=7)
        sha = hashlib.sha256(page).hexdigest()
        damaged = page[:-1] + bytes([page[-1] ^ 1])
        r = put(hub.url, s, sha, len(page), 0, damaged)
        err = r.json()["error"]
        assert r.status_code == 422 and err["code"] == "blob.hash_mismatch"
        assert err["retry"] is False and "SHA-256" in err["message"]
        assert s.head(f"{hub.url}/v1/blobs/{sha}").headers["Upload-Offset"] == "0"
        batch = post_pages(hub.url, s, [page])  # the right bytes are then taken
        assert batch.json()["blobs"][0]["complete"] is True
        hub.store.revoke("XX01")
        r = s.get(f"{hub.url}/v1/ping")
        assert r.status_code == 401 and r.json()["error"] == {
            "code": "auth.revoked",
            "message": "站点凭据已被吊销",
            "retry": False,
        }


def test_the_station_outbox_says_why_when_the_object_store_is_down(tmp_path, pg_url, s3, hub_env):
    import datetime as dt
    import random

    from app.clock import FixedClock
    from sync.engine import SyncConfig, SyncEngine
    from sync.keystore import MemoryTokenStore
    from tests.sync_doubles import assert_mirrored, intake_with_pages, station

    clock = FixedClock(dt.datetime(2026, 12, 2, 1, 30, tzinfo=dt.UTC))
    cfg = SyncConfig(backoff_base=0.05, backoff_cap=0.3, status_interval=0, catalog_interval=0)
    with HubThread(pg_url, tmp_path / "spool") as hub:
        ctx, clerk = station(tmp_path / "st", "XX01", clock, small_catalog(tmp_path / "catalog"))
        try:
            eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=cfg, clock=clock)
            eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
            sids = [intake_with_pages(ctx, clerk, random.Random(n)) for n in range(2)]
            s3.stop()
            assert eng.step().kind == "failed"
            st = eng.status()
            assert st.problem.code == "sync.server_error" and "页面存储暂时不可用" in (
                st.problem.message
            )
            assert st.waiting == 2 and st.needs_person == 0
            assert all(ctx.queries.get(s).pushed_at is None for s in sids)
            s3.start()
            s3_client(s3).create_bucket(Bucket="intake-pages")
            time.sleep(1.0)
            eng.run_until_idle(max_seconds=60)
            assert all(ctx.queries.get(s).stage == "pushed" for s in sids)
            assert_mirrored(ctx, hub.store, hub.blobs.read, "XX01")
        finally:
            ctx.close()


# ----------------------------------------------------------------------------- several processes


def start_hub_process(tmp_path: Path, name: str, pg_url: str, env: dict[str, str]):
    """`python -m sync.hub` as a county runs it: its own process, configured by environment."""
    port = free_port()
    full = {
        **os.environ,
        **env,
        "INTAKE_HUB_DB": pg_url,
        "INTAKE_HUB_BLOBS": str(tmp_path / f"spool-{name}"),  # no spool shared
        "INTAKE_DATA_DIR": str(tmp_path / f"data-{name}"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.hub", "--host", "127.0.0.1", "--port", str(port)],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "hub died")
        try:  # the socket is bound before the process has started serving
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("hub process did not start")


def test_a_stations_retries_through_different_hub_processes_store_each_event_once(
    tmp_path, pg_url, s3, hub_env
):
    from sqlalchemy import create_engine, text

    from sync.hub.store import HubStore

    admin = HubStore(pg_url, masters=MasterKeys.parse(KEY_A))
    code = admin.issue_enroll_code("XX01", county="330106")
    procs = []
    try:
        (a, url_a), (b, url_b) = (
            start_hub_process(tmp_path, n, pg_url, hub_env) for n in ("a", "b")
        )
        procs = [a, b]
        s = station_session(url_b, code)  # enrolled through B, used through A
        pages = [page_bytes(150_000, seed=10 + i) for i in range(4)]
        sid1, sid2 = str(uuid.uuid4()), str(uuid.uuid4())
        first, second = intake(sid1, 1, pages[:2]), intake(sid2, 20, pages[2:])
        assert post_pages(url_a, s, pages[:2]).status_code == 200
        assert set(post_events(url_a, s, first)) == {"stored"}
        # A's answers were lost: the station sends the same again, the balancer picks B
        assert post_pages(url_b, s, pages[:2]).json()["blobs"][0]["complete"] is True
        assert set(post_events(url_b, s, first)) == {"duplicate"}
        # the next intake: pages through B, events through A, then a retry of both through B
        assert post_pages(url_b, s, pages[2:]).status_code == 200
        assert set(post_events(url_a, s, second)) == {"stored"}
        assert set(post_events(url_b, s, first + second)) == {"duplicate"}
        # a page sent again through the other process is still one object
        assert post_pages(url_a, s, pages[2:3]).json()["blobs"][0]["complete"] is True
        window = {"start": 1, "end": 100}
        ranges = s.get(f"{url_a}/v1/events/received", params=window).json()["ranges"]
        assert ranges == [[1, len(first)], [20, 19 + len(second)]]
        assert ranges == s.get(f"{url_b}/v1/events/received", params=window).json()["ranges"]
        # the catalog's ETag is the same from every process: a 304 wherever the poll lands
        admin.publish_catalog(small_catalog(tmp_path / "catalog"))
        etag = s.get(f"{url_a}/v1/catalog").headers["ETag"]
        again = s.get(f"{url_b}/v1/catalog", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
        admin.close()
    engine = create_engine(pg_url)
    with engine.connect() as c:
        n_events = c.execute(text("SELECT count(*) FROM hub_events")).scalar()
        distinct = c.execute(text("SELECT count(DISTINCT id) FROM hub_events")).scalar()
        holders = c.execute(text("SELECT count(*) FROM hub_page_holders")).scalar()
        data_keys = c.execute(text("SELECT count(*) FROM hub_data_keys")).scalar()
    engine.dispose()
    assert n_events == distinct == len(first) + len(second)
    assert holders == 4
    assert data_keys == 1  # both processes made and used the same county key
    assert len(raw_bucket(s3)) == 4


def children_of(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc to count processes")
def test_serve_with_workers_runs_that_many_processes_on_one_socket_and_stops_them_all(
    tmp_path, pg_url, s3, hub_env
):
    from sync.hub.store import HubStore

    admin = HubStore(pg_url, masters=MasterKeys.parse(KEY_A))
    code = admin.issue_enroll_code("XX01")
    admin.close()
    port = free_port()
    env = {
        **os.environ,
        **hub_env,
        "INTAKE_HUB_DB": pg_url,
        "INTAKE_HUB_BLOBS": str(tmp_path / "spool"),
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.hub", "--port", str(port), "--workers", "3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:  # the socket is bound before the processes have started serving
                requests.get(f"{url}/healthz", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        workers = children_of(proc.pid)
        assert len(workers) == 2  # the first process serves too
        s = station_session(url, code)
        pages = [page_bytes(20_000, seed=30)]
        assert post_pages(url, s, pages).status_code == 200
        events = intake(str(uuid.uuid4()), 1, pages)
        # each request on a new connection: the kernel spreads them over the processes
        seen = []
        for _ in range(6):
            r = requests.post(
                f"{url}/v1/events",
                json={"store_id": s.store_id, "events": events},
                headers={"Authorization": s.headers["Authorization"], "Connection": "close"},
            )
            seen.append({x["status"] for x in r.json()["results"]})
        assert seen[0] == {"stored"} and all(x == {"duplicate"} for x in seen[1:])
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
    assert all(not Path(f"/proc/{w}").exists() for w in workers)


def test_departments_read_decrypted_only_what_was_pushed_to_them(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEYS, KEY_A)
    with HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "blobs") as hub:
        s = station_session(hub.url, hub.store.issue_enroll_code("XX01"))
        pages = [page_bytes(30_000, seed=40)]
        sha = hashlib.sha256(pages[0]).hexdigest()
        sid = str(uuid.uuid4())
        manifest = {"submission_id": sid, "pages": [{"sha256": sha, "size": len(pages[0])}]}
        r = s.post(f"{hub.url}/v1/manifests", json={"manifests": [manifest]})
        assert r.status_code == 200, r.text
        assert post_pages(hub.url, s, pages).status_code == 200
        assert set(post_events(hub.url, s, intake(sid, 1, pages))) == {"stored"}
        civil = {"Authorization": "Bearer " + hub.store.issue_dept_key("民政局", ["birth"])}
        other = {"Authorization": "Bearer " + hub.store.issue_dept_key("人社局", ["pension"])}

        r = requests.get(f"{hub.url}/v1/dept/submissions/{sid}", headers=civil)
        assert r.status_code == 200, r.text
        applicant = next(e for e in r.json()["events"] if e["type"] == "applicant_set")
        assert applicant["payload"] == {
            "name": NAME,
            "resident_id": RESIDENT_ID,
            "phone": PHONE,
            "address": ADDRESS,
        }
        assert r.json()["pages"] == [{"sha256": sha, "size": len(pages[0])}]
        page = requests.get(f"{hub.url}/v1/dept/pages/{sha}", headers=civil)
        assert page.status_code == 200 and page.content == pages[0]
        # not pushed to it, not authenticated, not a submission: nothing
        for url in (f"/v1/dept/submissions/{sid}", f"/v1/dept/pages/{sha}"):
            assert requests.get(hub.url + url, headers=other).status_code == 404
            assert requests.get(hub.url + url).status_code == 401
        assert (
            requests.get(f"{hub.url}/v1/dept/submissions/not-a-uuid", headers=civil).json()[
                "error"
            ]["code"]
            == "submission.unknown"
        )


def test_a_station_polling_an_unchanged_catalog_gets_a_bodiless_304(tmp_path, monkeypatch):
    from sync.client import HubClient, TransportConfig

    monkeypatch.setenv(ENV_KEYS, KEY_A)
    with HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "blobs") as hub:
        s = station_session(hub.url, hub.store.issue_enroll_code("XX01"))
        published = hub.store.publish_catalog(small_catalog(tmp_path / "catalog"))
        seen: list[tuple[int, int]] = []
        session = requests.Session()
        session.hooks["response"].append(
            lambda r, **_: seen.append((r.status_code, len(r.content)))
        )
        client = HubClient(
            TransportConfig(hub.url), s.headers["Authorization"][7:], session=session
        )
        digest, _version, body = client.catalog([])
        assert digest == published["digest"] and body
        assert client.catalog([digest, ""]) is None  # what the engine sends: its installed digest
        assert seen == [(200, len(body)), (304, 0)]


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
pytestmark = [
    pytest.mark.expect_log(logging.WARNING, "intake.sync", r"^sync paused"),
    S3_PAGE_NOT_TAKEN,
]
