"""One window per store, with two real processes: a second `intake-window` on the same database is
refused with the holder named and exits 1 without touching the store; once the first is killed
with SIGKILL (its lock file left behind), a new one starts and logs in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _env(data: Path) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", INTAKE_DATA_DIR=str(data))


def _window(db: Path, env: dict[str, str], *probe: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ui.main", "--db", str(db), "--idle-lock", "0", *probe],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _probe(db: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    proc = _window(db, env, "--startup-probe")
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, [line.strip() for line in out.splitlines()]


def test_a_second_window_on_the_same_store_is_refused_until_the_first_dies(tmp_path):
    from app.context import build_context
    from app.demo import setup_demo_station

    db = tmp_path / "station.sqlite3"
    ctx = build_context(db)
    setup_demo_station(ctx.staff)
    ctx.close()
    env = _env(tmp_path)
    lock = db.with_name(db.name + ".lock")

    first = _window(db, env)
    try:
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().split("\n", 1)[0] == str(first.pid)):
            assert first.poll() is None, "the first window ended"
            assert time.monotonic() < deadline, "the first window never took the lock"
            time.sleep(0.1)
        before = db.stat().st_mtime_ns

        code, lines = _probe(db, env)
        assert code == 1
        assert "startup-probe: failed store.in_use" in lines
        assert "startup-probe: store-open" not in lines
        assert db.stat().st_mtime_ns == before  # refused before the store was opened
        log = (tmp_path / "logs" / "intake.log").read_text(encoding="utf-8")
        assert f"store in use by process {first.pid} on {socket.gethostname()}" in log
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)

    assert lock.exists()  # SIGKILL: no clean-up ran, the file stays
    code, lines = _probe(db, env)
    assert code == 0, lines
    assert "startup-probe: store-open" in lines
    assert "startup-probe: logged-in" in lines
