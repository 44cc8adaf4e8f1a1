"""The devices half of the composition root (app/devices.py): the simulators and the real
devices satisfy the same Protocols, and one function builds every device from the options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.capture.camera import OpenCvCamera, SimulatedCamera
from app.capture.idcard import Ga467Reader
from app.capture.idcard_sim import SimulatedReader
from app.devices import Camera, IdCardReader, build_devices, check_devices, default_sync_engine
from app.options import Options

ROOT = Path(__file__).resolve().parents[2]


def _dispatch() -> Any:
    """printing.dispatch as loaded now: another test reloads it (QtPdf missing), so classes
    imported when this module was collected may not be the ones app.devices builds."""
    import printing.dispatch

    return printing.dispatch


def test_simulators_and_real_devices_satisfy_the_protocols(tmp_path: Path) -> None:
    import numpy as np

    from tests.gui.conftest import RecordingPrinter

    assert isinstance(SimulatedReader(), IdCardReader)
    assert isinstance(Ga467Reader("/dev/null"), IdCardReader)
    frame = np.zeros((8, 8, 3), np.uint8)
    assert isinstance(SimulatedCamera(images=[frame]), Camera)
    assert isinstance(OpenCvCamera(0), Camera)
    d = _dispatch()
    assert isinstance(d.FilePrinterBackend(tmp_path), d.PrinterBackend)
    assert isinstance(d.QtPrinterBackend(), d.PrinterBackend)
    assert isinstance(RecordingPrinter(), d.PrinterBackend)
    assert not isinstance(object(), IdCardReader)


def test_mypy_accepts_the_simulators_as_the_protocols(tmp_path: Path) -> None:
    """runtime_checkable sees method names only; mypy checks the signatures."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from pathlib import Path\n"
        "from app.capture.camera import SimulatedCamera\n"
        "from app.capture.idcard_sim import SimulatedReader\n"
        "from app.devices import Camera, IdCardReader\n"
        "from printing.dispatch import FilePrinterBackend, PrinterBackend\n"
        "r: IdCardReader = SimulatedReader()\n"
        "c: Camera = SimulatedCamera(images=[])\n"
        "p: PrinterBackend = FilePrinterBackend(Path('.'))\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--follow-imports=silent",
            "--ignore-missing-imports",
            "--no-incremental",
            "--cache-dir=/dev/null",
            str(probe),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    if "No module named mypy" in run.stderr:
        pytest.fail("mypy is in the dev extra and must be installed for this check")
    assert run.returncode == 0, run.stdout + run.stderr


def test_demo_builds_the_simulators_and_prints_to_files(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    d = build_devices(Options.of(demo=True), db)
    assert isinstance(d.reader, SimulatedReader)
    assert isinstance(d.printer, _dispatch().FilePrinterBackend)
    assert d.printer.out_dir == tmp_path / "printed"
    assert d.camera_label == "演示高拍仪"
    cam = d.camera_factory()
    assert isinstance(cam, SimulatedCamera)
    assert d.demo is True


def test_a_counter_builds_the_configured_devices(tmp_path: Path) -> None:
    from app.capture.imports import HotFolder

    scans = tmp_path / "scans"
    scans.mkdir()
    d = build_devices(
        Options.of(
            card_port="/dev/ttyUSB0",
            camera="Document Camera",
            hot_folder=scans,
            paper="A5",
            printer_name="HP LaserJet",
            idle_lock_minutes=3.0,
        ),
        tmp_path / "intake.sqlite3",
    )
    assert isinstance(d.reader, Ga467Reader)
    assert d.reader.port == "/dev/ttyUSB0"
    assert isinstance(d.printer, _dispatch().QtPrinterBackend)
    assert d.camera_label == "Document Camera"
    cam = d.camera_factory()
    assert isinstance(cam, OpenCvCamera) and cam.index_or_name == "Document Camera"
    assert isinstance(d.hot_folder, HotFolder)
    assert (d.paper, d.printer_name, d.idle_lock_minutes) == ("A5", "HP LaserJet", 3.0)
    assert d.sync_factory is default_sync_engine


def test_no_reader_configured_means_manual_entry_and_print_to_dir(tmp_path: Path) -> None:
    d = build_devices(Options.of(printer_dir=tmp_path / "out"), tmp_path / "x.sqlite3")
    assert d.reader is None
    assert isinstance(d.printer, _dispatch().FilePrinterBackend)
    assert d.printer.out_dir == tmp_path / "out"
    assert d.camera_label == "0"


def test_given_devices_replace_the_built_ones(tmp_path: Path) -> None:
    reader = SimulatedReader()
    printer = _dispatch().FilePrinterBackend(tmp_path)
    d = build_devices(Options.of(card_port="COM3"), tmp_path / "x", reader=reader, printer=printer)
    assert d.reader is reader and d.printer is printer


def test_sdk_reader_is_the_vendor_family_chosen_with_its_library(tmp_path: Path) -> None:
    from app.capture.idcard_sdk import CvrReader, SdtReader

    lib = tmp_path / "libtermb.so"  # not loaded until the first poll
    sdt = build_devices(
        Options.of(card_sdk="sdt", card_sdk_lib=lib, card_port="/dev/ttyUSB0"), tmp_path / "x"
    )
    assert isinstance(sdt.reader, SdtReader) and sdt.problems == []
    cvr = build_devices(Options.of(card_sdk="cvr", card_sdk_lib=lib), tmp_path / "x")
    assert isinstance(cvr.reader, CvrReader)


def test_sdk_family_without_a_library_is_named_with_what_to_do(tmp_path: Path) -> None:
    d = build_devices(Options.of(card_sdk="cvr"), tmp_path / "x")
    assert d.reader is None
    assert [p.device for p in d.problems] == ["card_reader"]
    assert "设备设置" in d.problems[0].message


def test_missing_devices_are_named_with_what_to_do(tmp_path: Path) -> None:
    problems = check_devices(
        Options.of(
            card_port="/dev/ttyUSB7",
            hot_folder=tmp_path / "gone",
            wlt_lib=tmp_path / "libwlt.so",
        )
    )
    by = {p.device: p.message for p in problems}
    assert set(by) == {"card_reader", "hot_folder", "wlt"}
    assert "/dev/ttyUSB7" in by["card_reader"] and "USB" in by["card_reader"]
    assert "扫描仪输出文件夹不存在" in by["hot_folder"]
    assert "照片解码库" in by["wlt"]
    assert all(p.short and "设备设置" in p.short for p in problems)


def test_present_devices_and_demo_raise_no_problem(tmp_path: Path) -> None:
    port = tmp_path / "ttyUSB0"
    port.touch()
    assert check_devices(Options.of(hot_folder=tmp_path, card_port="COM3")) == []
    assert check_devices(Options.of(demo=True, hot_folder=tmp_path / "gone")) == []


def test_ui_receives_devices_and_builds_none() -> None:
    """The window's modules no longer construct devices or the sync engine."""
    banned = ("Ga467Reader(", "SimulatedReader(", "QtPrinterBackend(", "FilePrinterBackend(")
    banned += ("OpenCvCamera(", "SyncEngine.from_context(", "HotFolder(")
    for path in sorted((ROOT / "ui").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not [b for b in banned if b in text], path.name
