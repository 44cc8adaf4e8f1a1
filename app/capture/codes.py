"""Barcodes and QR codes: decode them from images (zxing-cpp; zbar via pyzbar as the fallback)
and say what a payload means.

What the counter meets:
- the app's own receipt: QR `YJS1|R|<number>|…` and a Code128 with the bare intake number
  (→ open that intake);
- the QR on a paper 营业执照: a URL to the national enterprise credit publicity system, whose form
  has changed over the years (a `uniscid=` query parameter, older provincial hosts with `regno=`,
  opaque encrypted ids) or plain text carrying the 统一社会信用代码 (→ the USCC, validated);
- a bare 公民身份号码 (some forms and cards carry one);
- anything else: shown to the clerk as it is, never guessed at.

`classify_payload` works on text alone, for keyboard-wedge scanners that type what they read.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from ctypes import c_void_p, cast, string_at
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import cv2
import numpy as np

from app.numbering import parse_receipt_payload
from app.validators import check_resident_id, check_uscc

log = logging.getLogger("intake.capture.codes")

Kind = Literal["receipt", "licence", "licence_opaque", "resident_id", "unknown"]

KIND_LABELS: dict[str, str] = {
    "receipt": "受理回执",
    "licence": "营业执照二维码",
    "licence_opaque": "营业执照二维码（未含可读的统一社会信用代码）",
    "resident_id": "公民身份号码",
    "unknown": "未识别的条码",
}

DEFAULT_SYMBOLS: tuple[str, ...] = ("QRCODE", "CODE128")

# An 18-character run of the USCC alphabet not glued to other letters or digits.
_USCC_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}(?![0-9A-Za-z])"
)
_RESIDENT_ID = re.compile(r"^\d{17}[\dXx]$")
# Hosts of the national / provincial enterprise credit publicity systems and market regulators
# (see _is_licence_host). A payload on one of these is a licence QR even when we cannot read it.
_LICENCE_HOST_WORDS = frozenset({"gsxt", "saic", "samr", "qyxy"})
_LICENCE_HOST_SUFFIXES = ("aic", "amr")  # fjaic, baic, …
_DISPLAY_LIMIT = 500


@dataclass(frozen=True)
class CodeMeaning:
    kind: Kind
    payload: str  # the decoded text, exactly as read
    uscc: str | None = None  # licence: the validated 统一社会信用代码
    intake_number: str | None = None  # receipt: the verified intake number
    resident_id: str | None = None  # resident_id: the validated number
    fields: tuple[tuple[str, str], ...] = ()  # receipt: extra key=value fields
    uscc_candidates: tuple[str, ...] = ()  # several valid codes in one payload: the clerk picks

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def display(self) -> str:
        """The payload made safe to show: control characters escaped, length capped."""
        return display_text(self.payload)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "label": self.label,
            "payload": self.payload,
            "uscc": self.uscc,
            "intake_number": self.intake_number,
            "resident_id": self.resident_id,
            "fields": dict(self.fields),
            "uscc_candidates": list(self.uscc_candidates),
        }


@dataclass(frozen=True)
class DecodedCode:
    symbology: str  # zbar's name (also for zxing-cpp finds): QRCODE, CODE128, …
    meaning: CodeMeaning
    polygon: tuple[tuple[int, int], ...] = ()  # where it was found, in the input image's pixels
    variant: str = "fast"  # which pass found it: zxing; zbar: fast, original, downscaled, binarised

    @property
    def kind(self) -> Kind:
        return self.meaning.kind

    @property
    def payload(self) -> str:
        return self.meaning.payload

    def to_json(self) -> dict[str, object]:
        return {"symbology": self.symbology, **self.meaning.to_json(), "polygon": self.polygon}


def display_text(text: str, limit: int = _DISPLAY_LIMIT) -> str:
    """Escape control characters (a payload may carry anything) and cap the length."""
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[:limit] + "…"


def decode_payload(data: bytes) -> str:
    """Bytes of a code as text: UTF-8 first, then GB18030 (a superset of GBK, which older
    Chinese encoders emit without saying so), then Latin-1 (never fails, keeps every byte)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


# ---------------------------------------------------------------------------------------------
# classification


