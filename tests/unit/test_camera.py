"""Camera interface: simulator (images, video, vanishing), OpenCV camera with fakes, preview
helpers (latest-frame slot, stillness auto-capture)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.capture.camera import (
    Camera,
    LatestFrameSlot,
    OpenCvCamera,
    PreviewProcessor,
    SimulatedCamera,
    StillnessDetector,
    draw_overlay,
    find_device,
    list_video_devices,
)
from app.capture.page_image import PageDetection
from app.errors import DeviceError
from tests import synthetic as syn
from tests.expected_logs import CAMERA_LOST, OPENCV_FAILED

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = [
    CAMERA_LOST,
    OPENCV_FAILED,
]


def _solid(level: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    return np.full((size[1], size[0], 3), level, np.uint8)


# ---------------------------------------------------------------------------------------------
# simulator


def test_simulator_plays_images_in_a_loop() -> None:
    cam = SimulatedCamera(images=[_solid(10), _solid(200)])
    assert isinstance(cam, Camera)
    cam.open()
    levels = [int(cam.read()[0, 0, 0]) for _ in range(5)]  # type: ignore[index]
    assert levels == [10, 200, 10, 200, 10]
    assert cam.resolution == (64, 48)
    assert cam.frames_delivered == 5


def test_simulator_frames_are_copies() -> None:
    source = _solid(50)
    cam = SimulatedCamera(images=[source])
    cam.open()
    frame = cam.read()
    assert frame is not None
    frame[:] = 0
    assert source[0, 0, 0] == 50


def test_read_before_open_is_an_error() -> None:
    with pytest.raises(DeviceError) as err:
        SimulatedCamera(images=[_solid(1)]).read()
    assert err.value.code == "camera.not_open"


def test_simulated_device_vanishes_mid_preview_and_can_be_plugged_back() -> None:
    cam = SimulatedCamera(images=[_solid(1), _solid(2)], vanish_after=3)
    cam.open()
    for _ in range(3):
        assert cam.read() is not None
    with pytest.raises(DeviceError) as err:
        cam.read()
    assert err.value.code == "camera.lost"
    assert "断开" in err.value.message
    with pytest.raises(DeviceError) as err:
        cam.open()
    assert err.value.code == "camera.unavailable"
    cam.plug_in()
    cam.open()
    assert cam.read() is not None


def test_unplug_on_demand() -> None:
    cam = SimulatedCamera(images=[_solid(1)])
    cam.open()
    cam.read()
    cam.unplug()
    with pytest.raises(DeviceError) as err:
        cam.read()
    assert err.value.code == "camera.lost"


def test_realtime_simulator_paces_frames_by_its_clock() -> None:
    now = [0.0]
    cam = SimulatedCamera(images=[_solid(1)], fps=10, realtime=True, clock=lambda: now[0])
    cam.open()
    assert cam.read() is not None
    assert cam.read() is None  # no new frame yet
    now[0] = 0.05
    assert cam.read() is None
    now[0] = 0.11
    assert cam.read() is not None


def _write_video(path: Path, levels: list[int], size: tuple[int, int] = (160, 120)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, size)
    assert writer.isOpened()
    for level in levels:
        writer.write(_solid(level, size))
    writer.release()


def test_simulator_plays_a_video_file_in_a_loop(tmp_path: Path) -> None:
    video = tmp_path / "pages.avi"
    levels = [20, 80, 140, 200]
    _write_video(video, levels)
    cam = SimulatedCamera(video=video, fps=10)
    cam.open()
    assert cam.resolution == (160, 120)
    seen = []
    for _ in range(9):
        frame = cam.read()
        assert frame is not None
        seen.append(round(float(frame.mean())))
    expected = levels + levels + levels[:1]
    assert all(abs(a - b) <= 4 for a, b in zip(seen, expected, strict=True))
    cam.close()


def test_missing_video_is_unavailable(tmp_path: Path) -> None:
    cam = SimulatedCamera(video=tmp_path / "none.avi")
    with pytest.raises(DeviceError) as err:
        cam.open()
    assert err.value.code == "camera.unavailable"


def test_simulator_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError):
        SimulatedCamera()
    with pytest.raises(ValueError):
        SimulatedCamera(images=[])


# ---------------------------------------------------------------------------------------------
# OpenCV camera with a fake sysfs and a fake capture


def _sysfs(root: Path, names: dict[int, str]) -> Path:
    for index, name in names.items():
        d = root / f"video{index}"
        d.mkdir(parents=True)
        (d / "name").write_text(name + "\n", "utf-8")
    return root


class FakeCapture:
    def __init__(self, frames: list[np.ndarray | None], opened: bool = True) -> None:
        self.frames = list(frames)
        self.opened = opened
        self.props: dict[int, float] = {}
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.frames:
            return False, None
        frame = self.frames.pop(0)
        if isinstance(frame, Exception):
            raise frame
        return frame is not None, frame

    def release(self) -> None:
        self.released = True


def test_devices_are_found_by_name(tmp_path: Path) -> None:
    root = _sysfs(
        tmp_path, {0: "Integrated Webcam", 2: "USB Document Camera", 3: "USB Document Camera"}
    )
    assert [d.index for d in list_video_devices(root)] == [0, 2, 3]
    device = find_device("document camera", root)
    assert device is not None and device.index == 2 and device.node == "/dev/video2"
    assert find_device("scanner", root) is None


def test_open_by_name_uses_that_device_index(tmp_path: Path) -> None:
    root = _sysfs(tmp_path, {0: "Integrated Webcam", 4: "Eloam 高拍仪"})
    calls = []

    def factory(index: int, backend: int) -> FakeCapture:
        calls.append(index)
        return FakeCapture([_solid(9)])

    cam = OpenCvCamera(
        "高拍仪", 1920, 1080, sys_root=root, capture_factory=factory, node_exists=lambda _: True
    )
    cam.open()
    assert calls == [4]
    assert cam.name == "Eloam 高拍仪"
    assert cam.resolution == (1920, 1080)  # what the fake reports back after set()
    assert cam.read() is not None


def test_unknown_name_is_not_found(tmp_path: Path) -> None:
    cam = OpenCvCamera(
        "nothing",
        sys_root=_sysfs(tmp_path, {0: "Webcam"}),
        capture_factory=lambda *a: FakeCapture([]),
    )
    with pytest.raises(DeviceError) as err:
        cam.open()
    assert err.value.code == "camera.not_found"


def test_device_that_will_not_open_is_unavailable() -> None:
    cam = OpenCvCamera(0, capture_factory=lambda *a: FakeCapture([], opened=False))
    with pytest.raises(DeviceError) as err:
        cam.open()
    assert err.value.code == "camera.unavailable"


def test_transient_read_failures_return_none_then_lost() -> None:
    fake = FakeCapture([_solid(1), None, None, _solid(2), None, None, None])
    cam = OpenCvCamera(
        0, capture_factory=lambda *a: fake, max_failures=3, node_exists=lambda _: True
    )
    cam.open()
    assert cam.read() is not None
    assert cam.read() is None
    assert cam.read() is None
    assert cam.read() is not None  # recovered: the failure count starts again
    assert cam.read() is None
    assert cam.read() is None
    with pytest.raises(DeviceError) as err:
        cam.read()
    assert err.value.code == "camera.lost"
    assert fake.released


def test_opencv_exception_during_read_does_not_escape() -> None:
    fake = FakeCapture([cv2.error("driver hiccup"), cv2.error("gone")])  # type: ignore[list-item]
    cam = OpenCvCamera(
        0, capture_factory=lambda *a: fake, max_failures=2, node_exists=lambda _: True
    )
    cam.open()
    assert cam.read() is None
    with pytest.raises(DeviceError) as err:
        cam.read()
    assert err.value.code == "camera.lost"


def test_device_node_disappearing_is_lost_at_once(tmp_path: Path) -> None:
    root = _sysfs(tmp_path, {1: "Document Camera"})
    present = [True]
    cam = OpenCvCamera(
        "Document",
        sys_root=root,
        capture_factory=lambda *a: FakeCapture([_solid(1)] * 5),
        node_exists=lambda node: present[0] and node == "/dev/video1",
    )
    cam.open()
    assert cam.read() is not None
    present[0] = False
    with pytest.raises(DeviceError) as err:
        cam.read()
    assert err.value.code == "camera.lost"


# ---------------------------------------------------------------------------------------------
# preview helpers


def test_latest_frame_slot_keeps_only_the_newest() -> None:
    slot = LatestFrameSlot()
    for level in (1, 2, 3):
        slot.put(_solid(level))
    item = slot.take()
    assert item is not None
    seq, frame = item
    assert seq == 3 and frame[0, 0, 0] == 3
    assert slot.dropped == 2
    assert slot.take() is None


def _detection(corners: np.ndarray | None, size: tuple[int, int] = (1920, 1080)) -> PageDetection:
    return PageDetection(corners is not None, corners, 1.0 if corners is not None else 0.0, size)


def test_stillness_fires_once_after_n_still_frames_and_rearms_on_movement() -> None:
    still = StillnessDetector(frames=5, tolerance=0.004)  # 0.4 % of 2203 px ≈ 8.8 px
    corners = syn.quad_in_frame((1920, 1080))
    jitter = np.array([[1.5, -1.0], [0.0, 2.0], [-2.0, 0.5], [1.0, 1.0]], np.float32)
    fired = [still.update(_detection(corners + (jitter if i % 2 else 0))) for i in range(12)]
    assert fired == [False] * 4 + [True] + [False] * 7
    moved = corners + 40.0
    assert still.update(_detection(moved)) is False
    fired = [still.update(_detection(moved)) for _ in range(6)]
    assert fired == [False, False, False, True, False, False]


def test_stillness_resets_when_the_page_is_lost() -> None:
    still = StillnessDetector(frames=3)
    corners = syn.quad_in_frame((1920, 1080))
    still.update(_detection(corners))
    still.update(_detection(corners))
    still.update(_detection(None))
    assert [still.update(_detection(corners)) for _ in range(3)] == [False, False, True]


def test_preview_processor_detects_on_the_newest_frame_only() -> None:
    scene = syn.make_scene("rotated", (1280, 720))
    empty = syn.desk_background((1280, 720))
    proc = PreviewProcessor(stillness=StillnessDetector(frames=2))
    proc.submit(empty)
    proc.submit(empty)
    proc.submit(scene.frame)
    result = proc.process_latest()
    assert result is not None
    assert result.sequence == 3 and proc.slot.dropped == 2
    assert result.detection.found
    assert syn.corner_error(np.array(result.overlay), scene.corners) <= 8.0
    assert proc.process_latest() is None
    # the same page again: still for two frames -> capture now
    proc.submit(scene.frame)
    again = proc.process_latest()
    assert again is not None and again.capture_now and again.still_frames == 2


def test_preview_with_simulated_camera_triggers_auto_capture_once() -> None:
    scene = syn.make_scene("plain", (1280, 720))
    cam = SimulatedCamera(images=[scene.frame])
    proc = PreviewProcessor(stillness=StillnessDetector(frames=4))
    cam.open()
    captures = []
    for _ in range(10):
        frame = cam.read()
        assert frame is not None
        captures.append(proc.process(frame).capture_now)
    assert captures == [False, False, False, True] + [False] * 6


def test_draw_overlay_draws_on_a_copy() -> None:
    scene = syn.make_scene("plain", (640, 360))
    detection = PageDetection(True, scene.corners, 1.0, (640, 360))
    out = draw_overlay(scene.frame, detection)
    assert out.shape == scene.frame.shape
    assert not np.array_equal(out, scene.frame)
    tl = np.round(scene.corners[0]).astype(int)
    assert out[tl[1], tl[0]].tolist() != scene.frame[tl[1], tl[0]].tolist()
