"""installer/debian-setup.sh: a wrong mode stops before anything is installed; `run` sets up
once and later starts the installed client without apt (root) or pip (registries). apt-get,
sudo and the venv's programs are stand-ins that record their calls."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tool(path: Path, log: Path, name: str) -> None:
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _checkout(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    repo = tmp_path / "repo"
    (repo / "installer").mkdir(parents=True)
    (repo / "requirements").mkdir()
    shutil.copy(ROOT / "installer" / "debian-setup.sh", repo / "installer")
    shutil.copy(ROOT / "pyproject.toml", repo)
    for lock in ("client.lock", "ci.lock"):
        shutil.copy(ROOT / "requirements" / lock, repo / "requirements")
    log = tmp_path / "calls.log"
    log.touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("apt-get", "sudo"):
        _tool(bin_dir / name, log, name)
    venv = repo / ".venv" / "bin"
    venv.mkdir(parents=True)
    _tool(venv / "python", log, "venv-python")
    _tool(venv / "intake-window", log, "intake-window")
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    return repo, log, env


def _run(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(repo / "installer" / "debian-setup.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_unknown_mode_fails_before_installing_anything(tmp_path: Path) -> None:
    repo, log, env = _checkout(tmp_path)
    done = _run(repo, env, "bogus")
    assert done.returncode == 2
    assert "usage" in done.stderr
    assert log.read_text() == ""  # no apt-get, no pip, nothing started


def test_run_sets_up_once_then_starts_without_apt_or_pip(tmp_path: Path) -> None:
    repo, log, env = _checkout(tmp_path)
    first = _run(repo, env, "run")
    assert first.returncode == 0, first.stderr
    calls = log.read_text().splitlines()
    assert any(c.startswith(("apt-get install", "sudo apt-get install")) for c in calls)
    assert any("--require-hashes -r requirements/client.lock" in c for c in calls)
    assert calls[-1] == "intake-window --demo"

    log.write_text("")
    again = _run(repo, env, "run", "--print-to", "/tmp/out")
    assert again.returncode == 0, again.stderr
    assert log.read_text().splitlines() == ["intake-window --demo --print-to /tmp/out"]
