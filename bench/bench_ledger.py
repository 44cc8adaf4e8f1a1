"""Issue 6 benchmarks: the supervisor's ledger with personal data encrypted at rest.

    python bench/bench_ledger.py [--size 1000000] [--memory-rows 10000]

1. Ledger queries on the demo database of SIZE submissions (bench/out/ledger-SIZE.sqlite3, made
   by `bench_core.py` or here; an older one is upgraded by the migrations on open): the day
   ledger as the window reads it (the list, then the applicants of the first screen) and with
   every applicant decrypted (what an export reads), for a quiet and the busiest day; the rows
   behind the day's, week's and month's figures and their drill-down list; the reconciliation of
   a day, week and month; lookups by ID number (blind index).
2. Memory: the real window, offscreen, logged in as the supervisor, with a ledger of
   MEMORY_ROWS rows on one day open (RSS measured in a fresh process).

Prints JSON. Targets (DESIGN §12): day ledger < 50 ms, lookup < 20 ms, ≤ 250 MB RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from bench.bench_core import id_lookup_median_ms, window_day_ledger
from bench.bench_core import median_ms as _ms


def _supervisor(ctx: Any) -> Any:
    """The demo station's supervisor (demo-data makes clerks only): created once, then logged in."""
    from app.demo import DEMO_ACCOUNTS, setup_demo_station
    from app.security import hash_password
    from local_db.engine import write_tx
    from local_db.models import Staff, Station

    setup_demo_station(ctx.staff)
    username, name, role, password = next(a for a in DEMO_ACCOUNTS if a[2] == "supervisor")
    with write_tx(ctx.sessions) as s:
        if s.query(Staff).filter_by(username=username).first() is None:
            station = s.query(Station).filter_by(is_local=True).one()
            s.add(
                Staff(
                    station_id=station.id,
                    username=username,
                    display_name=name,
                    role=role,
                    password_hash=hash_password(password),
                    active=True,
                    failed_logins=0,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
    return ctx.staff.login(username, password)


def bench_queries(size: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.clock import STATION_TZ
    from app.context import build_context
    from app.demo import demo_secrets, generate
    from app.reports import Period
    from local_db.models import Submission

    OUT.mkdir(exist_ok=True)
    db = OUT / f"ledger-{size}.sqlite3"
    secrets = demo_secrets(OUT)
    made: float | bool = False
    t = time.perf_counter()
    ctx = build_context(db, secrets=secrets)
    opened_s = round(time.perf_counter() - t, 1)  # includes migration 0004 for an old database
    if not ctx.queries.ledger(dt.datetime.now(STATION_TZ).date() - dt.timedelta(days=1)):
        with ctx.sessions() as s:
            empty = not s.scalar(select(func.count()).select_from(Submission))
        if empty:
            t = time.perf_counter()
            generate(
                ctx.sessions, ctx.catalogs.current, size, days=max(30, size // 1000), seed=size
            )
            made = round(time.perf_counter() - t, 1)
    actor = _supervisor(ctx)
    with ctx.sessions() as s:
        raw = s.connection().exec_driver_sql("SELECT name FROM applicants LIMIT 1").scalar()
        newest = s.scalar(select(func.max(Submission.local_date)))
    encrypted = isinstance(raw, bytes)
    last = dt.date.fromisoformat(newest)
    now = dt.datetime.combine(last, dt.time(18), STATION_TZ)

    days = []
    for offset in (0, 300):  # the newest (busy) day and a quiet one
        day = last - dt.timedelta(days=offset)

        ms, rows = _ms(lambda day=day: window_day_ledger(ctx, day))
        full_ms, _ = _ms(lambda day=day: ctx.queries.ledger(day))
        days.append(
            {
                "day": day.isoformat(),
                "rows": len(rows),
                "median_ms": ms,
                "every_applicant_decrypted_median_ms": full_ms,
            }
        )
    periods = []
    for kind in ("day", "week", "month"):
        period = Period.of(kind, last)  # type: ignore[arg-type]
        rec_ms, _ = _ms(lambda period=period: ctx.reports.reconcile(actor, period, now), repeat=3)
        rows_ms, rows = _ms(
            lambda period=period: ctx.reports.intakes_for(actor, "all", period, now), repeat=3
        )
        list_ms, _ = _ms(lambda rows=rows: ctx.queries.rows_for(rows, applicants=False), repeat=3)
        periods.append(
            {
                "period": kind,
                "rows": len(rows),
                "rows_median_ms": rows_ms,
                "drill_down_list_median_ms": list_ms,
                "reconciliation_median_ms": rec_ms,
            }
        )
    lookup_ms = id_lookup_median_ms(ctx)
    ctx.close()
    return {
        "submissions": size,
        "encrypted_at_rest": encrypted,
        "generated_seconds": made,
        "open_seconds": opened_s,
        "day_ledger": days,
        "periods": periods,
        "lookup_by_id_number_median_ms": lookup_ms,
        "targets_ms": {"day_ledger": 50, "lookup": 20},
    }


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def memory_child(db: str, rows: int) -> None:
    """In a fresh process: the window with the ledger of ROWS rows open, RSS in MB."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.clock import STATION_TZ
    from app.context import build_context
    from app.demo import demo_secrets
    from app.options import Options
    from ui.shell import AppShell
    from ui.tasks import InlineTaskRunner

    app = QApplication([])
    base = _rss_mb()
    ctx = build_context(Path(db), secrets=demo_secrets(Path(db).parent))
    actor = _supervisor(ctx)
    shell = AppShell(
        Options.of(idle_lock_minutes=0), InlineTaskRunner(), context_factory=lambda: ctx
    )
    shell.start()
    while not shell.login.ready:
        app.processEvents()
    shell._on_login_login_requested(
        actor.username, "super1234"
    )  # what the login dialog's signal does
    window = shell.window
    assert window is not None
    window.card_timer.stop()
    window.show()
    window.tabs.setCurrentWidget(window.ledger)
    today = dt.datetime.now(STATION_TZ).date()
    from PySide6.QtCore import QDate

    window.ledger.day.setDate(QDate(today.year, today.month, today.day))
    window.ledger.refresh()
    for _ in range(50):
        app.processEvents()
    shown = len(window.ledger.model.rows)
    window.ledger.table.scrollToBottom()  # rows painted from the far end too
    for _ in range(50):
        app.processEvents()
    time.sleep(1.0)
    app.processEvents()
    print(json.dumps({"rows_open": shown, "rss_mb": _rss_mb(), "rss_bare_qapplication_mb": base}))
    window.shutdown()


def bench_memory(rows: int) -> dict[str, Any]:
    from app.context import build_context
    from app.demo import demo_secrets, generate

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mem.sqlite3"
        ctx = build_context(db, secrets=demo_secrets(Path(tmp)))
        generate(
            ctx.sessions,
            ctx.catalogs.current,
            rows,
            days=1,
            seed=7,
            now=dt.datetime.now(dt.UTC),
        )
        ctx.close()
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(db), str(rows)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["target_mb"] = 250
    return result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--memory-rows", type=int, default=10_000)
    p.add_argument("--memory-child", nargs=2, metavar=("DB", "ROWS"))
    args = p.parse_args()
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return
    print(
        json.dumps(
            {"ledger": bench_queries(args.size), "memory": bench_memory(args.memory_rows)},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
