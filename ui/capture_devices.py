"""Which document camera, scanner folder and OCR engine the capture screens use.

Demo mode: the simulated camera of `ui.capture_demo`. Otherwise `OpenCvCamera` on the device
named by the setting `capture/camera` (an index such as `0`, or part of the device name such as
`Document Camera`), or the `INTAKE_CAMERA` environment variable; index 0 when neither is set.
The scanner's folder comes from `capture/hot_folder` or `INTAKE_HOT_FOLDER`; none: no watching.

Nothing here opens a device: the camera is made and opened on the worker pool when the capture
dialog starts (opening a UVC device can take a second). Tests replace the fields.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings

if TYPE_CHECKING:
    from app.capture.camera import Camera
    from ui.session import ClerkSession

CAMERA_SETTING = "capture/camera"
HOT_FOLDER_SETTING = "capture/hot_folder"


def camera_spec(settings: QSettings | None = None) -> int | str:
    value = str((settings or QSettings()).value(CAMERA_SETTING, "") or "").strip()
    value = value or os.environ.get("INTAKE_CAMERA", "").strip() or "0"
    return int(value) if value.isdigit() else value


def hot_folder_path(settings: QSettings | None = None) -> Path | None:
    value = str((settings or QSettings()).value(HOT_FOLDER_SETTING, "") or "").strip()
    value = value or os.environ.get("INTAKE_HOT_FOLDER", "").strip()
    return Path(value) if value else None


def _opencv_camera(spec: int | str) -> Camera:
    from app.capture.camera import OpenCvCamera

    return OpenCvCamera(spec)


def _demo_camera() -> Camera:
    from ui.capture_demo import demo_camera

    return demo_camera()  # type: ignore[no-any-return]


@dataclass
class CaptureDevices:
    camera_factory: Callable[[], Camera]  # called on the pool, once per capture dialog
    camera_label: str
    hot_folder: Any = None  # app.capture.imports.HotFolder, or None
    ocr_engine: Any = None  # app.capture.ocr.OcrEngine; None: the default (rapidocr) if installed
    ocr_installed: bool = False

    @property
    def ocr_available(self) -> bool:
        return self.ocr_engine is not None or self.ocr_installed

    @classmethod
    def from_session(cls, session: ClerkSession) -> CaptureDevices:
        from app.capture.ocr import ocr_available  # light: no rapidocr import

        hot = None
        folder = hot_folder_path()
        if folder is not None:
            from app.capture.imports import HotFolder

            hot = HotFolder(folder)
        if session.demo:
            return cls(_demo_camera, "演示高拍仪", hot, None, ocr_available())
        # `--camera` (ClerkSession.camera, once the shell passes it; see the capture report)
        # wins over the setting.
        option = getattr(session, "camera", None)
        spec: int | str = (
            camera_spec() if not option else (int(option) if str(option).isdigit() else str(option))
        )
        return cls(lambda: _opencv_camera(spec), str(spec), hot, None, ocr_available())
