"""Layering rules of DESIGN §5 / STYLE.md, checked on the source: app/, local_db/, sync/ and
printing/ never import ui/; only printing/dispatch.py may import PySide6 (never QtWidgets) among
them; ui/ never imports SQLAlchemy."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ("app", "local_db", "sync", "printing")
QT_ALLOWED = {"printing/dispatch.py"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files(pkg: str) -> list[Path]:
    return sorted((ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("pkg", CORE)
def test_core_never_imports_ui_or_widgets(pkg):
    for f in files(pkg):
        rel = f.relative_to(ROOT).as_posix()
        names = imports(f)
        assert not any(n == "ui" or n.startswith("ui.") for n in names), rel
        qt = {n for n in names if n.startswith("PySide6")}
        if rel in QT_ALLOWED:
            assert not any("QtWidgets" in n for n in qt), rel
        else:
            assert not qt, f"{rel} imports {qt}"


def test_ui_never_imports_sqlalchemy():
    for f in files("ui"):
        assert not any(n.startswith("sqlalchemy") for n in imports(f)), f.relative_to(
            ROOT
        ).as_posix()


def test_rule_checker_sees_imports(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import ui.main\nfrom PySide6.QtWidgets import QWidget\n")
    assert imports(f) == {"ui.main", "PySide6.QtWidgets"}


def test_local_db_never_imports_app():
    # local_db is the lowest layer: errors and keys it needs live in local_db itself.
    for f in files("local_db"):
        names = imports(f)
        assert not any(n == "app" or n.startswith("app.") for n in names), (
            f"{f.relative_to(ROOT).as_posix()} imports {sorted(names)}"
        )
