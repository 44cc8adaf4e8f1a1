"""Receipt PDF build time (target < 50 ms, DESIGN §12). Prints one JSON object.

Run from the repository root: ``.venv/bin/python bench/bench_print.py [--runs 50]``.
"cold" is the first build in this process, including finding, parsing and registering the fonts
(module imports are reported apart as import_ms);
"median" is over RUNS builds after one warm-up per paper size.
"kept_file" compares what the file printer keeps for an A4 receipt: the vector PDF as built (now)
against the page images it used to keep (each page rasterised and painted through QPrinter's
PDF output at 150 and 300 dpi, as before), bytes and whether pdftotext finds the intake number.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_MS = 50.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _has_text(path: Path, needle: str) -> bool:
    import subprocess

    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
    return needle in out.stdout


def _kept_file(pdf: bytes, number: str) -> dict[str, object]:
    import os
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtPrintSupport import QPrinter

    from printing.dispatch import FilePrinterBackend, _print

    _app = QGuiApplication.instance() or QGuiApplication([])
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        kept = FilePrinterBackend(Path(tmp)).print_pdf(pdf, None, 1).output_path
        assert kept is not None
        out["vector_bytes"] = kept.stat().st_size
        out["vector_has_text"] = _has_text(kept, number)
        for dpi in (150, 300):
            raster = Path(tmp) / f"raster-{dpi}.pdf"
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(raster))
            printer.setResolution(dpi)
            _print(printer, pdf, 1, dpi, "bench", "bench")
            out[f"raster_{dpi}dpi_bytes"] = raster.stat().st_size
            out[f"raster_{dpi}dpi_has_text"] = _has_text(raster, number)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)

    t_import = time.perf_counter()
    from printing import fonts
    from printing.documents import build_receipt
    from tests.sample_docs import sample_document

    imported = time.perf_counter()
    doc = sample_document()
    start = time.perf_counter()
    font_set = fonts.default_font_set()
    registered = time.perf_counter()
    cold_pdf = build_receipt(doc, "A4")
    done = time.perf_counter()

    result: dict[str, object] = {
        "bench": "receipt_pdf_build",
        "target_ms": TARGET_MS,
        "runs": args.runs,
        "import_ms": _ms(imported - t_import),
        "fonts_ms": _ms(registered - start),
        "cold_first_build_ms": _ms(done - start),
        "fonts": list(font_set.fonts),
    }
    medians = []
    for paper in ("A4", "A5"):
        build_receipt(doc, paper)  # warm-up
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            data = build_receipt(doc, paper)
            times.append(time.perf_counter() - t0)
        times.sort()
        median = statistics.median(times)
        medians.append(median)
        result[paper] = {
            "median_ms": _ms(median),
            "min_ms": _ms(times[0]),
            "p90_ms": _ms(times[int(len(times) * 0.9) - 1]),
            "bytes": len(data),
        }
    result["bytes_cold_a4"] = len(cold_pdf)
    result["kept_file"] = _kept_file(cold_pdf, doc.number)
    result["meets_target"] = max(medians) * 1000 < TARGET_MS
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
