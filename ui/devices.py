"""设备设置 and the status bar's device line.

- `DeviceSettingsDialog`: the ID card reader (none / GA 467 serial port / vendor SDK CVR or SDT
  with its library and the photo decoder), the document camera, the scanner's hot folder and the
  printer with its paper; detected ports (pyserial), cameras (Qt Multimedia) and printers (the
  print backend); a test per device (read a card, show the camera, print a test page); saved as
  station settings through app/options.py. Everyone may test; supervisors and administrators
  save. Saved settings take effect at the next login (the devices are built then).
- `DeviceStatusWidget`: at window start, a configured device that is missing (app.devices
  check_devices, the printer list) is named in the status bar with what to do; a click opens
  设备设置.

Every device is touched on the pool, never on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.devices import DeviceProblem, check_devices, make_camera_factory, make_reader
from app.options import (
    CAMERA,
    CARD_PORT,
    CARD_SDK,
    CARD_SDK_LIB,
    HOT_FOLDER,
    PAPER,
    PRINTER_NAME,
    WLT_LIB,
    Option,
    OptionError,
    Options,
    SettingsStore,
    store,
)

if TYPE_CHECKING:
    from app.capture.idcard import IdCardReader
    from printing.dispatch import PrintResult
    from ui.capture.preview import ShownFrame
    from ui.session import ClerkSession
    from ui.tasks import TaskError

log = logging.getLogger("intake.ui.devices")

CARD_WAIT_S = 5.0  # the test read waits this long for a card on the reader
DEVICE_OPTIONS: tuple[Option[Any], ...] = (
    CARD_SDK,
    CARD_PORT,
    CARD_SDK_LIB,
    WLT_LIB,
    CAMERA,
    HOT_FOLDER,
    PRINTER_NAME,
    PAPER,
)
READER_OPTIONS: tuple[Option[Any], ...] = (CARD_SDK, CARD_PORT, CARD_SDK_LIB, WLT_LIB)
ReaderFactory = Callable[[Options], "tuple[IdCardReader | None, list[DeviceProblem]]"]


def may_save_devices(role: str) -> bool:
    """Station settings: a supervisor or an administrator (a clerk may test)."""
    return role in ("supervisor", "admin")


def video_inputs() -> list[str]:
    """The cameras Qt Multimedia sees, in its order (an empty list without the module)."""
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:  # Qt Multimedia needs libpulse0 on Linux
        log.warning("Qt Multimedia unavailable: cameras not listed")
        return []
    return [d.description() for d in QMediaDevices.videoInputs()]


def read_test_card(reader: IdCardReader, own: bool, wait: float = CARD_WAIT_S) -> str | None:
    """Pool: one reading, shown masked (the test proves the reader, not the person). None: no
    card was placed in time. OWN: this test opened the reader and closes it."""
    from app.validators import mask_name, mask_resident_id

    if own:
        reader.open()
    try:
        if not reader.wait_for_card(wait):
            return None
        card = reader.read()
    finally:
        if own:
            reader.close()
    return f"{mask_name(card.name)}（{mask_resident_id(card.resident_id)}）"


def find_problems(session: ClerkSession) -> list[DeviceProblem]:
    """Pool: what the devices built at login found, the missing files and folders, and a chosen
    printer the print system does not know."""
    problems = list(session.devices.problems)
    problems += check_devices(session.options)
    name = session.printer_name
    if name and not session.demo:
        try:
            known = session.printer.available_printers()
        except Exception:  # the print system itself (CUPS, the spooler) did not answer
            known = []
        if name not in known:
            problems.append(
                DeviceProblem(
                    "printer",
                    QCoreApplication.translate(
                        "DeviceSettingsDialog",
                        "找不到打印机“{name}”：请检查打印机电源和连接，"
                        "或在 设备 → 设备设置 中重新选择打印机。",
                    ).format(name=name),
                    QCoreApplication.translate(
                        "DeviceSettingsDialog",
                        "找不到打印机：请检查电源和连接，或在 设备设置 中重选",
                    ),
                )
            )
    return problems


# ----------------------------------------------------------------------------- status bar


class DeviceStatusWidget(QToolButton):
    """Hidden while every device is there; otherwise the first problem and how many more."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoRaise(True)
        self.setObjectName("deviceStatus")
        self.setAccessibleName(QCoreApplication.translate("DeviceSettingsDialog", "设备状态"))
        self.setStyleSheet("color: #b03a2e; font-weight: bold;")
        self.problems: list[DeviceProblem] = []
        self.hide()

    def set_problems(self, problems: list[DeviceProblem]) -> None:
        self.problems = list(problems)
        if not problems:
            self.hide()
            return
        text = problems[0].brief
        if len(problems) > 1:
            text += QCoreApplication.translate(
                "DeviceSettingsDialog", "（另有 {n} 项，点击查看）"
            ).format(n=len(problems) - 1)
        self.setText(text)
        self.setToolTip("\n".join(p.message for p in problems))
        self.show()


