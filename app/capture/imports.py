"""Pages from files: a scanner's output folder, or a file the clerk picks.

JPEG, PNG, BMP, TIFF (multi-page) and PDF (each page rasterised with pdfium). The file's type is
decided by its first bytes, never by its name, and its dimensions are read from the header
before anything is decoded, so a file that declares 60000×60000 pixels is refused without
allocating 10 GB. Problems surface as `CaptureError` with a stable code:

capture.unreadable, capture.not_image, capture.truncated, capture.corrupt, capture.too_large,
capture.too_many_pages, capture.pdf_encrypted, capture.pdf_broken.

`HotFolder` watches the folder a network scanner writes into (polling, no Qt) and hands over
each finished file once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from app.capture.page_image import MAX_PIXELS, check_image
from app.errors import CaptureError

log = logging.getLogger("intake.capture.imports")

MAX_FILE_BYTES = 400 * 1024 * 1024  # nothing a scanner writes for one material is near this
MAX_PAGES = 300
PDF_DPI = 200
# A PDF page is rendered at PDF_DPI unless that would exceed this; then the scale is lowered
# (a poster-sized page is shrunk, not refused).
MAX_PDF_PAGE_PIXELS = 40_000_000
SUPPORTED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pdf"})

# pdfium is not thread-safe; capture work runs on a pool, so every pdfium call takes this lock
_PDFIUM_LOCK = threading.RLock()


# ---------------------------------------------------------------------------------------------
# sniffing and header checks


def sniff(data: bytes) -> str | None:
    """File type from its first bytes: jpeg, png, tiff, bmp, pdf, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    # a PDF header may follow a little junk (some scanners prepend a BOM or whitespace)
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return None


@dataclass(frozen=True)
class HeaderInfo:
    kind: str
    sizes: list[tuple[int, int]]  # (width, height) of each page/frame, from the header
    truncated: bool = False


def _truncated(kind: str) -> CaptureError:
    return CaptureError("capture.truncated", kind=kind)


def _corrupt(kind: str) -> CaptureError:
    return CaptureError("capture.corrupt", kind=kind)


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_header(data: bytes) -> HeaderInfo:
    pos = 2
    size: tuple[int, int] | None = None
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise _corrupt("jpeg")  # header segments must follow one another back to back
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        if marker == 0xD9:
            break
        if pos + 2 > n:
            break
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if marker in _SOF_MARKERS:
            if pos + 7 > n:
                break
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            size = (width, height)
        if marker == 0xDA:  # start of scan: the entropy-coded data follows
            # EOI can only appear as a real marker in entropy data (0xFF is stuffed as FF 00),
            # and APPn thumbnails come before the first SOS, so EOI after it ends the image
            if size is None:
                raise _corrupt("jpeg")
            truncated = data.rfind(b"\xff\xd9", pos) < 0
            return HeaderInfo("jpeg", [size], truncated)
        pos += length
    if size is None:
        raise _truncated("jpeg")
    return HeaderInfo("jpeg", [size], truncated=True)


def _png_header(data: bytes) -> HeaderInfo:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise _truncated("png") if len(data) < 33 else _corrupt("png")
    width, height = struct.unpack(">II", data[16:24])
    pos = 8
    n = len(data)
    while pos + 8 <= n:
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        pos += 12 + length
        if ctype == b"IEND":
            return HeaderInfo("png", [(width, height)], truncated=pos > n)
    return HeaderInfo("png", [(width, height)], truncated=True)


def _bmp_header(data: bytes) -> HeaderInfo:
    width, height = struct.unpack("<ii", data[18:26])
    (file_size,) = struct.unpack("<I", data[2:6])
    return HeaderInfo("bmp", [(abs(width), abs(height))], truncated=0 < len(data) < file_size)


_TIFF_TYPES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}


