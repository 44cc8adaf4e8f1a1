"""Every text the window shows goes through Qt's translation layer, where pyside6-lupdate sees it:
a Chinese literal in ui/ is an argument of tr() / QCoreApplication.translate() /
QT_TRANSLATE_NOOP() (docstrings and stored data values aside), and the .ts has no message
without a context (what a call through an alias such as `tr = QCoreApplication.translate`
produces: lupdate misreads it, and its translation never applies)."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
TRANSLATING = {"tr", "translate", "QT_TRANSLATE_NOOP", "QT_TR_NOOP"}
# Stored values, not labels: the applicant's gender is kept as 男/女 (the standard's words).
DATA_VALUES = {("ui/applicant.py", "男"), ("ui/applicant.py", "女")}


def untranslated(src: str, rel: str) -> list[str]:
    tree = ast.parse(src)
    parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    found = []
    for n in ast.walk(tree):
        text = ast.get_source_segment(src, n) if isinstance(n, ast.JoinedStr) else None
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            text = n.value
        if not text or not CJK.search(text) or isinstance(parents.get(n), ast.JoinedStr):
            continue
        if isinstance(parents.get(n), ast.Expr) or (rel, text) in DATA_VALUES:
            continue  # a docstring, a stored value
        up = parents.get(n)
        while up is not None:
            if isinstance(up, ast.Call):
                f = up.func
                if (
                    f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                ) in TRANSLATING:
                    break
            up = parents.get(up)
        else:
            found.append(f"{rel}:{n.lineno} {text[:40]}")
    return found


def test_every_window_text_goes_through_the_translation_layer() -> None:
    found = []
    for f in sorted((ROOT / "ui").rglob("*.py")):
        found += untranslated(f.read_text(encoding="utf-8"), f.relative_to(ROOT).as_posix())
    assert not found, "wrap in self.tr() or QCoreApplication.translate():\n" + "\n".join(found)


def test_the_check_sees_a_bare_text() -> None:
    src = 'label.setText("保存")\nlabel.setText(self.tr("保存"))\nlog.info("x")\n'
    assert untranslated(src, "ui/x.py") == ["ui/x.py:1 保存"]


def test_every_translation_has_its_context() -> None:
    root = ET.parse(ROOT / "resources" / "i18n" / "intake_zh_CN.ts").getroot()
    empty = [
        m.findtext("source")
        for c in root.iter("context")
        if not (c.findtext("name") or "").strip()
        for m in c.iter("message")
    ]
    assert not empty, empty[:5]