# ----------------------------------------------------------------------------- camera test


class CameraTestDialog(QDialog):
    """The chosen camera's live picture: proof that it opens and shows the desk."""

    def __init__(
        self, session: ClerkSession, factory: Callable[[], object], parent: QWidget | None = None
    ) -> None:
        from ui.capture.preview import CameraFeed, PreviewWidget

        super().__init__(parent)
        self.setWindowTitle(QCoreApplication.translate("DeviceSettingsDialog", "测试高拍仪"))
        self.resize(720, 480)
        self.preview = PreviewWidget(self)
        self.preview.set_placeholder(
            QCoreApplication.translate("DeviceSettingsDialog", "正在打开高拍仪……")
        )
        self.status = QLabel(
            QCoreApplication.translate("DeviceSettingsDialog", "正在打开高拍仪……"), self
        )
        self.status.setWordWrap(True)
        close = QPushButton(QCoreApplication.translate("DeviceSettingsDialog", "关闭"), self)
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.frames = 0
        self.feed = CameraFeed(session.runner, factory, self)
        self.feed.opened.connect(self._on_feed_opened)
        self.feed.failed.connect(self._on_feed_failed)
        self.feed.frame_shown.connect(self._on_feed_frame_shown)
        self.finished.connect(lambda _r: self.feed.stop())

    def start(self) -> None:
        self.feed.start()

    def _on_feed_opened(self, name: str) -> None:
        self.status.setText(
            QCoreApplication.translate(
                "DeviceSettingsDialog", "高拍仪“{name}”已打开：画面应清晰、无卡顿。"
            ).format(name=name)
        )

    def _on_feed_failed(self, err: TaskError) -> None:
        self.preview.set_placeholder(err.message)
        self.status.setText(
            err.message
            + QCoreApplication.translate(
                "DeviceSettingsDialog", "请检查 USB 线，或选择另一台高拍仪（设备序号或名称）。"
            )
        )

    def _on_feed_frame_shown(self, shown: ShownFrame) -> None:
        self.frames += 1
        self.preview.set_frame(shown)


# ----------------------------------------------------------------------------- settings


