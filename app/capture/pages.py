"""Document pages from a document camera (高拍仪) or a scanner: find, flatten, clean, compress.

The pipeline (`process_page`) is detect → warp → deskew → enhance → quality → encode → decode
codes. Every step is a plain function on numpy images (BGR or grey uint8) so the UI can run the
cheap ones on preview frames (`detect_page`) and the full pipeline on a still in a worker.

Geometry convention: corners are float32 arrays of shape (4, 2), (x, y) in full-resolution pixels
of the image they were found in, ordered top-left, top-right, bottom-right, bottom-left as seen in
that image. A page's own corners are (0, 0), (w, 0), (w, h), (0, h) (pixel-edge convention).

Failures the caller must handle surface as `CaptureError` with a stable code; OpenCV exceptions
never escape.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Literal, ParamSpec, TypeVar

import cv2
import numpy as np

from app.capture.codes import DecodedCode, decode_codes
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
_A_SERIES_ASPECT = 1 / math.sqrt(2)  # A3/A4/A5 (and ISO B5) short:long
_A4_LONG_MM = 297.0
# JPEG quality: measured on a dense synthetic A4 text page at 200 dpi (grey): q50 338 KB,
# q60 375 KB, q70 427 KB, q80 503 KB, the QR decoding at every one. 70 is the usual point where
# stroke edges show no visible ringing; the size is dominated by the text itself because the
# flattened paper is pure white (see WHITE_POINT). Measure again with real pages.
JPEG_QUALITY = {"color": 72, "grey": 70}

P = ParamSpec("P")
R = TypeVar("R")


def _guard_cv(stage: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn an OpenCV exception into a CaptureError: the caller never sees cv2 internals."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except cv2.error as exc:
                # cv2 messages carry function names and assertion text, never pixel data
                log.warning("opencv failed in %s: %s", stage, str(exc).strip().splitlines()[-1:])
                raise CaptureError(
                    "capture.failed", "图像处理失败，请重新拍摄或重新导入。", stage=stage
                ) from None

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


# ---------------------------------------------------------------------------------------------
# input checks


def check_image(image: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Validate an in-memory image and return it as BGR or grey uint8.

    Alpha is composited on white (a transparent PNG would otherwise turn black); 16-bit images
    are scaled to 8 bits.
    """
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise CaptureError("capture.not_image", "不是有效的图像。")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise CaptureError("capture.not_image", "不是有效的图像。", channels=image.shape[2])
    pixels = image.shape[0] * image.shape[1]
    if pixels > max_pixels:
        raise CaptureError(
            "capture.too_large",
            f"图像过大（{pixels / 1e6:.0f}百万像素），超过{max_pixels / 1e6:.0f}百万像素的上限。",
            width=image.shape[1],
            height=image.shape[0],
        )
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise CaptureError("capture.not_image", "不支持的图像像素格式。", dtype=str(image.dtype))
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return np.asarray(image)


