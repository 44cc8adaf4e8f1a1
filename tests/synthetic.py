"""Drawn test images for the capture pipeline: no fixture files, everything is made here.

A "page" is an A4-proportioned sheet of off-white paper with lines of real glyph strokes
(OpenCV Hershey text, random words, so blur and skew behave like print) and a QR code generated
with reportlab's QR encoder (`reportlab.graphics.barcode.qrencoder`, drawn module by module with
numpy, so no renderer is needed). A "scene" places a page on a dark desk with a known
perspective transform, so the true corners are known to sub-pixel accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.code128 import Code128

A4_MM = (210.0, 297.0)
LICENCE_URL = "https://www.gsxt.gov.cn/index.html?uniscid=91350100M000100Y43"
VALID_USCC = "91350100M000100Y43"
VALID_RESIDENT_ID = "11010519491231002X"

_WORDS_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHJKLMNPQRTUWXY0123456789"


def qr_matrix(payload: str | bytes, level: str = "M") -> np.ndarray:
    """QR modules as a boolean matrix (True = dark), from reportlab's encoder."""
    qr = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, level))
    qr.addData(qrencoder.QR8bitByte(payload) if isinstance(payload, bytes) else payload)
    qr.make()
    n = qr.getModuleCount()
    return np.array([[qr.isDark(r, c) for c in range(n)] for r in range(n)], dtype=bool)


def render_qr(payload: str | bytes, module_px: int = 6, quiet_modules: int = 4) -> np.ndarray:
    """A grey QR image with its quiet zone, `module_px` pixels per module."""
    modules = np.where(qr_matrix(payload), 0, 255).astype(np.uint8)
    modules = np.pad(modules, quiet_modules, constant_values=255)
    return np.kron(modules, np.ones((module_px, module_px), dtype=np.uint8))


def render_code128(
    text: str, module_px: int = 3, height: int = 90, quiet_modules: int = 12
) -> np.ndarray:
    """A grey Code128 image, from reportlab's encoder (upper-case letters are bars, lower-case
    spaces, A–D = 1–4 modules wide)."""
    code = Code128(text)
    code.validate()
    code.encode()
    code.decompose()
    row: list[int] = [255] * quiet_modules
    for ch in code.decomposed:
        width = ord(ch.upper()) - ord("A") + 1
        row += [0 if ch.isupper() else 255] * width
    row += [255] * quiet_modules
    line = np.repeat(np.array(row, np.uint8), module_px)
    bars = np.tile(line, (height, 1))
    return np.pad(bars, ((20, 20), (0, 0)), constant_values=255)


