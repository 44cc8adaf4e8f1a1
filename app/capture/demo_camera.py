"""Demo mode's document camera: a few drawn pages lying on a dark desk, each held still for a
few seconds, then "turned" — enough to show the outline, auto-capture and the licence QR offer
without a device. Drawn with OpenCV (and reportlab's QR encoder); no files, no tests/ import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from app.capture.camera import SimulatedCamera

DEMO_FRAME = (1280, 720)
DEMO_LICENCE_URL = "https://www.gsxt.gov.cn/index.html?uniscid=91350100M000100Y43"
HOLD_FRAMES = 90  # at 30 fps: each page lies still for three seconds


def _qr(payload: str, module_px: int) -> np.ndarray:
    from reportlab.graphics.barcode import qrencoder

    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(payload)
    qr.make()
    n = qr.getModuleCount()
    dark = np.array([[qr.isDark(r, c) for c in range(n)] for r in range(n)], dtype=bool)
    modules = np.pad(np.where(dark, 0, 255).astype(np.uint8), 4, constant_values=255)
    return np.kron(modules, np.ones((module_px, module_px), dtype=np.uint8))


def demo_page(seed: int, *, qr_payload: str | None = None, dpi: int = 110) -> np.ndarray:
    """An A4 page (BGR): a title, lines of words, optionally a QR code top right."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)
    page = np.full((h, w, 3), (238, 242, 244), np.uint8)
    margin = int(w * 0.09)
    scale, pitch = dpi / 300.0, int(dpi * 0.22)
    cv2.putText(
        page,
        f"DEMO PAGE {seed}",
        (margin, margin + pitch),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale * 1.8,
        (20, 20, 20),
        2,
        cv2.LINE_AA,
    )
    y = margin + 4 * pitch
    letters = list("abcdefghijkmnopqrstuvwxyz0123456789")
    while y < h - margin:
        x = margin
        while True:
            word = "".join(rng.choice(letters, size=int(rng.integers(2, 8))))
            (tw, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            if x + tw > w - margin:
                break
            cv2.putText(
                page, word, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (25, 25, 25), 1, cv2.LINE_AA
            )
            x += tw + int(dpi * 0.06)
        y += pitch
    if qr_payload:
        qr = _qr(qr_payload, max(3, dpi // 30))
        x0, y0 = w - margin - qr.shape[1], margin
        page[y0 : y0 + qr.shape[0], x0 : x0 + qr.shape[1]] = qr[:, :, None]
    return page


def demo_frame(
    page: np.ndarray, frame: tuple[int, int] = DEMO_FRAME, tilt: float = 0.06, angle: float = 4.0
) -> np.ndarray:
    """PAGE lying on a dark desk, seen slightly from the side and turned by ANGLE degrees."""
    import cv2

    fw, fh = frame
    ph = fh * 0.82
    pw = ph * page.shape[1] / page.shape[0]
    quad = np.array(
        [
            [-pw / 2 * (1 - tilt), -ph / 2],
            [pw / 2 * (1 - tilt), -ph / 2],
            [pw / 2, ph / 2],
            [-pw / 2, ph / 2],
        ]
    )
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    corners = (quad @ rot.T + [fw / 2, fh / 2]).astype(np.float32)
    src = np.array(
        [[0, 0], [page.shape[1], 0], [page.shape[1], page.shape[0]], [0, page.shape[0]]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(src, corners)
    desk = np.empty((fh, fw, 3), np.uint8)
    desk[:] = (52, 55, 60)
    warped = cv2.warpPerspective(page, matrix, (fw, fh), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full(page.shape[:2], 255, np.uint8), matrix, (fw, fh))
    desk[mask > 127] = warped[mask > 127]
    return desk


def demo_camera() -> SimulatedCamera:
    """A SimulatedCamera in real time: three pages, the second with a 营业执照-style QR."""
    from app.capture.camera import SimulatedCamera

    frames = [
        demo_frame(demo_page(1), angle=3.0),
        demo_frame(demo_page(2, qr_payload=DEMO_LICENCE_URL), angle=-5.0),
        demo_frame(demo_page(3), angle=1.5),
    ]
    images = [f for f in frames for _ in range(HOLD_FRAMES)]  # the same array, held still
    return SimulatedCamera(images=images, realtime=True, name="演示高拍仪")
