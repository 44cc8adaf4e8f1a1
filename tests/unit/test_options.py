"""The options schema (app/options.py): every option declared once, read from flags, the
environment and the station settings in that order; stored settings upgraded by version."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from app import options as opt
from app.options import (
    BACKUP_FOLDER,
    BACKUP_INTERVAL_HOURS,
    CAMERA,
    CARD_PORT,
    FONT_SCALE,
    HOT_FOLDER,
    IDLE_LOCK_MINUTES,
    OPTIONS,
    PAPER,
    RECEIPT_QUERY_URL,
    MemorySettings,
    OptionError,
    Options,
    resolve,
    store,
    upgrade_settings,
)

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("app", "ui", "sync", "local_db", "printing", "bench", "installer")


def _sources(dirs: tuple[str, ...]) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def test_every_intake_variable_in_the_code_is_declared() -> None:
    declared = {o.env for o in OPTIONS if o.env}
    found: dict[str, str] = {}
    for path in _sources(PRODUCT):
        for name in re.findall(r"[\"'](INTAKE_[A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8")):
            found.setdefault(name, path.relative_to(ROOT).as_posix())
    # the ones this repository reads today, named by hand
    assert {"INTAKE_DATA_DIR", "INTAKE_RECEIPT_QUERY_URL", "INTAKE_CAMERA"} <= declared
    undeclared = {n: f for n, f in found.items() if n not in declared}
    assert not undeclared, f"INTAKE_* variables not in app/options.py: {undeclared}"


def test_only_the_schema_reads_intake_variables() -> None:
    """os.environ / getenv with an INTAKE_* literal anywhere else bypasses the schema."""
    pattern = re.compile(r"(environ\.get|environ\[|getenv)\(?\s*[\"']INTAKE_")
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in _sources(("app", "ui", "sync", "local_db", "printing"))
        if p.name != "options.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


SETTINGS_CALLS = {"value", "setValue", "contains", "remove"}


def _settings_keys(path: Path) -> set[str]:
    """String literals passed first to value/setValue/contains/remove on anything, and strings
    bound to a name ending in SETTING or KEY (a key kept in a constant)."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SETTINGS_CALLS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and any(
                isinstance(t, ast.Name) and t.id.endswith(("SETTING", "KEY")) for t in node.targets
            )
        ):
            keys.add(node.value.value)
    return keys


def test_every_settings_key_used_in_ui_is_declared() -> None:
    used = {k for p in _sources(("ui",)) for k in _settings_keys(p)}
    # Settings keys hold a '/' (group/name); other literals passed to .value() are not keys.
    used = {k for k in used if "/" in k or k in {"idle_lock_minutes"}}
    assert not used - opt.declared_keys(), used - opt.declared_keys()


def test_key_scanner_sees_a_literal_key(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text(
        's.value("capture/camera", "")\ns.setValue("a/b", 1)\nw.setValue(3)\n'
        'HOT_FOLDER_SETTING = "capture/hot_folder"\nTITLE = "x/y"\n'
    )
    assert _settings_keys(f) == {"capture/camera", "a/b", "capture/hot_folder"}


def test_each_name_flag_variable_and_key_is_used_once() -> None:
    for attr in ("name", "flag", "env", "setting"):
        values = [getattr(o, attr) for o in OPTIONS if getattr(o, attr)]
        assert len(values) == len(set(values)), attr


def test_every_option_has_a_chinese_description() -> None:
    for o in OPTIONS:
        assert re.search(r"[\u4e00-\u9fff]", o.description), o.name


# ----------------------------------------------------------------------------- precedence


def test_flag_beats_environment_beats_setting_beats_default() -> None:
    settings = MemorySettings({"devices/card_port": "/dev/ttyS0", "devices/camera": "2"})
    env = {"INTAKE_CARD_PORT": "/dev/ttyUSB1", "INTAKE_CAMERA": "Document Camera"}
    got = resolve({"card_port": "COM3"}, env, settings)
    assert got[CARD_PORT] == "COM3"
    assert got[CAMERA] == "Document Camera"
    assert resolve({}, {}, settings)[CAMERA] == "2"
    assert resolve({}, {}, settings)[CARD_PORT] == "/dev/ttyS0"
    assert resolve({}, {}, MemorySettings())[PAPER] == "A4"
    assert resolve({}, {}, MemorySettings())[IDLE_LOCK_MINUTES] == 10.0


def test_a_zero_flag_counts_as_given() -> None:
    settings = MemorySettings({"session/idle_lock_minutes": "5"})
    assert resolve({"idle_lock_minutes": 0}, {}, settings)[IDLE_LOCK_MINUTES] == 0


def test_malformed_stored_or_environment_values_fall_back(caplog) -> None:
    settings = MemorySettings(
        {"session/idle_lock_minutes": "ten", "print/paper": "B5", "display/font_scale": "130"}
    )
    got = resolve({}, {"INTAKE_HOT_FOLDER": "   "}, settings)
    assert got[IDLE_LOCK_MINUTES] == 10.0
    assert got[PAPER] == "A4"
    assert got[FONT_SCALE] == 100
    assert got[HOT_FOLDER] is None
    assert "session/idle_lock_minutes" in caplog.text  # the key, never the value
    assert "ten" not in caplog.text


def test_storing_checks_the_value_and_says_why_in_chinese() -> None:
    settings = MemorySettings()
    store(settings, FONT_SCALE, 125)
    store(settings, BACKUP_INTERVAL_HOURS, 6)
    assert settings.data == {"display/font_scale": 125, "backup/interval_hours": 6}
    with pytest.raises(OptionError) as exc:
        store(settings, FONT_SCALE, 130)
    assert exc.value.code == "options.not_a_choice"
    assert "100、125、150" in exc.value.message
    with pytest.raises(OptionError) as exc:
        store(settings, BACKUP_INTERVAL_HOURS, 0)
    assert exc.value.code == "options.too_small"
    with pytest.raises(OptionError) as exc:
        IDLE_LOCK_MINUTES.convert("abc")
    assert exc.value.code == "options.invalid"
    assert "无操作" in exc.value.message


def test_options_of_refuses_unknown_names() -> None:
    with pytest.raises(TypeError):
        Options.of(card_prot="COM3")
    assert Options.of(paper="A5")[PAPER] == "A5"


# ----------------------------------------------------------------------------- flags


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="intake-window")
    opt.add_flags(p)
    return p


