"""Packaging: the client's resolved requirements hold no server, test or OCR package; the
locks are hashed; the PyInstaller spec and the Inno Setup script come from one version and
file list (installer/manifest.py)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "installer"))
import manifest

# Never on a counter, by name (the resolved set, dependencies of dependencies included).
NOT_ON_A_COUNTER = {
    "fastapi",
    "starlette",
    "uvicorn",
    "httptools",
    "uvloop",
    "psycopg",
    "psycopg-binary",
    "pytest",
    "pytest-qt",
    "hypothesis",
    "pypdf",
    "keyrings-alt",
    "rapidocr",
    "onnxruntime",
    "pyinstaller",
    "pyyaml",
}


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    return {
        m.group(1).lower(): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", text, re.MULTILINE)
    }


@pytest.mark.parametrize("lock", ["client.lock", "client-aarch64.lock", "client-windows.lock"])
def test_client_lock_has_no_server_test_or_ocr_package(lock: str) -> None:
    resolved = pins(lock)
    assert {"pyside6-essentials", "sqlalchemy", "pypdfium2", "keyring"} <= resolved.keys()
    assert not NOT_ON_A_COUNTER & resolved.keys()


def test_client_extra_declares_no_server_test_or_ocr_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = {
        re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower()
        for d in project["dependencies"] + project["optional-dependencies"]["client"]
    }
    assert not NOT_ON_A_COUNTER & names
    assert {"fastapi", "uvicorn", "psycopg"} <= {
        re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower()
        for d in project["optional-dependencies"]["hub"]
    }


def test_every_lock_entry_is_hashed() -> None:
    for lock in sorted((ROOT / "requirements").glob("*.lock")):
        entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text(encoding="utf-8").strip())
        for entry in entries:
            if entry.startswith("#") or not entry.strip():
                continue
            assert "--hash=sha256:" in entry, f"{lock.name}: {entry.splitlines()[0]}"


def test_ci_and_build_install_what_the_client_ships() -> None:
    client = pins("client.lock")
    for other in ("ci.lock", "build.lock"):
        resolved = pins(other)
        assert {n: resolved[n] for n in client} == client, other


def test_floor_lock_holds_a_pyside6_built_for_glibc_2_28() -> None:
    # PySide6 6.10+ wheels need glibc 2.34 on x86_64; 6.9 is the last built for manylinux_2_28.
    major, minor = (int(x) for x in pins("client.lock")["pyside6-essentials"].split(".")[:2])
    assert (major, minor) <= (6, 9)


def test_inno_setup_script_is_generated_from_the_manifest() -> None:
    committed = (ROOT / "installer" / "windows" / "yijianshi-intake.iss").read_text("utf-8")
    assert committed == manifest.iss(), (
        "run: python installer/manifest.py iss > installer/windows/yijianshi-intake.iss"
    )


def test_spec_and_installer_share_version_and_executables() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert version["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "app.version.__version__"
    from app.version import __version__

    iss = (ROOT / "installer" / "windows" / "yijianshi-intake.iss").read_text("utf-8")
    assert f'#define AppVersion "{__version__}"' in iss
    for name, script, _windowed in manifest.EXECUTABLES:
        assert (ROOT / script).is_file()
    window = manifest.EXECUTABLES[0][0]
    assert f'Filename: "{{app}}\\{window}.exe"' in iss
    assert f'Source: "..\\..\\dist\\{manifest.PACKAGE}\\*"' in iss
    spec = (ROOT / "installer" / "yijianshi-intake.spec").read_text("utf-8")
    assert "manifest.EXECUTABLES" in spec and "manifest.bundle_files()" in spec
    assert "name=manifest.PACKAGE" in spec


def test_bundle_carries_catalog_migrations_and_fonts() -> None:
    try:
        files = manifest.bundle_files()
    except SystemExit as missing:  # fonts not installed on this machine
        pytest.fail(str(missing))
    dests = {(Path(src).name, dest) for src, dest in files}
    assert ("catalog.json", "resources/catalog") in dests
    assert ("env.py", "local_db/migrations") in dests
    assert any(dest == "local_db/migrations/versions" for _, dest in dests)
    assert {("wqy-microhei.ttc", "resources/fonts"), ("HanaMinB.ttf", "resources/fonts")} <= dests


def test_every_cli_sub_command_module_is_bundled() -> None:
    # app.cli imports these by name at run time, out of PyInstaller's sight.
    from app import cli

    source = Path(cli.__file__).read_text("utf-8")
    named = set(cli.COMMAND_MODULES)
    assert {"app.cli.documents", "sync.cli", "app.cli.keys", "app.cli.submit"} <= named
    assert all(f'"{m}"' in source for m in named)
    assert named <= set(manifest.own_modules())
