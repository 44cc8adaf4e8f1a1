"""Document cameras (高拍仪): the device interface, an OpenCV (UVC) implementation, a simulator,
and the Qt-free preview helpers the UI drives from a worker.

Contract of `Camera.read()`: a BGR frame, or None when no new frame is ready yet (a transient
hiccup); DeviceError("camera.lost") once the device is gone. Nothing else escapes: OpenCV
exceptions are turned into DeviceError.

Threading: the camera is read on one worker thread; `LatestFrameSlot` hands frames to the
detection worker, keeping only the newest (a slow detection drops frames instead of building a
queue that makes the overlay lag further and further behind).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from app.capture.page_geometry import detect_page
from app.capture.page_image import PageDetection
from app.errors import DeviceError

log = logging.getLogger("intake.capture.camera")

SYS_VIDEO = "/sys/class/video4linux"


@runtime_checkable
class Camera(Protocol):
    name: str

    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) of the frames `read` returns (after `open`)."""
        ...

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


def _unavailable(name: str, **details: Any) -> DeviceError:
    return DeviceError("camera.unavailable", **details, name=name)


def _lost(name: str) -> DeviceError:
    return DeviceError("camera.lost", name=name)


# ---------------------------------------------------------------------------------------------
# discovery (Linux)


@dataclass(frozen=True)
class VideoDevice:
    index: int
    name: str
    node: str  # /dev/videoN


def list_video_devices(sys_root: str | os.PathLike[str] = SYS_VIDEO) -> list[VideoDevice]:
    """V4L2 devices with their names (Linux). Other systems: empty list (use an index)."""
    root = Path(sys_root)
    devices = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith("video"):
            continue
        try:
            index = int(entry.name[5:])
            name = (entry / "name").read_text("utf-8", errors="replace").strip()
        except (ValueError, OSError):
            continue
        devices.append(VideoDevice(index, name, f"/dev/{entry.name}"))
    return sorted(devices, key=lambda d: d.index)


def find_device(name: str, sys_root: str | os.PathLike[str] = SYS_VIDEO) -> VideoDevice | None:
    """The device whose name contains NAME (case-insensitive); the lowest index wins, which on
    Linux is the capture node (a UVC camera also registers a metadata node after it)."""
    wanted = name.casefold()
    for device in list_video_devices(sys_root):
        if wanted in device.name.casefold():
            return device
    return None


# ---------------------------------------------------------------------------------------------
# OpenCV camera


