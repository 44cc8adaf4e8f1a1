"""Sending a built PDF to a printer (QtPrintSupport).

The only module of ``printing`` that imports PySide6 (QtCore, QtGui, QtPrintSupport, QtPdf; never
QtWidgets). It needs a QGuiApplication (QApplication in the app; the offscreen platform is enough
in tests), and may run on a worker thread: QPainter on a QPrinter or QImage is thread-safe in Qt 6.

Each PDF page is rasterised with QtPdf (the printer driver never sees the PDF itself, so no
driver-side PDF support is needed) and painted onto the printer at the page's own size. QtPdf
renders onto a transparent background, so every page is composited on white first. QtPdf is
optional: PySide6-Pdf (split out of Addons in 6.12) needs glibc 2.34, so on the platform floor
(PySide6 builds for glibc 2.28) or wherever ``PySide6.QtPdf`` cannot be imported, pages are
rendered with pdfium (pypdfium2) instead; both give the same opaque RGB page.

Outcomes are values: a missing or failing printer gives ``PrintResult(ok=False, code=...,
message=<Chinese text for the clerk>)``, never an exception into the GUI.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QIODevice,
    QMarginsF,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QGuiApplication, QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

log = logging.getLogger("intake.printing.dispatch")


def _qtpdf() -> Any:
    """The QtPdf module, or None where it is not installed (checked on each load: cheap after the
    first import, and tests can hide it)."""
    try:
        # import_module, not `from PySide6 import QtPdf`: the latter ignores a blocked import once
        # the submodule has been loaded as an attribute of the package.
        return importlib.import_module("PySide6.QtPdf")
    except ImportError:
        return None


MAX_COPIES = 99


@dataclass(frozen=True)
class PrintResult:
    ok: bool
    code: str  # "print.ok", "print.no_printer" or "print.failed"
    message: str  # Chinese, for the clerk
    printer: str | None = None
    pages: int = 0  # pages of the document (one copy)
    copies: int = 0
    output_path: Path | None = None  # FilePrinterBackend only


@runtime_checkable
class PrinterBackend(Protocol):
    """Where documents go. JOB_NAME shows in print queues and logs: intake number and document
    title only, never personal data."""

    def available_printers(self) -> list[str]: ...

    def default_printer(self) -> str | None: ...

    def print_pdf(
        self,
        pdf_bytes: bytes,
        printer_name: str | None = None,
        copies: int = 1,
        *,
        job_name: str = "",
    ) -> PrintResult: ...


def _failed(message: str, printer: str | None = None) -> PrintResult:
    return PrintResult(False, "print.failed", message, printer)


def _no_printer(message: str, printer: str | None = None) -> PrintResult:
    return PrintResult(False, "print.no_printer", message, printer)


def _precheck(copies: int) -> PrintResult | None:
    if not isinstance(QCoreApplication.instance(), QGuiApplication):
        return _failed("打印服务未就绪（程序未初始化图形环境），请重启程序后再试。")
    if not 1 <= copies <= MAX_COPIES:
        return _failed(f"打印份数应在1至{MAX_COPIES}之间。")
    return None


def _page_layout(size_pt: tuple[float, float]) -> QPageLayout:
    """The PDF page's own size (A4/A5 are matched to the named sizes), no margins."""
    w, h = size_pt
    portrait = (min(w, h), max(w, h))
    page_size = QPageSize(
        QSize(round(portrait[0]), round(portrait[1])),
        "",
        QPageSize.SizeMatchPolicy.FuzzyMatch,
    )
    orientation = QPageLayout.Orientation.Landscape if w > h else QPageLayout.Orientation.Portrait
    return QPageLayout(page_size, orientation, QMarginsF(0, 0, 0, 0))


def _set_layout(printer: QPrinter, size_pt: tuple[float, float]) -> None:
    if not printer.setPageLayout(_page_layout(size_pt)):
        # The printer lacks this paper: the page is scaled onto the paper it has.
        log.warning("printer %r refused page size %.0fx%.0f pt", printer.printerName(), *size_pt)


def _on_white(rendered: QImage, pixels: QSize) -> QImage:
    page = QImage(pixels, QImage.Format.Format_RGB32)
    page.fill(Qt.GlobalColor.white)
    painter = QPainter(page)
    painter.drawImage(0, 0, rendered)
    painter.end()
    return page


def _pixels(size_pt: tuple[float, float], dpi: int) -> QSize:
    w, h = size_pt
    return QSize(max(1, round(w * dpi / 72)), max(1, round(h * dpi / 72)))


class _LoadedPdf(Protocol):
    """A PDF in memory, page by page (no temp file: the PDF holds personal data)."""

    ok: bool

    def page_count(self) -> int: ...

    def page_size(self, index: int) -> tuple[float, float]: ...  # points

    def render(self, index: int, dpi: int) -> QImage: ...  # opaque, on white

    def close(self) -> None: ...


