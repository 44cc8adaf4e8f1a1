"""docs/ARCHITECTURE.md names files a newcomer will open: every repository path it names must
exist, so a move or a split that forgets the map fails here instead of misleading a reader."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"

# Paths the document names that arrive with branches not merged yet (issue 17). The lead empties
# this at merge; an entry that already exists fails test_pending_paths_are_still_missing.
PENDING = {}

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_SPAN = re.compile(r"`([^`\n]+)`")
# In diagrams: words that look like a file of the repository (a folder and a name with a suffix).
_DIAGRAM_PATH = re.compile(r"(?<![\w/.])((?:[a-z_]+/)+[A-Za-z_]\w*\.(?:py|md|json|toml|yaml))\b")


def named_paths(text: str) -> set[str]:
    """Repository paths named in `text`: backticked spans with a slash that are not URLs or HTTP
    routes, plus file paths written in fenced diagrams."""
    paths: set[str] = set()
    for block in _FENCE.findall(text):
        paths |= set(_DIAGRAM_PATH.findall(block))
    for span in _SPAN.findall(_FENCE.sub("", text)):
        if "/" in span and " " not in span and not span.startswith("/") and "://" not in span:
            paths.add(span)
    return paths


def missing(paths: set[str], root: Path) -> list[str]:
    return sorted(p for p in paths if not (root / p).exists())


def test_every_named_path_exists():
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    assert len(paths) > 50, "the document names the files of each part"
    gone = [p for p in missing(paths, ROOT) if p not in PENDING]
    assert not gone, f"docs/ARCHITECTURE.md names paths that do not exist: {gone}"


def test_pending_paths_are_named_and_still_missing():
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    assert not sorted(set(PENDING) - paths), "a pending entry the document no longer names"
    merged = sorted(p for p in PENDING if (ROOT / p).exists())
    assert not merged, f"merged now, remove from PENDING: {merged}"


def test_checker_sees_paths_in_spans_and_diagrams(tmp_path):
    text = (
        "The store (`local_db/engine.py`), a folder `app/cli/`, a route `/v1/events`,\n"
        "a command `intake hub serve`, a dotted name `app.devices`.\n"
        "```\nDomainError.message -> local_db/messages.py\n```\n"
    )
    assert named_paths(text) == {"local_db/engine.py", "app/cli/", "local_db/messages.py"}
    (tmp_path / "local_db").mkdir()
    (tmp_path / "local_db" / "engine.py").write_text("")
    assert missing(named_paths(text), tmp_path) == ["app/cli/", "local_db/messages.py"]
