"""Cleaning a flattened page: lighting evened out and levels set per mode (enhance, choose_mode),
compressed (encode), and the quality findings the clerk sees (assess_quality).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from app.capture.page_geometry import detect_page, warp_page
from app.capture.page_image import (
    JPEG_QUALITY,
    MODES,
    Mode,
    PageDetection,
    QualityFinding,
    Source,
    check_image,
    guard_cv,
    resize_long,
    to_grey,
)
from app.errors import CaptureError

log = logging.getLogger("intake.capture.pages")

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
    clipped: np.ndarray = np.clip(surface, 1, 255)
    return clipped


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
    table: np.ndarray = lut.astype(np.uint8)
    return table


def _bw_threshold(norm_grey: np.ndarray) -> float:
    sample, _ = resize_long(norm_grey, 800)
    otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # on a flattened page paper is ~255 and ink far below; clamp so a blank page (Otsu splits
    # the noise) or a dark photo does not move the cut to absurd places
    return float(min(max(otsu, 110.0), 200.0))


@guard_cv("enhance")
def enhance(image: np.ndarray, mode: Mode) -> np.ndarray:
    """Flatten uneven light and render for `mode`.

    color: each channel divided by the paper brightness (seals stay red, paper turns white);
    grey: the same on luminance with a black-point stretch; bw: flattened luminance cut at an
    Otsu threshold (clamped), giving black text on white even under a lamp's gradient.
    """
    if mode not in MODES:
        raise CaptureError("capture.bad_mode", mode=str(mode))
    img = check_image(image)
    grey = to_grey(img)
    bg = _background(grey)
    if mode == "color":
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return cv2.LUT(_normalise(img, bg), _levels(black=0.0))
    norm = _normalise(grey, bg)
    if mode == "grey":
        sample, _ = resize_long(norm, 800)
        black = min(float(np.percentile(sample, 0.5)), 120.0)
        return cv2.LUT(norm, _levels(black))
    _, bw = cv2.threshold(norm, _bw_threshold(norm), 255, cv2.THRESH_BINARY)
    return bw


@guard_cv("mode")
def choose_mode(page: np.ndarray) -> Mode:
    """Pick a mode for a flattened page: colour when it carries colour (a red seal, a photo in
    colour), grey when it has large mid-tone areas (a black-and-white photo), else bw."""
    img = check_image(page)
    small, _ = resize_long(img, 800)
    grey = to_grey(small)
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


@guard_cv("encode")
def encode(image: np.ndarray, mode: Mode, *, quality: int | None = None) -> bytes:
    """Compress an enhanced page (media type: MEDIA_TYPES[mode]).

    color/grey: baseline JPEG with optimised Huffman tables (single channel for grey), quality
    from JPEG_QUALITY. bw: 1-bit PNG (lossless, so text edges and QR modules stay exact; about a
    tenth of a grey JPEG for a text page).
    """
    img = check_image(image)
    if mode == "bw":
        _, binary = cv2.threshold(to_grey(img), 127, 255, cv2.THRESH_BINARY)
        # zlib level 6: within ~6 % of level 9's size at a quarter of its time
        ok, buf = cv2.imencode(
            ".png", binary, [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 6]
        )
    elif mode in ("color", "grey"):
        src = to_grey(img) if mode == "grey" else img
        q = quality or JPEG_QUALITY[mode]
        ok, buf = cv2.imencode(
            ".jpg", src, [cv2.IMWRITE_JPEG_QUALITY, q, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
        )
    else:
        raise CaptureError("capture.bad_mode", mode=str(mode))
    if not ok:
        raise CaptureError("capture.failed", stage="encode")
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
    small, scale = resize_long(image[y0:y1, x0:x1], 1000)
    small = to_grey(small)  # after shrinking: converting 12 MP first costs more than the rest
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
    grey = to_grey(page)
    small, _ = resize_long(grey, 800)
    norm = _normalise(small, _background(small))
    h, w = norm.shape
    b = max(2, int(0.04 * min(h, w)))  # ignore the border band: desk slivers after a warp
    inner = norm[b:-b, b:-b]
    return float(np.count_nonzero(inner < 220) / max(1, inner.size))


@guard_cv("quality")
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
