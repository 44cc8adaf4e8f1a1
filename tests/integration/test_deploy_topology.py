"""The topology of deploy/compose.yaml on loopback, from the deployment files themselves (CI runs no
containers): PostgreSQL, an S3-compatible server (moto's server mode), two hub processes started
as the systemd unit starts them (`python -m sync.hub`, settings from deploy/hub.toml and each
compose hub's environment; secrets by environment), and the real nginx with deploy/nginx's site
and upstream (only ports, certificate and log paths moved to the test's own). Two stations sync
through nginx over TLS; one hub process is stopped mid-way and nginx sends the stations to the
other; in the end every event is on the hub once and every page readable. An object store that
goes away shows in /metrics.

Needs the nginx binary (Debian: nginx-light; `sh installer/debian-setup.sh test` installs it)."""

import base64
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from local_db.keys import MemorySecretStore
from sync.engine import SyncConfig, SyncEngine
from sync.hub.server import open_blobs, open_store
from sync.hub.settings import load
from sync.keystore import MemoryTokenStore
from tests.expected_logs import NO_KEYRING_CHECKPOINT
from tests.hub_doubles import S3Server, free_port, self_signed
from tests.sync_doubles import (
    assert_mirrored,
    drop_database,
    fresh_database,
    intake_with_pages,
    station,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.expect_log(logging.WARNING, "intake.sync", r"^sync paused"),
    NO_KEYRING_CHECKPOINT,
]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FAST = SyncConfig(
    backoff_base=0.05, backoff_cap=0.5, connect_timeout=2, read_timeout=10,
    status_interval=0, catalog_interval=0,
)  # fmt: skip
MASTER = "t1:" + base64.b64encode(b"T" * 32).decode()


