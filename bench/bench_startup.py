"""Cold start of `intake-window` to its login dialog, against a bare PySide6 window started the
same way (DESIGN §12: ≤ 1.5 × the bare window). Prints one JSON object.

Run from the repository root: ``.venv/bin/python bench/bench_startup.py [--runs 5]``.
With ``--frozen dist/yijianshi-intake`` (the PyInstaller bundle, installer/build.sh bundle) the
frozen window is timed too, the same way, beside the source start (DESIGN §12: frozen start
within 1.5 × the source start).

Each sample is a fresh interpreter (``python -c …``, QT_QPA_PLATFORM=offscreen) timed from
spawn to the line the child prints when its window has been painted for the first time. The
app child runs ``ui.main.main(["--db", DB, "--startup-probe"])`` against a prepared station
database: it prints ``login-shown`` on the login dialog's first paint and ``login-ready`` once the
store and catalog are open behind it (reported too, as `login_ready_ms`), then quits. One unmeasured
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
        ready: list[float] = []
        frozen: list[float] = []
        for _ in range(args.runs):
            bare.append(_run(BARE, [], env)["login-shown"])
            marks = _run(APP, [str(db)], env)
            shown.append(marks["login-shown"])
            if "login-ready" in marks:
                ready.append(marks["login-ready"])
            if frozen_cmd:
                frozen.append(_run("", [], env, frozen_cmd)["login-shown"])
    bare_ms = statistics.median(bare)
    shown_ms = statistics.median(shown)
    ready_ms = statistics.median(ready) if ready else None
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
                **frozen_figures,
                "samples_ms": {
                    "bare": [round(x, 1) for x in bare],
                    "login_shown": [round(x, 1) for x in shown],
                    "login_ready": [round(x, 1) for x in ready],
                },
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