class DeviceSettingsDialog(QDialog):
    saved = Signal(object)  # Options: the device options as saved

    def __init__(
        self,
        session: ClerkSession,
        settings: SettingsStore,
        parent: QWidget | None = None,
        *,
        reader_factory: ReaderFactory = make_reader,
        ports: Callable[[], list[tuple[str, str]]] | None = None,
        cameras: Callable[[], list[str]] = video_inputs,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self._reader_factory = reader_factory
        self._ports = ports or _serial_ports
        self._cameras = cameras
        self.camera_dialog: CameraTestDialog | None = None
        self.file_dialog: QFileDialog | None = None
        self.setWindowTitle(QCoreApplication.translate("DeviceSettingsDialog", "设备设置"))
        self.setObjectName("deviceSettings")
        self.setMinimumWidth(640)
        self._build()
        self._load(session.options)
        self.refresh()
        self._on_interface_changed()
        if not may_save_devices(session.actor.role):
            self.save_button.setEnabled(False)
            self.save_button.setToolTip(
                QCoreApplication.translate(
                    "DeviceSettingsDialog", "设备设置由负责人或管理员保存；您可以测试设备。"
                )
            )

    # -- building

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._reader_box())
        layout.addWidget(self._camera_box())
        layout.addWidget(self._printer_box())
        self.message = QLabel(self)
        self.message.setObjectName("deviceMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        hint = QLabel(
            QCoreApplication.translate(
                "DeviceSettingsDialog", "保存后，重新登录（切换用户）时按新设置连接设备。"
            ),
            self,
        )
        hint.setObjectName("sectionHint")
        layout.addWidget(hint)
        buttons = QDialogButtonBox(self)
        self.save_button = buttons.addButton(
            QCoreApplication.translate("DeviceSettingsDialog", "保存"),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        cancel = buttons.addButton(
            QCoreApplication.translate("DeviceSettingsDialog", "关闭"),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.save_button.clicked.connect(self.save)
        cancel.clicked.connect(self.reject)
        layout.addWidget(buttons)

    def _path_row(self, edit: QLineEdit, title: str, folder: bool = False) -> QWidget:
        row = QWidget(self)
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(edit, 1)
        browse = QPushButton(QCoreApplication.translate("DeviceSettingsDialog", "浏览…"), row)
        browse.setAccessibleName(
            title + QCoreApplication.translate("DeviceSettingsDialog", "：浏览")
        )
        browse.clicked.connect(lambda: self._browse(edit, title, folder))
        box.addWidget(browse)
        return row

    def _reader_box(self) -> QGroupBox:
        box = QGroupBox(QCoreApplication.translate("DeviceSettingsDialog", "身份证读卡器"), self)
        form = QFormLayout(box)
        self.interface = QComboBox(box)
        for text, value in (
            (QCoreApplication.translate("DeviceSettingsDialog", "不使用（手工录入）"), ""),
            (
                QCoreApplication.translate("DeviceSettingsDialog", "串口读卡器（GA 467 协议）"),
                "serial",
            ),
            (
                QCoreApplication.translate("DeviceSettingsDialog", "厂商 SDK：CVR 接口（华视等）"),
                "cvr",
            ),
            (
                QCoreApplication.translate(
                    "DeviceSettingsDialog", "厂商 SDK：SDT 接口（神思、精伦、新中新等）"
                ),
                "sdt",
            ),
        ):
            self.interface.addItem(text, value)
        self.interface.currentIndexChanged.connect(self._on_interface_changed)
        form.addRow(QCoreApplication.translate("DeviceSettingsDialog", "接口(&I)"), self.interface)
        self.port = QComboBox(box)
        self.port.setEditable(True)
        self.port.setAccessibleName(
            QCoreApplication.translate("DeviceSettingsDialog", "读卡器串口")
        )
        form.addRow(QCoreApplication.translate("DeviceSettingsDialog", "串口(&P)"), self.port)
        self.sdk_lib = QLineEdit(box)
        self.sdk_lib.setAccessibleName(CARD_SDK_LIB.description)
        self.sdk_lib.setPlaceholderText(
            QCoreApplication.translate(
                "DeviceSettingsDialog", "如 /opt/reader/libtermb.so 或 C:\\读卡器\\termb.dll"
            )
        )
        form.addRow(
            QCoreApplication.translate("DeviceSettingsDialog", "SDK 库文件(&L)"),
            self._path_row(
                self.sdk_lib, QCoreApplication.translate("DeviceSettingsDialog", "SDK 库文件")
            ),
        )
        self.wlt_lib = QLineEdit(box)
        self.wlt_lib.setAccessibleName(WLT_LIB.description)
        self.wlt_lib.setPlaceholderText(
            QCoreApplication.translate(
                "DeviceSettingsDialog", "libwlt.so 或 WltRS.dll；空：不显示照片"
            )
        )
        form.addRow(
            QCoreApplication.translate("DeviceSettingsDialog", "照片解码库(&W)"),
            self._path_row(
                self.wlt_lib, QCoreApplication.translate("DeviceSettingsDialog", "照片解码库")
            ),
        )
        self.test_reader_button = QPushButton(
            QCoreApplication.translate("DeviceSettingsDialog", "测试读卡（请先放好身份证）"), box
        )
        self.test_reader_button.clicked.connect(self.test_reader)
        form.addRow("", self.test_reader_button)
        return box

    def _camera_box(self) -> QGroupBox:
        box = QGroupBox(QCoreApplication.translate("DeviceSettingsDialog", "高拍仪与扫描仪"), self)
        form = QFormLayout(box)
        self.camera = QComboBox(box)
        self.camera.setEditable(True)
        self.camera.setAccessibleName(CAMERA.description)
        self.camera.setToolTip(CAMERA.description)
        edit = self.camera.lineEdit()
        if edit is not None:  # editable: it has one
            edit.setPlaceholderText(
                QCoreApplication.translate(
                    "DeviceSettingsDialog", "设备序号（如 0）或设备名称的一部分"
                )
            )
        self.test_camera_button = QPushButton(
            QCoreApplication.translate("DeviceSettingsDialog", "测试高拍仪"), box
        )
        self.test_camera_button.clicked.connect(self.test_camera)
        row = QWidget(box)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.camera, 1)
        line.addWidget(self.test_camera_button)
        form.addRow(QCoreApplication.translate("DeviceSettingsDialog", "高拍仪(&C)"), row)
        self.hot_folder = QLineEdit(box)
        self.hot_folder.setAccessibleName(HOT_FOLDER.description)
        self.hot_folder.setPlaceholderText(
            QCoreApplication.translate("DeviceSettingsDialog", "空：不监视")
        )
        form.addRow(
            QCoreApplication.translate("DeviceSettingsDialog", "扫描仪输出文件夹(&F)"),
            self._path_row(
                self.hot_folder,
                QCoreApplication.translate("DeviceSettingsDialog", "扫描仪输出文件夹"),
                folder=True,
            ),
        )
        return box

    def _printer_box(self) -> QGroupBox:
        box = QGroupBox(QCoreApplication.translate("DeviceSettingsDialog", "打印机"), self)
        form = QFormLayout(box)
        self.printer = QComboBox(box)
        self.printer.setAccessibleName(PRINTER_NAME.description)
        form.addRow(QCoreApplication.translate("DeviceSettingsDialog", "打印机(&R)"), self.printer)
        self.paper = QComboBox(box)
        self.paper.setAccessibleName(PAPER.description)
        for size in PAPER.choices:
            self.paper.addItem(size, size)
        form.addRow(QCoreApplication.translate("DeviceSettingsDialog", "文书纸张(&A)"), self.paper)
        self.test_printer_button = QPushButton(
            QCoreApplication.translate("DeviceSettingsDialog", "打印测试页"), box
        )
        self.test_printer_button.clicked.connect(self.test_printer)
        form.addRow("", self.test_printer_button)
        return box

    # -- values

    def _load(self, options: Options) -> None:
        sdk = options[CARD_SDK]
        value = sdk or ("serial" if options[CARD_PORT] else "")
        self.interface.setCurrentIndex(max(0, self.interface.findData(value)))
        self.port.setEditText(options[CARD_PORT] or "")
        self.sdk_lib.setText(str(options[CARD_SDK_LIB] or ""))
        self.wlt_lib.setText(str(options[WLT_LIB] or ""))
        self.camera.setEditText(options[CAMERA] or "")
        self.hot_folder.setText(str(options[HOT_FOLDER] or ""))
        self._printer_choice = options[PRINTER_NAME] or ""
        self.paper.setCurrentIndex(max(0, self.paper.findData(options[PAPER])))

    def refresh(self) -> None:
        """Detect again: serial ports and cameras here (quick), printers on the pool."""
        port = self.port.currentText()
        self.port.clear()
        for device, description in self._ports():
            self.port.addItem(f"{device}  {description}".strip(), device)
        self.port.setEditText(port)
        camera = self.camera.currentText()
        self.camera.clear()
        for index, name in enumerate(self._cameras()):
            self.camera.addItem(
                QCoreApplication.translate("DeviceSettingsDialog", "{index}：{name}").format(
                    index=index, name=name
                ),
                str(index),
            )
        self.camera.setEditText(camera)
        self.printer.clear()
        self.printer.addItem(
            QCoreApplication.translate("DeviceSettingsDialog", "系统默认打印机"), ""
        )
        self.session.runner.run_pool(
            self.session.printer.available_printers,
            self._on_printers_listed,
            lambda _e: self._on_printers_listed([]),
            guard=self,
            quiet=True,
        )

    def _on_printers_listed(self, names: list[str]) -> None:
        for name in names:
            if self.printer.findData(name) < 0:
                self.printer.addItem(name, name)
        chosen = self._printer_choice
        if chosen and self.printer.findData(chosen) < 0:
            self.printer.addItem(
                QCoreApplication.translate("DeviceSettingsDialog", "{name}（未找到）").format(
                    name=chosen
                ),
                chosen,
            )
        self.printer.setCurrentIndex(max(0, self.printer.findData(chosen)))

    @staticmethod
    def _combo_value(combo: QComboBox) -> str:
        """The device the clerk chose from the list, or what they typed."""
        text = combo.currentText().strip()
        index = combo.findText(text)
        if index >= 0 and combo.itemData(index) is not None:
            return str(combo.itemData(index))
        return text

    def form_options(self) -> Options:
        """The device options as the form stands (checked: OptionError when one does not fit)."""
        interface = self.interface.currentData() or ""
        values = {
            "card_sdk": interface if interface in ("cvr", "sdt") else None,
            "card_port": self._combo_value(self.port) if interface == "serial" else None,
            "card_sdk_lib": self.sdk_lib.text().strip() if interface in ("cvr", "sdt") else "",
            "wlt_lib": self.wlt_lib.text().strip(),
            "camera": self._combo_value(self.camera),
            "hot_folder": self.hot_folder.text().strip(),
            "printer_name": self.printer.currentData() or "",
            "paper": self.paper.currentData(),
        }
        by = {o.name: o for o in DEVICE_OPTIONS}
        converted = {
            name: by[name].convert(value) if value is not None else None
            for name, value in values.items()
        }
        if interface == "serial" and not converted["card_port"]:
            raise OptionError("devices.port_required")
        return self.session.options.replace(**converted)

    def save(self) -> None:
        try:
            chosen = self.form_options()
            for option in DEVICE_OPTIONS:
                store(self.settings, option, chosen[option])
        except OptionError as exc:
            self._say(exc.message, error=True)
            return
        self.settings.sync()
        log.info("device settings saved")
        self._say(
            QCoreApplication.translate(
                "DeviceSettingsDialog", "设备设置已保存。重新登录（切换用户）后按新设置连接设备。"
            )
        )
        self.saved.emit(chosen)

    # -- tests

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #b03a2e;" if error else "color: #1e6b3a;")
        self.message.setText(text)

    def _on_interface_changed(self) -> None:
        interface = self.interface.currentData() or ""
        self.port.setEnabled(interface == "serial")
        self.sdk_lib.setEnabled(interface in ("cvr", "sdt"))
        self.test_reader_button.setEnabled(bool(interface) or self.session.reader is not None)

    def _same_reader(self, chosen: Options) -> bool:
        current = self.session.options
        return self.session.demo or all(chosen[o] == current[o] for o in READER_OPTIONS)

    def test_reader(self) -> None:
        try:
            chosen = self.form_options()
        except OptionError as exc:
            self._say(exc.message, error=True)
            return
        own = not self._same_reader(chosen)
        reader = self.session.reader if not own else None
        if own:
            reader, problems = self._reader_factory(chosen)
            if reader is None:
                self._say(
                    problems[0].message
                    if problems
                    else QCoreApplication.translate("DeviceSettingsDialog", "未选择读卡器。"),
                    error=True,
                )
                return
        if reader is None:
            self._say(
                QCoreApplication.translate("DeviceSettingsDialog", "未选择读卡器。"), error=True
            )
            return
        self.test_reader_button.setEnabled(False)
        self._say(
            QCoreApplication.translate("DeviceSettingsDialog", "正在读卡：请把身份证放在读卡器上……")
        )
        self.session.runner.run_pool(
            lambda: read_test_card(reader, own),
            self._on_reader_tested,
            self._on_reader_failed,
            guard=self,
            quiet=True,
        )

    def _on_reader_tested(self, shown: str | None) -> None:
        self.test_reader_button.setEnabled(True)
        if shown is None:
            self._say(
                QCoreApplication.translate(
                    "DeviceSettingsDialog",
                    "读卡器已连接，但 {s} 秒内没有读到身份证：请把身份证平放在读卡区后再试。",
                ).format(s=f"{CARD_WAIT_S:g}"),
                error=True,
            )
        else:
            self._say(
                QCoreApplication.translate("DeviceSettingsDialog", "读卡成功：{card}").format(
                    card=shown
                )
            )

    def _on_reader_failed(self, err: TaskError) -> None:
        self.test_reader_button.setEnabled(True)
        self._say(
            QCoreApplication.translate(
                "DeviceSettingsDialog", "读卡失败：{error}请检查读卡器的连接和设置。"
            ).format(error=err.message),
            error=True,
        )

    def test_camera(self) -> None:
        try:
            chosen = self.form_options()
        except OptionError as exc:
            self._say(exc.message, error=True)
            return
        factory, _label = make_camera_factory(chosen)
        if self.camera_dialog is not None:
            self.camera_dialog.close()
        self.camera_dialog = CameraTestDialog(self.session, factory, self)
        self.camera_dialog.show()
        self.camera_dialog.start()

    def test_printer(self) -> None:
        try:
            chosen = self.form_options()
        except OptionError as exc:
            self._say(exc.message, error=True)
            return
        name = chosen[PRINTER_NAME]
        paper = chosen[PAPER]
        station = self.session.station.name
        when = f"{self.session.ctx.clock.now():%Y-%m-%d %H:%M}"
        printer = self.session.printer
        default_label = QCoreApplication.translate("DeviceSettingsDialog", "系统默认打印机")
        job_name = QCoreApplication.translate("DeviceSettingsDialog", "打印测试页")

        def run() -> PrintResult:
            from printing.testpage import build_test_page

            label = name or printer.default_printer() or default_label
            pdf = build_test_page(station, label, paper, when)
            return printer.print_pdf(pdf, name, 1, job_name=job_name)

        self.test_printer_button.setEnabled(False)
        self._say(QCoreApplication.translate("DeviceSettingsDialog", "正在发送测试页……"))
        self.session.runner.run_pool(
            run, self._on_printed, self._on_print_failed, guard=self, quiet=True
        )

    def _on_printed(self, result: PrintResult) -> None:
        self.test_printer_button.setEnabled(True)
        self._say(result.message, error=not result.ok)

    def _on_print_failed(self, err: TaskError) -> None:
        self.test_printer_button.setEnabled(True)
        self._say(err.message, error=True)

    def _browse(self, edit: QLineEdit, title: str, folder: bool) -> None:
        dialog = QFileDialog(self, title, edit.text() or str(Path.home()))
        dialog.setFileMode(
            QFileDialog.FileMode.Directory if folder else QFileDialog.FileMode.ExistingFile
        )
        dialog.fileSelected.connect(edit.setText)
        self.file_dialog = dialog
        dialog.open()


def _serial_ports() -> list[tuple[str, str]]:
    from app.devices import serial_ports

    try:
        return [(p.device, p.description) for p in serial_ports()]
    except Exception:  # pyserial's enumeration on an odd platform: type the port instead
        log.warning("serial ports not listed", exc_info=True)
        return []


class DeviceCheck(QObject):
    """Runs `find_problems` on the pool once and hands the result to the status widget."""

    checked = Signal(object)  # list[DeviceProblem]

    def __init__(self, session: ClerkSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.problems: list[DeviceProblem] | None = None

    def start(self) -> None:
        self.session.runner.run_pool(
            lambda: find_problems(self.session),
            self._on_found,
            lambda _e: self._on_found(list(self.session.devices.problems)),
            guard=self,
            quiet=True,
        )

    def _on_found(self, problems: list[DeviceProblem]) -> None:
        self.problems = problems
        for p in problems:
            log.warning("device problem: %s", p.device)  # the kind only: messages hold paths
        self.checked.emit(problems)
