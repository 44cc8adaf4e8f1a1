"""Kill -9 during an intake save: the campaign behind tests/integration/test_kill_intake.py (a short
run) and bench/bench_kill_intake.py (100 trials, JSON figures).

A driver process runs the window's save path (IntakeService: applicant, bundle, answers, marks,
finish, then a page per collected paper material) in a loop on one store and prints what the
clerk would have been shown: `ACK <number> <sid>` once `finish` returned (the receipt number is on
screen), `PAGE <sid> <sha256>` once a page is stored. It announces `FINISH <sid>` / `PAGE-START
<sid>` before those calls, so the parent knows where each kill landed. It is killed with SIGKILL,
either by the parent after a random delay or by itself at the Nth occurrence of a named point:

- `stmt`: before the Nth SQL statement (anywhere in a transaction, finish's included);
  `finish_stmt`: before the Nth statement run inside `finish` (its transaction and commit);
- `commit`: just before the Nth COMMIT is sent; `after_commit`: just after it returned;
- `fsync`: before the Nth os.fsync of a page file or its directory; `replace`: before the Nth
  rename of a page's temporary file into place.

After each kill the parent reopens the store as a restarted program would and checks: SQLite
integrity_check, every acknowledged intake and page present (lost), nothing half-written (a page
row without a readable page, a finished intake without its event or its event without a number,
a gap in the event sequence, a broken audit chain), nothing doubled (a number twice, two finish
events for one intake, more page rows than pages attempted). The same store carries on into the
next trial, as a counter's does.

Run the driver by hand: python -m tests.kill_intake drive DB CATALOG MODE N SEED
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = (
    "delay",
    "stmt",
    "finish_stmt",
    "commit",
    "after_commit",
    "fsync",
    "replace",
    "finish_stmt",
)
# Ranges for N: a loop of one intake runs a few hundred statements, ~15 commits, 4 page
# fsyncs/renames; finish_stmt counts only statements run inside `finish`.
RANGES = {
    "stmt": (1, 900),
    "finish_stmt": (1, 40),
    "commit": (1, 60),
    "after_commit": (1, 60),
    "fsync": (1, 24),
    "replace": (1, 12),
}
_IN_FINISH = [False]


# ----------------------------------------------------------------------------- driver (child)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(mode: str, n: int) -> None:
    """Kill this process at the Nth occurrence of MODE's point."""
    count = [0]

    def tick() -> None:
        count[0] += 1
        if count[0] >= n:
            _die()

    if mode in ("stmt", "finish_stmt", "commit", "after_commit"):
        from sqlalchemy import Engine, event
        from sqlalchemy.orm import Session

        if mode == "stmt":
            event.listen(Engine, "before_cursor_execute", lambda *a, **k: tick())
        elif mode == "finish_stmt":
            event.listen(Engine, "before_cursor_execute", lambda *a, **k: _IN_FINISH[0] and tick())
        elif mode == "commit":
            event.listen(Engine, "commit", lambda conn: tick())
        else:
            event.listen(Session, "after_commit", lambda session: tick())
    elif mode in ("fsync", "replace"):
        import local_db.attachments as attachments_mod

        real = getattr(os, mode)

        def wrapped(*args: Any, **kw: Any) -> Any:
            tick()
            return real(*args, **kw)

        class _Os:  # the attachment store's view of `os`, with one call wrapped
            def __getattr__(self, name: str) -> Any:
                return wrapped if name == mode else getattr(os, name)

        attachments_mod.os = _Os()  # type: ignore[assignment]


def drive(db: str, catalog: str, mode: str, n: int, seed: int) -> None:
    from app.context import build_context
    from tests.sync_doubles import complete_newborn_draft

    rng = random.Random(seed)
    ctx = build_context(db, catalog_path=catalog)
    clerk = ctx.staff.login("clerkxx01", "clerk1234")
    if mode != "delay":
        _arm(mode, n)
    print("READY", flush=True)
    while True:
        sid = complete_newborn_draft(ctx, clerk)
        print(f"FINISH {sid}", flush=True)
        _IN_FINISH[0] = True
        r = ctx.intake.finish(clerk, sid)
        _IN_FINISH[0] = False
        print(f"ACK {r.number} {sid}", flush=True)
        for m in ctx.intake.checklist(sid).materials:
            if m.state == "collected" and m.material.source != "window" and m.copies > 0:
                data = rng.randbytes(rng.randint(2000, 30000))
                print(f"PAGE-START {sid}", flush=True)
                page = ctx.pages.attach_page(clerk, sid, m.id, data, "image/jpeg")
                print(f"PAGE {sid} {page.sha256}", flush=True)


# ----------------------------------------------------------------------------- campaign (parent)


@dataclass
class Figures:
    trials: int = 0
    kills_in_finish: int = 0  # the kill landed between FINISH and its ACK
    kills_in_page_write: int = 0  # between PAGE-START and its PAGE
    kills_elsewhere: int = 0  # between calls, or before the first intake
    acknowledged: int = 0  # receipt numbers shown, all trials
    pages_acknowledged: int = 0
    lost: int = 0
    half_written: int = 0
    doubled: int = 0
    integrity_ok: int = 0  # trials whose integrity_check said ok
    acknowledged_present: int = 0  # acknowledged intakes found after the last restart
    stray_temp_files: int = 0  # page temp files a kill left behind (never read; not data)
    by_mode: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = self.problems[:20]
        return out


def make_store(base: Path) -> tuple[Path, Path]:
    """A station store (station XX01, clerk clerkxx01) and the 新生儿出生 catalog it uses."""
    from app.clock import SystemClock
    from tests.sync_doubles import small_catalog, station

    catalog = small_catalog(base / "catalog")
    ctx, _clerk = station(base / "st", "XX01", SystemClock(), catalog)
    db = ctx.db_path
    ctx.close()
    return db, catalog


