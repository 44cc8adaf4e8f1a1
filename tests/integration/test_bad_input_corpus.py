"""Every file of the bad-input corpus (tests/corpus/manifest.json) through the real CLI, in a
subprocess as an administrator would run it: each must end with exit 1, the expected error code
and a Chinese message, never a traceback or an internal error."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _code(out: object) -> str | None:
    if not isinstance(out, dict):  # e.g. a ledger's [] from a store that should have been refused
        return None
    if isinstance(out.get("error"), dict):
        return out["error"].get("code")
    return out.get("code") or out.get("error_code")  # verify-receipt / id-check answers


def _message(out: object) -> str:
    if not isinstance(out, dict):
        return ""
    if isinstance(out.get("error"), dict):
        return str(out["error"].get("message", ""))
    return str(out.get("message") or out.get("error") or "")


def test_every_corpus_case_is_a_clear_error(tmp_path):
    cases = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["cases"]
    listed = {c["file"] for c in cases}
    on_disk = {
        str(p.relative_to(CORPUS))
        for p in CORPUS.rglob("*")
        if p.is_file() and p.suffix != ".py" and p.name != "manifest.json"
    }
    assert listed == on_disk  # no file without its expected code, no case without its file
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path / "data")}
    store = tmp_path / "store.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "app", "ledger", "--db", str(store), "--create", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    clear, tracebacks, wrong = 0, 0, []
    for n, case in enumerate(cases):
        src = CORPUS / case["file"]
        copy = tmp_path / f"{n}-{src.name}"
        shutil.copy(src, copy)  # the CLI never gets the committed file itself
        subs = {
            "{file}": str(copy),
            "{store}": str(store),
            "{out}": str(tmp_path / f"out{n}"),
            "{text}": src.read_text(encoding="utf-8").strip() if src.suffix == ".txt" else "",
        }
        argv = [subs.get(a, a) for a in case["argv"]]
        p = subprocess.run(
            [sys.executable, "-m", "app", *argv, "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if "Traceback" in p.stdout + p.stderr:
            tracebacks += 1
        try:
            out = json.loads(p.stdout)
        except ValueError:
            out = {}
        msg = _message(out)
        ok = (
            p.returncode == 1
            and _code(out) == case["code"]
            and CJK.search(msg) is not None
            and "Error" not in msg
            and "内部错误" not in msg
        )
        clear += ok
        if not ok:
            wrong.append((case["file"], p.returncode, _code(out), msg[:120], p.stderr[-300:]))
    print(f"{len(cases)} cases, {clear} clear errors, {tracebacks} tracebacks")
    assert wrong == [] and tracebacks == 0 and clear == len(cases)
