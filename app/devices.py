"""The devices half of the composition root: the printer, the ID card reader, the document
camera, the scanner's hot folder and the sync engine, built in one place from the options
(app/options.py), next to the store and services of app/context.py. The window receives them.

Each device is typed by a Protocol that the real implementation and its simulator both satisfy:
`IdCardReader` (Ga467Reader, the vendor-SDK reader, SimulatedReader), `Camera` (OpenCvCamera,
SimulatedCamera), `PrinterBackend` (QtPrinterBackend, FilePrinterBackend, tests' recording
printer). Nothing here opens a device: readers and cameras are opened where they are used, on
the worker pool. `check_devices` names what is configured but missing, with what to do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.capture.camera import Camera
from app.capture.idcard import IdCardReader
from app.options import (
    CAMERA,
    CARD_PORT,
    CARD_SDK,
    CARD_SDK_LIB,
    DEMO,
    HOT_FOLDER,
    IDLE_LOCK_MINUTES,
    PAPER,
    PRINTER_DIR,
    PRINTER_NAME,
    WLT_LIB,
    Options,
)

if TYPE_CHECKING:
    from app.capture.imports import HotFolder
    from app.context import AppContext
    from printing.dispatch import PrinterBackend
    from sync.engine import SyncEngine

log = logging.getLogger("intake.devices")

__all__ = [
    "Camera",
    "DeviceProblem",
    "Devices",
    "IdCardReader",
    "SyncEngineFactory",
    "build_devices",
    "check_devices",
    "default_sync_engine",
    "make_camera_factory",
    "make_reader",
    "serial_ports",
]


class SyncEngineFactory(Protocol):
    """Builds the sync engine for a store (on the database thread, at the first login)."""

    def __call__(self, ctx: AppContext, /) -> SyncEngine: ...


def default_sync_engine(ctx: AppContext) -> SyncEngine:
    from sync.engine import SyncEngine

    return SyncEngine.from_context(ctx, clock=ctx.clock)  # the store's clock, as every service


@dataclass(frozen=True)
class DeviceProblem:
    """A device that is configured but missing or failing: what (设备) and what to do (Chinese)."""

    device: str  # "card_reader", "camera", "hot_folder", "printer", "wlt"
    message: str  # the whole story: which file or port, and what to do
    short: str = ""  # for the status bar: what and what to do, in a few words

    @property
    def brief(self) -> str:
        return self.short or self.message


@dataclass
class Devices:
    """What the window works with besides the services."""

    printer: PrinterBackend
    reader: IdCardReader | None  # None: manual entry only
    camera_factory: Callable[[], Camera]  # called on the pool, once per capture dialog
    camera_label: str
    hot_folder: HotFolder | None
    sync_factory: SyncEngineFactory
    paper: str = "A4"
    printer_name: str | None = None  # None: the backend's default printer
    idle_lock_minutes: float = 10.0
    demo: bool = False
    problems: list[DeviceProblem] = field(default_factory=list)  # found while building


def camera_spec(value: str | None) -> int | str:
    """A camera option as OpenCvCamera takes it: an index ("0") or part of the device's name."""
    text = (value or "").strip() or "0"
    return int(text) if text.isdigit() else text


def build_devices(
    options: Options,
    db_path: Path,
    *,
    printer: PrinterBackend | None = None,
    reader: IdCardReader | None = None,
    camera_factory: Callable[[], Camera] | None = None,
    sync_factory: SyncEngineFactory | None = None,
) -> Devices:
    """Every device from OPTIONS; the keyword arguments replace one (tests, benchmarks). DB_PATH
    places demo mode's printed files beside the demo store."""
    problems: list[DeviceProblem] = []
    demo = options[DEMO]
    if printer is None:
        printer = _printer(options, db_path)
    if reader is None:
        reader, problems = make_reader(options)
    made, label = make_camera_factory(options)
    camera_factory = camera_factory or made
    hot = None
    folder = options[HOT_FOLDER]
    if folder is not None:
        from app.capture.imports import HotFolder

        hot = HotFolder(folder)
    return Devices(
        printer=printer,
        reader=reader,
        camera_factory=camera_factory,
        camera_label=label,
        hot_folder=hot,
        sync_factory=sync_factory or default_sync_engine,
        paper=options[PAPER],
        printer_name=options[PRINTER_NAME],
        idle_lock_minutes=options[IDLE_LOCK_MINUTES],
        demo=demo,
        problems=problems,
    )


