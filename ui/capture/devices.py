"""What the capture screens use: the document camera, the scanner's folder (both built by
app.devices from the options) and the OCR engine.

Nothing here opens a device: the camera is made and opened on the worker pool when the capture
dialog starts (opening a UVC device can take a second). Tests replace the fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.capture.camera import Camera
    from app.capture.imports import HotFolder
    from app.capture.ocr import OcrEngine
    from ui.session import ClerkSession


@dataclass
class CaptureDevices:
    camera_factory: Callable[[], Camera]  # called on the pool, once per capture dialog
    camera_label: str
    hot_folder: HotFolder | None = None
    ocr_engine: OcrEngine | None = None  # None: the default (rapidocr) if installed
    ocr_installed: bool = False

    @property
    def ocr_available(self) -> bool:
        return self.ocr_engine is not None or self.ocr_installed

    @classmethod
    def from_session(cls, session: ClerkSession) -> CaptureDevices:
        from app.capture.ocr import ocr_available  # light: no rapidocr import

        d = session.devices
        return cls(d.camera_factory, d.camera_label, d.hot_folder, None, ocr_available())
