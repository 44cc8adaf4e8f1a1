"""Mutation testing of the domain core: how many small bugs planted in the code do its tests catch?

For each module of the domain core, mutmut (3.x) plants one-line bugs (a `<` for a `<=`, a
constant changed, a call's argument dropped …) one at a time and runs the unit tests that concern
that module; a mutant is killed when some test fails. The run happens in a scratch copy of the
tree (mutmut writes its mutated copy under `mutants/` there), never in the working tree.

    python bench/bench_mutation.py                      # every module, JSON on stdout
    python bench/bench_mutation.py --only state audit   # some modules
    python bench/bench_mutation.py --rescore out.json   # score a saved run again (after
                                                        # editing EQUIVALENT), nothing re-run

Prints JSON: per module the mutants, killed, survived, timeout, no_tests, excluded (equivalent
mutants listed in EQUIVALENT below, with the reason each changes nothing observable) and the
percent killed of the rest; then the total. A bench-style script: it takes minutes, not a CI step.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# module key → (source file, the unit tests that concern it)
MODULES: dict[str, tuple[str, list[str]]] = {
    "validators": (
        "app/validators.py",
        [
            "tests/unit/test_validators.py",
            "tests/unit/test_validators_table.py",
            "tests/unit/test_validators_differential.py",
        ],
    ),
    "checklist": (
        "app/checklist.py",
        ["tests/unit/test_checklist.py", "tests/unit/test_checklist_origin.py"],
    ),
    "conditions": ("app/conditions.py", ["tests/unit/test_conditions.py"]),
    "state": ("app/state.py", ["tests/unit/test_state.py"]),
    "audit": ("app/audit.py", ["tests/unit/test_audit_chain.py"]),
    "numbering": ("app/numbering.py", ["tests/unit/test_numbering.py"]),
    "crypto": ("local_db/crypto.py", ["tests/unit/test_crypto.py"]),
}

# Mutants that change nothing a caller can observe (equivalent or unreachable), in
# bench/mutation_equivalent.json: "<module>: <the change as printed>" → why. Keyed by the change,
# not mutmut's name (its numbering moves when a function is edited). Left out of the percentage
# and listed in the output under "equivalent".
EQUIVALENT: dict[str, str] = json.loads(
    (ROOT / "bench" / "mutation_equivalent.json").read_text(encoding="utf-8")
)

# What the tests need besides the module under test (copied into the scratch tree as is).
COPY = ["app", "local_db", "sync", "printing", "ui", "resources", "tests", "pyproject.toml"]

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no_tests", 33: "no_tests", 36: "timeout"}
STATUS.update({-24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout"})


def _scratch_tree(dest: Path, source: str, tests: list[str]) -> None:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "mutants")
            )
        elif src.exists():
            shutil.copy2(src, dest / name)
    config = (
        "\n[tool.mutmut]\n"
        # the packages copied under mutants/ (only SOURCE is mutated): the tests of one import
        # the other, and must not fall back to an installed copy of the project
        'source_paths = ["app", "local_db", "sync"]\n'
        # the bundled catalog, found beside the app package
        'also_copy = ["resources"]\n'
        f"only_mutate = [{json.dumps(source)}]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        "use_git_change_detection = false\n"
    )
    with (dest / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write(config)
    # Properties run 25 examples per mutant instead of 100 (the copy's conftest only): a planted
    # bug that 25 random cases miss but 100 find is rare, and the run takes a quarter the time.
    with (dest / "tests" / "conftest.py").open("a", encoding="utf-8") as f:
        f.write(
            "\nsettings.register_profile('mutation', parent=settings.get_profile('intake'),"
            " max_examples=25)\nsettings.load_profile('mutation')\n"
        )


def _results(work: Path) -> dict[str, int | None]:
    """mutmut's verdicts, read from its per-file meta data (mutant name → exit code)."""
    out: dict[str, int | None] = {}
    for meta in (work / "mutants").rglob("*.meta"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        out.update(data.get("exit_code_by_key", {}))
    return out


def _diffs(work: Path, source: str) -> dict[str, str]:
    """Each mutant's changed lines, read from mutmut's mutated copy of SOURCE (it keeps every
    mutant as a function `<name>__mutmut_<n>` beside the original `<name>__mutmut_orig`):
    one subprocess per mutant (`mutmut show`) would take minutes."""
    text = (work / "mutants" / source).read_text(encoding="utf-8")
    funcs = {
        node.name: ast.get_source_segment(text, node) or ""
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    out: dict[str, str] = {}
    for name, body in funcs.items():
        base, sep, _n = name.rpartition("__mutmut_")
        if not sep or _n == "orig" or base + "__mutmut_orig" not in funcs:
            continue
        orig = funcs[base + "__mutmut_orig"]
        lines = difflib.unified_diff(
            orig.splitlines(), body.replace(name, base + "__mutmut_orig", 1).splitlines(), n=0
        )
        out[name] = " | ".join(
            ln.strip() for ln in lines if ln[:1] in "+-" and ln[:3] not in ("+++", "---")
        )
    return out


def run_module(key: str, children: int) -> dict[str, object]:
    source, tests = MODULES[key]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"yjs-mutation-{key}-") as tmp:
        work = Path(tmp)
        _scratch_tree(work, source, tests)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)  # the mutated copy must be the one imported
        env["INTAKE_DATA_DIR"] = str(work / "data")
        proc = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        codes = _results(work)
        if not codes:
            tail = (proc.stdout + proc.stderr)[-3000:]
            return {"module": source, "error": f"mutmut produced no results:\n{tail}"}
        diffs = _diffs(work, source)
    verdicts = {
        name: (STATUS.get(code, "other") if code is not None else "other")
        for name, code in codes.items()
    }
    survivors = {
        name: diffs.get(name.rpartition(".")[2], "?")
        for name, status in verdicts.items()
        if status in ("survived", "no_tests", "timeout", "other")
    }
    result = score(source, verdicts, survivors)
    result["seconds"] = round(time.monotonic() - started)
    return result


