"""What an idle hub process costs: CPU milliseconds per second of each of its threads while no
request arrives. Prints ONE JSON object.

Starts one hub process (`python -m sync.hub`, PostgreSQL from INTAKE_TEST_PG_URL or a throwaway
cluster, local page store, the logging notice provider as deployed), lets it settle, then reads
its threads' CPU times over `--seconds`. An idle process should cost next to nothing: every
timer that wakes it costs far more on a VM than the same work run hot (the machine's caches and
the vCPU go cold between wake-ups), and a county runs several processes all day.

Extra `NAME=VALUE` arguments are passed to the hub as environment (e.g.
`INTAKE_HUB_NOTIFY_INTERVAL=2`).

Usage: python bench/bench_hub_idle.py [--seconds 20] [--settle 5] [NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_hub_load as load
import psutil

from tests.sync_doubles import PgCluster, drop_database, fresh_database


def thread_cpu(p: psutil.Process) -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in p.threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("env", nargs="*", help="NAME=VALUE for the hub's environment")
    args = ap.parse_args()
    cluster = None
    admin = os.environ.get("INTAKE_TEST_PG_URL")
    if not admin:
        cluster = PgCluster().start()
        admin = cluster.url
    work = Path(tempfile.mkdtemp(prefix="bench-hub-idle-"))
    name = "idle_" + uuid.uuid4().hex[:8]
    db = fresh_database(admin, name)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "INTAKE_DATA_DIR": str(work),
        "INTAKE_HUB_DB": db,
        "INTAKE_HUB_MASTER_KEYS": load.MASTER_KEYS,
        "INTAKE_HUB_BLOBS": str(work / "blobs"),
        **dict(a.split("=", 1) for a in args.env),
    }
    hubs = load.start_hubs(1, env, work)
    try:
        time.sleep(args.settle)
        proc = psutil.Process(hubs[0][0].pid)
        # Python 3.11 does not name OS threads: the main thread (the event loop) and the others
        # by id (the notice sender, the database and thread pools).
        names = {proc.pid: "main"}
        before = thread_cpu(proc)
        time.sleep(args.seconds)
        after = thread_cpu(proc)
        per_thread: dict[str, float] = {}
        for tid, cpu in after.items():
            label = names.get(tid, str(tid))
            ms = (cpu - before.get(tid, 0.0)) * 1000 / args.seconds
            per_thread[label] = round(per_thread.get(label, 0.0) + ms, 2)
        print(
            json.dumps(
                {
                    "seconds": args.seconds,
                    "idle_cpu_ms_per_s": round(sum(per_thread.values()), 2),
                    "threads": per_thread,
                }
            )
        )
    finally:
        for p, _url in hubs:
            p.terminate()
        for p, _url in hubs:
            p.wait(30)
        drop_database(admin, name)
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
