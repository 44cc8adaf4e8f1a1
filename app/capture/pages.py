"""Document pages from a document camera (高拍仪) or a scanner: find, flatten, clean, compress.

The pipeline (`process_page`) is detect → warp → deskew → enhance → quality → encode → decode
codes; its steps live in app/capture/page_geometry.py (detect, warp, deskew; the corner
convention) and app/capture/page_clean.py (enhance, encode, quality), its values in
app/capture/page_image.py. Every step is a plain function on numpy images (BGR or grey uint8) so
the UI can run the cheap ones on preview frames (`detect_page`) and the full pipeline on a still
in a worker. This module also tells a page taken twice (page signatures).

Failures the caller must handle surface as `CaptureError` with a stable code; OpenCV exceptions
never escape.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from app.capture.codes import DecodedCode, decode_codes
from app.capture.page_clean import MEDIA_TYPES, assess_quality, choose_mode, encode, enhance
from app.capture.page_geometry import (
    detect_page,
    estimate_skew,
    order_corners,
    page_size,
    quad_touches_edge,
    warp_page,
)
from app.capture.page_image import (
    DEFAULT_DPI,
    MAX_PIXELS,
    MODES,
    DecodeLevel,
    Mode,
    PageDetection,
    PageSignature,
    ProcessedPage,
    QualityFinding,
    Source,
    check_image,
    guard_cv,
)
from app.errors import CaptureError

log = logging.getLogger("intake.capture.pages")

# ---------------------------------------------------------------------------------------------
# the same page taken twice

# Pages are compared as a 96×132 grey grid (a portrait A4's proportions), blurred and
# normalised for exposure. On the synthetic camera pages the same sheet under another angle,
# tilt, uneven light and noise differed by ≤ 0.11; two different sheets of the same layout by
# ≥ 0.29. The threshold sits between them.
SIGNATURE_GRID = (96, 132)
NEAR_IDENTICAL_THRESHOLD = 0.17
ASPECT_TOLERANCE = 0.15  # a page and a card are never the same page


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
        raise CaptureError("capture.bad_mode", mode=str(mode))
    img = check_image(image, max_pixels)
    h, w = img.shape[:2]
    return _process(img, mode, corners, source, dpi, decode, (w, h))


@guard_cv("process")
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
        detection = PageDetection(True, quad, 1.0, frame, quad_touches_edge(quad, frame, 0.002))
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
