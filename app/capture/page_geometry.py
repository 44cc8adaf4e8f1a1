"""Finding the page in a frame (detect_page) and flattening it: the perspective warp to its own
size (page_size, warp_page) and the residual skew (estimate_skew, deskew).

Geometry convention: corners are float32 arrays of shape (4, 2), (x, y) in full-resolution pixels
of the image they were found in, ordered top-left, top-right, bottom-right, bottom-left as seen in
that image. A page's own corners are (0, 0), (w, 0), (w, h), (0, h) (pixel-edge convention).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import cv2
import numpy as np

from app.capture.page_image import (
    A4_LONG_MM,
    A_SERIES_ASPECT,
    DEFAULT_DPI,
    DETECT_LONG_SIDE,
    PageDetection,
    check_image,
    guard_cv,
    resize_long,
    to_grey,
)
from app.errors import CaptureError

log = logging.getLogger("intake.capture.pages")

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
    point: np.ndarray = p + t * d
    return point


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


def quad_touches_edge(quad: np.ndarray, size: tuple[int, int], margin: float) -> bool:
    w, h = size
    mx, my = max(2.0, margin * w), max(2.0, margin * h)
    near = (
        (quad[:, 0] <= mx)
        | (quad[:, 0] >= w - 1 - mx)
        | (quad[:, 1] <= my)
        | (quad[:, 1] >= h - 1 - my)
    )
    return bool(near.any())


@guard_cv("detect")
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
    small, scale = _pyramid_down(to_grey(img), long_side)
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
    touches = quad_touches_edge(quad, small_size, edge_margin)
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
    long_px = round(A4_LONG_MM / 25.4 * dpi)
    if width <= 1 or height <= 1:
        raise CaptureError("capture.bad_corners")
    ratio = min(width, height) / max(width, height)
    if abs(ratio - A_SERIES_ASPECT) / A_SERIES_ASPECT <= snap_tolerance:
        short_px = round(long_px * A_SERIES_ASPECT)
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


@guard_cv("warp")
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


@guard_cv("deskew")
def estimate_skew(image: np.ndarray, max_angle: float = 7.0) -> float:
    """Residual rotation of the text lines, in degrees (positive: lines run down to the right).

    Projection profile: ink pixels are projected on the vertical axis at candidate angles; text
    lines give the sharpest histogram at the true angle. Returns 0.0 when the page has too little
    ink or no clear peak (photos, blank pages): better no correction than a wrong one.
    """
    grey = to_grey(check_image(image))
    small, _ = resize_long(grey, 900)
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
    except cv2.error as exc:
        log.warning("deskew rotation failed")
        raise CaptureError("capture.failed", variant=2, stage="deskew") from exc