def _paste_grey(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    h, w = src.shape[:2]
    dst[y : y + h, x : x + w] = src[:, :, None] if dst.ndim == 3 else src


def make_page(
    dpi: int = 150,
    *,
    qr_payload: str | bytes | None = LICENCE_URL,
    qr_mm: float = 30.0,
    text: bool = True,
    seal: bool = False,
    seed: int = 1,
    paper: tuple[int, int, int] = (238, 242, 244),
) -> np.ndarray:
    """An A4 page (BGR) at `dpi` with text lines, an optional QR code and an optional red seal."""
    rng = np.random.default_rng(seed)
    w = round(A4_MM[0] / 25.4 * dpi)
    h = round(A4_MM[1] / 25.4 * dpi)
    page = np.empty((h, w, 3), np.uint8)
    page[:] = paper
    margin = int(w * 0.09)
    if text:
        scale = dpi / 300.0  # Hershey scale 1.0 is ~22 px cap height: ~10.5 pt at 150 dpi x 2
        thickness = max(1, round(dpi / 100))
        pitch = int(dpi * 0.22)
        top = margin + (int(qr_mm / 25.4 * dpi) if qr_payload is not None else pitch)
        # a title line in larger type
        cv2.putText(
            page,
            "NOTICE  OF  ACCEPTANCE",
            (margin, margin + int(pitch * 1.2)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale * 1.6,
            (20, 20, 20),
            thickness + 1,
            cv2.LINE_AA,
        )
        y = top + pitch
        while y < h - margin:
            x = margin + (int(rng.integers(0, 3)) * int(dpi * 0.15) if rng.random() < 0.2 else 0)
            line_end = w - margin - int(rng.integers(0, w // 4) if rng.random() < 0.3 else 0)
            while True:
                word = "".join(rng.choice(list(_WORDS_ALPHABET), size=int(rng.integers(2, 9))))
                (tw, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
                if x + tw > line_end:
                    break
                cv2.putText(
                    page,
                    word,
                    (x, y),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    scale,
                    (25, 25, 25),
                    thickness,
                    cv2.LINE_AA,
                )
                x += tw + int(dpi * 0.06)
            y += pitch
    if qr_payload is not None:
        modules = qr_matrix(qr_payload)
        n = modules.shape[0] + 8
        module_px = max(2, round(qr_mm / 25.4 * dpi / n))
        qr = render_qr(qr_payload, module_px)
        _paste_grey(page, qr, w - margin - qr.shape[1], margin)
    if seal:
        centre = (int(w * 0.7), int(h * 0.8))
        radius = int(dpi * 0.8)
        cv2.circle(page, centre, radius, (40, 40, 210), max(2, dpi // 40), cv2.LINE_AA)
        cv2.circle(page, centre, radius // 4, (40, 40, 210), -1, cv2.LINE_AA)
    return page


def blank_page(dpi: int = 150, seed: int = 2) -> np.ndarray:
    return make_page(dpi, qr_payload=None, text=False, seed=seed)


def page_corners(page: np.ndarray) -> np.ndarray:
    """The page's own corner coordinates TL, TR, BR, BL (pixel-edge convention)."""
    h, w = page.shape[:2]
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)


def quad_in_frame(
    frame_size: tuple[int, int],
    *,
    fill: float = 0.8,
    aspect: float = A4_MM[0] / A4_MM[1],
    rotation_deg: float = 0.0,
    tilt: float = 0.0,
    shift: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Corners (TL, TR, BR, BL) of a page filling `fill` of the frame height, rotated in plane by
    `rotation_deg` and foreshortened by `tilt` (0..0.3: the top edge shrinks as when the camera
    looks at the page at an angle)."""
    fw, fh = frame_size
    ph = fh * fill
    pw = ph * aspect
    half = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
    half[0, 0] *= 1 - tilt
    half[1, 0] *= 1 - tilt
    a = np.deg2rad(rotation_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = np.array([fw / 2 + shift[0] * fw, fh / 2 + shift[1] * fh])
    return (half @ rot.T + centre).astype(np.float32)


def desk_background(frame_size: tuple[int, int], seed: int = 3, level: int = 55) -> np.ndarray:
    """A dark, slightly textured desk (document cameras stand on a dark pad)."""
    fw, fh = frame_size
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0, 1, (9, 16)).astype(np.float32)
    low = cv2.resize(coarse, (fw, fh), interpolation=cv2.INTER_CUBIC)
    grey = np.clip(level + 8 * low, 0, 255)
    bg = np.dstack([grey * 0.95, grey, grey * 1.08])
    return np.clip(bg, 0, 255).astype(np.uint8)


def place_page(
    page: np.ndarray,
    corners: np.ndarray,
    frame_size: tuple[int, int] = (1920, 1080),
    background: np.ndarray | None = None,
) -> np.ndarray:
    """Warp `page` onto a desk so that its corners land exactly on `corners`."""
    if background is None:
        background = desk_background(frame_size)
    H = cv2.getPerspectiveTransform(page_corners(page), corners.astype(np.float32))
    # supersample the edge: warp a mask too and blend, so edges are anti-aliased like a photo
    frame = background.copy()
    warped = cv2.warpPerspective(page, H, frame_size, flags=cv2.INTER_AREA)
    mask = (
        cv2.warpPerspective(
            np.full(page.shape[:2], 255, np.uint8), H, frame_size, flags=cv2.INTER_LINEAR
        ).astype(np.float32)[:, :, None]
        / 255.0
    )
    out = warped.astype(np.float32) * mask + frame.astype(np.float32) * (1 - mask)
    return np.clip(out, 0, 255).astype(np.uint8)


def uneven_light(image: np.ndarray, strength: float = 0.45, seed: int = 4) -> np.ndarray:
    """Multiply by a lighting field: a linear gradient plus a vignette (a lamp off to one side)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gradient = 1.0 - strength * (xx / w * 0.7 + yy / h * 0.3)
    r = np.hypot((xx - w * 0.3) / w, (yy - h * 0.4) / h)
    field = gradient * (1.0 - 0.25 * strength * r)
    out = image.astype(np.float32) * (field[:, :, None] if image.ndim == 3 else field)
    return np.clip(out, 0, 255).astype(np.uint8)


def add_noise(image: np.ndarray, sigma: float = 8.0, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def blurred(image: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def darkened(image: np.ndarray, factor: float = 0.25) -> np.ndarray:
    return np.clip(image.astype(np.float32) * factor, 0, 255).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class Scene:
    frame: np.ndarray  # BGR camera frame
    corners: np.ndarray  # true page corners TL, TR, BR, BL in frame pixels (float32, 4x2)
    payload: str | bytes | None  # what the QR on the page says


def make_scene(
    kind: str = "plain",
    frame_size: tuple[int, int] = (1920, 1080),
    *,
    payload: str | bytes | None = LICENCE_URL,
    page_dpi: int | None = None,
    qr_mm: float = 30.0,
    seed: int = 1,
) -> Scene:
    """A camera frame of one kind:

    plain, perspective, rotated, uneven, noisy, hard (perspective + rotation + uneven light +
    noise), blurred, dark, blank, cut_off, seal (a colour page with a red seal).
    """
    fh = frame_size[1]
    dpi = page_dpi or max(100, round(fh / 11.69 * 1.15))
    page = (
        blank_page(dpi, seed=seed)
        if kind == "blank"
        else make_page(dpi, qr_payload=payload, qr_mm=qr_mm, seal=kind == "seal", seed=seed)
    )
    geometry = {
        "plain": {},
        "perspective": {"tilt": 0.12, "shift": (0.03, 0.0)},
        "rotated": {"rotation_deg": 17.0, "fill": 0.72},
        "uneven": {"rotation_deg": -4.0},
        "noisy": {"rotation_deg": 6.0, "tilt": 0.05},
        "hard": {"rotation_deg": -11.0, "tilt": 0.1, "fill": 0.76},
        "blurred": {},
        "dark": {},
        "blank": {"rotation_deg": 3.0},
        "cut_off": {"fill": 1.05, "shift": (0.0, 0.08)},
        "seal": {"rotation_deg": 2.0},
    }[kind]
    corners = quad_in_frame(frame_size, **geometry)  # type: ignore[arg-type]
    frame = place_page(page, corners, frame_size, desk_background(frame_size, seed=seed + 10))
    if kind in ("uneven", "hard"):
        frame = uneven_light(frame)
    if kind in ("noisy", "hard"):
        frame = add_noise(frame, 9.0, seed=seed)
    if kind == "blurred":
        frame = blurred(frame, sigma=max(2.5, fh / 300))
    if kind == "dark":
        frame = add_noise(darkened(frame, 0.22), 2.0, seed=seed)
    return Scene(frame=frame, corners=corners, payload=None if kind == "blank" else payload)


def corner_error(found: np.ndarray, truth: np.ndarray) -> float:
    """Largest distance (px) between matching corners."""
    return float(np.max(np.linalg.norm(np.asarray(found) - np.asarray(truth), axis=1)))