def _tiff_header(data: bytes) -> HeaderInfo:
    """Walk the IFD chain: page sizes, and whether every strip/tile lies inside the file."""
    n = len(data)
    endian = "<" if data[:2] == b"II" else ">"
    if n < 8:
        raise _truncated("tiff")
    (offset,) = struct.unpack(endian + "I", data[4:8])
    sizes: list[tuple[int, int]] = []
    truncated = False
    seen: set[int] = set()
    while offset and len(sizes) <= MAX_PAGES:
        if offset in seen:
            raise _corrupt("tiff")
        seen.add(offset)
        if offset + 2 > n:
            truncated = True
            break
        (count,) = struct.unpack(endian + "H", data[offset : offset + 2])
        end = offset + 2 + 12 * count
        if end + 4 > n:
            truncated = True
            break
        tags: dict[int, list[int]] = {}
        for i in range(count):
            entry = data[offset + 2 + 12 * i : offset + 14 + 12 * i]
            tag, typ, cnt = struct.unpack(endian + "HHI", entry[:8])
            if tag not in (256, 257, 273, 279, 324, 325) or typ not in (3, 4):
                continue
            size = _TIFF_TYPES[typ] * cnt
            fmt = endian + ("H" if typ == 3 else "I") * cnt
            if size <= 4:
                raw = entry[8 : 8 + size]
            else:
                (ptr,) = struct.unpack(endian + "I", entry[8:12])
                if ptr + size > n:
                    truncated = True
                    continue
                raw = data[ptr : ptr + size]
            tags[tag] = list(struct.unpack(fmt, raw))
        if 256 not in tags or 257 not in tags:
            raise _corrupt("tiff")
        sizes.append((tags[256][0], tags[257][0]))
        for offs_tag, counts_tag in ((273, 279), (324, 325)):
            offs, lens = tags.get(offs_tag, []), tags.get(counts_tag, [])
            if any(o + c > n for o, c in zip(offs, lens, strict=False)):
                truncated = True
        (offset,) = struct.unpack(endian + "I", data[end : end + 4])
    return HeaderInfo("tiff", sizes, truncated)


def read_header(data: bytes) -> HeaderInfo:
    """Type, page sizes and truncation of an image file, from its bytes, without decoding."""
    kind = sniff(data)
    if kind is None:
        raise CaptureError("capture.not_image")
    try:
        if kind == "jpeg":
            return _jpeg_header(data)
        if kind == "png":
            return _png_header(data)
        if kind == "tiff":
            return _tiff_header(data)
        if kind == "bmp":
            return _bmp_header(data)
    except struct.error:
        raise _truncated(kind) from None
    return HeaderInfo(kind, [])


def _check_sizes(sizes: list[tuple[int, int]], max_pixels: int) -> None:
    for width, height in sizes:
        if width <= 0 or height <= 0:
            raise CaptureError("capture.corrupt", variant=2)
        if width * height > max_pixels:
            raise CaptureError(
                "capture.too_large",
                width=width,
                height=height,
                max_megapixels=max_pixels // 1000000,
            )


# ---------------------------------------------------------------------------------------------
# decoding


def _decode_raster(data: bytes, info: HeaderInfo, max_pixels: int) -> Iterator[np.ndarray]:
    buf = np.frombuffer(data, np.uint8)
    if info.kind == "tiff":
        ok, frames = cv2.imdecodemulti(buf, cv2.IMREAD_UNCHANGED)
        if not ok or not frames:
            raise _corrupt("tiff")
        for frame in frames:
            yield check_image(frame, max_pixels)
        return
    # JPEG: IMREAD_COLOR applies the EXIF orientation (phone photos come out upright);
    # PNG/BMP: UNCHANGED keeps alpha so check_image can put it on white.
    flags = cv2.IMREAD_COLOR if info.kind == "jpeg" else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(buf, flags)
    if image is None:
        raise _corrupt(info.kind)
    yield check_image(image, max_pixels)


