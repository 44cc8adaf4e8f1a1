"""Operating the hub: /metrics by route template, the JSON access log without personal data,
/readyz beside /healthz, and `intake hub stations` from what stations report."""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from app.cli import main as intake_main
from app.version import __version__
from sync.engine import SyncConfig, SyncEngine
from sync.keystore import MemoryTokenStore
from tests.sync_doubles import intake_with_pages, station

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FAST = SyncConfig(backoff_base=0.05, backoff_cap=0.3, status_interval=0, catalog_interval=0)
# What intake_with_pages puts on the applicant (tests/sync_doubles.py): none of it may reach a log line.
PERSONAL = ("张三", "11010519491231002X", "13812345678", "人民路1号", "王芳")
SHA = re.compile(r"[0-9a-f]{64}")


def synced_station(tmp_path, code, clock, catalog, hub_url, enroll_code, intakes=2):
    ctx, clerk = station(tmp_path / code, code, clock, catalog)
    tokens = MemoryTokenStore()
    eng = SyncEngine.from_context(ctx, tokens=tokens, config=FAST, clock=clock)
    eng.enroll(hub_url, enroll_code)
    rng = random.Random(5)
    for _ in range(intakes):
        intake_with_pages(ctx, clerk, rng, page_sizes=(3000, 9000))
    waiting = eng.status().waiting_events
    report = eng.run_until_idle(max_seconds=30)
    assert eng.status().waiting == 0, report
    return ctx, eng, waiting, tokens


def metrics(url):
    text = requests.get(f"{url}/metrics", timeout=10).text
    out = {}
    for fam in text_string_to_metric_families(text):  # prometheus_client's own parser
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return text, out


def test_metrics_count_requests_by_route_template_and_show_each_station(
    tmp_path, clock, catalog, hub
):
    ctx, _eng, waiting, _ = synced_station(
        tmp_path, "XX01", clock, catalog, hub.url, hub.store.issue_enroll_code("XX01")
    )
    ctx.close()
    text, m = metrics(hub.url)
    routes = {lab["route"] for lab, _v in m["intake_hub_requests_total"]}
    assert "/v1/intakes" in routes  # the station's uploads: one request per batch
    assert not any(SHA.search(r) for r in routes)  # a template, never the page's address
    assert not SHA.search(text)
    posted = [
        v
        for lab, v in m["intake_hub_requests_total"]
        if lab == {"route": "/v1/intakes", "method": "POST", "status": "200"}
    ]
    assert posted and posted[0] >= 1
    counts = [
        v
        for lab, v in m["intake_hub_request_duration_seconds_count"]
        if lab == {"route": "/v1/intakes", "method": "POST"}
    ]
    assert counts == posted
    ages = dict((lab["station"], v) for lab, v in m["intake_hub_station_last_seen_age_seconds"])
    assert set(ages) == {"XX01"} and 0 <= ages["XX01"] < 60
    backlog = dict((lab["station"], v) for lab, v in m["intake_hub_station_backlog_events"])
    assert waiting > 0 and backlog == {"XX01": waiting}  # what it reported at its first request
    missing = dict((lab["station"], v) for lab, v in m["intake_hub_station_pages_missing"])
    assert missing == {"XX01": 0}
    errors = {lab["operation"]: v for lab, v in m["intake_hub_blob_store_errors_total"]}
    assert set(errors) == {"write", "read"}  # present before any failure (per process)


