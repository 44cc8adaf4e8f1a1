"""The hub scale benchmark runs end to end, small: it fills a database, times each read that
grows with the hub's history, and prints one JSON object. Figures are not asserted (tests never
assert timings); the rows it filled and the answers the reads rest on are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
READS = {
    "scrape_stations_and_pages_missing",
    "scrape_notice_outbox",
    "dept_listing_first_page",
    "dept_listing_page_half_way",
    "dept_listing_rare_item",
    "dept_page_check",
    "cli_notice_counts_all_statuses",
}


def test_bench_fills_the_history_and_times_every_read(tmp_path: Path, pg_admin_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INTAKE_TEST_PG_URL": pg_admin_url}
    cmd = [sys.executable, str(ROOT / "bench" / "bench_hub_scale.py"), "--submissions", "2000"]
    done = subprocess.run(
        [*cmd, "--repeat", "2"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["rows"]["hub_submissions"] == 2000
    assert out["rows"]["hub_manifest_pages"] == 4000 and out["rows"]["hub_notices"] == 6000
    assert out["pages_missing"] == 2  # one page in a thousand was never sent
    assert set(out["reads"]) == READS
    for figures in out["reads"].values():
        assert 0 < figures["median_ms"] <= figures["max_ms"]
