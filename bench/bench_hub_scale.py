"""The hub's reads that grow with its history, on a database holding a county's year (or a
province's, with --submissions): what each /metrics scrape reads (stations with their pages
missing, the notice outbox), a department's listing (first page, a page further on, a rare
item's page), a department's page check, and for contrast the full notice count
`intake hub notices` makes. Prints ONE JSON object: the rows filled, the database's size, and
per read the median and the worst of --repeat runs in milliseconds (wall time of the query as
the hub makes it, PostgreSQL's work included).

The rows are written with generate_series (what the hub's own writes would make, minus the
events, which none of these reads touch): 100 stations, N received submissions with 2 pages
each, a holder for every page but one in a thousand (named, never sent: "pages missing"), 3
notices per submission (almost all sent; a few failed or without phone), 30 % of the cases with
the item a department's key names.

PostgreSQL: INTAKE_TEST_PG_URL, else a throwaway cluster.
Usage: python bench/bench_hub_scale.py [--submissions 750000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from sync.hub import ops
from sync.hub.crypto import MasterKeys
from sync.hub.store import HubStore
from tests.sync_doubles import pg_database, pg_server

STATIONS = 100


def fill(store: HubStore, n: int) -> dict[str, int]:
    for i in range(STATIONS):
        store.issue_enroll_code(f"S{i:03d}")
    with store.engine.begin() as c:
        first = c.execute(text("SELECT min(id) FROM hub_stations")).scalar_one()
        # listed a second apart, the oldest a year ago; a case in three has the rare item
        c.execute(
            text(
                "INSERT INTO hub_submissions (id, station_id, number, stage, items_json,"
                " received_at, created_at, updated_at, listed_at)"
                " SELECT md5(g::text)::uuid::text, :first + g % :stations,"
                " 'S' || lpad((g % :stations)::text, 3, '0') || '-' || g, 'received',"
                ' CASE WHEN g % 10 < 3 THEN \'["hukou", "birth_cert"]\' ELSE \'["hukou"]\' END,'
                " now() - make_interval(secs => :n - g), now() - make_interval(secs => :n - g),"
                " now() - make_interval(secs => :n - g), now() - make_interval(secs => :n - g)"
                " FROM generate_series(1, :n) g"
            ),
            {"first": first, "stations": STATIONS, "n": n},
        )
        c.execute(
            text(
                "INSERT INTO hub_manifest_pages (submission_id, sha256, size, missing)"
                " SELECT md5(g::text)::uuid::text, md5(g::text || k) || md5(k || g::text),"
                " 150000, g % 1000 = 0 AND k = 'a'"
                " FROM generate_series(1, :n) g, (VALUES ('a'), ('b')) AS pages(k)"
            ),
            {"n": n},
        )
        c.execute(
            text(
                "INSERT INTO hub_page_holders (station_id, sha256)"
                " SELECT s.station_id, m.sha256 FROM hub_manifest_pages m"
                " JOIN hub_submissions s ON s.id = m.submission_id WHERE NOT m.missing"
                " ON CONFLICT DO NOTHING"
            )
        )
        c.execute(
            text(
                "INSERT INTO hub_notices (id, station_id, submission_id, kind, item_id,"
                " dedupe_key, phone, content, status, attempts, next_at, last_error, provider,"
                " provider_ref, created_at, sent_at, seq)"
                " SELECT md5(g::text || k)::uuid::text, s.station_id, s.id, k, 'hukou',"
                " md5(g::text || k), 'sealed', 'sealed',"
                " CASE WHEN g % 2000 = 0 THEN 'failed' WHEN g % 997 = 0 THEN 'no_phone'"
                " ELSE 'sent' END, 1, s.created_at, '', 'sms', '', s.created_at, s.created_at,"
                " g * 3 + ascii(k)"
                " FROM generate_series(1, :n) g"
                " JOIN hub_submissions s ON s.id = md5(g::text)::uuid::text,"
                " (VALUES ('accepted'), ('completed'), ('collected')) AS kinds(k)"
            ),
            {"n": n},
        )
        c.execute(text("ANALYZE"))
        counts = {
            table: int(c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in (
                "hub_submissions",
                "hub_manifest_pages",
                "hub_page_holders",
                "hub_notices",
            )
        }
        counts["database_mb"] = round(
            c.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20
        )
    return counts


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # caches warm, as on a hub that answers these every few seconds
    ms = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(ms), 2), "max_ms": round(max(ms), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--submissions", type=int, default=750_000, help="a county's year: 750 000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n = args.submissions

    masters = MasterKeys.parse("bench1:" + base64.b64encode(bytes(range(32))).decode())
    with pg_server() as admin, pg_database(admin, "hubscale") as url:
        store = HubStore(url, masters=masters)
        try:
            t0 = time.perf_counter()
            rows = fill(store, n)
            fill_s = round(time.perf_counter() - t0, 1)
            store.listing_lag = dt.timedelta(0)
            health = frozenset({"birth_cert"})
            middle = store.submissions(limit=1, after=None)["next"]
            for _ in range(max(1, n // 2 // 1000)):  # a cursor half-way through the year
                page = store.submissions(limit=1000, after=middle)
                if not page["more"]:
                    break
                middle = page["next"]
            g = max(1, n // 3)
            sha = (
                hashlib.md5(f"{g}a".encode()).hexdigest()
                + hashlib.md5(f"a{g}".encode()).hexdigest()
            )
            reads = {
                "scrape_stations_and_pages_missing": lambda: ops.stations(store),
                "scrape_notice_outbox": lambda: store.notice_counts(outbox_only=True),
                "dept_listing_first_page": lambda: store.submissions(limit=200),
                "dept_listing_page_half_way": lambda: store.submissions(limit=200, after=middle),
                "dept_listing_rare_item": lambda: store.submissions(limit=200, items=health),
                "dept_page_check": lambda: store.dept_may_read_page(sha, health),
                "cli_notice_counts_all_statuses": lambda: store.notice_counts(),
            }
            missing = sum(r["pages_missing"] for r in ops.stations(store))
            out: dict[str, Any] = {
                "submissions": n,
                "rows": rows,
                "fill_s": fill_s,
                "pages_missing": missing,
                "reads": {k: timed(fn, args.repeat) for k, fn in reads.items()},
            }
            print(json.dumps(out, indent=1))
        finally:
            store.close()


if __name__ == "__main__":
    main()