class Topology:
    def __init__(self, tmp, db_url, s3):
        self.tmp, self.db_url, self.s3 = tmp, db_url, s3
        self.compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
        unit = (DEPLOY / "systemd" / "intake-hub@.service").read_text(encoding="utf-8")
        self.exec = re.search(r"^ExecStart=\S*python (.*)$", unit, re.M).group(1).split()
        self.hubs = {}  # service name → (process, port)
        self.ports = {n: free_port() for n in self.compose["services"] if n.startswith("hub-")}

    def hub_env(self, name):
        """What the unit and compose give a hub process, moved onto loopback."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("INTAKE_HUB_"):
                del env[k]
        env.update({k: str(v) for k, v in self.compose["services"][name]["environment"].items()})
        env.update(
            PYTHONPATH=str(ROOT),
            INTAKE_DATA_DIR=str(self.tmp / name),
            INTAKE_HUB_CONFIG=str(DEPLOY / "hub.toml"),  # the unit's /etc/intake-hub/hub.toml
            INTAKE_HUB_HOST="127.0.0.1",
            INTAKE_HUB_PORT=str(self.ports[name]),
            INTAKE_HUB_BLOBS=str(self.tmp / "spool"),  # the upload spool beside S3
            INTAKE_HUB_S3_ENDPOINT=self.s3.endpoint,
            # the secrets compose.env holds
            INTAKE_HUB_DB=self.db_url,
            INTAKE_HUB_S3_ACCESS_KEY=S3Server.ACCESS,
            INTAKE_HUB_S3_SECRET_KEY=S3Server.SECRET,
            INTAKE_HUB_MASTER_KEYS=MASTER,
        )
        return env

    def start_hub(self, name):
        self.wait_hub(self.spawn_hub(name), name)

    def spawn_hub(self, name):
        return subprocess.Popen(
            [sys.executable, *self.exec],
            env=self.hub_env(name),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=open(self.tmp / f"{name}.log", "a"),
            text=True,
        )

    def wait_hub(self, proc, name):
        line = proc.stdout.readline()
        assert "hub listening on" in line, (self.tmp / f"{name}.log").read_text()[-3000:]
        self.hubs[name] = proc

    def stop_hub(self, name):
        proc = self.hubs.pop(name)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0

    def start_nginx(self):
        crt, key = self_signed(self.tmp, "intake-hub test", "hub")
        upstream = (DEPLOY / "nginx" / "upstream.conf").read_text(encoding="utf-8")
        systemd_ports = re.findall(r"server 127\.0\.0\.1:(\d+)", upstream)
        names = sorted(self.ports)
        assert len(systemd_ports) == len(names)
        for port, name in zip(systemd_ports, names, strict=True):
            upstream = upstream.replace(f"127.0.0.1:{port} ", f"127.0.0.1:{self.ports[name]} ")
        (self.tmp / "upstream.conf").write_text(upstream, encoding="utf-8")
        self.https, self.http = free_port(), free_port()
        site = (DEPLOY / "nginx" / "intake-hub.conf").read_text(encoding="utf-8")
        for old, new in {
            "/etc/nginx/intake-hub-upstream.conf": str(self.tmp / "upstream.conf"),
            "/etc/intake-hub/tls/hub.crt": str(crt),
            "/etc/intake-hub/tls/hub.key": str(key),
            "/var/log/nginx/intake-hub.access.log": str(self.tmp / "nginx-access.log"),
            "listen 443 ssl;": f"listen 127.0.0.1:{self.https} ssl;",
            "listen 80;": f"listen 127.0.0.1:{self.http};",
            "listen [::]:443 ssl;": "",
            "listen [::]:80;": "",
        }.items():
            assert old in site, old
            site = site.replace(old, new)
        (self.tmp / "site.conf").write_text(site, encoding="utf-8")
        (self.tmp / "nginx.conf").write_text(
            f"daemon off; pid {self.tmp}/nginx.pid; error_log {self.tmp}/nginx-error.log;\n"
            "events { worker_connections 256; }\n"
            f"http {{ client_body_temp_path {self.tmp}/body; proxy_temp_path {self.tmp}/proxy;\n"
            f"  include {self.tmp}/site.conf; }}\n",
            encoding="utf-8",
        )
        conf = ["-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf")]
        check = subprocess.run([NGINX, "-t", *conf], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.nginx = subprocess.Popen([NGINX, *conf], stderr=subprocess.PIPE)
        self.url, self.ca = f"https://127.0.0.1:{self.https}", str(crt)
        deadline = time.monotonic() + 60  # the hubs print their address before their app is built
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/readyz", verify=self.ca, timeout=5).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("nginx or the hubs did not become ready")

    def close(self):
        for name in list(self.hubs):
            self.stop_hub(name)
        if getattr(self, "nginx", None) is not None:
            self.nginx.terminate()
            self.nginx.wait(10)


def metric(url, name, **labels):
    total = 0.0
    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_compose_topology_on_loopback_through_nginx(tmp_path, clock, catalog, pg_admin_url):
    if not os.path.exists(NGINX):
        pytest.fail("nginx is not installed (apt-get install nginx-light)")
    name = f"hubtopo_{uuid.uuid4().hex[:8]}"
    db = fresh_database(pg_admin_url, name)
    with S3Server() as s3:
        topo = Topology(tmp_path, db, s3)
        try:
            # both at once on the empty database, as systemd's target starts them
            spawned = {hub: topo.spawn_hub(hub) for hub in sorted(topo.ports)}
            for hub, proc in spawned.items():
                topo.wait_hub(proc, hub)
            topo.start_nginx()
            r = requests.get(f"{topo.url}/readyz", verify=topo.ca, timeout=10)
            assert r.status_code == 200 and r.json()["checks"]["blob_store"] == "ok"
            admin = open_store(_admin_settings(topo))
            stations, rng = {}, random.Random(3)
            for code in ("XX01", "XX02"):
                ctx, clerk = station(tmp_path / code, code, clock, catalog, MemorySecretStore())
                eng = SyncEngine.from_context(
                    ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock
                )
                eng.enroll(topo.url, admin.issue_enroll_code(code), ca_bundle=topo.ca)
                stations[code] = (ctx, clerk, eng)

            def round_of_intakes():
                for ctx, clerk, eng in stations.values():
                    for _ in range(2):
                        intake_with_pages(ctx, clerk, rng, page_sizes=(20_000, 120_000))
                    eng.run_until_idle(max_seconds=60)
                    assert eng.status().waiting == 0 and not eng.needs_person()

            def events_served() -> dict[str, float]:
                return {
                    n: metric(
                        f"http://127.0.0.1:{p}", "intake_hub_requests_total", route="/v1/events"
                    )
                    for n, p in topo.ports.items()
                }

            round_of_intakes()
            before_restart = events_served()["hub-1"]  # a process's counters start at its start
            topo.stop_hub("hub-1")  # a restart, as systemd or compose would do it
            round_of_intakes()  # nginx sends everything to hub-2
            topo.start_hub("hub-1")
            round_of_intakes()
            served = events_served()
            served["hub-1"] += before_restart
            assert all(v > 0 for v in served.values()), served  # both processes took events
            blobs = open_blobs(_admin_settings(topo), admin)
            for code, (ctx, _clerk, _eng) in stations.items():
                assert_mirrored(ctx, admin, blobs.read, code)
            log = (tmp_path / "nginx-access.log").read_text(encoding="utf-8")
            assert '"uri":"/v1/events"' in log and "?" not in log

            # the object store goes away: uploads are refused for now, and /metrics says so
            s3.stop()
            ctx, clerk, eng = stations["XX01"]
            intake_with_pages(ctx, clerk, rng, page_sizes=(20_000, 30_000))
            eng.run_until_idle(max_seconds=3)
            assert eng.status().waiting == 1 and not eng.needs_person()
            errors = sum(
                metric(f"http://127.0.0.1:{p}", "intake_hub_blob_store_errors_total")
                for p in topo.ports.values()
            )
            assert errors > 0
            r = requests.get(f"{topo.url}/readyz", verify=topo.ca, timeout=20)
            assert r.status_code == 503 and r.json()["checks"]["blob_store"] != "ok"
            admin.close()
        finally:
            topo.close()
            for ctx, _clerk, _eng in locals().get("stations", {}).values():
                ctx.close()
            drop_database(pg_admin_url, name)


def _admin_settings(topo):
    """The settings an operator's `intake hub …` command reads on the hub machine."""
    env = topo.hub_env("hub-1")
    old = {k: os.environ.get(k) for k in env if k.startswith("INTAKE_")}
    os.environ.update({k: v for k, v in env.items() if k.startswith("INTAKE_")})
    try:
        return load()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# Warnings this test provokes on purpose (a hub restarted under the stations' feet; a keyring the
# stations' threads contend for): the log-failure fixture fails any other.