class OpenCvCamera:
    """A UVC document camera through OpenCV.

    `index_or_name`: an index, or (Linux) part of the device name as in
    /sys/class/video4linux/*/name, e.g. "Document Camera". Requests MJPG, which UVC cameras need
    for 1080p at 30 fps over USB 2. After `max_failures` consecutive failed reads, or when the
    device node disappears, `read` raises camera.lost.
    """

    def __init__(
        self,
        index_or_name: int | str = 0,
        width: int = 1920,
        height: int = 1080,
        *,
        fps: int = 30,
        max_failures: int = 10,
        sys_root: str | os.PathLike[str] = SYS_VIDEO,
        capture_factory: Callable[..., Any] | None = None,
        node_exists: Callable[[str], bool] = os.path.exists,
    ) -> None:
        self.index_or_name = index_or_name
        self.name = str(index_or_name)
        self._requested = (width, height)
        self._fps = fps
        self._max_failures = max_failures
        self._sys_root = sys_root
        self._factory = capture_factory or cv2.VideoCapture
        self._node_exists = node_exists
        self._cap: Any = None
        self._node: str | None = None
        self._failures = 0
        self._resolution = (width, height)

    @property
    def resolution(self) -> tuple[int, int]:
        return self._resolution

    def _resolve(self) -> int:
        target = self.index_or_name
        if isinstance(target, int):
            self._node = f"/dev/video{target}" if sys.platform.startswith("linux") else None
            return target
        if target.isdigit():
            self._node = f"/dev/video{target}" if sys.platform.startswith("linux") else None
            return int(target)
        device = find_device(target, self._sys_root)
        if device is None:
            raise DeviceError("camera.not_found", name=target)
        self.name = device.name
        self._node = device.node
        return device.index

    def open(self) -> None:
        if self._cap is not None:
            return
        index = self._resolve()
        try:
            backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
            cap = self._factory(index, backend)
            if cap is None or not cap.isOpened():
                raise _unavailable(self.name, index=index)
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._requested[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._requested[1])
            cap.set(cv2.CAP_PROP_FPS, self._fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # we want the newest frame, not a backlog
            w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) or self._requested[0]
            h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) or self._requested[1]
        except cv2.error:
            raise _unavailable(self.name, index=index) from None
        self._cap = cap
        self._resolution = (w, h)
        self._failures = 0
        log.info("camera opened: index=%s %dx%d", index, w, h)

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise DeviceError("camera.not_open")
        if self._node is not None and not self._node_exists(self._node):
            self._drop()
            raise _lost(self.name)
        try:
            ok, frame = self._cap.read()
        except cv2.error:
            ok, frame = False, None
        if not ok or frame is None:
            self._failures += 1
            if self._failures >= self._max_failures:
                self._drop()
                raise _lost(self.name)
            return None
        self._failures = 0
        return frame  # type: ignore[no-any-return]

    def _drop(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            with contextlib.suppress(cv2.error):
                cap.release()
        log.warning("camera lost")

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            with contextlib.suppress(cv2.error):
                cap.release()


# ---------------------------------------------------------------------------------------------
# simulator


class SimulatedCamera:
    """Plays still images or a video file in a loop, for tests and demo mode.

    `vanish_after`: the device disappears after that many frames (read raises camera.lost, and
    open raises camera.unavailable until `plug_in`). `unplug()` does the same on demand. With
    `realtime=True`, `read` returns None until 1/fps has passed since the last frame, like a
    real device; with the default False every read returns the next frame at once (tests).
    """

    def __init__(
        self,
        images: Sequence[np.ndarray] | None = None,
        video: str | os.PathLike[str] | None = None,
        fps: float = 30.0,
        *,
        name: str = "模拟高拍仪",
        vanish_after: int | None = None,
        realtime: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (images is None) == (video is None):
            raise ValueError("give exactly one of images= or video=")
        if images is not None and len(images) == 0:
            raise ValueError("images must not be empty")
        self.name = name
        self.fps = fps
        self._images = list(images) if images is not None else None
        self._video = Path(video) if video is not None else None
        self._vanish_after = vanish_after
        self._realtime = realtime
        self._clock = clock
        self._cap: Any = None
        self._opened = False
        self._present = True
        self._index = 0
        self._delivered = 0
        self._last_time: float | None = None
        self._resolution = (0, 0)
        if self._images is not None:
            h, w = self._images[0].shape[:2]
            self._resolution = (w, h)

    @property
    def resolution(self) -> tuple[int, int]:
        return self._resolution

    @property
    def frames_delivered(self) -> int:
        return self._delivered

    def unplug(self) -> None:
        self._present = False

    def plug_in(self) -> None:
        self._present = True
        self._vanish_after = None

    def open(self) -> None:
        if not self._present:
            raise _unavailable(self.name)
        if self._video is not None and self._cap is None:
            cap = cv2.VideoCapture(str(self._video))
            if not cap.isOpened():
                cap.release()
                raise _unavailable(self.name, source="video")
            self._cap = cap
            self._resolution = (
                int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            )
        self._opened = True
        self._last_time = None

    def _next_video_frame(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        if not ok:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop
            ok, frame = self._cap.read()
        return frame if ok else None

    def read(self) -> np.ndarray | None:
        if not self._opened:
            raise DeviceError("camera.not_open")
        if self._vanish_after is not None and self._delivered >= self._vanish_after:
            self._present = False
        if not self._present:
            self.close()
            raise _lost(self.name)
        if self._realtime:
            now = self._clock()
            if self._last_time is not None and now - self._last_time < 1.0 / self.fps:
                return None
            self._last_time = now
        frame: np.ndarray | None
        if self._images is not None:
            frame = self._images[self._index % len(self._images)].copy()
            self._index += 1
        else:
            frame = self._next_video_frame()
            if frame is None:
                return None
        self._delivered += 1
        return frame

    def close(self) -> None:
        self._opened = False
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# ---------------------------------------------------------------------------------------------
# preview helpers


class LatestFrameSlot:
    """A one-place mailbox: `put` replaces any frame not yet taken (counted in `dropped`)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[int, np.ndarray] | None = None
        self._seq = 0
        self.dropped = 0

    def put(self, frame: np.ndarray) -> int:
        """Offer a frame; returns its sequence number."""
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._seq += 1
            self._item = (self._seq, frame)
            self._cond.notify()
            return self._seq

    def take(self, timeout: float | None = 0.0) -> tuple[int, np.ndarray] | None:
        """The newest frame and its sequence number, or None if none arrived within timeout
        (0 = do not wait, None = wait until one arrives)."""
        with self._cond:
            if self._item is None and timeout != 0.0:
                self._cond.wait_for(lambda: self._item is not None, timeout)
            item, self._item = self._item, None
            return item


class StillnessDetector:
    """Auto-capture trigger: fires once when the page corners have stayed within `tolerance`
    (a share of the frame diagonal) for `frames` consecutive detections. It re-arms only after
    the page moves beyond tolerance or is lost, so a page lying still is captured once."""

    def __init__(self, frames: int = 12, tolerance: float = 0.004) -> None:
        self.frames = frames
        self.tolerance = tolerance
        self._anchor: np.ndarray | None = None
        self._count = 0
        self._fired = False

    def reset(self) -> None:
        self._anchor = None
        self._count = 0
        self._fired = False

    @property
    def still_frames(self) -> int:
        return self._count

    def update(self, detection: PageDetection) -> bool:
        """Feed one detection; True exactly when auto-capture should happen."""
        if not detection.found or detection.corners is None:
            self.reset()
            return False
        w, h = detection.frame_size
        limit = self.tolerance * float(np.hypot(w, h))
        corners = np.asarray(detection.corners, np.float32)
        if (
            self._anchor is None
            or float(np.max(np.linalg.norm(corners - self._anchor, axis=1))) > limit
        ):
            self._anchor = corners
            self._count = 1
            self._fired = False
            return False
        self._count += 1
        if not self._fired and self._count >= self.frames:
            self._fired = True
            return True
        return False


@dataclass(frozen=True, eq=False)
class PreviewResult:
    sequence: int  # the frame's number from the slot (gaps = dropped frames)
    detection: PageDetection
    overlay: tuple[tuple[float, float], ...]  # polygon to draw, in frame pixels (empty if none)
    still_frames: int
    capture_now: bool  # StillnessDetector fired: take the still


class PreviewProcessor:
    """Runs page detection on the newest preview frame only.

    The camera thread calls `submit(frame)`; the worker calls `process_latest()` in a loop (or
    `process(frame)` directly). Frames that arrive while detection is busy replace each other,
    so the overlay always follows the newest frame.
    """

    def __init__(
        self,
        detector: Callable[[np.ndarray], PageDetection] = detect_page,
        stillness: StillnessDetector | None = None,
    ) -> None:
        self._detector = detector
        self.stillness = stillness if stillness is not None else StillnessDetector()
        self.slot = LatestFrameSlot()
        self._seq = 0

    def submit(self, frame: np.ndarray) -> int:
        return self.slot.put(frame)

    def process_latest(self, timeout: float | None = 0.0) -> PreviewResult | None:
        item = self.slot.take(timeout)
        if item is None:
            return None
        seq, frame = item
        return self._run(seq, frame)

    def process(self, frame: np.ndarray) -> PreviewResult:
        self._seq += 1
        return self._run(self._seq, frame)

    def _run(self, seq: int, frame: np.ndarray) -> PreviewResult:
        detection = self._detector(frame)
        capture = self.stillness.update(detection)
        overlay: tuple[tuple[float, float], ...] = ()
        if detection.found and detection.corners is not None:
            overlay = tuple((float(x), float(y)) for x, y in detection.corners)
        return PreviewResult(seq, detection, overlay, self.stillness.still_frames, capture)


def draw_overlay(frame: np.ndarray, detection: PageDetection) -> np.ndarray:
    """A copy of FRAME with the page outline drawn (green when clear of the frame border, amber
    when touching it). For demos and the CLI; the UI draws its own with QPainter."""
    out = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if detection.found and detection.corners is not None:
        colour = (0, 170, 255) if detection.touches_edge else (60, 200, 60)
        thickness = max(2, round(max(out.shape[:2]) / 400))
        pts = np.round(detection.corners).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], True, colour, thickness, cv2.LINE_AA)
    return out