def _grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _resize_long(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
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


# ---------------------------------------------------------------------------------------------
# detection


def _pyramid_down(grey: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Halve with pyrDown while the result stays above ~3/4 of `long_side`: a 1080p frame
    becomes 960 px, a 12 MP still 1000 px. pyrDown (a 5×5 Gaussian and decimation) costs a
    fraction of an area resize, which alone ate most of the preview's time budget."""
    scale = 1.0
    while max(grey.shape) / 2 >= long_side * 0.75:
        grey = cv2.pyrDown(grey)
        scale *= 0.5
    return grey, scale


def order_corners(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Four points as TL, TR, BR, BL: clockwise (as seen, y down) starting at the smallest x+y.

    Stable for pages rotated up to about ±40° in the frame.
    """
    pts = np.asarray(points, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise on screen
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def _line_intersection(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> np.ndarray | None:
    (p, d), (q, e) = a, b
    denom = d[0] * e[1] - d[1] * e[0]
    if abs(denom) < 1e-6:
        return None
    t = ((q[0] - p[0]) * e[1] - (q[1] - p[1]) * e[0]) / denom
    return p + t * d


def _refine_quad(quad: np.ndarray, edge_points: np.ndarray, band: float = 3.0) -> np.ndarray:
    """Fit a line to the edge pixels along each side and intersect neighbours.

    The quad from approxPolyDP sits on contour pixels of a dilated edge map (biased outward and
    quantised); the raw Canny pixels near each side give the edge itself, to sub-pixel accuracy.
    """
    lines: list[tuple[np.ndarray, np.ndarray]] = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        d = b - a
        length = float(np.hypot(*d))
        if length < 10:
            return quad
        d = d / length
        n = np.array([-d[1], d[0]], np.float32)
        rel = edge_points - a
        t = rel @ d / length
        dist = np.abs(rel @ n)
        sel = edge_points[(dist < band) & (t > 0.06) & (t < 0.94)]
        if len(sel) < 12:
            lines.append((a.astype(np.float64), d.astype(np.float64)))
            continue
        vx, vy, x0, y0 = cv2.fitLine(sel.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
    refined = []
    for i in range(4):
        corner = _line_intersection(lines[(i - 1) % 4], lines[i])
        if corner is None or np.hypot(*(corner - quad[i])) > 4 * band:
            corner = quad[i]  # a bad fit (clutter along a side) must not move the corner far
        refined.append(corner)
    return np.asarray(refined, np.float32)


def _support(quad: np.ndarray, edge_mask: np.ndarray, samples: int = 240) -> float:
    """Share of points along the quad's outline that lie on (dilated) edges."""
    h, w = edge_mask.shape
    pts = []
    perimeter = [np.hypot(*(quad[(i + 1) % 4] - quad[i])) for i in range(4)]
    total = sum(perimeter)
    for i in range(4):
        k = max(4, int(samples * perimeter[i] / total))
        t = np.linspace(0.03, 0.97, k)[:, None]
        pts.append(quad[i] + t * (quad[(i + 1) % 4] - quad[i]))
    p = np.round(np.concatenate(pts)).astype(int)
    p[:, 0] = np.clip(p[:, 0], 0, w - 1)
    p[:, 1] = np.clip(p[:, 1], 0, h - 1)
    return float(np.count_nonzero(edge_mask[p[:, 1], p[:, 0]]) / len(p))


def _quads_from_mask(mask: np.ndarray, min_area: float, max_area: float = 0.97) -> list[np.ndarray]:
    """Convex quadrilaterals approximating the hulls of the biggest blobs of MASK.

    Quads covering more than `max_area` of the frame are dropped: that is the frame itself
    (edges everywhere, e.g. desk texture at a low threshold), not a page outline."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    frame_area = mask.shape[0] * mask.shape[1]
    hulls = [cv2.convexHull(c) for c in contours if len(c) >= 4]
    hulls = [h for h in hulls if cv2.contourArea(h) >= min_area * frame_area]
    hulls.sort(key=cv2.contourArea, reverse=True)
    quads = []
    for hull in hulls[:4]:
        perimeter = cv2.arcLength(hull, True)
        for eps in (0.02, 0.035, 0.05):
            approx = cv2.approxPolyDP(hull, eps * perimeter, True)
            if len(approx) == 4:
                break
        if len(approx) != 4 or not cv2.isContourConvex(approx):
            continue
        if not min_area * frame_area <= cv2.contourArea(approx) <= max_area * frame_area:
            continue
        quads.append(order_corners(approx.reshape(4, 2).astype(np.float32)))
    return quads


def _touches_edge(quad: np.ndarray, size: tuple[int, int], margin: float) -> bool:
    w, h = size
    mx, my = max(2.0, margin * w), max(2.0, margin * h)
    near = (
        (quad[:, 0] <= mx)
        | (quad[:, 0] >= w - 1 - mx)
        | (quad[:, 1] <= my)
        | (quad[:, 1] >= h - 1 - my)
    )
    return bool(near.any())


@_guard_cv("detect")
def detect_page(
    image: np.ndarray,
    *,
    long_side: int = DETECT_LONG_SIDE,
    min_area: float = 0.12,
    min_score: float = 0.6,
    edge_margin: float = 0.004,
) -> PageDetection:
    """Find the page outline in a camera frame or scan.

    Works on a copy scaled to about `long_side` pixels (≈10 ms for a 1080p frame on two cores):
    blur → Canny (Otsu-derived threshold, lower ones if nothing is found) → external contours →
    convex hull → approxPolyDP to four corners → line fit on the raw edge pixels of each side.
    If the edges give nothing, a bright-region (Otsu) mask is tried. A candidate must cover
    `min_area` of the frame and have at least `min_score` of its outline backed by edges.
    """
    img = check_image(image)
    h, w = img.shape[:2]
    small, scale = _pyramid_down(_grey(img), long_side)
    grey = cv2.GaussianBlur(small, (5, 5), 0)
    otsu, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    # Canny's upper threshold: the Otsu level suits a dark pad (a strong outline; most text
    # edges stay out). A light desk leaves a weak outline, so lower thresholds follow only when
    # nothing was found: a frame without a page costs three passes, one with a page usually one.
    first = max(20.0, float(otsu))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    edges = thick = grey
    for high in [first] + [t for t in (60.0, 30.0) if t < first]:
        edges = cv2.Canny(grey, 0.5 * high, high)
        thick = cv2.dilate(edges, kernel)
        for quad in _quads_from_mask(thick, min_area):
            score = _support(quad, thick)
            if best is None or score > best[0]:
                best = (score, quad, edges)
        if best is not None and best[0] >= min_score:
            break
    if best is None or best[0] < min_score:
        # last resort: the page as the bright region, its outline checked against the edges
        mask = cv2.morphologyEx(bright, cv2.MORPH_OPEN, kernel, iterations=2)
        for quad in _quads_from_mask(mask, min_area):
            score = _support(quad, thick)
            if best is None or score > best[0]:
                best = (score, quad, edges)
    if best is None or best[0] < min_score:
        return PageDetection(False, None, 0.0 if best is None else best[0], (w, h))
    score, quad, edges = best
    ys, xs = np.nonzero(edges)
    quad = _refine_quad(quad, np.column_stack([xs, ys]).astype(np.float32))
    quad = order_corners(quad)
    small_size = (small.shape[1], small.shape[0])
    touches = _touches_edge(quad, small_size, edge_margin)
    corners = (quad / scale).astype(np.float32)
    corners[:, 0] = np.clip(corners[:, 0], 0, w)
    corners[:, 1] = np.clip(corners[:, 1], 0, h)
    return PageDetection(True, corners, score, (w, h), touches)


# ---------------------------------------------------------------------------------------------
# geometry: warp and deskew


def page_size(
    corners: np.ndarray, dpi: int = DEFAULT_DPI, snap_tolerance: float = 0.07
) -> tuple[int, int]:
    """Output size (w, h) for the quad.

    A quad whose side ratio is within `snap_tolerance` of 1:√2 is taken as an A-series page and
    gets exact A4 proportions at `dpi` (perspective makes the measured ratio wobble by a few per
    cent; a 3 % squeeze of an A5 or 户口簿 page is invisible). Other shapes (ID cards, receipts)
    keep their measured size, capped at the A4 long side at `dpi`.
    """
    q = np.asarray(corners, np.float64)
    top, bottom = np.hypot(*(q[1] - q[0])), np.hypot(*(q[2] - q[3]))
    left, right = np.hypot(*(q[3] - q[0])), np.hypot(*(q[2] - q[1]))
    width, height = (top + bottom) / 2, (left + right) / 2
    long_px = round(_A4_LONG_MM / 25.4 * dpi)
    if width <= 1 or height <= 1:
        raise CaptureError("capture.bad_corners", "页面边框无效，请重新框选。")
    ratio = min(width, height) / max(width, height)
    if abs(ratio - _A_SERIES_ASPECT) / _A_SERIES_ASPECT <= snap_tolerance:
        short_px = round(long_px * _A_SERIES_ASPECT)
        return (short_px, long_px) if height >= width else (long_px, short_px)
    factor = min(1.0, long_px / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def _page_transform(corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    return cv2.getPerspectiveTransform(np.asarray(corners, np.float32), dst)


def _rotation_about_centre(size: tuple[int, int], angle_deg: float) -> np.ndarray:
    w, h = size
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    return np.vstack([m, [0, 0, 1]])


@_guard_cv("warp")
def warp_page(
    image: np.ndarray,
    corners: np.ndarray,
    *,
    dpi: int = DEFAULT_DPI,
    size: tuple[int, int] | None = None,
    rotate_deg: float = 0.0,
) -> np.ndarray:
    """Perspective-correct the quad at full resolution to `size` (or the size `page_size` picks
    for `dpi`). `rotate_deg` is folded into the same transform so a deskew costs no second
    interpolation."""
    img = check_image(image)
    out_size = size or page_size(corners, dpi)
    H = _page_transform(order_corners(corners), out_size)
    if rotate_deg:
        H = _rotation_about_centre(out_size, rotate_deg) @ H
    return cv2.warpPerspective(
        img, H, out_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


@_guard_cv("deskew")
def estimate_skew(image: np.ndarray, max_angle: float = 7.0) -> float:
    """Residual rotation of the text lines, in degrees (positive: lines run down to the right).

    Projection profile: ink pixels are projected on the vertical axis at candidate angles; text
    lines give the sharpest histogram at the true angle. Returns 0.0 when the page has too little
    ink or no clear peak (photos, blank pages): better no correction than a wrong one.
    """
    grey = _grey(check_image(image))
    small, _ = _resize_long(grey, 900)
    ink = cv2.adaptiveThreshold(
        small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15
    )
    h, w = ink.shape
    # the border band often holds a sliver of desk after a warp: ignore it
    band = max(2, int(0.03 * min(h, w)))
    ink[:band] = 0
    ink[-band:] = 0
    ink[:, :band] = 0
    ink[:, -band:] = 0
    ys, xs = np.nonzero(ink)
    if len(xs) < 200:
        return 0.0
    if len(xs) > 40_000:
        pick = np.random.default_rng(0).choice(len(xs), 40_000, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs = xs.astype(np.float64) - w / 2
    ys = ys.astype(np.float64) - h / 2
    offset = float(np.hypot(w, h))

    def sharpness(angle: float) -> float:
        a = math.radians(angle)
        proj = ys * math.cos(a) - xs * math.sin(a) + offset
        hist = np.bincount(proj.astype(np.int64), minlength=int(2 * offset) + 2)
        return float(np.dot(hist, hist))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    scores = np.array([sharpness(a) for a in coarse])
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    fine_scores = np.array([sharpness(a) for a in fine])
    angle = float(fine[int(np.argmax(fine_scores))])
    if scores.max() < 1.15 * float(np.median(scores)):
        return 0.0
    return angle


def deskew(
    image: np.ndarray, max_angle: float = 7.0, min_angle: float = 0.15
) -> tuple[np.ndarray, float]:
    """Rotate a flat page (scan or warped photo) so its text lines are level.

    Returns the straightened image and the angle removed (degrees); the image is returned
    unchanged when the skew is below `min_angle` or cannot be measured.
    """
    img = check_image(image)
    angle = estimate_skew(img, max_angle)
    if abs(angle) < min_angle:
        return img, 0.0
    h, w = img.shape[:2]
    try:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        return cv2.warpAffine(
            img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        ), angle
    except cv2.error:
        log.warning("deskew rotation failed")
        raise CaptureError("capture.failed", "图像处理失败，请重新拍摄或重新导入。", stage="deskew")


# ---------------------------------------------------------------------------------------------
# enhancement and encoding


def _poly_terms(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.stack(
        [
            np.ones_like(xs),
            xs,
            ys,
            xs * xs,
            xs * ys,
            ys * ys,
            xs**3,
            xs * xs * ys,
            xs * ys * ys,
            ys**3,
        ],
        axis=1,
    )


def _lighting_surface(bg: np.ndarray) -> np.ndarray:
    """A smooth cubic surface through the paper's brightness, fitted robustly: samples much
    darker than the current fit (a photo, a black bar) are dropped and the fit repeated. A lamp's
    light is smooth; a photo is not light and must not be divided away.

    Fitted and evaluated on a grid of at most ~48×48 and scaled up: the surface is smooth, and
    this keeps the cost far below a millisecond.
    """
    h, w = bg.shape
    gh, gw = min(h, 48), min(w, 48)
    coarse = cv2.resize(bg, (gw, gh), interpolation=cv2.INTER_AREA).astype(np.float64)
    ys, xs = np.mgrid[0:gh, 0:gw]
    terms = _poly_terms((xs.ravel() + 0.5) / gw - 0.5, (ys.ravel() + 0.5) / gh - 0.5)
    values = coarse.ravel()
    keep = values >= np.percentile(values, 30)
    coef: np.ndarray = np.zeros(terms.shape[1])
    coef[0] = float(values.max())
    for _ in range(4):
        if np.count_nonzero(keep) < terms.shape[1] * 3:
            break
        # cv2.solve, not numpy.linalg: LAPACK's threaded BLAS fights OpenCV's threads for the
        # two cores and turned this 0.3 ms solve into 40 ms
        ok, sol = cv2.solve(terms[keep], values[keep].reshape(-1, 1), flags=cv2.DECOMP_QR)
        if not ok:
            break
        coef = sol.ravel()
        keep = values >= 0.9 * (terms @ coef)
    coarse_surface = (terms @ coef).reshape(gh, gw).astype(np.float32)
    surface = cv2.resize(coarse_surface, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(surface, 1, 255)


def _background(grey: np.ndarray) -> np.ndarray:
    """Paper brightness under the local light, for dividing the light away.

    At 1/8 scale: a closing with a kernel ~4 % of the page's short side (~70 px at 200 dpi,
    wider than any stroke or QR module) removes text. Where that estimate is well below the
    smooth lighting surface, the dark thing is content (a photo on an ID copy, a black bar), not
    shade: there the surface is used, so the content keeps its tones.
    """
    h, w = grey.shape
    small = grey
    for _ in range(3):  # 1/8 scale; pyrDown is far cheaper than an area resize of the page
        if min(small.shape) >= 16:
            small = cv2.pyrDown(small)
    k = max(3, (min(small.shape) // 25) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel).astype(np.float32)
    surface = _lighting_surface(closed)
    bg = np.where(closed >= 0.88 * surface, closed, surface)
    bg = cv2.GaussianBlur(bg, (0, 0), k / 2)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(bg, 24, 255).astype(np.uint8)


def _normalise(image: np.ndarray, bg: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.divide(image, bg, scale=255)
    return cv2.divide(image, cv2.merge([bg, bg, bg]), scale=255)


# Flattened paper sits at 255 with the sensor's noise below it; everything from this level up
# becomes pure white. Clean paper is what keeps a grey or colour JPEG small (noise is the most
# expensive thing to compress) and it looks like a photocopy, which is what clerks expect.
WHITE_POINT = 232.0


def _levels(black: float, white: float = WHITE_POINT) -> np.ndarray:
    lut = np.clip((np.arange(256) - black) * 255.0 / max(1.0, white - black), 0, 255)
    return lut.astype(np.uint8)


def _bw_threshold(norm_grey: np.ndarray) -> float:
    sample, _ = _resize_long(norm_grey, 800)
    otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # on a flattened page paper is ~255 and ink far below; clamp so a blank page (Otsu splits
    # the noise) or a dark photo does not move the cut to absurd places
    return float(min(max(otsu, 110.0), 200.0))


@_guard_cv("enhance")
def enhance(image: np.ndarray, mode: Mode) -> np.ndarray:
    """Flatten uneven light and render for `mode`.

    color: each channel divided by the paper brightness (seals stay red, paper turns white);
    grey: the same on luminance with a black-point stretch; bw: flattened luminance cut at an
    Otsu threshold (clamped), giving black text on white even under a lamp's gradient.
    """
    if mode not in MODES:
        raise CaptureError("capture.bad_mode", f"不支持的处理模式“{mode}”。", mode=str(mode))
    img = check_image(image)
    grey = _grey(img)
    bg = _background(grey)
    if mode == "color":
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return cv2.LUT(_normalise(img, bg), _levels(black=0.0))
    norm = _normalise(grey, bg)
    if mode == "grey":
        sample, _ = _resize_long(norm, 800)
        black = min(float(np.percentile(sample, 0.5)), 120.0)
        return cv2.LUT(norm, _levels(black))
    _, bw = cv2.threshold(norm, _bw_threshold(norm), 255, cv2.THRESH_BINARY)
    return bw


@_guard_cv("mode")
def choose_mode(page: np.ndarray) -> Mode:
    """Pick a mode for a flattened page: colour when it carries colour (a red seal, a photo in
    colour), grey when it has large mid-tone areas (a black-and-white photo), else bw."""
    img = check_image(page)
    small, _ = _resize_long(img, 800)
    grey = _grey(small)
    bg = _background(grey)
    norm_grey = _normalise(grey, bg)
    if small.ndim == 3:
        norm = _normalise(small, bg)
        hsv = cv2.cvtColor(norm, cv2.COLOR_BGR2HSV)
        colourful = (hsv[:, :, 1] > 90) & (hsv[:, :, 2] > 60)
        if np.count_nonzero(colourful) > 0.002 * colourful.size:
            return "color"
    mid = (norm_grey > 70) & (norm_grey < 190)
    blurred_mid = cv2.blur(mid.astype(np.uint8), (9, 9))
    # isolated mid-tones are anti-aliased stroke edges; a photo is a solid mid-tone area
    if np.count_nonzero(blurred_mid) > 0 and np.count_nonzero(blurred_mid == 1) > 0.05 * mid.size:
        return "grey"
    return "bw"


MEDIA_TYPES: dict[str, str] = {"color": "image/jpeg", "grey": "image/jpeg", "bw": "image/png"}


@_guard_cv("encode")
def encode(image: np.ndarray, mode: Mode, *, quality: int | None = None) -> bytes:
    """Compress an enhanced page (media type: MEDIA_TYPES[mode]).

    color/grey: baseline JPEG with optimised Huffman tables (single channel for grey), quality
    from JPEG_QUALITY. bw: 1-bit PNG (lossless, so text edges and QR modules stay exact; about a
    tenth of a grey JPEG for a text page).
    """
    img = check_image(image)
    if mode == "bw":
        _, binary = cv2.threshold(_grey(img), 127, 255, cv2.THRESH_BINARY)
        # zlib level 6: within ~6 % of level 9's size at a quarter of its time
        ok, buf = cv2.imencode(
            ".png", binary, [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 6]
        )
    elif mode in ("color", "grey"):
        src = _grey(img) if mode == "grey" else img
        q = quality or JPEG_QUALITY[mode]
        ok, buf = cv2.imencode(
            ".jpg", src, [cv2.IMWRITE_JPEG_QUALITY, q, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
        )
    else:
        raise CaptureError("capture.bad_mode", f"不支持的处理模式“{mode}”。", mode=str(mode))
    if not ok:
        raise CaptureError("capture.failed", "图像压缩失败。", stage="encode")
    return bytes(buf.tobytes())


# ---------------------------------------------------------------------------------------------
# quality


_MESSAGES = {
    "quality.blur": "图像模糊，请将材料放平、保持稳定后重新拍摄。",
    "quality.dark": "图像过暗，请打开补光灯或改善照明后重新拍摄。",
    "quality.cut_off.not_found": "未识别到完整的页面边框，请将整页材料放入拍摄区域内。",
    "quality.cut_off.touches_edge": "页面边缘超出拍摄区域，部分内容可能缺失，请调整材料位置。",
    "quality.blank": "该页几乎没有内容，可能是空白页或背面，请确认。",
}

# Sharpness (see _sharpness) measured with the page scaled to ≤ 1000 px: sharp print scores
# 0.3–0.5; a Gaussian blur of σ ≈ 1.5 px at that scale (small text no longer legible) falls
# below 0.1, σ ≈ 1.2 px stays above.
BLUR_THRESHOLD = 0.1
DARK_THRESHOLD = 90.0  # paper brightness (90th percentile of grey inside the page)
# Share of marked pixels (below 220 after flattening) on the page: a text page has 10–20 %,
# even a badly blurred one > 1 %; a blank sheet with sensor noise stays at 0.
BLANK_THRESHOLD = 0.003


def _page_region(image: np.ndarray, corners: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Grey crop of the page's bounding box (scaled so the page's long side is ≤ 1000 px) and a
    mask of the page inside it, shrunk so the outline itself is not measured."""
    h, w = image.shape[:2]
    quad = (
        np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        if corners is None
        else np.asarray(corners, np.float32)
    )
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    small, scale = _resize_long(image[y0:y1, x0:x1], 1000)
    small = _grey(small)  # after shrinking: converting 12 MP first costs more than the rest
    mask = np.zeros(small.shape, np.uint8)
    centre = quad.mean(axis=0)
    shrunk = centre + (quad - centre) * 0.94  # stay clear of the outline and any cut edge
    pts = np.round((shrunk - [x0, y0]) * scale).astype(np.int32)
    cv2.fillConvexPoly(mask, pts, 255)
    return small, mask


def _sharpness(grey: np.ndarray, mask: np.ndarray) -> float | None:
    """Sharpness from the variance of the Laplacian, relative to the paper's brightness.

    Per 48-px tile that holds content: std(Laplacian) / paper level (90th percentile of the page),
    so a dim page is not called blurred merely for being dim. The 75th percentile over content
    tiles ignores empty margins. (Dividing by each tile's own contrast instead fails on small
    text: a blurred line pattern keeps a high ratio at a tiny amplitude.) None when no tile has
    content.
    """
    g = cv2.GaussianBlur(grey, (3, 3), 0)  # keeps sensor noise from passing for detail
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=3)
    if not np.any(mask):
        return None
    level = max(1.0, float(np.percentile(g[mask > 0], 90)))
    tile = 48
    h, w = g.shape
    values = []
    for y in range(0, h - tile + 1, tile):
        for x in range(0, w - tile + 1, tile):
            if mask[y : y + tile, x : x + tile].min() == 0:
                continue
            if float(g[y : y + tile, x : x + tile].std()) < max(4.0, 0.04 * level):
                continue
            values.append(float(lap[y : y + tile, x : x + tile].std()) / level)
    if len(values) < 3:
        return None
    return float(np.percentile(values, 75))


def _ink_share(page: np.ndarray) -> float:
    grey = _grey(page)
    small, _ = _resize_long(grey, 800)
    norm = _normalise(small, _background(small))
    h, w = norm.shape
    b = max(2, int(0.04 * min(h, w)))  # ignore the border band: desk slivers after a warp
    inner = norm[b:-b, b:-b]
    return float(np.count_nonzero(inner < 220) / max(1, inner.size))


@_guard_cv("quality")
def assess_quality(
    image: np.ndarray,
    detection: PageDetection | None = None,
    *,
    page: np.ndarray | None = None,
    source: Source = "camera",
) -> list[QualityFinding]:
    """Findings for a captured frame (empty list = fine).

    `image` is the original frame; `detection` is computed when not given; `page` is the warped
    page (computed when not given). For scans (`source="scan"`) the whole image is the page, so a
    missing outline is not a finding.
    """
    img = check_image(image)
    if detection is None:
        detection = detect_page(img)
    corners = detection.corners if detection.found else None
    findings: list[QualityFinding] = []
    if source == "camera":
        if not detection.found:
            findings.append(
                QualityFinding("quality.cut_off", _MESSAGES["quality.cut_off.not_found"])
            )
        elif detection.touches_edge:
            findings.append(
                QualityFinding("quality.cut_off", _MESSAGES["quality.cut_off.touches_edge"])
            )
    region, mask = _page_region(img, corners)
    paper = float(np.percentile(region[mask > 0], 90)) if np.any(mask) else 0.0
    if paper < DARK_THRESHOLD:
        findings.append(QualityFinding("quality.dark", _MESSAGES["quality.dark"], round(paper, 1)))
    if page is None:
        page = warp_page(img, corners) if corners is not None else img
    ink = _ink_share(page)
    if ink < BLANK_THRESHOLD:
        findings.append(QualityFinding("quality.blank", _MESSAGES["quality.blank"], round(ink, 5)))
    else:
        sharp = _sharpness(region, mask)
        # marks but no tile with an edge in it: smeared beyond measuring, i.e. blurred
        if sharp is None or sharp < BLUR_THRESHOLD:
            value = None if sharp is None else round(sharp, 3)
            findings.append(QualityFinding("quality.blur", _MESSAGES["quality.blur"], value))
    return findings


# ---------------------------------------------------------------------------------------------
# the same page taken twice

# Pages are compared as a 96×132 grey grid (a portrait A4's proportions), blurred and
# normalised for exposure. On the synthetic camera pages the same sheet under another angle,
# tilt, uneven light and noise differed by ≤ 0.11; two different sheets of the same layout by
# ≥ 0.29. The threshold sits between them.
SIGNATURE_GRID = (96, 132)
NEAR_IDENTICAL_THRESHOLD = 0.17
ASPECT_TOLERANCE = 0.15  # a page and a card are never the same page


@dataclass(frozen=True, eq=False)
class PageSignature:
    grid: np.ndarray  # float32, SIGNATURE_GRID[1] × SIGNATURE_GRID[0], mean 0, deviation 1
    aspect: float  # width / height of the page


def page_signature(page: np.ndarray) -> PageSignature:
    """The page's signature, from a processed page or the stored image (any scale)."""
    img = check_image(page)
    h, w = img.shape[:2]
    small = cv2.resize(img, SIGNATURE_GRID, interpolation=cv2.INTER_AREA)  # grey after: cheaper
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    small = small.astype(np.float32)
    small = cv2.GaussianBlur(small, (3, 3), 0)
    grid = (small - float(small.mean())) / max(float(small.std()), 1.0)
    return PageSignature(grid, w / max(1, h))


def signature_from_bytes(data: bytes) -> PageSignature | None:
    """The signature of a stored page (JPEG or PNG), decoded at half scale (a quarter loses
    enough of a black-and-white PNG to move it by half the threshold); None when
    the bytes are not an image."""
    buf = np.frombuffer(data, np.uint8)
    grey = cv2.imdecode(buf, cv2.IMREAD_REDUCED_GRAYSCALE_2)
    return None if grey is None else page_signature(grey)


def page_difference(a: PageSignature, b: PageSignature) -> float:
    """0 for the same picture; two different text pages differ by about 0.3 or more."""
    if abs(a.aspect - b.aspect) > ASPECT_TOLERANCE * max(a.aspect, b.aspect):
        return math.inf
    return float(np.mean(np.abs(a.grid - b.grid)))


def duplicate_warning(
    previous: PageSignature | None, page: PageSignature | None, previous_position: int
) -> QualityFinding | None:
    """A finding when PAGE looks the same as the page before it (the camera took one sheet
    twice, or the clerk did not turn the page)."""
    if previous is None or page is None:
        return None
    diff = page_difference(previous, page)
    if diff >= NEAR_IDENTICAL_THRESHOLD:
        return None
    return QualityFinding(
        "quality.duplicate",
        f"与第{previous_position}页几乎相同，可能重复拍摄，请确认（多余的页可选中后按 Delete 删除）。",
        round(diff, 3),
    )


def expected_pages_warning(
    material_pages_expected: int | None, captured: int
) -> QualityFinding | None:
    """A finding when fewer pages were captured than the material normally has."""
    if not material_pages_expected or captured >= material_pages_expected:
        return None
    return QualityFinding(
        "quality.too_few_pages",
        f"该材料应有{material_pages_expected}页，当前只采集了{captured}页，请确认是否漏拍。",
        float(captured),
    )


# ---------------------------------------------------------------------------------------------
# the whole pipeline


def _whiten_border(page: np.ndarray, share: float = 0.004) -> None:
    """Paint a thin band along the edges white, in place: a corner off by a few pixels leaves a
    sliver of dark desk along a side, which would print as a black line. 0.4 % is ~1 mm of A4."""
    h, w = page.shape[:2]
    band = max(2, round(share * max(h, w)))
    page[:band] = 255
    page[-band:] = 255
    page[:, :band] = 255
    page[:, -band:] = 255


def process_page(
    image: np.ndarray,
    mode: Mode | Literal["auto"] = "auto",
    corners: np.ndarray | Sequence[Sequence[float]] | None = None,
    *,
    source: Source = "camera",
    dpi: int = DEFAULT_DPI,
    decode: DecodeLevel = "fast",
    max_pixels: int = MAX_PIXELS,
) -> ProcessedPage:
    """Detect → warp → deskew → enhance → quality → encode → decode codes, for one page.

    `corners` (from the preview, or adjusted by the clerk) skips detection. `decode`: "fast"
    (one zbar pass, ~40 ms on an A4 page at 200 dpi; finds print-quality codes), "thorough"
    (all of decode_codes' fallback passes; up to ~300 ms on a page with no code, the usual
    case, so meant for an explicit "read the code on this page" action) or "off". When no page is
    found the whole frame is kept (with a quality.cut_off finding for a camera frame) so the clerk
    is never left with nothing. For scans a detected outline is used only if it covers at least
    half the image: a table border on a scanned page must not become the page.
    """
    if mode != "auto" and mode not in MODES:
        raise CaptureError("capture.bad_mode", f"不支持的处理模式“{mode}”。", mode=str(mode))
    img = check_image(image, max_pixels)
    h, w = img.shape[:2]
    return _process(img, mode, corners, source, dpi, decode, (w, h))


@_guard_cv("process")
def _process(
    img: np.ndarray,
    mode: Mode | Literal["auto"],
    corners: np.ndarray | Sequence[Sequence[float]] | None,
    source: Source,
    dpi: int,
    decode: DecodeLevel,
    frame: tuple[int, int],
) -> ProcessedPage:
    w, h = frame
    if corners is not None:
        quad = order_corners(corners)
        detection = PageDetection(True, quad, 1.0, frame, _touches_edge(quad, frame, 0.002))
    else:
        detection = detect_page(img, min_area=0.5 if source == "scan" else 0.12)
    full = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    quad = detection.corners if detection.found and detection.corners is not None else full
    # also for a scan with no outline: resamples a 600 dpi scan to `dpi` instead of keeping 35 MP
    size = page_size(quad, dpi)
    page = warp_page(img, quad, size=size)
    skew = estimate_skew(page)
    if abs(skew) >= 0.15:
        page = warp_page(img, quad, size=size, rotate_deg=skew)
    resolved: Mode = choose_mode(page) if mode == "auto" else mode
    enhanced = enhance(page, resolved)
    if detection.found:
        _whiten_border(enhanced)
    findings = assess_quality(img, detection, page=page, source=source)
    data = encode(enhanced, resolved)
    media = MEDIA_TYPES[resolved]
    codes: list[DecodedCode] = []
    if decode != "off":
        # zbar runs on the flattened black-and-white page: noise-free, so about twice as fast
        # as on the grey photo, and unaffected by the lamp's gradient. For a bw page that is
        # also what is stored, so a code read here reads for whoever opens the file later.
        bw = enhanced if resolved == "bw" else enhance(page, "bw")
        codes = decode_codes(bw, try_harder=False)
        if not codes and decode == "thorough":
            codes = decode_codes(page)
    log.info(
        "page processed: found=%s mode=%s bytes=%d findings=%s codes=%s",
        detection.found,
        resolved,
        len(data),
        [f.code for f in findings],
        [c.kind for c in codes],
    )
    return ProcessedPage(
        detection=detection,
        corners=quad,
        mode=resolved,
        data=data,
        media_type=media,
        width=size[0],
        height=size[1],
        dpi=dpi,
        skew_deg=skew,
        findings=findings,
        codes=codes,
        signature=page_signature(enhanced),
    )
