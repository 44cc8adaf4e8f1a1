"""Code paths that differ on Windows, run here with the platform injected: the per-user data
directory (never the program folder, which an installer replaces) and the fonts looked up."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.paths import user_data_root
from printing.fonts import system_font_paths


def test_windows_data_directory_is_local_appdata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\clerk\AppData\Local")
    monkeypatch.setenv("APPDATA", r"C:\Users\clerk\AppData\Roaming")
    path = str(user_data_root("win32"))
    assert path.startswith(r"C:\Users\clerk\AppData\Local")  # not the roaming profile
    assert path.endswith("yijianshi-intake")
    assert "Program Files" not in path


def test_linux_data_directory_is_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert user_data_root("linux") == tmp_path / "share" / "yijianshi-intake"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_data_root("linux") == tmp_path / "home" / ".local" / "share" / "yijianshi-intake"


def test_windows_fonts_are_looked_up_in_the_windows_fonts_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WINDIR", r"C:\Windows")
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    on_windows = system_font_paths("win32")
    assert Path(r"C:\Windows") / "Fonts" / "simsun.ttc" in on_windows
    assert Path(r"C:\Windows") / "Fonts" / "SimsunExtG.ttf" in on_windows  # Extension B
    assert not any("Fonts" in p.parts for p in system_font_paths("linux"))