def _pdf_pages(data: bytes, dpi: int, max_pages: int) -> Iterator[np.ndarray]:
    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_raw
    except ImportError:  # pragma: no cover - declared dependency
        raise CaptureError("capture.pdf_unsupported") from None
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code in (pdfium_raw.FPDF_ERR_PASSWORD, pdfium_raw.FPDF_ERR_SECURITY):
                raise CaptureError("capture.pdf_encrypted") from None
            raise CaptureError("capture.pdf_broken") from None
        count = len(pdf)
    try:
        if count > max_pages:
            raise CaptureError(
                "capture.too_many_pages", variant=2, pages=count, max_pages=max_pages
            )
        for index in range(count):
            with _PDFIUM_LOCK:
                try:
                    page = pdf[index]
                    try:
                        width_pt, height_pt = page.get_size()
                        scale = dpi / 72.0
                        pixels = width_pt * height_pt * scale * scale
                        if pixels > MAX_PDF_PAGE_PIXELS:
                            scale *= (MAX_PDF_PAGE_PIXELS / pixels) ** 0.5
                        bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
                        array = np.array(bitmap.to_numpy(), copy=True)  # BGR(x), own memory
                        bitmap.close()
                    finally:
                        page.close()
                except pdfium.PdfiumError:
                    raise CaptureError("capture.pdf_broken", variant=2, page=index + 1) from None
            if array.ndim == 3 and array.shape[2] == 4:
                array = np.ascontiguousarray(array[:, :, :3])
            yield array
    finally:
        with _PDFIUM_LOCK:
            pdf.close()


def read_file(path: str | os.PathLike[str]) -> bytes:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CaptureError(
                "capture.too_large",
                variant=2,
                bytes=size,
                size_mb=size // (1024 * 1024),
                max_mb=MAX_FILE_BYTES // (1024 * 1024),
            )
        return p.read_bytes()
    except OSError as exc:
        raise CaptureError("capture.unreadable", errno=exc.errno) from None


def iter_pages(
    path: str | os.PathLike[str],
    *,
    dpi: int = PDF_DPI,
    max_pixels: int = MAX_PIXELS,
    max_pages: int = MAX_PAGES,
) -> Iterator[np.ndarray]:
    """Decoded pages of a file, one BGR (or grey) uint8 array at a time.

    Header checks (type, truncation, declared size) happen before the first page is yielded;
    a PDF is rasterised page by page, so a long PDF never sits in memory as a whole.
    """
    data = read_file(path)
    yield from iter_pages_from_bytes(data, dpi=dpi, max_pixels=max_pixels, max_pages=max_pages)


def iter_pages_from_bytes(
    data: bytes,
    *,
    dpi: int = PDF_DPI,
    max_pixels: int = MAX_PIXELS,
    max_pages: int = MAX_PAGES,
) -> Iterator[np.ndarray]:
    if not data:
        raise CaptureError("capture.not_image", variant=2)
    info = read_header(data)
    if info.kind == "pdf":
        yield from _pdf_pages(data, dpi, max_pages)
        return
    if info.truncated:
        raise _truncated(info.kind)
    if len(info.sizes) > max_pages:
        raise CaptureError("capture.too_many_pages", pages=len(info.sizes), max_pages=max_pages)
    _check_sizes(info.sizes, max_pixels)
    try:
        yield from _decode_raster(data, info, max_pixels)
    except cv2.error:
        log.warning("decoder failed on a %s file", info.kind)
        raise _corrupt(info.kind) from None


def load_pages(
    path: str | os.PathLike[str],
    *,
    dpi: int = PDF_DPI,
    max_pixels: int = MAX_PIXELS,
    max_pages: int = MAX_PAGES,
) -> list[np.ndarray]:
    """All pages of an image or PDF file (see `iter_pages`)."""
    pages = list(iter_pages(path, dpi=dpi, max_pixels=max_pixels, max_pages=max_pages))
    log.info("loaded %d page(s) from a %s file", len(pages), Path(path).suffix.lower() or "?")
    return pages


# ---------------------------------------------------------------------------------------------
# hot folder


class SeenStore(Protocol):
    """Remembers which files were already handed over (across restarts, if persistent)."""

    def __contains__(self, key: object) -> bool: ...

    def add(self, key: str) -> None: ...


class MemorySeenStore:
    def __init__(self) -> None:
        self._keys: set[str] = set()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys.add(key)


