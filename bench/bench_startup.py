"""Cold start of `intake-window` to its login dialog, against a bare PySide6 window started the
same way (DESIGN §12: shown ≤ 1.5 ×, ready to type ≤ 3 × the bare window). Prints one JSON object.

Run from the repository root: ``.venv/bin/python bench/bench_startup.py [--runs 5]``.
With ``--frozen dist/yijianshi-intake`` (the PyInstaller bundle, installer/build.sh bundle) the
frozen window is timed too, the same way, beside the source start (DESIGN §12: frozen start
within 1.5 × the source start).

Each sample is a fresh interpreter (``python -c …``, QT_QPA_PLATFORM=offscreen) timed from
spawn to the line the child prints when its window has been painted for the first time. The
app child runs ``ui.main.main(["--db", DB, "--startup-probe"])`` against a prepared station
database: it prints ``login-shown`` on the login dialog's first paint; then (ui/startup_probe.py)
it types a demo account's name and password and presses Enter through Qt's event queue, as a
keyboard would. ``login-ready`` is printed when the typed name has reached the field with the
login button enabled (the dialog takes keys and the login: a login sent before the store is open
goes through the moment it is), ``store-open`` when the store is open behind the dialog, and
``logged-in`` when that instant login has been checked against the store, then it quits. So
`logged_in_ms` is the worst case a clerk can meet: a login typed in zero time. One unmeasured
warm-up of each fills the OS file cache; the samples alternate bare / app.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 1.5
READY_TARGET_RATIO = 3.0
MARKS = ("login-ready", "store-open", "logged-in")

BARE = """
import sys
from PySide6.QtWidgets import QApplication, QDialog
class Probe(QDialog):
    painted = False
    def paintEvent(self, event):
        super().paintEvent(event)
        if not self.painted:
            self.painted = True
            print("startup-probe: login-shown", flush=True)
            app.quit()
app = QApplication(sys.argv[:1])
w = Probe()
w.setWindowTitle("bare")
w.show()
sys.exit(app.exec())
"""

APP = """
import sys
from ui.main import main
sys.exit(main(["--db", sys.argv[1], "--startup-probe", "--idle-lock", "0"]))
"""


def _run(
    code: str, args: list[str], env: dict[str, str], command: list[str] | None = None
) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        command or [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=str(ROOT),
        text=True,
    )
    marks: dict[str, float] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("startup-probe: "):
            marks[line.split(": ", 1)[1].strip()] = (time.perf_counter() - start) * 1000
    proc.wait(timeout=60)
    if "login-shown" not in marks:
        raise RuntimeError(f"child did not report its window (exit {proc.returncode})")
    return marks


def _prepare(db: Path) -> None:
    """A set-up station, as on a normal morning (the first-run wizard is not what we time)."""
    from app.context import build_context
    from app.demo import setup_demo_station

    ctx = build_context(db)
    setup_demo_station(ctx.staff)
    ctx.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--frozen", type=Path, help="the frozen bundle's folder (intake-window in it)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        _prepare(db)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INTAKE_DATA_DIR=tmp)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        _run(BARE, [], env)  # warm-up: file cache, font cache
        _run(APP, [str(db)], env)
        frozen_cmd = None
        if args.frozen:
            exe = args.frozen / "intake-window"
            frozen_cmd = [str(exe), "--db", str(db), "--startup-probe", "--idle-lock", "0"]
            _run("", [], env, frozen_cmd)  # warm-up
        bare: list[float] = []
        shown: list[float] = []
        later: dict[str, list[float]] = {m: [] for m in MARKS}
        frozen: list[float] = []
        for _ in range(args.runs):
            bare.append(_run(BARE, [], env)["login-shown"])
            marks = _run(APP, [str(db)], env)
            shown.append(marks["login-shown"])
            for mark in MARKS:
                if mark in marks:
                    later[mark].append(marks[mark])
            if frozen_cmd:
                frozen.append(_run("", [], env, frozen_cmd)["login-shown"])
    bare_ms = statistics.median(bare)
    shown_ms = statistics.median(shown)
    ready = later["login-ready"]
    ready_ms = statistics.median(ready) if len(ready) == args.runs else None
    store_ms = statistics.median(later["store-open"]) if later["store-open"] else None
    logged_ms = statistics.median(later["logged-in"]) if later["logged-in"] else None
    frozen_ms = statistics.median(frozen) if frozen else None
    frozen_figures = (
        {
            "frozen_login_shown_ms": round(frozen_ms, 1),
            "frozen_to_source_ratio": round(frozen_ms / shown_ms, 3),
            "frozen_meets_target": frozen_ms / shown_ms <= TARGET_RATIO,
            "frozen_samples_ms": [round(x, 1) for x in frozen],
        }
        if frozen_ms is not None
        else {}
    )
    print(
        json.dumps(
            {
                "benchmark": "cold start to login dialog shown",
                "runs": args.runs,
                "bare_window_ms": round(bare_ms, 1),
                "login_shown_ms": round(shown_ms, 1),
                "ratio": round(shown_ms / bare_ms, 3),
                "target_ratio": TARGET_RATIO,
                "meets_target": shown_ms / bare_ms <= TARGET_RATIO,
                "login_ready_ms": round(ready_ms, 1) if ready_ms is not None else None,
                "ready_ratio": round(ready_ms / bare_ms, 3) if ready_ms is not None else None,
                "ready_target_ratio": READY_TARGET_RATIO,
                "ready_meets_target": ready_ms is not None
                and ready_ms / bare_ms <= READY_TARGET_RATIO,
                "store_open_ms": round(store_ms, 1) if store_ms is not None else None,
                "logged_in_ms": round(logged_ms, 1) if logged_ms is not None else None,
                "logged_in_ratio": round(logged_ms / bare_ms, 3) if logged_ms else None,
                **frozen_figures,
                "samples_ms": {
                    "bare": [round(x, 1) for x in bare],
                    "login_shown": [round(x, 1) for x in shown],
                    **{m.replace("-", "_"): [round(x, 1) for x in later[m]] for m in MARKS},
                },
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
