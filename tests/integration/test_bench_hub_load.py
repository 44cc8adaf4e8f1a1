"""The hub load benchmark runs end to end (issue 14: "the load benchmark runs and prints the
figures"): a tiny run — 4 stations, 2 hub processes, PostgreSQL and the S3 server on loopback —
prints one JSON object with every figure the issue names, and its own check of the database and
the page store finds nothing lost or stored twice. Figures are not asserted (tests never assert
timings); their presence and their consistency are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_prints_every_figure_and_loses_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    cmd = [sys.executable, str(ROOT / "bench" / "bench_hub_load.py"), "--stations", "4"]
    cmd += ["--hubs", "2", "--duration", "3", "--think", "0.5", "--idle", "0.5"]
    cmd += ["--capacity", "2", "--capacity-stations", "1", "--warmup", "1"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["stations"] == 4 and out["hub_processes"] == 2
    assert out["blob_backend"].startswith("s3") and out["database"] == "postgresql"
    for key in ("submissions_per_s", "events_per_s", "pages_per_s", "hub_cpu_ms_per_submission"):
        assert out[key] > 0, key
    # The default protocol: one POST /v1/intakes per intake, which the event figures then time.
    assert out["protocol"] == "combined"
    assert out["latency_ms"]["intakes"]["n"] == out["submissions"]
    assert {"p50", "p95", "p99"} <= set(out["latency_ms"]["intakes"])
    assert out["events_p95_ms"] == out["latency_ms"]["intakes"]["p95"]
    assert out["submissions"] > 0 and out["events_per_s"] > out["submissions_per_s"]
    assert out["errors"] == 0, out["error_kinds"]
    assert (out["lost"], out["duplicated"]) == (0, 0)
    assert out["hub_idle_cpu_ms_per_s"] >= 0
    cap = out["capacity"]
    assert cap["stations"] == 2 and cap["pages_per_submission"] == 2
    assert cap["submissions"] > 0 and cap["hub_cpu_ms_per_submission"] > 0
    assert cap["errors"] == 0 and cap["p95_ms"]["intakes"] is not None
