"""File imports (JPEG, PNG, TIFF, PDF), their failure modes, and the scanner hot folder."""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image  # ships with reportlab, a declared dependency
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from app.capture.codes import decode_codes
from app.capture.imports import (
    HotFolder,
    JsonSeenStore,
    is_temporary_name,
    load_pages,
    read_header,
)
from app.errors import CaptureError
from tests import synthetic as syn


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _encode(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


def _error(path: Path, **kwargs: int) -> CaptureError:
    with pytest.raises(CaptureError) as err:
        load_pages(path, **kwargs)
    return err.value


def _pdf(pages: int = 2, encrypt: str | None = None) -> bytes:
    png = _encode(".png", syn.make_page(150, qr_payload=syn.LICENCE_URL))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, encrypt=encrypt)
    for _ in range(pages):
        c.drawImage(ImageReader(io.BytesIO(png)), 0, 0, width=A4[0], height=A4[1])
        c.showPage()
    c.save()
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# ---------------------------------------------------------------------------------------------
# formats


def test_jpeg_loads_as_one_bgr_page(tmp_path: Path) -> None:
    frame = syn.make_scene("plain", (1280, 720)).frame
    [page] = load_pages(_write(tmp_path / "p.jpg", _encode(".jpg", frame)))
    assert page.shape == frame.shape and page.dtype == np.uint8
    assert float(np.abs(page.astype(int) - frame.astype(int)).mean()) < 3


def test_png_with_transparency_is_put_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((50, 80, 4), np.uint8)
    rgba[10:20, 10:20] = (0, 0, 255, 255)  # an opaque red square on a transparent sheet
    [page] = load_pages(_write(tmp_path / "p.png", _encode(".png", rgba)))
    assert page.shape == (50, 80, 3)
    assert page[0, 0].tolist() == [255, 255, 255]
    assert page[15, 15].tolist() == [0, 0, 255]


def test_file_type_comes_from_content_not_name(tmp_path: Path) -> None:
    png_named_jpg = _write(tmp_path / "scan.jpg", _encode(".png", syn.make_page(60)))
    [page] = load_pages(png_named_jpg)
    assert page.shape[:2] == syn.make_page(60).shape[:2]


def test_multi_page_tiff_gives_every_page(tmp_path: Path) -> None:
    pages = [
        syn.make_page(60),
        syn.make_page(60)[:300],
        cv2.cvtColor(syn.make_page(60), cv2.COLOR_BGR2GRAY),
    ]
    ok, buf = cv2.imencodemulti(".tiff", pages)
    assert ok
    loaded = load_pages(_write(tmp_path / "scan.tif", buf.tobytes()))
    assert [p.shape[:2] for p in loaded] == [p.shape[:2] for p in pages]


def test_bilevel_group4_tiff_from_a_scanner_loads(tmp_path: Path) -> None:
    grey = cv2.cvtColor(syn.make_page(100), cv2.COLOR_BGR2GRAY)
    sheet = Image.fromarray(np.where(grey > 128, 255, 0).astype(np.uint8)).convert("1")
    out = io.BytesIO()
    sheet.save(out, format="TIFF", compression="group4", save_all=True, append_images=[sheet])
    loaded = load_pages(_write(tmp_path / "fax.tif", out.getvalue()))
    assert len(loaded) == 2
    assert loaded[0].shape == grey.shape
    assert set(np.unique(loaded[0])) <= {0, 255}


def test_pdf_pages_are_rasterised_at_200_dpi_and_keep_the_qr(tmp_path: Path) -> None:
    pages = load_pages(_write(tmp_path / "材料.pdf", _pdf(2)))
    assert len(pages) == 2
    for page in pages:
        assert abs(page.shape[1] - 1654) <= 1 and abs(page.shape[0] - 2339) <= 1
        assert page.ndim == 3 and page.shape[2] == 3
    assert [c.payload for c in decode_codes(pages[0])] == [syn.LICENCE_URL]


def test_pdf_with_only_an_owner_password_opens(tmp_path: Path) -> None:
    from reportlab.lib import pdfencrypt

    enc = pdfencrypt.StandardEncryption("", ownerPassword="owner", canPrint=0)
    png = _encode(".png", syn.make_page(60))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, encrypt=enc)
    c.drawImage(ImageReader(io.BytesIO(png)), 0, 0, width=A4[0], height=A4[1])
    c.showPage()
    c.save()
    assert len(load_pages(_write(tmp_path / "p.pdf", out.getvalue()))) == 1