class JsonSeenStore:
    """Seen keys in a small JSON file; keys are hashes, so no file name (which may carry an
    applicant's name) is stored."""

    def __init__(self, path: str | os.PathLike[str], limit: int = 5000) -> None:
        self._path = Path(path)
        self._limit = limit
        try:
            self._keys: list[str] = list(json.loads(self._path.read_text("utf-8")))
        except (OSError, ValueError, TypeError):
            self._keys = []
        self._set = set(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._set

    def add(self, key: str) -> None:
        if key in self._set:
            return
        self._keys.append(key)
        self._set.add(key)
        if len(self._keys) > self._limit:
            drop = self._keys[: len(self._keys) - self._limit]
            self._keys = self._keys[len(drop) :]
            self._set.difference_update(drop)
        tmp = self._path.with_suffix(self._path.suffix + ".tmp")
        try:
            tmp.write_text(json.dumps(self._keys), "utf-8")
            os.replace(tmp, self._path)
        except OSError:
            log.warning("hot folder seen-store could not be saved")


_TEMP_PREFIXES = (".", "~", "_tmp", "~$")
_TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".filepart", "~")


def is_temporary_name(name: str) -> bool:
    """Names scanners and copy tools use while a file is still being written."""
    low = name.lower()
    return low.startswith(_TEMP_PREFIXES) or low.endswith(_TEMP_SUFFIXES)


class HotFolder:
    """Polls a folder for new complete scans and yields each once.

    A file is handed over when its size and modification time have not changed over
    `stable_polls` consecutive polls (a scanner writing over SMB grows the file in bursts), it
    is not empty, it can be opened, its name is not a temp name, and its suffix is supported.
    Identity is (name, size, mtime), hashed, so a scanner that reuses `scan0001.pdf` for a new
    scan delivers the new file again. Only the folder itself is watched, not subfolders.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        seen_store: SeenStore | None = None,
        *,
        interval: float = 1.0,
        stable_polls: int = 2,
        suffixes: frozenset[str] = SUPPORTED_SUFFIXES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.seen: SeenStore = seen_store if seen_store is not None else MemorySeenStore()
        self.interval = interval
        self.stable_polls = max(1, stable_polls)
        self.suffixes = frozenset(s.lower() for s in suffixes)
        self._sleep = sleep
        self._watch: dict[str, tuple[tuple[int, int], int]] = {}  # name -> (signature, count)

    @staticmethod
    def _key(name: str, size: int, mtime_ns: int) -> str:
        return hashlib.sha256(f"{name}\0{size}\0{mtime_ns}".encode()).hexdigest()[:32]

    def poll(self) -> list[Path]:
        """One look at the folder: the files that became complete since the last poll."""
        ready: list[Path] = []
        current: dict[str, tuple[tuple[int, int], int]] = {}
        try:
            entries = list(os.scandir(self.path))
        except OSError:
            log.warning("hot folder not readable")
            return ready
        for entry in sorted(entries, key=lambda e: e.name):
            name = entry.name
            if is_temporary_name(name) or Path(name).suffix.lower() not in self.suffixes:
                continue
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue
            signature = (st.st_size, st.st_mtime_ns)
            key = self._key(name, *signature)
            if key in self.seen:
                continue
            previous = self._watch.get(name)
            count = previous[1] + 1 if previous and previous[0] == signature else 1
            current[name] = (signature, count)
            if st.st_size == 0 or count < self.stable_polls:
                continue
            if not self._can_open(Path(entry.path)):
                continue  # Windows: the writer still holds it exclusively
            self.seen.add(key)
            del current[name]
            ready.append(Path(entry.path))
        self._watch = current
        if ready:
            log.info("hot folder: %d new file(s)", len(ready))
        return ready

    @staticmethod
    def _can_open(path: Path) -> bool:
        try:
            with path.open("rb") as fh:
                fh.read(1)
            return True
        except OSError:
            return False

    def watch(self, stop: threading.Event | None = None) -> Iterator[Path]:
        """Yield new complete files until `stop` is set (poll, then sleep `interval`)."""
        while stop is None or not stop.is_set():
            yield from self.poll()
            if stop is not None and stop.wait(self.interval):
                break
            if stop is None:
                self._sleep(self.interval)