def _valid_usccs(values: Iterable[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        for m in _USCC_CANDIDATE.finditer(value):
            check = check_uscc(m.group(0))
            if check.valid and check.normalized and check.normalized not in found:
                found.append(check.normalized)
    return found


def _is_licence_host(host: str) -> bool:
    """A government (.gov.cn) host of an enterprise credit publicity system or market regulator:
    gsxt.gov.cn and its provincial sites, the former gsxt.saic.gov.cn / gsxt.fjaic.gov.cn /
    qyxy.baic.gov.cn hosts, samr.gov.cn, scjgj.*.gov.cn."""
    host = host.lower().rstrip(".")
    if not host.endswith(".gov.cn"):
        return False
    labels = host.split(".")[:-2]
    return any(
        label in _LICENCE_HOST_WORDS
        or label.startswith("scjg")
        or label.endswith(_LICENCE_HOST_SUFFIXES)
        for label in labels
    )


def _url_parts(text: str) -> tuple[str, list[str]] | None:
    """(host, pieces to search) for an http(s) URL, else None."""
    if not re.match(r"^(https?://|www\.)", text, re.IGNORECASE):
        return None
    try:
        parts = urlsplit(text if "://" in text else "http://" + text)
        host = parts.hostname or ""
    except ValueError:
        return None
    pieces: list[str] = []
    query = parts.query
    # some generators put the query after the fragment (…/index.html#/detail?uniscid=…)
    if "?" in parts.fragment:
        query += "&" + parts.fragment.split("?", 1)[1]
    for _, value in parse_qsl(query, keep_blank_values=True):
        pieces.append(value)
    pieces += [unquote(seg) for seg in parts.path.split("/") if seg]
    if parts.fragment:
        pieces.append(unquote(parts.fragment))
    return host, pieces


def classify_payload(text: str) -> CodeMeaning:
    """What a scanned payload means. Never raises; anything unrecognised is `unknown`."""
    payload = text if isinstance(text, str) else str(text)
    stripped = payload.strip()
    if not stripped:
        return CodeMeaning("unknown", payload)

    receipt = parse_receipt_payload(stripped)
    if receipt is not None:
        return CodeMeaning(
            "receipt",
            payload,
            intake_number=receipt.number,
            fields=tuple(sorted(receipt.fields.items())),
        )

    compact = stripped.replace(" ", "")
    if _RESIDENT_ID.match(compact):
        rid = check_resident_id(compact)
        if rid.valid:
            return CodeMeaning("resident_id", payload, resident_id=rid.normalized)

    url = _url_parts(stripped)
    if url is not None:
        host, pieces = url
        usccs = _valid_usccs(pieces)
        licence_host = _is_licence_host(host)
    else:
        usccs = _valid_usccs([stripped])
        licence_host = False

    if len(usccs) == 1:
        return CodeMeaning("licence", payload, uscc=usccs[0])
    if licence_host:
        # a licence QR whose id is encrypted or ambiguous: show it, do not guess
        return CodeMeaning("licence_opaque", payload, uscc_candidates=tuple(usccs))
    return CodeMeaning("unknown", payload, uscc_candidates=tuple(usccs))


# ---------------------------------------------------------------------------------------------
# decoding images


_ZBAR_CFG_BINARY = 4  # zbar ≥ 0.23: return QR bytes raw instead of guessing a charset
_ZBAR_CFG_X_DENSITY = 0x100  # scan every n-th column / row
_ZBAR_CFG_Y_DENSITY = 0x101

_Found = list[tuple[bytes, str, list[tuple[int, int]]]]


def _zbar_scan(grey: np.ndarray, symbols: Sequence[str], density: int = 1) -> _Found:
    """One zbar pass over a grey image: (raw bytes, symbology, polygon) per code.

    pyzbar's own `decode` lets zbar convert QR bytes to UTF-8 by guessing (GBK text comes back
    as Big5 mojibake), so the scanner is driven through pyzbar's ctypes wrapper with the BINARY
    option on. Older zbar builds reject that option harmlessly and behave as before.
    """
    from pyzbar import wrapper as zw

    wanted = {getattr(zw.ZBarSymbol, s) for s in symbols if hasattr(zw.ZBarSymbol, s)}
    grey = np.ascontiguousarray(grey, dtype=np.uint8)
    height, width = grey.shape
    pixels = grey.tobytes()
    out: _Found = []
    scanner = zw.zbar_image_scanner_create()
    if not scanner:
        return out
    try:
        for sym in zw.ZBarSymbol:
            zw.zbar_image_scanner_set_config(
                scanner, sym, zw.ZBarConfig.CFG_ENABLE, 1 if sym in wanted else 0
            )
        if zw.ZBarSymbol.QRCODE in wanted:
            zw.zbar_image_scanner_set_config(scanner, zw.ZBarSymbol.QRCODE, _ZBAR_CFG_BINARY, 1)
        zw.zbar_image_scanner_set_config(scanner, 0, _ZBAR_CFG_X_DENSITY, density)
        zw.zbar_image_scanner_set_config(scanner, 0, _ZBAR_CFG_Y_DENSITY, density)
        image = zw.zbar_image_create()
        if not image:
            return out
        try:
            zw.zbar_image_set_format(image, 0x30303859)  # 'Y800': 8-bit grey
            zw.zbar_image_set_size(image, width, height)
            zw.zbar_image_set_data(image, cast(pixels, c_void_p), len(pixels), None)  # type: ignore[arg-type]
            if zw.zbar_scan_image(scanner, image) < 0:
                return out
            symbol = zw.zbar_image_first_symbol(image)
            while symbol:
                data = string_at(
                    zw.zbar_symbol_get_data(symbol), zw.zbar_symbol_get_data_length(symbol)
                )
                try:
                    name = zw.ZBarSymbol(symbol.contents.type).name
                except ValueError:
                    name = "UNKNOWN"
                polygon = [
                    (zw.zbar_symbol_get_loc_x(symbol, i), zw.zbar_symbol_get_loc_y(symbol, i))
                    for i in range(zw.zbar_symbol_get_loc_size(symbol))
                ]
                out.append((data, name, polygon))
                symbol = zw.zbar_symbol_next(symbol)
        finally:
            zw.zbar_image_destroy(image)
    finally:
        zw.zbar_image_scanner_destroy(scanner)
    return out


def _scan_safely(grey: np.ndarray, symbols: Sequence[str], density: int = 1) -> _Found:
    try:
        return _zbar_scan(grey, symbols, density)
    except (ImportError, OSError, AttributeError, TypeError, ValueError) as exc:
        # zbar missing or an unexpected wrapper: fall back to pyzbar's public API
        log.warning("zbar direct scan unavailable (%s); using pyzbar.decode", type(exc).__name__)
    try:
        from pyzbar import pyzbar

        wanted = [getattr(pyzbar.ZBarSymbol, s) for s in symbols if hasattr(pyzbar.ZBarSymbol, s)]
        return [
            (d.data, d.type, [(p.x, p.y) for p in d.polygon]) for d in pyzbar.decode(grey, wanted)
        ]
    except Exception as exc:
        log.warning("barcode decoding failed: %s", type(exc).__name__)
        return []


def _busy_box(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box (x, y, w, h) of everything that is not flat: on a page lying on a desk,
    about the page. zbar's cost is per pixel scanned, so the first pass skips the empty desk
    (a 1080p preview frame: a quarter to a half of the pixels). Found on a 1/8–1/16 copy from
    pyrDown (≈1 ms); padded so a code's quiet zone stays inside. None: nothing but flat areas.
    """
    small = grey
    factor = 1
    while max(small.shape) > 320:
        small = cv2.pyrDown(small)
        factor *= 2
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    busy = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, kernel) > 24
    ys, xs = np.nonzero(busy)
    if len(xs) == 0:
        return None
    h, w = grey.shape
    pad = 2 * factor + int(0.02 * max(h, w))
    x0 = max(0, int(xs.min()) * factor - pad)
    y0 = max(0, int(ys.min()) * factor - pad)
    x1 = min(w, (int(xs.max()) + 1) * factor + pad)
    y1 = min(h, (int(ys.max()) + 1) * factor + pad)
    return x0, y0, x1 - x0, y1 - y0


# zbar's symbology names (what `DecodedCode.symbology` has always carried) ↔ zxing-cpp formats
_ZXING_FORMATS: dict[str, str] = {
    "QRCODE": "QRCode",
    "CODE128": "Code128",
    "CODE39": "Code39",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "I25": "ITF",
    "PDF417": "PDF417",
    "DATABAR": "DataBar",
}
_ZBAR_NAMES = {v: k for k, v in _ZXING_FORMATS.items()}


def _zxing_scan(grey: np.ndarray, symbols: Sequence[str], try_harder: bool) -> _Found | None:
    """zxing-cpp over a grey image; None when the library is not installed (or broken), so
    the caller falls back to zbar. It searches rotated, downscaled and locally binarised
    copies itself; given grey (not BGR) it is several times faster than zbar on 1080p."""
    try:
        import zxingcpp
    except ImportError:
        return None
    try:
        formats = [
            getattr(zxingcpp.BarcodeFormat, _ZXING_FORMATS[s])
            for s in symbols
            if s in _ZXING_FORMATS
        ]
        if not formats:
            return []
        found = zxingcpp.read_barcodes(
            np.ascontiguousarray(grey, dtype=np.uint8),
            formats=zxingcpp.BarcodeFormats(formats),  # not `|`: deprecated in 3.x
            try_rotate=try_harder,
            try_invert=try_harder,
            text_mode=zxingcpp.TextMode.Plain,
        )
    except Exception as exc:  # a broken wheel must not take capture down: zbar remains
        log.warning("zxing-cpp decoding failed (%s); using zbar", type(exc).__name__)
        return None
    out: _Found = []
    for r in found:
        if not r.valid:
            continue
        pos = r.position
        corners = (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
        name = _ZBAR_NAMES.get(r.format.name, r.format.name.upper())
        out.append((bytes(r.bytes), name, [(int(c.x), int(c.y)) for c in corners]))
    return out


def _zbar_fast(grey: np.ndarray, symbols: Sequence[str]) -> _Found:
    """zbar's first pass: the lightly smoothed non-flat part (`_busy_box`), every 2nd line."""
    box = _busy_box(grey)
    if box is None:
        return []
    bx, by, bw, bh = box
    crop = cv2.GaussianBlur(grey[by : by + bh, bx : bx + bw], (3, 3), 0)
    return [
        (d, s, [(px + bx, py + by) for px, py in poly])
        for d, s, poly in _scan_safely(crop, symbols, density=2)
    ]


def _zbar_harder(grey: np.ndarray, symbols: Sequence[str]) -> tuple[_Found, str]:
    """zbar's slow passes: every line of the original, a half-size copy (large noisy modules
    merge into clean ones), an adaptive-threshold copy (uneven light, glare)."""
    gh, gw = grey.shape
    passes: list[tuple[str, float, Callable[[], np.ndarray]]] = [("original", 1.0, lambda: grey)]
    if max(gh, gw) > 400:
        half = (gw // 2, gh // 2)
        passes.append(
            ("downscaled", 0.5, lambda: cv2.resize(grey, half, interpolation=cv2.INTER_AREA))
        )
    block = max(15, (min(gh, gw) // 40) | 1)

    def binarised() -> np.ndarray:
        smooth = cv2.GaussianBlur(grey, (3, 3), 0)
        return cv2.adaptiveThreshold(
            smooth, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 2
        )

    passes.append(("binarised", 1.0, binarised))
    for name, scale, make in passes:
        found = _scan_safely(make(), symbols)
        if found:
            k = 1.0 / scale
            return [
                (d, s, [(round(x * k), round(y * k)) for x, y in poly]) for d, s, poly in found
            ], name
    return [], ""


def _grey_of(
    image: np.ndarray, region: tuple[int, int, int, int] | None, max_side: int
) -> tuple[np.ndarray, tuple[int, int], float] | None:
    """The grey copy to search, the region's offset and the scale applied (≤ 1)."""
    offset = (0, 0)
    if region is not None:
        x, y, w, h = (int(v) for v in region)
        x, y = max(0, x), max(0, y)
        image = image[y : y + max(0, h), x : x + max(0, w)]
        offset = (x, y)
        if image.size == 0:
            return None
    if image.ndim == 2:
        grey = image
    else:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        grey = cv2.cvtColor(image, code)
    h, w = grey.shape
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return grey, offset, scale


def decode_codes(
    image: np.ndarray,
    *,
    symbols: Sequence[str] = DEFAULT_SYMBOLS,
    try_harder: bool = True,
    region: tuple[int, int, int, int] | None = None,
    max_side: int = 2400,
) -> list[DecodedCode]:
    """Find and classify the barcodes in an image (BGR or grey).

    zxing-cpp first (variant "zxing"). If it is not installed or finds nothing, zbar: a fast
    pass over the non-flat part ("fast"), then, if `try_harder`, the full-resolution,
    half-size and binarised passes ("original", "downscaled", "binarised"). Live preview
    should pass try_harder=False: most frames hold no code, and that is the costly case.
    `region` (x, y, w, h), e.g. the page's bounding box from the preview, limits the search.
    Images larger than `max_side` are scaled down first (a 12 MP still gains only time).
    Codes found twice are reported once; polygons are in the input image's pixels.
    """
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        return []
    if image.dtype != np.uint8 or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        return []
    try:
        prepared = _grey_of(image, region, max_side)
        if prepared is None:
            return []
        grey, offset, scale = prepared
        found = _zxing_scan(grey, symbols, try_harder) or []
        variant = "zxing"
        if not found:
            found, variant = _zbar_fast(grey, symbols), "fast"
        if not found and try_harder:
            found, variant = _zbar_harder(grey, symbols)
    except cv2.error:
        log.warning("image preparation for barcode decoding failed")
        return []
    return _classified(found, variant, offset, 1.0 / scale)


def _classified(
    found: _Found, variant: str, offset: tuple[int, int], back: float
) -> list[DecodedCode]:
    results: list[DecodedCode] = []
    seen: set[tuple[str, bytes]] = set()
    for data, symbology, polygon in found:
        if (symbology, data) in seen:
            continue
        seen.add((symbology, data))
        meaning = classify_payload(decode_payload(data))
        poly = tuple(
            (round(px * back) + offset[0], round(py * back) + offset[1]) for px, py in polygon
        )
        results.append(DecodedCode(symbology, meaning, poly, variant))
    if results:
        # kinds only: payloads may carry ID numbers
        log.info("decoded %d code(s): %s", len(results), [r.kind for r in results])
    return results


__all__ = [
    "KIND_LABELS",
    "CodeMeaning",
    "DecodedCode",
    "classify_payload",
    "decode_codes",
    "decode_payload",
    "display_text",
]