def score(source: str, verdicts: dict[str, str], survivors: dict[str, str]) -> dict[str, object]:
    """Counts per verdict, leaving out the survivors EQUIVALENT names (by module and change)."""
    counts = {"killed": 0, "survived": 0, "timeout": 0, "no_tests": 0, "other": 0}
    excluded: dict[str, str] = {}
    surviving: dict[str, str] = {}
    for name, status in sorted(verdicts.items()):
        diff = survivors.get(name, "")
        reason = EQUIVALENT.get(f"{source}: {diff}") if status != "killed" else None
        if reason:
            excluded[name] = f"{status}: {diff} — {reason}"
            continue
        counts[status] += 1
        if status != "killed":
            surviving[name] = f"{status}: {diff}"
    judged = sum(counts.values())
    return {
        "module": source,
        "mutants": judged,
        **counts,
        "excluded": len(excluded),
        "percent": round(100.0 * counts["killed"] / judged, 1) if judged else None,
        "surviving": surviving,
        "equivalent": excluded,
    }


def rescore(saved: dict[str, Any]) -> list[dict[str, object]]:
    """Apply the current EQUIVALENT list to a saved run's output (no mutant is run again)."""
    out: list[dict[str, object]] = []
    for m in saved["modules"]:
        if "error" in m:
            out.append(m)
            continue
        verdicts = {f"killed-{i}": "killed" for i in range(int(m["killed"]))}
        survivors: dict[str, str] = {}
        entries = {
            **m["surviving"],
            **{k: v.rpartition(" — ")[0] for k, v in m["equivalent"].items()},
        }
        for name, text in entries.items():
            status, _, diff = text.partition(": ")
            verdicts[name], survivors[name] = status, diff
        result = score(m["module"], verdicts, survivors)
        result["seconds"] = m.get("seconds")
        out.append(result)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(MODULES), help="modules to run")
    parser.add_argument("--children", type=int, default=2, help="mutants tested in parallel")
    parser.add_argument(
        "--rescore", nargs="*", type=Path, help="saved outputs to score again instead of running"
    )
    args = parser.parse_args(argv)
    if args.rescore:
        modules = []
        for path in args.rescore:
            modules += rescore(json.loads(path.read_text(encoding="utf-8")))
    else:
        modules = [run_module(k, args.children) for k in args.only or list(MODULES)]
    ok = [m for m in modules if "error" not in m]
    total = {
        k: sum(int(m[k]) for m in ok)  # type: ignore[call-overload]
        for k in ("mutants", "killed", "survived", "timeout", "no_tests", "other", "excluded")
    }
    total["percent"] = (
        round(100.0 * total["killed"] / total["mutants"], 1) if total["mutants"] else 0
    )
    print(json.dumps({"modules": modules, "total": total}, ensure_ascii=False, indent=2))
    return 0 if len(ok) == len(modules) else 1


if __name__ == "__main__":
    raise SystemExit(main())
