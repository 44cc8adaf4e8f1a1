"""Printing and preview where ``PySide6.QtPdf`` is missing (the platform floor: PySide6 built for
glibc 2.28 without the PySide6-Pdf wheel): pages are rendered with pdfium instead."""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import QBuffer, QIODevice
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode

import printing.dispatch
from printing.documents import build_receipt
from tests.sample_docs import sample_document

pytestmark = pytest.mark.gui

A5_PT = (420, 595)


@pytest.fixture
def dispatch_without_qtpdf(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """printing.dispatch imported afresh while `import PySide6.QtPdf` fails."""
    monkeypatch.setitem(sys.modules, "PySide6.QtPdf", None)  # None in sys.modules: ImportError
    with pytest.raises(ImportError):
        importlib.import_module("PySide6.QtPdf")
    try:
        yield importlib.reload(printing.dispatch)
    finally:
        monkeypatch.undo()
        importlib.reload(printing.dispatch)


def codes(image: Image.Image) -> dict[str, str]:
    found = zbar_decode(image.convert("L"), symbols=[ZBarSymbol.QRCODE, ZBarSymbol.CODE128])
    return {s.type: s.data.decode() for s in found}


def test_preview_renders_opaque_pages_with_pdfium(
    qapp: object, dispatch_without_qtpdf: ModuleType
) -> None:
    doc = sample_document()
    images = dispatch_without_qtpdf.render_pdf_pages(build_receipt(doc, "A5"), dpi=200)

    assert images
    page = images[0]
    # A5 (148 x 210 mm) at 200 dpi: 148 / 25.4 * 200 = 1165.4, 210 / 25.4 * 200 = 1653.5 px
    assert (page.width(), page.height()) == (1165, 1654)
    assert not page.hasAlphaChannel()
    corner = page.pixelColor(0, 0)
    assert (corner.red(), corner.green(), corner.blue()) == (255, 255, 255)
    # The rendered page is the document: its codes decode as a scanner would read them.
    png = QBuffer()
    png.open(QIODevice.OpenModeFlag.WriteOnly)
    page.save(png, "PNG")
    assert codes(Image.open(io.BytesIO(bytes(png.data())))) == {
        "QRCODE": doc.qr_payload,
        "CODE128": doc.number,
    }


def test_file_printer_prints_with_pdfium(
    qapp: object, dispatch_without_qtpdf: ModuleType, tmp_path: Path
) -> None:
    doc = sample_document()
    source = build_receipt(doc, "A5")
    pages = len(PdfReader(io.BytesIO(source)).pages)

    result = dispatch_without_qtpdf.FilePrinterBackend(tmp_path, dpi=200).print_pdf(source, None, 2)

    assert result.ok and result.code == "print.ok" and result.pages == pages
    printed = PdfReader(result.output_path)
    sizes = [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in printed.pages
    ]
    assert sizes == [A5_PT] * (2 * pages)
    assert doc.number in printed.pages[pages].extract_text()  # the second copy, as text
    # rendered by pdfium, as a printer would get it, the kept file's codes decode
    page = dispatch_without_qtpdf.render_pdf_pages(result.output_path.read_bytes(), dpi=200)[0]
    png = QBuffer()
    png.open(QIODevice.OpenModeFlag.WriteOnly)
    page.save(png, "PNG")
    assert codes(Image.open(io.BytesIO(bytes(png.data())))) == {
        "QRCODE": doc.qr_payload,
        "CODE128": doc.number,
    }


def test_unreadable_pdf_fails_with_a_message_under_pdfium(
    qapp: object, dispatch_without_qtpdf: ModuleType, tmp_path: Path
) -> None:
    backend = dispatch_without_qtpdf.FilePrinterBackend(tmp_path)
    result = backend.print_pdf(b"%PDF-1.4 truncated", None, 1)
    assert not result.ok and result.code == "print.failed"
    assert "无法读取" in result.message
    with pytest.raises(ValueError):
        dispatch_without_qtpdf.render_pdf_pages(b"not a pdf")