class _QtPdf:
    """QPdfDocument over an in-memory buffer."""

    def __init__(self, qtpdf: Any, pdf_bytes: bytes) -> None:
        self._status_ready = qtpdf.QPdfDocument.Status.Ready
        self.buffer = QBuffer()
        self.buffer.setData(QByteArray(pdf_bytes))
        self.buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.doc = qtpdf.QPdfDocument()
        self.doc.load(self.buffer)
        self.ok = self.doc.status() == self._status_ready and self.doc.pageCount() > 0

    def page_count(self) -> int:
        return int(self.doc.pageCount())

    def page_size(self, index: int) -> tuple[float, float]:
        size = self.doc.pagePointSize(index)
        return size.width(), size.height()

    def render(self, index: int, dpi: int) -> QImage:
        pixels = _pixels(self.page_size(index), dpi)
        return _on_white(self.doc.render(index, pixels), pixels)

    def close(self) -> None:
        self.doc.close()
        self.buffer.close()


class _PdfiumPdf:
    """pdfium (pypdfium2) where QtPdf is missing. pdfium is not thread-safe: every call holds the
    lock the page importer uses too, since printing and capture run on different workers."""

    def __init__(self, pdf_bytes: bytes) -> None:
        import pypdfium2 as pdfium

        from app.capture.imports import _PDFIUM_LOCK

        self._lock = _PDFIUM_LOCK
        self.doc: Any = None
        with self._lock:
            try:
                self.doc = pdfium.PdfDocument(pdf_bytes)
            except pdfium.PdfiumError:
                self.ok = False
                return
            self.ok = len(self.doc) > 0

    def page_count(self) -> int:
        return len(self.doc)

    def page_size(self, index: int) -> tuple[float, float]:
        with self._lock:
            page = self.doc[index]
            try:
                w, h = page.get_size()
            finally:
                page.close()
        return float(w), float(h)

    def render(self, index: int, dpi: int) -> QImage:
        pixels = _pixels(self.page_size(index), dpi)
        with self._lock:
            page = self.doc[index]
            try:
                # Exact target size (as QtPdf's render(index, size)), white background, no alpha.
                bitmap = page.render(
                    scale=pixels.width() / page.get_width(),
                    fill_color=(255, 255, 255, 255),
                    rev_byteorder=True,  # RGB byte order
                )
                rgb = bitmap.to_numpy()
            finally:
                page.close()
        height, width = rgb.shape[:2]
        image = QImage(rgb.data, width, height, int(rgb.strides[0]), QImage.Format.Format_RGB888)
        image = image.copy()  # own the pixels: the numpy buffer is freed after this call
        if (width, height) != (pixels.width(), pixels.height()):
            image = image.scaled(pixels)  # a rounding pixel, at most
        return image.convertToFormat(QImage.Format.Format_RGB32)

    def close(self) -> None:
        if self.doc is not None:
            with self._lock:
                self.doc.close()


def _load_pdf(pdf_bytes: bytes) -> _LoadedPdf:
    qtpdf = _qtpdf()
    if qtpdf is not None:
        return _QtPdf(qtpdf, pdf_bytes)
    return _PdfiumPdf(pdf_bytes)


def _paint(printer: QPrinter, pdf: _LoadedPdf, copies: int, dpi: int) -> str | None:
    """Paint every page (COPIES times unless the print system makes the copies).

    Returns None on success, else the Chinese failure message.
    """
    printer.setFullPage(True)
    printer.setCopyCount(copies)
    # Some print systems cannot make copies themselves: then the job carries them.
    loops = 1 if printer.supportsMultipleCopies() and printer.copyCount() == copies else copies
    if loops > 1:
        printer.setCopyCount(1)
    pages = pdf.page_count()
    _set_layout(printer, pdf.page_size(0))
    painter = QPainter()
    if not painter.begin(printer):
        return "无法启动打印：打印机未响应，请检查打印机是否开机、联机并已装纸。"
    try:
        for n in range(loops):
            for i in range(pages):
                if n or i:
                    _set_layout(printer, pdf.page_size(i))
                    if not printer.newPage():
                        printer.abort()  # a half-printed document is worse than none
                        return "打印中断：打印机未能换页，请检查打印机状态。"
                image = pdf.render(i, dpi)
                target = printer.paperRect(QPrinter.Unit.DevicePixel)
                painter.drawImage(QRectF(0, 0, target.width(), target.height()), image)
    finally:
        painter.end()
    if printer.printerState() in (QPrinter.PrinterState.Error, QPrinter.PrinterState.Aborted):
        return "打印失败：打印机报告错误，请检查打印机是否开机、缺纸或卡纸。"
    return None


