"""The hub's database work for one intake, in process: thread CPU of the store calls a station's
intake causes (the manifest, 2 page holders, the intake's 10 events; then a status poll and an
uncached token check), on PostgreSQL, with the hot path's two implementations alternated in one
process: `core` (SQLAlchemy Core statements) and `fast` (psycopg's prepared statements,
sync/hub/fastsql.py). Prints ONE JSON object: per variant the median and quartiles of thread
CPU per intake over the rounds, and the same for the poll and the token check.

Thread CPU (`time.thread_time`) counts only this thread's work (the client side of each round
trip), not PostgreSQL's nor other jobs on the machine: alternating the variants round by round
puts both under the same load. Pages are not stored (a stand-in page store says every page is
there): this measures the database calls alone.

PostgreSQL: INTAKE_TEST_PG_URL, else a throwaway cluster.
Usage: python bench/bench_hub_hotpath.py [--rounds 300] [--warmup 20]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_hub_load import intake_events, template_events
from sync.hub.blobs import BlobStore
from sync.hub.crypto import MasterKeys
from sync.hub.enrolment import PRINCIPALS
from sync.hub.store import HubStore
from tests.sync_doubles import pg_database, pg_server

VARIANTS = ("core", "fast")


class PresentPages(BlobStore):
    """Every page a holder row names is there (no disk: the database calls alone)."""

    def has(self, sha: str, size: int | None = None) -> bool:
        return True


def quartiles(xs: list[float]) -> dict[str, float]:
    q = statistics.quantiles(xs, n=4)
    return {"p25": round(q[0], 3), "median": round(q[1], 3), "p75": round(q[2], 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300, help="intakes per variant")
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured intakes per variant")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-hotpath-"))
    masters = MasterKeys.parse("bench1:" + base64.b64encode(bytes(range(32))).decode())
    with pg_server() as admin, pg_database(admin, "hotpath") as url:
        store = HubStore(url, masters=masters)
        try:
            assert store.fast_sql, "the fast path needs postgresql+psycopg"
            blobs = PresentPages(tmp / "blobs", sealer=store.sealer)
            tpl = template_events()
            store_id = str(uuid.uuid4())
            token = store.enroll(store.issue_enroll_code("XX01"), store_id)["token"]
            p = store.authenticate(token)
            seq = [1]

            def intake() -> None:
                sid = str(uuid.uuid4())
                pages = [(uuid.uuid4().hex + uuid.uuid4().hex, 200_000 + k) for k in range(2)]
                man = [
                    {"submission_id": sid, "pages": [{"sha256": s, "size": n} for s, n in pages]}
                ]
                events = intake_events(tpl, seq[0], sid, pages, "2024-12-02T01:30:00.000000Z")
                seq[0] += len(events)
                store.manifests(p, man, blobs)
                for sha, _ in pages:
                    store.add_holder(p, [sha])
                res = store.ingest_events(p, store_id, events, blobs)
                assert all(r["status"] == "stored" for r in res["results"]), res

            def poll() -> None:
                store.feed(p, 0, 100)

            def auth() -> None:
                PRINCIPALS.clear()
                store.authenticate(token)

            per: dict[str, dict[str, list[float]]] = {
                v: {"intake": [], "poll": [], "auth": []} for v in VARIANTS
            }
            for r in range(args.warmup + args.rounds):
                order = VARIANTS if r % 2 == 0 else VARIANTS[::-1]
                for v in order:
                    store.fast_sql = v == "fast"
                    for what, fn in (("intake", intake), ("poll", poll), ("auth", auth)):
                        t0 = time.thread_time()
                        fn()
                        ms = (time.thread_time() - t0) * 1000
                        if r >= args.warmup:
                            per[v][what].append(ms)
            events_per_intake = len(intake_events(tpl, 0, "x", [("a" * 64, 1)] * 2, "t"))
            out: dict[str, Any] = {
                "rounds": args.rounds,
                "events_per_intake": events_per_intake,
                "thread_cpu_ms": {
                    v: {w: quartiles(x) for w, x in per[v].items()} for v in VARIANTS
                },
            }
            print(json.dumps(out, indent=1))
        finally:
            store.close()


if __name__ == "__main__":
    main()