def _printer(options: Options, db_path: Path) -> PrinterBackend:
    from printing.dispatch import FilePrinterBackend, QtPrinterBackend

    out = options[PRINTER_DIR]
    if out is None and options[DEMO]:
        out = db_path.parent / "printed"
    return FilePrinterBackend(out) if out is not None else QtPrinterBackend()


def make_reader(options: Options) -> tuple[IdCardReader | None, list[DeviceProblem]]:
    """The ID card reader the options choose (not opened), and why there is none if it fails:
    demo → the simulator; an SDK family → the vendor library; a port → GA 467 serial. The WLT
    photo decoder goes with either real reader."""
    problems: list[DeviceProblem] = []
    if options[DEMO]:
        from app.capture.idcard_sim import SimulatedReader

        return SimulatedReader(), problems
    if options[CARD_SDK] and options[CARD_SDK_LIB] is None:
        problems.append(
            DeviceProblem(
                "card_reader",
                "读卡器厂商 SDK 库文件未设置：请在 设备 → 设备设置 中选择 SDK 库文件。",
                "未设置读卡器 SDK 库：请在 设备设置 中选择",
            )
        )
        return None, problems
    from app.capture.idcard_sdk import configured_reader

    lib, wlt = options[CARD_SDK_LIB], options[WLT_LIB]
    # Nothing is opened here: a library that does not load is named by the first poll.
    reader: IdCardReader | None = configured_reader(
        port=options[CARD_PORT],
        sdk_family=options[CARD_SDK],
        sdk_lib=str(lib) if lib is not None else None,
        wlt_lib=str(wlt) if wlt is not None else None,
    )
    return reader, problems


@dataclass(frozen=True)
class SerialPortInfo:
    device: str  # what the reader option takes: /dev/ttyUSB0, COM3
    description: str


def serial_ports() -> list[SerialPortInfo]:
    """The serial ports of this machine (pyserial), for the settings screen."""
    from serial.tools import list_ports

    return [
        SerialPortInfo(p.device, p.description if p.description != "n/a" else "")
        for p in sorted(list_ports.comports(), key=lambda p: p.device)
    ]


# The vendor-SDK reader (ctypes, CVR_* / SDT_* families) lives in app/capture/idcard_sdk.py;
# its factory takes the family, the library and the photo decoder's library.
def make_camera_factory(options: Options) -> tuple[Callable[[], Camera], str]:
    """What makes the document camera the options choose (called on the pool), and its label."""
    if options[DEMO]:
        return _demo_camera, "演示高拍仪"
    spec = camera_spec(options[CAMERA])
    return _opencv_factory(spec), str(spec)


def _demo_camera() -> Camera:
    from app.capture.demo_camera import demo_camera

    return demo_camera()


def _opencv_factory(spec: int | str) -> Callable[[], Camera]:
    def make() -> Camera:
        from app.capture.camera import OpenCvCamera

        return OpenCvCamera(spec)

    return make


# ----------------------------------------------------------------------------- start-up check


def check_devices(
    options: Options, exists: Callable[[str], bool] = os.path.exists
) -> list[DeviceProblem]:
    """What is configured but not there (files and folders only: no device is opened). Printers
    are checked by the window (QPrinterInfo). Run on the pool: a network folder can be slow."""
    if options[DEMO]:
        return []
    problems: list[DeviceProblem] = []
    port = options[CARD_PORT]
    if port and not options[CARD_SDK] and port.startswith("/dev/") and not exists(port):
        problems.append(
            DeviceProblem(
                "card_reader",
                f"找不到身份证读卡器（串口 {port}）：请检查读卡器的 USB 线，"
                "或在 设备 → 设备设置 中选择正确的串口。",
                "读卡器未连接：请检查 USB 线或在 设备设置 中换串口",
            )
        )
    for option, device, what in (
        (CARD_SDK_LIB, "card_reader", "读卡器 SDK 库文件"),
        (WLT_LIB, "wlt", "身份证照片解码库"),
    ):
        path = options[option]
        if path is not None and not exists(str(path)):
            problems.append(
                DeviceProblem(
                    device,
                    f"找不到{what}（{path}）：请在 设备 → 设备设置 中重新选择，"
                    "或联系县技术支持安装厂商驱动。",
                    f"找不到{what}：请在 设备设置 中重新选择",
                )
            )
    folder = options[HOT_FOLDER]
    if folder is not None and not exists(str(folder)):
        problems.append(
            DeviceProblem(
                "hot_folder",
                f"扫描仪输出文件夹不存在（{folder}）：请检查网络盘或移动硬盘，"
                "或在 设备 → 设备设置 中重新选择。",
                "扫描仪文件夹不存在：请检查网络盘或在 设备设置 中重选",
            )
        )
    return problems