def _print(
    printer: QPrinter, pdf_bytes: bytes, copies: int, dpi: int, name: str, job_name: str
) -> PrintResult:
    loaded = _load_pdf(pdf_bytes)
    try:
        if not loaded.ok:
            return _failed("打印文件无法读取（文档损坏或为空），请重新生成后再打印。", name)
        printer.setDocName(job_name or "document")
        error = _paint(printer, loaded, copies, dpi)
        if error:
            log.warning("print job %r on %r failed: %s", job_name, name, error)
            return _failed(error, name)
        pages = loaded.page_count()
        log.info("print job %r sent to %r: %d pages x %d", job_name, name, pages, copies)
        return PrintResult(
            True,
            "print.ok",
            f"已发送到打印机“{name}”：共{pages}页，{copies}份。",
            name,
            pages,
            copies,
        )
    finally:
        loaded.close()


def render_pdf_pages(pdf_bytes: bytes, dpi: int = 96) -> list[QImage]:
    """Each page as an opaque RGB image on white (print preview; what the printer receives).

    Raises ValueError when the bytes are not a readable PDF.
    """
    loaded = _load_pdf(pdf_bytes)
    try:
        if not loaded.ok:
            raise ValueError("not a readable PDF")
        return [loaded.render(i, dpi) for i in range(loaded.page_count())]
    finally:
        loaded.close()


class QtPrinterBackend:
    """Real printers as the operating system knows them (CUPS on Linux, the spooler on Windows)."""

    def __init__(self, dpi: int = 300) -> None:
        # Raster resolution; capped because a 1200-dpi A4 page would be a 0.5 GB image.
        self.dpi = dpi

    def available_printers(self) -> list[str]:
        return list(QPrinterInfo.availablePrinterNames())

    def default_printer(self) -> str | None:
        return QPrinterInfo.defaultPrinterName() or None

    def print_pdf(
        self,
        pdf_bytes: bytes,
        printer_name: str | None = None,
        copies: int = 1,
        *,
        job_name: str = "",
    ) -> PrintResult:
        try:
            problem = _precheck(copies)
            if problem:
                return problem
            name = printer_name or self.default_printer()
            if not name:
                return _no_printer(
                    "未找到可用的打印机：请连接打印机并在系统中安装驱动，或设置默认打印机。"
                )
            if name not in self.available_printers():
                return _no_printer(
                    f"未找到打印机“{name}”：请检查打印机是否已连接并在系统中安装。", name
                )
            info = QPrinterInfo.printerInfo(name)
            if info.state() == QPrinter.PrinterState.Error:
                return _failed(
                    f"打印机“{name}”处于错误状态（可能已关机、缺纸或卡纸），请检查后重试。", name
                )
            printer = QPrinter(info, QPrinter.PrinterMode.HighResolution)
            printer.setOutputFormat(QPrinter.OutputFormat.NativeFormat)
            return _print(
                printer, pdf_bytes, copies, min(self.dpi, printer.resolution()), name, job_name
            )
        except Exception:
            log.exception("print job %r failed", job_name)
            return _failed("打印失败：发生意外错误，请重试；如仍失败请联系管理员。", printer_name)


_UNSAFE = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff._-]+")


class FilePrinterBackend:
    """A printer that writes what would be printed to a PDF file, through Qt's own print path.

    For demo mode and tests: the output went through the same rasterise-and-paint code as a real
    printer. Files are numbered ``0001-<job>.pdf``… in OUT_DIR; they hold personal data, so
    OUT_DIR must be a protected location.
    """

    def __init__(self, out_dir: Path, name: str = "PDF文件打印机", dpi: int = 150) -> None:
        self.out_dir = Path(out_dir)
        self.name = name
        self.dpi = dpi

    def available_printers(self) -> list[str]:
        return [self.name]

    def default_printer(self) -> str | None:
        return self.name

    def _next_path(self, job_name: str) -> Path:
        taken = [int(p.name[:4]) for p in self.out_dir.glob("[0-9][0-9][0-9][0-9]-*.pdf")]
        stem = _UNSAFE.sub("_", job_name).strip("_") or "print"
        return self.out_dir / f"{max(taken, default=0) + 1:04d}-{stem}.pdf"

    def print_pdf(
        self,
        pdf_bytes: bytes,
        printer_name: str | None = None,
        copies: int = 1,
        *,
        job_name: str = "",
    ) -> PrintResult:
        try:
            problem = _precheck(copies)
            if problem:
                return problem
            if printer_name not in (None, self.name):
                return _no_printer(f"未找到打印机“{printer_name}”。", printer_name)
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self._next_path(job_name)
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(path))
            printer.setResolution(self.dpi)
            result = _print(printer, pdf_bytes, copies, self.dpi, self.name, job_name)
            if not result.ok:
                return result
            return PrintResult(
                True,
                "print.ok",
                f"已输出到文件：{path.name}（共{result.pages}页，{copies}份）。",
                self.name,
                result.pages,
                copies,
                path,
            )
        except Exception:
            log.exception("print job %r to file failed", job_name)
            return _failed("输出打印文件失败：请检查输出目录是否可写。", self.name)
