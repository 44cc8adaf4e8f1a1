"""The hub's CPU per request, hot: `GET /healthz` and a station's `GET /v1/catalog` answered 304
(If-None-Match), each sent N times back to back. Prints ONE JSON object.

Two ways, both on a hub with SQLite and a local page store in a temporary directory:
- `asgi`: the hub's app called in this process as the server calls it (no sockets): the
  middlewares, routing, authentication and the route itself;
- `http` (the default): a real hub process (`python -m sync.hub`) and one keep-alive connection
  from this process: everything above plus the server's HTTP parsing, event loop and transport.
  The figure is the hub process's CPU time over the requests.

What happens after an idle gap costs several times more on a VM, so the requests come back to
back after a warm-up: this is the per-request cost at saturation, the one that bounds how many
submissions a core serves (bench/bench_hub_load.py measures whole submissions).

Usage: python bench/bench_hub_request.py [--mode http|asgi] [-n 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil

from tests.sync_doubles import small_catalog

MASTER_KEYS = "bench1:" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def prepare(work: Path) -> tuple[str, str]:
    """A hub database with a published catalog and one enrolled station: (token, etag)."""
    from sync.hub.crypto import MasterKeys
    from sync.hub.store import HubStore

    store = HubStore(f"sqlite:///{work}/hub.sqlite3", masters=MasterKeys.parse(MASTER_KEYS))
    try:
        store.publish_catalog(small_catalog(work / "catalog"))
        code = store.issue_enroll_code("XX01")
        token = store.enroll(code, str(uuid.uuid4()), "XX01", None)["token"]
        current = store.current_catalog()
        assert current is not None
        return token, f'"{current[0]}"'
    finally:
        store.close()


def requests_of(token: str, etag: str) -> dict[str, tuple[str, dict[str, str], int]]:
    return {
        "healthz": ("/healthz", {}, 200),
        "catalog_304": (
            "/v1/catalog",
            {"Authorization": "Bearer " + token, "If-None-Match": etag},
            304,
        ),
    }


def run_http(work: Path, n: int, rounds: int, profile: Path | None = None) -> dict[str, Any]:
    token, etag = prepare(work)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "INTAKE_DATA_DIR": str(work),
        "INTAKE_HUB_DB": f"sqlite:///{work}/hub.sqlite3",
        "INTAKE_HUB_BLOBS": str(work / "blobs"),
        "INTAKE_HUB_MASTER_KEYS": MASTER_KEYS,
        "INTAKE_HUB_PORT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.hub"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=(work / "hub.log").open("w"),
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if "hub listening on" not in line:
            raise RuntimeError((work / "hub.log").read_text()[-2000:])
        port = int(line.strip().rsplit(":", 1)[-1])
        hub = psutil.Process(proc.pid)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        spy = None
        if profile is not None:  # py-spy samples of the hub process (GIL holder: Python's CPU)
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "-r",
                    "400",
                    "-f",
                    "raw",
                    "-o",
                    str(profile),
                    "--gil",
                    "--pid",
                    str(proc.pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)

        def one(path: str, headers: dict[str, str], status: int) -> None:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != status:
                raise RuntimeError(f"{path}: {r.status}")

        out: dict[str, Any] = {}
        for name, (path, headers, status) in requests_of(token, etag).items():
            for _ in range(200):  # warm-up
                one(path, headers, status)
            per = []
            for _ in range(rounds):
                t = hub.cpu_times()
                for _ in range(n):
                    one(path, headers, status)
                u = hub.cpu_times()
                per.append((u.user + u.system - t.user - t.system) * 1000 / n)
            out[name] = {
                "cpu_ms": round(statistics.median(per), 3),
                "rounds": [round(x, 3) for x in per],
            }
        conn.close()
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
        return out
    finally:
        proc.terminate()
        proc.wait(30)


def run_asgi(work: Path, n: int, rounds: int) -> dict[str, Any]:
    token, etag = prepare(work)
    os.environ["INTAKE_HUB_MASTER_KEYS"] = MASTER_KEYS
    os.environ["INTAKE_HUB_ACCESS_LOG"] = "false"  # no log handler here: the line is not written
    from sync.hub.server import build

    app, store, _blobs = build(f"sqlite:///{work}/hub.sqlite3", work / "blobs")

    async def call(path: str, headers: dict[str, str], status: int) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8700),
            "state": {},
        }
        got: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                got.append(message["status"])

        await app(scope, receive, send)
        if got != [status]:
            raise RuntimeError(f"{path}: {got}")

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (path, headers, status) in requests_of(token, etag).items():
            for _ in range(200):
                await call(path, headers, status)
            per = []
            for _ in range(rounds):
                t = time.process_time()
                for _ in range(n):
                    await call(path, headers, status)
                per.append((time.process_time() - t) * 1000 / n)
            out[name] = {
                "cpu_ms": round(statistics.median(per), 3),
                "rounds": [round(x, 3) for x in per],
            }
        return out

    try:
        return asyncio.run(main())
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("http", "asgi"), default="http")
    ap.add_argument("-n", type=int, default=1000, help="requests per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=Path, help="http: py-spy samples of the hub into this file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-hub-req-"))
    os.environ["INTAKE_DATA_DIR"] = str(work)
    if args.mode == "http":
        figures = run_http(work, args.n, args.rounds, args.profile)
    else:
        figures = run_asgi(work, args.n, args.rounds)
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    print(json.dumps({"mode": args.mode, "requests": args.n, "loop": loop, **figures}))


if __name__ == "__main__":
    main()