def _run_child(
    db: Path, catalog: Path, mode: str, n: int, seed: int, delay: float, timeout: float
) -> list[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.kill_intake",
                "drive",
                str(db),
                str(catalog),
                mode,
                str(n),
                str(seed),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert child.stdout is not None
        lines: list[str] = []
        ready = threading.Event()

        def read() -> None:  # every line the child wrote before it died, in order
            assert child.stdout is not None
            for line in child.stdout:
                lines.append(line.strip())
                if line.startswith("READY"):
                    ready.set()
            ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        ready.wait(timeout)
        if mode == "delay":
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(delay)
        else:  # the child kills itself at its armed point
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join(timeout)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if child.returncode != -signal.SIGKILL:
        raise RuntimeError(f"driver ended with {child.returncode}, not SIGKILL: {text[-2000:]}")
    return [x for x in lines if x]


def _check(
    db: Path,
    catalog: Path,
    acks: dict[str, str],
    pages: dict[str, list[str]],
    attempted: Counter[str],
    fig: Figures,
) -> None:
    """Reopen the store as a restart would and count what is lost, half-written or doubled."""
    from sqlalchemy import select

    from app import audit
    from app.context import build_context
    from local_db.models import Attachment, Event, Submission

    con = sqlite3.connect(db)
    ok = con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    fig.integrity_ok += ok
    if not ok:
        fig.problems.append("integrity_check failed")
    ctx = build_context(db, catalog_path=catalog)
    try:
        with ctx.sessions() as s:
            subs = {sub.id: sub for sub in s.scalars(select(Submission))}
            finish_events = Counter(
                sid
                for (sid,) in s.execute(
                    select(Event.submission_id).where(Event.type.in_(("received", "notified")))
                )
            )
            seqs = [q for (q,) in s.execute(select(Event.station_seq).order_by(Event.station_seq))]
            rows = list(s.scalars(select(Attachment).where(Attachment.removed.is_(False))))
            numbers = Counter(sub.number for sub in subs.values() if sub.number)
            audit_problems = audit.verify(s)
            fig.acknowledged_present = sum(
                1 for number, sid in acks.items() if sid in subs and subs[sid].number == number
            )
        lost = [
            n
            for n, sid in acks.items()
            if sid not in subs or subs[sid].number != n or subs[sid].state in ("draft", "discarded")
        ]
        stored = {(a.submission_id, a.sha256) for a in rows}
        lost += [
            f"page {sid}" for sid, shas in pages.items() for sha in shas if (sid, sha) not in stored
        ]
        half: list[str] = []
        for a in rows:
            try:
                ctx.attachments.get(a.sha256)
            except Exception:
                half.append(f"page row without its page ({a.submission_id})")
        for sid, sub in subs.items():
            if sub.number and not finish_events[sid]:
                half.append(f"number without its finish event ({sub.number})")
            if finish_events[sid] and not sub.number:
                half.append(f"finish event without a number ({sid})")
        if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            half.append("gap in the event sequence")
        if audit_problems:
            half.append(f"audit chain: {audit_problems[0].code}")
        doubled = [f"number {n} x{c}" for n, c in numbers.items() if c > 1]
        doubled += [f"{c} finish events for {sid}" for sid, c in finish_events.items() if c > 1]
        per_sub = Counter(a.submission_id for a in rows)
        doubled += [
            f"{c} page rows for {attempted[sid]} pages tried ({sid})"
            for sid, c in per_sub.items()
            if c > attempted[sid]
        ]
        # Every check covers the whole store (all trials so far): the figures are the current state.
        fig.lost, fig.half_written, fig.doubled = len(lost), len(half), len(doubled)
        fig.problems = [f"lost {x}" for x in lost] + half + doubled
        fig.stray_temp_files = len(list((ctx.files_dir / "blobs").rglob(".tmp-*")))
    finally:
        ctx.close()


def run_campaign(base: Path, trials: int, seed: int = 1, timeout: float = 60.0) -> Figures:
    base.mkdir(parents=True, exist_ok=True)
    db, catalog = make_store(base)
    rng = random.Random(seed)
    fig = Figures()
    acks: dict[str, str] = {}  # number -> submission id, every trial
    pages: dict[str, list[str]] = {}
    attempted: Counter[str] = Counter()
    for trial in range(trials):
        mode = MODES[trial % len(MODES)]
        lo, hi = RANGES.get(mode, (1, 1))
        n = rng.randint(lo, hi)
        lines = _run_child(
            db, catalog, mode, n, rng.randrange(1 << 30), rng.uniform(0.05, 2.5), timeout
        )
        last = ""
        for line in lines:
            word, *rest = line.split()
            if word == "ACK":
                acks[rest[0]] = rest[1]
            elif word == "PAGE":
                pages.setdefault(rest[0], []).append(rest[1])
            elif word == "PAGE-START":
                attempted[rest[0]] += 1
            if word in ("FINISH", "ACK", "PAGE-START", "PAGE"):
                last = word
        fig.kills_in_finish += last == "FINISH"
        fig.kills_in_page_write += last == "PAGE-START"
        fig.kills_elsewhere += last not in ("FINISH", "PAGE-START")
        fig.by_mode[mode] = fig.by_mode.get(mode, 0) + 1
        fig.trials += 1
        _check(db, catalog, acks, pages, attempted, fig)
    fig.acknowledged = len(acks)
    fig.pages_acknowledged = sum(len(v) for v in pages.values())
    return fig


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "drive":
        drive(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        print(json.dumps({"usage": "python -m tests.kill_intake drive DB CATALOG MODE N SEED"}))
        sys.exit(2)
