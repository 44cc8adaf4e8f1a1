"""Kill -9 during an intake save, 100 trials: prints ONE JSON object of figures.

The window's save path (IntakeService) runs in a driver subprocess on one store and is killed
with SIGKILL at random points: after a random delay, or at the Nth SQL statement (anywhere, or
inside `finish`), COMMIT (before / after), page-file fsync or rename (tests/kill_intake.py). After
each kill the store is reopened and checked. Target (DESIGN §12): 0 lost, 0 half-written,
0 doubled, integrity_check ok in every trial, every acknowledged intake present.
Usage: python bench/bench_kill_intake.py [--trials 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yjs-kill-") as tmp:
        # The driver's keys: the test harness's file keyring in this run's own directory (the
        # application refuses plaintext keyrings; this one is never installed).
        os.environ["PYTHON_KEYRING_BACKEND"] = "tests.keyring_backend.TestFileKeyring"
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "xdg")
        os.environ["INTAKE_DATA_DIR"] = str(Path(tmp) / "data")
        sys.path.insert(0, str(ROOT))
        from tests.kill_intake import run_campaign

        started = time.monotonic()
        fig = run_campaign(Path(tmp) / "campaign", args.trials, seed=args.seed)
        out = fig.to_json()
        out["seconds"] = round(time.monotonic() - started, 1)
        out["target_met"] = (
            fig.lost == fig.half_written == fig.doubled == 0
            and fig.integrity_ok == fig.trials
            and fig.acknowledged_present == fig.acknowledged
        )
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out["target_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
