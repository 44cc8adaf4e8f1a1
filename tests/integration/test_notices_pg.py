"""Notices on PostgreSQL with several hub processes: every process runs a sender, and each
notice still goes out once (claimed with SELECT … FOR UPDATE SKIP LOCKED).

PostgreSQL: INTAKE_TEST_PG_URL, else a throwaway cluster."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from sync.hub.crypto import ENV_KEYS, MasterKeys
from sync.hub.store import HubStore
from tests.hub_doubles import free_port, station_session

pytestmark = pytest.mark.integration

KEY = "ka " + base64.b64encode(b"N" * 32).decode()
NAME = "欧阳明轩"
N = 24


def phone(i: int) -> str:
    return f"1391234{i:04d}"


def number(i: int) -> str:
    return f"XX01-20261202-{i:04d}"


def start_hub(tmp_path: Path, name: str, pg_url: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log_file = tmp_path / f"hub-{name}.log"
    env = {
        **os.environ,
        ENV_KEYS: KEY,
        "INTAKE_HUB_DB": pg_url,
        "INTAKE_HUB_BLOBS": str(tmp_path / f"spool-{name}"),
        "INTAKE_DATA_DIR": str(tmp_path / f"data-{name}"),
        "INTAKE_HUB_NOTIFY_PROVIDER": "log",
        "INTAKE_HUB_NOTIFY_INTERVAL": "0.1",
        "INTAKE_HUB_HUB_ID": name,
    }
    with log_file.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sync.hub", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log_file.read_text())
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url, log_file
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("hub process did not start")


def intake_events(i: int) -> tuple[str, list[dict]]:
    sid = str(uuid.uuid4())
    base = 10 * i
    rows = [
        ("created", {}),
        ("applicant_set", {"name": NAME, "resident_id": "11010519491231002X", "phone": phone(i)}),
        ("received", {"number": number(i), "items": ["birth"]}),
    ]
    return sid, [
        {
            "id": str(uuid.uuid4()),
            "seq": base + k,
            "submission_id": sid,
            "type": t,
            "payload": p,
            "clerk_id": 1,
            "at": "2026-12-02T01:30:00.000000Z",
        }
        for k, (t, p) in enumerate(rows, 1)
    ]


def test_two_hub_processes_racing_send_each_notice_once(tmp_path, pg_url):
    admin = HubStore(pg_url, masters=MasterKeys.parse(KEY))
    code = admin.issue_enroll_code("XX01", county="410721")
    dept = admin.issue_dept_key("新乡县卫健委")
    procs = []
    try:
        (a, url_a, log_a), (b, url_b, log_b) = (start_hub(tmp_path, n, pg_url) for n in "ab")
        procs = [a, b]
        s = station_session(url_a, code)
        store_id = s.store_id
        sids = []
        for i in range(N):
            sid, events = intake_events(i)
            url = (url_a, url_b)[i % 2]
            r = s.post(f"{url}/v1/events", json={"store_id": store_id, "events": events})
            assert r.status_code == 200 and {x["status"] for x in r.json()["results"]} == {"stored"}
            sids.append(sid)
        for i, sid in enumerate(sids):  # decisions through both processes, some sent twice
            for url in (url_a, url_b) if i % 3 == 0 else ((url_a, url_b)[i % 2],):
                r = requests.post(
                    f"{url}/v1/dept/decisions",
                    json={"submission_id": sid, "item_id": "birth", "decision": "accepted"},
                    headers={"Authorization": "Bearer " + dept},
                )
                assert r.status_code == 201, r.text
        deadline = time.monotonic() + 60
        while admin.notice_counts()["sent"] < N and time.monotonic() < deadline:
            time.sleep(0.2)
        assert admin.notice_counts() == {
            "pending": 0,
            "sending": 0,
            "retrying": 0,
            "sent": N,
            "failed": 0,
            "no_phone": 0,
        }
        # each process counts what it sent; together, every notice once
        sent = 0.0
        for url in (url_a, url_b):
            metrics = requests.get(f"{url}/metrics").text
            assert 'intake_hub_notices{status="pending"} 0.0' in metrics
            (line,) = [
                x for x in metrics.splitlines() if x.startswith("intake_hub_notices_sent_total ")
            ]
            sent += float(line.split()[1])
        assert sent == N
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
        admin.close()
    logs = log_a.read_text() + log_b.read_text()
    sent_lines = re.findall(r"notice accepted for (\S+) to (\S+) \(logging provider\)", logs)
    assert sorted(n for n, _ in sent_lines) == sorted(number(i) for i in range(N))  # once each
    assert {masked for _, masked in sent_lines} == {"139****" + phone(i)[-4:] for i in range(N)}
    assert not any(phone(i) in logs for i in range(N))  # never a phone number in full
    assert NAME not in logs


def test_concurrent_claims_never_take_the_same_notice(tmp_path, pg_url):
    """Two stores (two processes' pools) claiming at the same instant get disjoint notices."""
    from sync.hub.models import HubSubmission
    from sync.hub.notices import Cause

    stores = [HubStore(pg_url, masters=MasterKeys.parse(KEY)) for _ in range(2)]
    try:
        one = stores[0]
        code = one.issue_enroll_code("XX01", county="410721")
        store_id = str(uuid.uuid4())
        p = one.enroll(code, store_id, None)
        principal = one.authenticate(p["token"])
        for i in range(40):
            _sid, events = intake_events(i)
            one.ingest_events(principal, store_id, events, None)
        one.sealer.prepare("410721")
        with one.write() as s:
            for sub in s.query(HubSubmission).all():
                one.queue_notice(s, sub, "410721", Cause("accepted", "birth", "birth"))
        barrier = threading.Barrier(2)
        got: list[list[str]] = [[], []]

        def claim(k: int) -> None:
            barrier.wait()
            got[k] = [n.id for _c, _a, n in stores[k].claim_notices(limit=40)]

        threads = [threading.Thread(target=claim, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not set(got[0]) & set(got[1])
        assert len(got[0]) + len(got[1]) == 40
    finally:
        for st in stores:
            st.close()