def test_flags_come_from_the_schema() -> None:
    args = _parser().parse_args(
        ["--card-port", "COM3", "--idle-lock", "2.5", "--paper", "A5", "--demo"]
    )
    assert opt.flag_values(args) == {
        "card_port": "COM3",
        "idle_lock_minutes": 2.5,
        "paper": "A5",
        "demo": True,
    }
    assert opt.flag_values(_parser().parse_args([])) == {}


def test_help_shows_the_chinese_descriptions_but_not_the_hidden_probe() -> None:
    text = _parser().format_help()
    assert "身份证读卡器串口" in text
    assert "--card-sdk" in text and "--font-scale" in text
    assert "--startup-probe" not in text


def test_a_bad_flag_is_refused_with_the_reason(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["--idle-lock", "-3"])
    assert exc.value.code == 2
    assert "不能小于 0" in capsys.readouterr().err


def test_the_window_parses_its_flags_through_the_schema() -> None:
    from ui.main import parse_args

    got = parse_args(["--print-to", "/tmp/out", "--camera", "1"])
    assert got.values == {"printer_dir": Path("/tmp/out"), "camera": "1"}


# ----------------------------------------------------------------------------- versions

# What the window wrote up to this release (unversioned): keys spread over three ui modules.
TODAY = {
    "idle_lock_minutes": "5",
    "capture/camera": "Document Camera",
    "capture/hot_folder": "/srv/scans",
    "backup/folder": "/media/usb/backups",
    "backup/interval_hours": "12",
}


def _check_upgraded(settings: opt.SettingsStore) -> None:
    got = resolve({}, {}, settings)
    assert got[IDLE_LOCK_MINUTES] == 5.0
    assert got[CAMERA] == "Document Camera"
    assert got[HOT_FOLDER] == Path("/srv/scans")
    assert got[BACKUP_FOLDER] == "/media/usb/backups"
    assert got[BACKUP_INTERVAL_HOURS] == 12
    assert str(settings.value("settings/version")) == "2"
    for old in ("idle_lock_minutes", "capture/camera", "capture/hot_folder"):
        assert not settings.contains(old)


def test_todays_settings_are_read_after_the_upgrade() -> None:
    settings = MemorySettings(TODAY)
    assert upgrade_settings(settings) == 1
    _check_upgraded(settings)
    assert upgrade_settings(settings) == 2  # a second start changes nothing
    _check_upgraded(settings)


def test_todays_qsettings_file_is_read_after_the_upgrade(tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    path = str(tmp_path / "intake-window.ini")
    old = QSettings(path, QSettings.Format.IniFormat)
    for key, value in TODAY.items():
        old.setValue(key, value)
    old.sync()
    del old
    settings = QSettings(path, QSettings.Format.IniFormat)
    upgrade_settings(settings)
    _check_upgraded(settings)
    again = QSettings(path, QSettings.Format.IniFormat)  # the upgrade reached the file
    _check_upgraded(again)


def test_a_new_store_starts_at_the_current_version() -> None:
    settings = MemorySettings()
    assert upgrade_settings(settings) == opt.SETTINGS_VERSION
    assert settings.data == {"settings/version": opt.SETTINGS_VERSION}


def test_a_moved_key_never_overwrites_a_newer_value() -> None:
    settings = MemorySettings({"idle_lock_minutes": "5", "session/idle_lock_minutes": "3"})
    upgrade_settings(settings)
    assert resolve({}, {}, settings)[IDLE_LOCK_MINUTES] == 3.0


def test_receipt_query_url_is_a_station_setting() -> None:
    settings = MemorySettings({"receipt/query_url": "https://zwfw.example.gov.cn/cx"})
    assert resolve({}, {}, settings)[RECEIPT_QUERY_URL] == "https://zwfw.example.gov.cn/cx"
    env = {"INTAKE_RECEIPT_QUERY_URL": "https://other.example.gov.cn/q"}
    assert resolve({}, env, settings)[RECEIPT_QUERY_URL] == "https://other.example.gov.cn/q"