def test_stations_command_lists_contact_backlog_pages_and_versions(
    tmp_path, clock, catalog, hub, capsys
):
    ctx, _eng, waiting, _ = synced_station(
        tmp_path, "XX01", clock, catalog, hub.url, hub.store.issue_enroll_code("XX01")
    )
    catalog_version = ctx.catalogs.current.version
    ctx.close()
    # A second station sends a manifest naming a page and never the page itself.
    code = hub.store.issue_enroll_code("XX02", "东关便民服务站")
    r = requests.post(
        f"{hub.url}/v1/enrollments",
        json={"code": code, "store_id": str(uuid.uuid4()), "station_code": "XX02"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}", "Intake-Backlog": "nonsense"}
    page = b"page that never arrives"
    r = requests.post(
        f"{hub.url}/v1/manifests",
        headers=auth,
        json={
            "manifests": [
                {
                    "submission_id": str(uuid.uuid4()),
                    "pages": [{"sha256": hashlib.sha256(page).hexdigest(), "size": len(page)}],
                }
            ]
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    hub.store.issue_enroll_code("XX03")  # never contacted

    db = f"sqlite:///{hub.store.engine.url.database}"
    assert intake_main(["hub", "stations", "--db", db, "--json"]) == 0
    rows = {r["station"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"XX01", "XX02", "XX03"}
    one = rows["XX01"]
    assert one["enrolled"] and one["client_version"] == __version__
    assert one["catalog_version"] == catalog_version
    assert one["backlog_events"] == waiting and one["pages_missing"] == 0
    assert one["last_seen_at"] is not None and 0 <= one["last_seen_age_s"] < 60
    two = rows["XX02"]  # reported nothing usable: a malformed header is ignored, not refused
    assert two["pages_missing"] == 1 and two["backlog_events"] is None
    assert two["client_version"] is None and two["last_seen_at"] is not None
    three = rows["XX03"]
    assert three["last_seen_at"] is None and not three["enrolled"]

    assert intake_main(["hub", "stations", "--db", db]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "站点", "名称", "最后联系", "距今", "待传事件", "缺页", "客户端版本", "目录版本"
    ]  # fmt: skip
    xx03 = next(line for line in table if line.startswith("XX03"))
    assert "未登记" in xx03 and "从未联系" in xx03


def test_readyz_fails_when_a_dependency_is_gone_while_healthz_stays_up(hub):
    r = requests.get(f"{hub.url}/readyz", timeout=10)
    assert r.status_code == 200 and r.json()["checks"] == {
        "database": "ok",
        "blob_store": "ok",
        "spool": "ok",
    }
    shutil.rmtree(hub.blobs.root)
    r = requests.get(f"{hub.url}/readyz", timeout=10)
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json()["checks"]["blob_store"] != "ok" and r.json()["checks"]["database"] == "ok"
    real = hub.store.engine
    hub.store.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        r = requests.get(f"{hub.url}/readyz", timeout=10)
        assert r.status_code == 503 and r.json()["checks"]["database"] == "OperationalError"
        assert "127.0.0.1" not in r.text  # the class of failure, never the URL
    finally:
        hub.store.engine = real
    assert requests.get(f"{hub.url}/healthz", timeout=10).status_code == 200


def test_access_log_has_one_json_line_per_request_and_no_personal_data(tmp_path, clock, catalog):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "INTAKE_DATA_DIR": str(tmp_path),
        "INTAKE_HUB_DB": f"sqlite:///{tmp_path}/hub.sqlite3",
        "INTAKE_HUB_BLOBS": str(tmp_path / "blobs"),
        "INTAKE_HUB_HUB_ID": "hub-a",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.hub", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline()
        assert "hub listening on" in line, line
        url = line.strip().rsplit(" ", 1)[-1]
        code = subprocess.run(
            [sys.executable, "-m", "app", "hub", "enroll-code", "--station", "XX01", "--json"],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        ctx, _eng, _w, tokens = synced_station(
            tmp_path, "XX01", clock, catalog, url, json.loads(code)["code"]
        )
        ctx.close()
        requests.get(f"{url}/v1/ping?token=abc", timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert len(lines) >= 5
    assert {"ts", "hub", "method", "route", "status", "ms", "station"} <= set(lines[0])
    assert {x["hub"] for x in lines} == {"hub-a"}
    events = [x for x in lines if x["route"] == "/v1/events" and x["method"] == "POST"]
    assert events and all(x["station"] == "XX01" and x["status"] == 200 for x in events)
    assert any(x["route"] == "/v1/ping" and x["status"] == 401 for x in lines)
    for secret in (*PERSONAL, *tokens.tokens.values()):
        assert secret not in err
    assert "token=" not in err and not SHA.search(err)
