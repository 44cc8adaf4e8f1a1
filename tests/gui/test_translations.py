"""The window's texts go through Qt's translation layer: the .ts in the repository is up to date
with ui/, and its wording is what the window shows once compiled and loaded."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QTranslator

from installer import translations
from ui.i18n import APP_TRANSLATION, app_translation, compile_translation

ROOT = Path(__file__).resolve().parents[2]


def test_the_ts_is_up_to_date_with_ui(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "ui", tmp_path / "ui", ignore=shutil.ignore_patterns("__pycache__"))
    ts = tmp_path / "intake_zh_CN.ts"
    shutil.copy(translations.TS, ts)
    kept = translations.messages(ts)
    translations.lupdate(tmp_path / "ui", ts)
    rescanned = translations.messages(ts)
    new = sorted(set(rescanned) - set(kept))
    vanished = sorted(set(kept) - set(rescanned))
    assert not new and not vanished, (
        f"run `python installer/translations.py update`: new {new[:5]}, vanished {vanished[:5]}"
    )
    assert len(kept) > 500
    # every text has its wording (a new one starts as its source)
    assert all(kept.values()), [k for k, v in kept.items() if not v][:5]
    assert 'type="unfinished"' not in translations.TS.read_text(encoding="utf-8")


def test_the_login_button_text_comes_from_the_translation(qtbot: Any, tmp_path: Path) -> None:
    from ui.login import LoginDialog

    ts = tmp_path / "intake_zh_CN.ts"
    tree = ET.parse(translations.TS)
    changed = 0
    for context in tree.getroot().iter("context"):
        if context.findtext("name") != "LoginDialog":
            continue
        for m in context.iter("message"):
            if m.findtext("source") == "登录":
                m.find("translation").text = "登入系统"  # type: ignore[union-attr]
                changed += 1
    assert changed == 1
    tree.write(ts, encoding="utf-8", xml_declaration=True)
    qm = tmp_path / "changed.qm"
    assert compile_translation(ts, qm)

    app = QCoreApplication.instance()
    translator = QTranslator()
    assert translator.load(str(qm))
    app.installTranslator(translator)
    try:
        dialog = LoginDialog()
        qtbot.addWidget(dialog)
        assert dialog.login_button.text() == "登入系统"
    finally:
        app.removeTranslator(translator)
    plain = LoginDialog()
    qtbot.addWidget(plain)
    assert plain.login_button.text() == "登录"


def test_from_source_the_qm_is_compiled_when_missing_or_older(tmp_path: Path) -> None:
    ts = tmp_path / f"{APP_TRANSLATION}.ts"
    shutil.copy(translations.TS, ts)
    qm = app_translation(tmp_path)
    assert qm == tmp_path / f"{APP_TRANSLATION}.qm" and qm.stat().st_size > 10_000
    translator = QTranslator()
    assert translator.load(str(qm))
    assert translator.translate("LoginDialog", "登录") == "登录"

    os.utime(qm, (1_000_000_000, 1_000_000_000))  # older than the .ts: compiled again
    assert app_translation(tmp_path) == qm
    assert qm.stat().st_mtime > 1_000_000_000


def test_the_frozen_build_bundles_the_compiled_translation() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("manifest", ROOT / "installer" / "manifest.py")
    assert spec is not None and spec.loader is not None
    manifest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(manifest)
    qm = translations.compile_qm()  # what the PyInstaller spec runs first
    assert (str(qm), "resources/i18n") in manifest.bundle_files()
    assert "translations.compile_qm()" in (ROOT / "installer/yijianshi-intake.spec").read_text()