# ---------------------------------------------------------------------------------------------
# failures


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = _encode(".jpg", syn.make_page(100))
    err = _error(_write(tmp_path / "cut.jpg", data[: len(data) * 2 // 3]))
    assert err.code == "capture.truncated"
    assert "不完整" in err.message


def test_truncated_png(tmp_path: Path) -> None:
    data = _encode(".png", syn.make_page(100))
    assert _error(_write(tmp_path / "cut.png", data[: len(data) // 2])).code == "capture.truncated"


def test_truncated_tiff(tmp_path: Path) -> None:
    data = _encode(".tiff", syn.make_page(100))
    assert _error(_write(tmp_path / "cut.tif", data[: len(data) // 2])).code == "capture.truncated"


@pytest.mark.parametrize("content", [b"hello, this is a text file\n", b"", b"\x00" * 100])
def test_not_an_image(tmp_path: Path, content: bytes) -> None:
    assert _error(_write(tmp_path / "photo.jpg", content)).code == "capture.not_image"


def test_password_protected_pdf(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "secret.pdf", _pdf(1, encrypt="s3cret")))
    assert err.code == "capture.pdf_encrypted"
    assert "加密" in err.message


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.4\nthis is not really a pdf\n%%EOF\n", b"%PDF-1.7\n" + bytes(range(256)) * 4],
)
def test_broken_pdf(tmp_path: Path, content: bytes) -> None:
    assert _error(_write(tmp_path / "broken.pdf", content)).code == "capture.pdf_broken"


def test_declared_huge_png_is_refused_from_its_header(tmp_path: Path) -> None:
    # a tiny file whose header claims 60000 x 60000 RGB pixels (10.8 GB decoded)
    ihdr = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + _png_chunk(b"IEND", b"")
    )
    assert read_header(data).sizes == [(60_000, 60_000)]
    err = _error(_write(tmp_path / "bomb.png", data))
    assert err.code == "capture.too_large"
    assert err.details["width"] == 60_000


def test_declared_huge_jpeg_is_refused_from_its_header(tmp_path: Path) -> None:
    data = bytearray(_encode(".jpg", syn.make_page(40)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)  # height, width
    assert _error(_write(tmp_path / "bomb.jpg", bytes(data))).code == "capture.too_large"


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.png", _encode(".png", syn.make_page(100)))
    assert _error(path, max_pixels=100_000).code == "capture.too_large"


def test_too_many_pages(tmp_path: Path) -> None:
    ok, buf = cv2.imencodemulti(".tiff", [syn.make_page(30)] * 3)
    assert ok
    assert (
        _error(_write(tmp_path / "m.tif", buf.tobytes()), max_pages=2).code
        == "capture.too_many_pages"
    )
    assert _error(_write(tmp_path / "m.pdf", _pdf(3)), max_pages=2).code == "capture.too_many_pages"


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    assert _error(tmp_path / "gone.jpg").code == "capture.unreadable"


# ---------------------------------------------------------------------------------------------
# hot folder


def _touch(path: Path, data: bytes, mtime: float) -> None:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def test_hot_folder_waits_until_the_file_stops_growing(tmp_path: Path) -> None:
    folder = HotFolder(tmp_path, stable_polls=2)
    scan = tmp_path / "scan0001.pdf"
    _touch(scan, b"%PDF-1.4 part", 1000)
    assert folder.poll() == []
    _touch(scan, b"%PDF-1.4 part and more", 1001)  # still being written
    assert folder.poll() == []
    assert folder.poll() == [scan]  # unchanged for a full poll: complete
    assert folder.poll() == []  # handed over once


def test_hot_folder_ignores_temp_and_unsupported_files(tmp_path: Path) -> None:
    for name in (
        "scan.pdf.part",
        "~scan.pdf",
        ".scan.pdf",
        "scan.tmp",
        "notes.txt",
        "a.pdf.crdownload",
    ):
        _touch(tmp_path / name, b"data", 1000)
    (tmp_path / "sub.pdf").mkdir()
    folder = HotFolder(tmp_path, stable_polls=1)
    assert folder.poll() == []
    assert folder.poll() == []


def test_hot_folder_skips_empty_files_until_written(tmp_path: Path) -> None:
    folder = HotFolder(tmp_path, stable_polls=1)
    scan = tmp_path / "a.jpg"
    _touch(scan, b"", 1000)
    assert folder.poll() == []
    _touch(scan, b"\xff\xd8\xff data", 1001)
    assert folder.poll() == [scan]


def test_hot_folder_remembers_across_restarts_without_storing_names(tmp_path: Path) -> None:
    watched = tmp_path / "in"
    watched.mkdir()
    store_path = tmp_path / "seen.json"
    _touch(watched / "张三-户口簿.jpg", b"\xff\xd8\xff jpeg", 1000)
    first = HotFolder(watched, JsonSeenStore(store_path), stable_polls=1)
    assert [p.name for p in first.poll()] == ["张三-户口簿.jpg"]
    second = HotFolder(watched, JsonSeenStore(store_path), stable_polls=1)
    assert second.poll() == []
    assert "张三" not in store_path.read_text("utf-8")


def test_hot_folder_delivers_a_reused_name_with_new_content(tmp_path: Path) -> None:
    folder = HotFolder(tmp_path, stable_polls=1)
    scan = tmp_path / "scan.png"
    _touch(scan, b"first scan", 1000)
    assert folder.poll() == [scan]
    _touch(scan, b"second scan, longer", 2000)
    assert folder.poll() == [scan]


def test_hot_folder_watch_yields_until_stopped(tmp_path: Path) -> None:
    stop = threading.Event()
    folder = HotFolder(tmp_path, stable_polls=1, interval=0.01)
    _touch(tmp_path / "a.pdf", b"%PDF-", 1000)
    _touch(tmp_path / "b.pdf", b"%PDF-", 1000)
    seen = []
    for path in folder.watch(stop):
        seen.append(path.name)
        if len(seen) == 2:
            stop.set()
    assert seen == ["a.pdf", "b.pdf"]


@pytest.mark.parametrize(
    ("name", "temporary"),
    [
        ("scan.pdf", False),
        ("scan.pdf.part", True),
        ("~$doc.pdf", True),
        (".hidden.jpg", True),
        ("x.TMP", True),
    ],
)
def test_temporary_names(name: str, temporary: bool) -> None:
    assert is_temporary_name(name) is temporary
