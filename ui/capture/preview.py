"""Live preview of the document camera without blocking the GUI.

`CameraFeed` ticks on a QTimer on the GUI thread and never waits: each tick starts at most one
frame read and at most one page detection on the runner's pool, and does nothing for a job that
is still running (a late frame is dropped, never queued). The read puts the frame into the
`PreviewProcessor`'s `LatestFrameSlot` and turns a scaled copy into a QImage (on the pool); the
detection takes only the newest frame from the slot, so the outline follows the camera however
slow detection is. Now and then the detection also looks for barcodes on the page.

`PreviewWidget` paints the newest frame and the detected outline (green: the page lies inside
the picture; amber: it touches the border, something may be cut off).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from app.capture.camera import Camera
    from ui.tasks import TaskError, TaskRunner

log = logging.getLogger("intake.ui.capture")

TICK_MS = 33
PREVIEW_LONG_SIDE = 960
CODE_EVERY = 8  # look for barcodes on every 8th detection that found a page


@dataclass(frozen=True, eq=False)
class ShownFrame:
    frame: np.ndarray  # full resolution, BGR: what a capture processes
    image: QImage  # scaled copy for the screen
    size: tuple[int, int]  # (width, height) of `frame`


@dataclass(frozen=True, eq=False)
class Detected:
    overlay: tuple[tuple[float, float], ...]
    touches_edge: bool
    still_frames: int
    capture_now: bool
    codes: tuple[Any, ...]  # app.capture.codes.DecodedCode


def frame_to_qimage(frame: np.ndarray, long_side: int = PREVIEW_LONG_SIDE) -> QImage:
    """A scaled, owned QImage of a BGR or grey frame (safe off the GUI thread)."""
    import cv2
    import numpy as np

    h, w = frame.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    small = (
        cv2.resize(
            frame,
            (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA,
        )
        if scale < 1.0
        else frame
    )
    small = np.ascontiguousarray(small)
    sh, sw = small.shape[:2]
    if small.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    else:
        fmt = QImage.Format.Format_BGR888
    return QImage(small.data, sw, sh, small.strides[0], fmt).copy()


class CameraFeed(QObject):
    frame_shown = Signal(object)  # ShownFrame
    detected = Signal(object)  # Detected
    opened = Signal(str)  # camera name
    failed = Signal(object)  # TaskError: could not open, or the camera went away
    closed = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        camera_factory: Callable[[], Camera],
        parent: QObject | None = None,
        *,
        interval_ms: int = TICK_MS,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self._factory = camera_factory
        self.camera: Camera | None = None
        self.processor: Any = None  # PreviewProcessor, made on the pool (OpenCV loads there)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.latest: ShownFrame | None = None
        self.running = False
        self.dropped_ticks = 0  # ticks skipped because the previous read was still running
        self._reading = False
        self._detecting = False
        self._fresh = False  # a frame went into the slot since the last detection started
        self._closing = False
        self._detections = 0

    @property
    def name(self) -> str:
        return str(getattr(self.camera, "name", ""))

    # -- lifecycle

    def start(self) -> None:
        """Make and open the camera on the pool; frames start once it is open."""
        self._closing = False

        camera, processor = self.camera, self.processor

        def open_camera() -> tuple[Camera, Any]:
            from app.capture.camera import PreviewProcessor

            opened = camera if camera is not None else self._factory()
            opened.open()
            return opened, processor if processor is not None else PreviewProcessor()

        self.runner.run_pool(open_camera, self._on_opened, self._on_failed, guard=self)

    def reset_stillness(self) -> None:
        """A new page is coming: wait for it to lie still before auto-capturing."""
        if self.processor is not None:
            self.processor.stillness.reset()

    @property
    def still_frames_needed(self) -> int:
        return int(self.processor.stillness.frames) if self.processor is not None else 0

    def _on_opened(self, opened: tuple[Any, Any]) -> None:
        self.camera, self.processor = opened
        if self._closing:
            self._close_camera()
            return
        self.running = True
        self.reset_stillness()
        self.timer.start()
        self.opened.emit(self.name)

    def _on_failed(self, err: TaskError) -> None:
        self.running = False
        self.timer.stop()
        self.failed.emit(err)

    def stop(self) -> None:
        """Stop ticking and close the camera (on the pool, after a read in flight)."""
        self._closing = True
        self.running = False
        self.timer.stop()
        if not self._reading:
            self._close_camera()

    def _close_camera(self) -> None:
        camera, self.camera = self.camera, None
        if camera is None:
            return
        try:
            self.runner.run_pool(
                camera.close, lambda _r: self.closed.emit(), lambda _e: None, guard=self
            )
        except RuntimeError:  # the pool is already shut down (the application is ending)
            camera.close()

    def pause(self) -> None:
        self.timer.stop()

    def resume(self) -> None:
        if self.running:
            self.timer.start()

    # -- ticking

    def tick(self) -> None:
        if not self.running:
            return
        if self._reading:
            self.dropped_ticks += 1
        else:
            self._reading = True
            camera, processor = self.camera, self.processor
            assert camera is not None  # running: the camera is open

            def read() -> ShownFrame | None:
                frame = camera.read()
                if frame is None:
                    return None
                processor.submit(frame)
                h, w = frame.shape[:2]
                return ShownFrame(frame, frame_to_qimage(frame), (w, h))

            self.runner.run_pool(read, self._on_read, self._on_read_failed, guard=self)
        if self._fresh and not self._detecting and self.running:
            self._detecting = True
            self._fresh = False
            self._detections += 1
            self.runner.run_pool(
                self._detect_latest, self._on_detected, self._on_detect_failed, guard=self
            )

    def _on_read(self, shown: ShownFrame | None) -> None:
        self._reading = False
        if self._closing:
            self._close_camera()
            return
        if shown is None:
            return
        self.latest = shown
        self._fresh = True
        self.frame_shown.emit(shown)

    def _on_read_failed(self, err: TaskError) -> None:
        self._reading = False
        self.running = False
        self.timer.stop()
        log.warning("camera read failed: %s", err.code)
        self.failed.emit(err)

    def _detect_latest(self) -> Detected | None:
        """On the pool: page detection on the newest frame only (older ones were dropped)."""
        item = self.processor.slot.take(0.0)
        if item is None:
            return None
        _seq, frame = item
        result = self.processor.process(frame)
        codes: tuple[Any, ...] = ()
        if result.detection.found and self._detections % CODE_EVERY == 1:
            from app.capture.codes import decode_codes

            xs = [x for x, _y in result.overlay]
            ys = [y for _x, y in result.overlay]
            region = (int(min(xs)), int(min(ys)), int(max(xs) - min(xs)), int(max(ys) - min(ys)))
            codes = tuple(decode_codes(frame, region=region))  # ~30 ms on the page only
        return Detected(
            result.overlay,
            result.detection.touches_edge,
            result.still_frames,
            result.capture_now,
            codes,
        )

    def _on_detected(self, detected: Detected | None) -> None:
        self._detecting = False
        if detected is not None and self.running:
            self.detected.emit(detected)

    def _on_detect_failed(self, _err: TaskError) -> None:
        self._detecting = False  # a detection failure is not worth a message: next frame


class PreviewWidget(QWidget):
    """The newest camera frame with the detected page outline drawn over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("capturePreview")
        self.setMinimumSize(QSize(480, 300))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image: QImage | None = None
        self.frame_size = (0, 0)
        self.overlay: tuple[tuple[float, float], ...] = ()
        self.touches_edge = False
        self.placeholder = self.tr("正在打开高拍仪……")

    def set_frame(self, shown: ShownFrame) -> None:
        self.image = shown.image
        self.frame_size = shown.size
        self.update()

    def set_overlay(self, overlay: tuple[tuple[float, float], ...], touches_edge: bool) -> None:
        self.overlay = overlay
        self.touches_edge = touches_edge
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.image = None
        self.overlay = ()
        self.update()

    def _target(self) -> QRectF:
        assert self.image is not None
        iw, ih = self.image.width(), self.image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1f2328"))
        if self.image is None or self.image.isNull():
            painter.setPen(QColor("#d0d4da"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        target = self._target()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, self.image)
        if self.overlay and self.frame_size[0]:
            sx = target.width() / self.frame_size[0]
            sy = target.height() / self.frame_size[1]
            polygon = QPolygonF(
                [QPointF(target.x() + x * sx, target.y() + y * sy) for x, y in self.overlay]
            )
            colour = QColor("#ffaa00") if self.touches_edge else QColor("#3cc83c")
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(QPen(colour, 3))
            painter.drawPolygon(polygon)
