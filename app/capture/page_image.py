"""What the page pipeline works on: images checked on the way in (check_image), the values it
returns (PageDetection, QualityFinding, ProcessedPage, PageSignature), the OpenCV guard and the
limits. The pipeline itself: app/capture/pages.py.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Literal, ParamSpec, TypeVar

import cv2
import numpy as np

from app.capture.codes import DecodedCode
from app.errors import CaptureError

log = logging.getLogger("intake.capture.pages")


Mode = Literal["color", "grey", "bw"]
DecodeLevel = Literal["fast", "thorough", "off"]
MODES: tuple[Mode, ...] = ("color", "grey", "bw")
Source = Literal["camera", "scan"]

# Refuse arrays above this many pixels: a 100 MP BGR frame is already 300 MB and every step
# makes copies; nothing a counter captures legitimately comes near it.
MAX_PIXELS = 100_000_000
DEFAULT_DPI = 200
DETECT_LONG_SIDE = 1000  # detection works on a copy of about this size, whatever the camera gives
A_SERIES_ASPECT = 1 / math.sqrt(2)  # A3/A4/A5 (and ISO B5) short:long
A4_LONG_MM = 297.0
# JPEG quality: measured on a dense synthetic A4 text page at 200 dpi (grey): q50 338 KB,
# q60 375 KB, q70 427 KB, q80 503 KB, the QR decoding at every one. 70 is the usual point where
# stroke edges show no visible ringing; the size is dominated by the text itself because the
# flattened paper is pure white (see WHITE_POINT). Measure again with real pages.
JPEG_QUALITY = {"color": 72, "grey": 70}

P = ParamSpec("P")
R = TypeVar("R")


def guard_cv(stage: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn an OpenCV exception into a CaptureError: the caller never sees cv2 internals."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except cv2.error as exc:
                # cv2 messages carry function names and assertion text, never pixel data
                log.warning("opencv failed in %s: %s", stage, str(exc).strip().splitlines()[-1:])
                raise CaptureError("capture.failed", variant=2, stage=stage) from None

        return wrapper

    return decorate


# ---------------------------------------------------------------------------------------------
# values


def _plain_corners(corners: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in np.asarray(corners)]


@dataclass(frozen=True, eq=False)
class PageDetection:
    found: bool
    corners: np.ndarray | None  # (4, 2) float32, TL TR BR BL, full-resolution pixels
    score: float  # 0..1: share of the outline's length backed by an edge in the image
    frame_size: tuple[int, int]  # (width, height) of the image searched
    touches_edge: bool = False  # a corner on the frame border: the page is probably cut off

    def to_json(self) -> dict[str, object]:
        return {
            "found": self.found,
            "corners": None if self.corners is None else _plain_corners(self.corners),
            "score": round(self.score, 3),
            "touches_edge": self.touches_edge,
        }


@dataclass(frozen=True)
class QualityFinding:
    code: str  # quality.blur, .dark, .cut_off, .blank, .too_few_pages, .duplicate
    message: str  # Chinese, for the clerk
    value: float | None = None  # the measurement that triggered it (for logs and tuning)

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "value": self.value}


@dataclass(frozen=True, eq=False)
class ProcessedPage:
    detection: PageDetection
    corners: np.ndarray  # the quad actually used (the whole frame when no page was found)
    mode: Mode  # the mode used (resolved from "auto")
    data: bytes  # the encoded page
    media_type: str  # image/jpeg or image/png
    width: int
    height: int
    dpi: int
    skew_deg: float  # residual rotation corrected after the perspective warp
    findings: list[QualityFinding] = field(default_factory=list)
    codes: list[DecodedCode] = field(default_factory=list)
    signature: PageSignature | None = None  # what is on the page, to spot a page taken twice

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return ".png" if self.media_type == "image/png" else ".jpg"

    def to_json(self) -> dict[str, object]:
        return {
            "found": self.detection.found,
            "corners": _plain_corners(self.corners),
            "score": round(self.detection.score, 3),
            "mode": self.mode,
            "media_type": self.media_type,
            "width": self.width,
            "height": self.height,
            "dpi": self.dpi,
            "skew_deg": round(self.skew_deg, 2) + 0.0,  # + 0.0: no "-0.0" in JSON
            "bytes": self.size,
            "findings": [f.to_json() for f in self.findings],
            "codes": [c.to_json() for c in self.codes],
        }


@dataclass(frozen=True, eq=False)
class PageSignature:
    grid: np.ndarray  # float32, SIGNATURE_GRID[1] × SIGNATURE_GRID[0], mean 0, deviation 1
    aspect: float  # width / height of the page


# ---------------------------------------------------------------------------------------------
# input checks


def check_image(image: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Validate an in-memory image and return it as BGR or grey uint8.

    Alpha is composited on white (a transparent PNG would otherwise turn black); 16-bit images
    are scaled to 8 bits.
    """
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise CaptureError("capture.not_image", variant=3)
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise CaptureError("capture.not_image", variant=3, channels=image.shape[2])
    pixels = image.shape[0] * image.shape[1]
    if pixels > max_pixels:
        raise CaptureError(
            "capture.too_large",
            variant=3,
            width=image.shape[1],
            height=image.shape[0],
            megapixels=pixels / 1000000.0,
            max_megapixels=max_pixels / 1000000.0,
        )
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise CaptureError("capture.not_image", variant=4, dtype=str(image.dtype))
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return np.asarray(image)


def to_grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def resize_long(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Scale down so the long side is `long_side` (never up); returns (image, scale).

    Halves with pyrDown (Gaussian-filtered, a fraction of the cost) while the image is still
    at least twice too big, and area-resizes only the small remainder."""
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale >= 1.0:
        return image, 1.0
    small = image
    while max(small.shape[:2]) >= 2 * long_side:
        small = cv2.pyrDown(small)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if (small.shape[1], small.shape[0]) != size:
        small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
    return small, scale
