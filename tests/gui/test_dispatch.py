"""Print dispatch through Qt's real print path (offscreen platform, no printer installed)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode

from printing.dispatch import FilePrinterBackend, PrinterBackend, QtPrinterBackend, render_pdf_pages
from printing.documents import build_commitment, build_receipt
from tests.sample_docs import sample_document

pytestmark = pytest.mark.gui

A4_PT = (595, 842)
A5_PT = (420, 595)


def page_sizes(path: Path) -> list[tuple[int, int]]:
    return [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height)))
        for p in PdfReader(path).pages
    ]


def test_file_printer_writes_a_readable_pdf_with_every_page(qapp: object, tmp_path: Path) -> None:
    source = build_commitment(sample_document("commitment"), "A4")
    pages = len(PdfReader(io.BytesIO(source)).pages)
    backend: PrinterBackend = FilePrinterBackend(tmp_path / "out")

    result = backend.print_pdf(source, None, 1, job_name="XX01-241202-00736 承诺书")

    assert result.ok and result.code == "print.ok"
    assert result.pages == pages
    assert result.output_path is not None and result.output_path.parent == tmp_path / "out"
    assert page_sizes(result.output_path) == [A4_PT] * pages


def test_file_printer_keeps_a5_and_prints_every_copy(qapp: object, tmp_path: Path) -> None:
    source = build_receipt(sample_document(), "A5")
    pages = len(PdfReader(io.BytesIO(source)).pages)
    backend = FilePrinterBackend(tmp_path)

    result = backend.print_pdf(source, backend.default_printer(), 2)

    assert result.ok and result.copies == 2
    assert result.output_path is not None
    assert page_sizes(result.output_path) == [A5_PT] * (2 * pages)


def test_file_printer_output_still_scans(qapp: object, tmp_path: Path) -> None:
    doc = sample_document()
    result = FilePrinterBackend(tmp_path).print_pdf(build_receipt(doc, "A4"), None, 1)
    assert result.output_path is not None
    # The kept file is the document: rendered as a printer would, its codes decode.
    [page] = render_pdf_pages(result.output_path.read_bytes(), dpi=200)
    assert page.save(str(tmp_path / "page.png"))
    image = Image.open(tmp_path / "page.png").convert("L")
    found = {
        s.type: s.data.decode()
        for s in zbar_decode(image, symbols=[ZBarSymbol.QRCODE, ZBarSymbol.CODE128])
    }
    assert found == {"QRCODE": doc.qr_payload, "CODE128": doc.number}


def test_file_printer_keeps_the_vector_document_not_page_images(
    qapp: object, tmp_path: Path
) -> None:
    doc = sample_document()
    result = FilePrinterBackend(tmp_path).print_pdf(build_receipt(doc, "A4"), None, 1)
    assert result.output_path is not None
    kept = result.output_path
    text = subprocess.run(
        ["pdftotext", "-layout", str(kept), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert doc.number in text  # the intake number as text, searchable and copyable
    for heading in ("收件回执", "受理编号", "一、办理事项", "二、申请人信息"):
        assert heading in text
    assert [list(p.images) for p in PdfReader(kept).pages] == [[]]  # no page pictures
    # One A4 receipt page: text, an embedded font subset and vector codes stay far below the
    # 300-800 KB of a page image.
    assert kept.stat().st_size < 200_000


def test_file_printer_copies_keep_the_text_of_every_copy(qapp: object, tmp_path: Path) -> None:
    doc = sample_document()
    result = FilePrinterBackend(tmp_path).print_pdf(build_receipt(doc, "A5"), None, 3)
    assert result.output_path is not None
    reader = PdfReader(result.output_path)
    per_copy = result.pages
    assert len(reader.pages) == 3 * per_copy
    for n in range(3):
        assert doc.number in reader.pages[n * per_copy].extract_text()


def test_file_printer_numbers_jobs_without_overwriting(qapp: object, tmp_path: Path) -> None:
    backend = FilePrinterBackend(tmp_path)
    source = build_receipt(sample_document(), "A5")
    first = backend.print_pdf(source, None, 1, job_name="XX01-241202-00736 回执")
    second = backend.print_pdf(source, None, 1, job_name="XX01-241202-00736 回执")
    assert first.output_path != second.output_path
    assert first.output_path is not None and first.output_path.exists()
    assert second.output_path is not None and second.output_path.exists()


def test_missing_printer_is_a_result_not_an_exception(qapp: object) -> None:
    backend = QtPrinterBackend()
    source = build_receipt(sample_document(), "A4")

    result = backend.print_pdf(source, "不存在的打印机-XYZ", 1)

    assert not result.ok
    assert result.code == "print.no_printer"
    assert "不存在的打印机-XYZ" in result.message and "未找到打印机" in result.message


def test_file_printer_refuses_another_printer_name(qapp: object, tmp_path: Path) -> None:
    result = FilePrinterBackend(tmp_path).print_pdf(
        build_receipt(sample_document()), "HP LaserJet", 1
    )
    assert not result.ok and result.code == "print.no_printer"
    assert list(tmp_path.iterdir()) == []


def test_unreadable_pdf_fails_with_a_message(qapp: object, tmp_path: Path) -> None:
    result = FilePrinterBackend(tmp_path).print_pdf(b"%PDF-1.4 truncated", None, 1)
    assert not result.ok and result.code == "print.failed"
    assert "无法读取" in result.message


def test_bad_copy_count_fails_with_a_message(qapp: object, tmp_path: Path) -> None:
    result = FilePrinterBackend(tmp_path).print_pdf(build_receipt(sample_document()), None, 0)
    assert not result.ok and result.code == "print.failed"
    assert "份数" in result.message


def test_rendered_pages_are_opaque_on_white(qapp: object) -> None:
    images = render_pdf_pages(build_receipt(sample_document(), "A5"), dpi=72)
    assert images
    corner = images[0].pixelColor(0, 0)
    assert (corner.red(), corner.green(), corner.blue(), corner.alpha()) == (255, 255, 255, 255)
    assert not images[0].hasAlphaChannel()
