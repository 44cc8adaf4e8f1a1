"""Core benchmark: prints one JSON object.

- checklist evaluation time for the largest bundle (most material references), median of many
- time to save a received intake through the service (start → applicant → choice → answers →
  marks → finish, each a durable transaction), and the finish transaction alone
- day-ledger query time and lookup by ID number on databases of 10k, 100k and 1M submissions
  made by `intake demo-data` (spread over ~3 years, ~1000 a day, like a busy county centre)

Databases are cached in bench/out/ (1M takes ~20 minutes to generate). Targets: DESIGN §12.
Usage: python bench/bench_core.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import checklist as engine
from app.catalog_load import load_catalog
from app.clock import STATION_TZ
from app.context import build_context
from app.demo import demo_secrets, generate, setup_demo_station
from app.views import ApplicantInput

OUT = Path(__file__).resolve().parent / "out"


def median_ms(fn, repeat: int = 5):
    """(median milliseconds of REPEAT calls after one warm-up call, the last result)."""
    fn()  # warm the page cache once
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2), result


def window_day_ledger(ctx, day: dt.date, screen: int = 40) -> list:
    """The day's ledger as the window reads it: the list without applicant rows, then the
    applicant cells of the first screen, as they are painted."""
    rows = ctx.queries.ledger(day, applicants=False)
    ctx.queries.applicant_cells([r.submission_id for r in rows[:screen]])
    return rows


def id_lookup_median_ms(ctx, count: int = 20) -> float:
    """Median time to find an intake by the applicant's ID number (blind index), over the
    COUNT newest applicants; each must be found."""
    from sqlalchemy import select

    from local_db.models import Applicant

    with ctx.sessions() as s:
        ids = list(
            s.scalars(
                select(Applicant.resident_id)
                .where(Applicant.resident_id_bidx.is_not(None))
                .order_by(Applicant.id.desc())
                .limit(count)
            )
        )
    lookups = []
    for rid in ids:
        t = time.perf_counter()
        found = ctx.queries.search(rid)
        lookups.append((time.perf_counter() - t) * 1000)
        assert found, "lookup by ID number found nothing"
    return round(statistics.median(lookups), 2)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def bench_checklist() -> dict:
    cat = load_catalog()
    largest = max(cat.bundles, key=lambda b: sum(len(i.materials) for i in b.items))
    items = [i.id for i in largest.items]
    answers = {}
    for q in largest.questions:
        answers[q.id] = (
            True
            if q.type == "bool"
            else (q.choices[0][0] if q.type == "choice" else (q.max or 1000))
        )
    result = engine.evaluate(largest, items, answers, {}, catalog=cat, strict=False)
    marks = {m.id: "collected" for m in result.materials if m.produced_by is None}
    times = timed(lambda: engine.evaluate(largest, items, answers, marks, catalog=cat), 2000)
    return {
        "bundle": largest.id,
        "items": len(items),
        "material_refs": sum(len(i.materials) for i in largest.items),
        "merged_materials": len(result.materials),
        "median_ms": round(statistics.median(times), 4),
        "p95_ms": round(sorted(times)[int(len(times) * 0.95)], 4),
        "target_ms": 1.0,
    }


def bench_save(tmp: Path) -> dict:
    ctx = build_context(tmp / "save.sqlite3")
    setup_demo_station(ctx.staff)
    clerk = ctx.staff.login("wangfang", "clerk1234")
    totals, finishes = [], []
    for _ in range(30):
        t = time.perf_counter()
        sid = ctx.intake.start(clerk)
        ctx.intake.set_applicant(
            clerk,
            sid,
            ApplicantInput(
                name="张三",
                resident_id="11010519491231002X",
                phone="13812345678",
                sources={"name": "card"},
            ),
        )
        ctx.intake.choose(clerk, sid, "新生儿出生")
        ctx.intake.answer_many(
            clerk,
            sid,
            {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True},
        )
        lines = ctx.intake.checklist(sid).materials
        ctx.intake.mark_many(
            clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None}
        )
        f = time.perf_counter()
        ctx.intake.finish(clerk, sid)
        end = time.perf_counter()
        totals.append((end - t) * 1000)
        finishes.append((end - f) * 1000)
    ctx.close()
    return {
        "whole_intake_median_ms": round(statistics.median(totals), 2),
        "finish_transaction_median_ms": round(statistics.median(finishes), 2),
        "note": "every step is a durable commit (WAL, synchronous=FULL)",
    }


def bench_ledger(size: int) -> dict:
    OUT.mkdir(exist_ok=True)
    db = OUT / f"ledger-{size}.sqlite3"
    made = False
    secrets = demo_secrets(OUT)  # demo data: the OS keyring if any, else the demo key file
    if not db.exists():
        t = time.perf_counter()
        ctx = build_context(db, secrets=secrets)
        generate(ctx.sessions, ctx.catalogs.current, size, days=max(30, size // 1000), seed=size)
        ctx.close()
        made = round(time.perf_counter() - t, 1)
    ctx = build_context(db, secrets=secrets)
    today = dt.datetime.now(STATION_TZ).date()
    # demo-data puts more intakes on recent days: measure a busy recent day and quieter ones
    per_day = []
    for offset in (1, 7, 20, 300):
        day = today - dt.timedelta(days=offset)
        ms, rows = median_ms(lambda day=day: window_day_ledger(ctx, day))
        per_day.append({"days_ago": offset, "rows": len(rows), "median_ms": ms})
    lookup_ms = id_lookup_median_ms(ctx)
    ctx.close()
    return {
        "submissions": size,
        "generated_seconds": made,
        "day_ledger": per_day,
        "lookup_by_id_number_median_ms": lookup_ms,
        "db_bytes": db.stat().st_size,
        "targets_ms": {"day_ledger": 50, "lookup": 20},
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="10000,100000,1000000")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    try:
        out = {
            "checklist_largest_bundle": bench_checklist(),
            "save_received_intake": bench_save(tmp),
            "ledger": [bench_ledger(int(s)) for s in args.sizes.split(",") if s],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
