"""设备设置 (ui/devices.py) in the window: detection, a test per device, saving per station
through the options schema, and missing devices named in the status bar with what to do."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from app.capture.idcard import IdCardData
from app.capture.idcard_sim import SimulatedReader
from app.options import CARD_PORT, PAPER
from tests.gui.conftest import RecordingPrinter, login, running_shell
from ui.tasks import InlineTaskRunner

CARD = IdCardData.create(
    name="张三丰",
    gender_code="1",
    ethnicity_code="01",
    birth_date=dt.date(1949, 12, 31),
    address="北京市朝阳区某街1号",
    resident_id="11010519491231002X",
    issuer="北京市公安局朝阳分局",
    valid_from=dt.date(2015, 1, 1),
    valid_to=None,
)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def station_shell(
    qtbot: Any, ctx: Any, settings: QSettings, printer: RecordingPrinter, reader: Any
) -> Iterator[Any]:
    yield from running_shell(
        qtbot, InlineTaskRunner(), ctx, printer=printer, reader=reader, settings=settings
    )


def _dialog(qtbot: Any, window: Any) -> Any:
    window.show_device_settings()
    dialog = window.device_settings
    assert dialog is not None and dialog.isVisible()
    return dialog


def _ini(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_supervisor_saves_device_settings_for_the_station(
    qtbot: Any, station_shell: Any, settings: QSettings, tmp_path: Path
) -> None:
    window = login(qtbot, station_shell, "zhangjing", "super1234")
    dialog = _dialog(qtbot, window)
    assert dialog.printer.findText("测试打印机") >= 0  # listed through the print backend
    dialog.interface.setCurrentIndex(dialog.interface.findData("serial"))
    dialog.port.setEditText("/dev/ttyUSB3")
    dialog.hot_folder.setText(str(tmp_path))
    dialog.paper.setCurrentIndex(dialog.paper.findData("A5"))
    dialog.printer.setCurrentIndex(dialog.printer.findText("测试打印机"))
    dialog.save_button.click()
    assert "已保存" in dialog.message.text()
    text = _ini(Path(settings.fileName()))
    assert "card_port=/dev/ttyUSB3" in text
    assert "paper=A5" in text
    assert f"hot_folder={tmp_path}" in text
    assert "version=2" in text
    dialog.close()
    # the next login builds the devices from what was saved
    station_shell.logout()
    window = login(qtbot, station_shell, "zhangjing", "super1234")
    assert station_shell.options[CARD_PORT] == "/dev/ttyUSB3"
    assert station_shell.options[PAPER] == "A5"
    assert window.session.paper == "A5"
    assert window.session.printer_name == "测试打印机"
    assert window.session.devices.hot_folder is not None


def test_a_clerk_may_test_but_not_save(qtbot: Any, station_shell: Any) -> None:
    window = login(qtbot, station_shell)  # wangfang, 窗口人员
    dialog = _dialog(qtbot, window)
    assert not dialog.save_button.isEnabled()
    assert "负责人或管理员" in dialog.save_button.toolTip()
    assert dialog.test_printer_button.isEnabled()


def test_a_bad_port_choice_is_refused_in_chinese(
    qtbot: Any, station_shell: Any, settings: QSettings
) -> None:
    window = login(qtbot, station_shell, "zhangjing", "super1234")
    dialog = _dialog(qtbot, window)
    dialog.interface.setCurrentIndex(dialog.interface.findData("serial"))
    dialog.port.setEditText("")
    dialog.save_button.click()
    assert dialog.message.text() == "请选择或输入读卡器串口。"
    assert not settings.contains("devices/card_port")


def test_detected_ports_and_cameras_are_offered(qtbot: Any, window: Any) -> None:
    from PySide6.QtCore import QSettings as Settings

    from ui.devices import DeviceSettingsDialog

    dialog = DeviceSettingsDialog(
        window.session,
        Settings(),
        window,
        ports=lambda: [("/dev/ttyUSB0", "CVR-100U"), ("/dev/ttyS0", "")],
        cameras=lambda: ["Document Camera", "Integrated Webcam"],
    )
    qtbot.addWidget(dialog)
    assert [dialog.port.itemData(i) for i in range(dialog.port.count())] == [
        "/dev/ttyUSB0",
        "/dev/ttyS0",
    ]
    assert dialog.port.itemText(0) == "/dev/ttyUSB0  CVR-100U"
    assert [dialog.camera.itemText(i) for i in range(dialog.camera.count())] == [
        "0：Document Camera",
        "1：Integrated Webcam",
    ]
    dialog.interface.setCurrentIndex(dialog.interface.findData("serial"))
    dialog.port.setCurrentIndex(0)
    dialog.camera.setCurrentIndex(1)
    chosen = dialog.form_options()
    assert chosen[CARD_PORT] == "/dev/ttyUSB0"  # the device, not the label
    from app.options import CAMERA

    assert chosen[CAMERA] == "1"


def test_reading_a_card_through_the_running_reader(
    qtbot: Any, station_shell: Any, reader: SimulatedReader
) -> None:
    window = login(qtbot, station_shell, "zhangjing", "super1234")
    reader.open()
    reader.present(CARD)
    dialog = _dialog(qtbot, window)
    assert not window.card_timer.isActive()  # the window's polling waits for the dialog
    dialog.test_reader_button.click()
    assert dialog.message.text() == "读卡成功：张**（110105********002X）"
    dialog.close()
    assert window.card_timer.isActive()


def test_reading_no_card_says_what_to_do(
    qtbot: Any, station_shell: Any, reader: SimulatedReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.devices

    monkeypatch.setattr(ui.devices, "CARD_WAIT_S", 0.05)
    window = login(qtbot, station_shell, "zhangjing", "super1234")
    reader.open()
    reader.remove()
    dialog = _dialog(qtbot, window)
    dialog.test_reader_button.click()
    assert "没有读到身份证" in dialog.message.text()
    assert "平放在读卡区" in dialog.message.text()


def test_a_newly_chosen_reader_is_opened_read_and_closed(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    from PySide6.QtCore import QSettings as Settings

    from app.options import CARD_SDK, CARD_SDK_LIB
    from ui.devices import DeviceSettingsDialog

    chosen_reader = SimulatedReader()
    seen: list[Any] = []

    def factory(options: Any) -> Any:
        seen.append((options[CARD_SDK], options[CARD_SDK_LIB]))
        chosen_reader.present(CARD)
        return chosen_reader, []

    dialog = DeviceSettingsDialog(window.session, Settings(), window, reader_factory=factory)
    qtbot.addWidget(dialog)
    dialog.interface.setCurrentIndex(dialog.interface.findData("sdt"))
    dialog.sdk_lib.setText(str(tmp_path / "libtermb.so"))
    dialog.test_reader_button.click()
    assert seen == [("sdt", tmp_path / "libtermb.so")]
    assert dialog.message.text() == "读卡成功：张**（110105********002X）"
    assert chosen_reader.is_open is False  # the test closed what it opened


def test_print_a_test_page_to_the_chosen_printer(
    qtbot: Any, station_shell: Any, printer: RecordingPrinter
) -> None:
    from pypdf import PdfReader

    window = login(qtbot, station_shell, "zhangjing", "super1234")
    dialog = _dialog(qtbot, window)
    dialog.printer.setCurrentIndex(dialog.printer.findText("测试打印机"))
    dialog.paper.setCurrentIndex(dialog.paper.findData("A5"))
    dialog.test_printer_button.click()
    assert [name for name, _ in printer.jobs] == ["打印测试页"]
    pdf = PdfReader(io.BytesIO(printer.jobs[0][1]))
    text = pdf.pages[0].extract_text()
    assert "打印测试页" in text
    assert "测试打印机" in text
    assert window.session.station.name in text
    width_mm = float(pdf.pages[0].mediabox.width) / 72 * 25.4
    assert round(width_mm) == 148  # A5
    assert dialog.message.text().startswith("已发送到打印机")


def test_a_printer_that_refuses_is_said(
    qtbot: Any, station_shell: Any, printer: RecordingPrinter
) -> None:
    window = login(qtbot, station_shell, "zhangjing", "super1234")
    printer.fail_with = "打印机缺纸，请装纸后重试。"
    dialog = _dialog(qtbot, window)
    dialog.test_printer_button.click()
    assert dialog.message.text() == "打印机缺纸，请装纸后重试。"


def test_the_camera_test_shows_live_frames(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    import ui.devices
    from app.capture.camera import SimulatedCamera

    frame = np.full((120, 160, 3), 200, np.uint8)
    cam = SimulatedCamera(images=[frame] * 50, name="测试高拍仪")
    monkeypatch.setattr(ui.devices, "make_camera_factory", lambda _o: (lambda: cam, "x"))
    dialog = _dialog(qtbot, window)
    dialog.test_camera()
    test = dialog.camera_dialog
    assert test is not None
    qtbot.waitUntil(lambda: test.frames >= 3, timeout=5000)
    assert "测试高拍仪" in test.status.text()
    test.close()


def test_a_camera_that_is_not_there_is_named(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.devices
    from app.capture.camera import OpenCvCamera

    def no_capture(*_a: Any, **_k: Any) -> Any:
        class Closed:
            def isOpened(self) -> bool:
                return False

            def release(self) -> None:
                pass

            def set(self, *_a: Any) -> bool:
                return False

        return Closed()

    monkeypatch.setattr(
        ui.devices,
        "make_camera_factory",
        lambda _o: (lambda: OpenCvCamera(7, capture_factory=no_capture), "7"),
    )
    dialog = _dialog(qtbot, window)
    dialog.test_camera()
    test = dialog.camera_dialog
    qtbot.waitUntil(lambda: "请检查 USB 线" in test.status.text(), timeout=5000)
    test.close()


def test_missing_devices_are_named_in_the_status_bar(
    qtbot: Any, ctx: Any, settings: QSettings, tmp_path: Path
) -> None:
    settings.setValue("devices/hot_folder", str(tmp_path / "scans-gone"))
    settings.setValue("print/printer", "财务室打印机")
    settings.sync()
    shell = running_shell(
        qtbot,
        InlineTaskRunner(),
        ctx,
        printer=RecordingPrinter(),
        reader=SimulatedReader(),
        settings=settings,
    )
    app_shell = next(shell)
    try:
        window = login(qtbot, app_shell)
        status = window.device_status
        assert status.isVisible()
        assert "扫描仪文件夹不存在" in status.text()
        assert "扫描仪输出文件夹不存在" in status.toolTip()  # with the path
        assert "设备设置" in status.text()
        assert "另有 1 项" in status.text()
        assert "找不到打印机“财务室打印机”" in status.toolTip()
        status.click()
        assert window.device_settings is not None and window.device_settings.isVisible()
        window.device_settings.close()
    finally:
        next(shell, None)


def test_no_status_line_when_every_device_is_there(qtbot: Any, window: Any) -> None:
    assert window.device_check.problems == []
    assert not window.device_status.isVisible()


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
pytestmark = pytest.mark.expect_log(logging.WARNING, "intake.ui.devices", r"^device problem: ")
