"""The window's translation source, resources/i18n/intake_zh_CN.ts, kept up to date with ui/.

    python installer/translations.py update    # after changing texts in ui/: rescan, keep wording
    python installer/translations.py compile   # the .qm (build.sh does it; the window does it
                                               # itself when run from source)

The source language is Chinese (the product's language): a new text starts with its source as
its translation, so the .ts always holds the full wording, and changing a text's translation
there changes what the window shows without touching the code. Strings that vanished from ui/
leave the .ts (-no-obsolete). Uses pyside6-lupdate / lrelease from the installed PySide6.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TS = ROOT / "resources" / "i18n" / "intake_zh_CN.ts"
QM = TS.with_suffix(".qm")


def _tool(name: str) -> str:
    found = shutil.which(f"pyside6-{name}") or str(Path(sys.executable).parent / f"pyside6-{name}")
    return found


def lupdate(sources: Path, ts: Path) -> str:
    """Rescan SOURCES (the ui package) into TS; lupdate's summary line."""
    done = subprocess.run(
        [
            _tool("lupdate"),
            "-extensions",
            "py",
            "-locations",
            "none",
            "-no-obsolete",
            "-source-language",
            "zh_CN",
            "-target-language",
            "zh_CN",
            str(sources),
            "-ts",
            str(ts),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout + done.stderr


def messages(ts: Path) -> dict[tuple[str, str, str], str]:
    """(context, source, disambiguation) -> translation, of every message in TS."""
    out = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for m in context.iter("message"):
            key = (name, m.findtext("source") or "", m.findtext("comment") or "")
            out[key] = m.findtext("translation") or ""
    return out


def fill_new(ts: Path) -> int:
    """Give every untranslated message its source as translation; how many were filled."""
    tree = ET.parse(ts)
    filled = 0
    for m in tree.getroot().iter("message"):
        tr = m.find("translation")
        if tr is None or tr.get("type") != "unfinished":
            continue
        source = m.findtext("source") or ""
        forms = tr.findall("numerusform")
        if forms:  # plural forms (Chinese has one): each starts as the source
            if any((f.text or "").strip() for f in forms):
                continue
            for f in forms:
                f.text = source
        elif (tr.text or "").strip() and tr.text != source:
            continue  # a guess by lupdate that differs from the source: for a person to check
        else:
            tr.text = source  # also accepts lupdate's same-text guess
        del tr.attrib["type"]
        filled += 1
    if filled:
        tree.write(ts, encoding="utf-8", xml_declaration=True)
    return filled


def update() -> None:
    TS.parent.mkdir(parents=True, exist_ok=True)
    print(lupdate(ROOT / "ui", TS).strip())
    filled = fill_new(TS)
    lupdate(ROOT / "ui", TS)  # lupdate's own layout again, so diffs stay small
    print(f"{filled} new text(s) start with their source wording")


def compile_qm() -> Path:
    """The .qm from the .ts (the frozen build's step; fails loudly when lrelease is missing)."""
    subprocess.run([_tool("lrelease"), "-silent", str(TS), "-qm", str(QM)], check=True)
    if not QM.is_file() or QM.stat().st_size == 0:
        raise SystemExit(f"{QM} was not written")
    return QM


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update":
        update()
    elif command == "compile":
        print(compile_qm())
    else:
        sys.exit(__doc__)
