"""`capture process IMAGE_OR_PDF --out DIR`: run the page pipeline on a file from the command line.

Wire it into the main CLI with `register(subparsers)`; the parser's `func` attribute is the
handler, called with the parsed arguments and returning the exit code (0 processed, 1 on a
CaptureError, whose JSON is printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from app.capture.imports import iter_pages, sniff
from app.capture.page_image import ProcessedPage, Source
from app.capture.pages import process_page
from app.errors import CaptureError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    capture = subparsers.add_parser("capture", help="材料采集：处理拍摄或扫描的页面")
    commands = capture.add_subparsers(dest="capture_command", required=True)
    process = commands.add_parser(
        "process", help="检测页面、矫正、增强、压缩并识别条码（每页输出一个文件）"
    )
    process.add_argument("path", metavar="IMAGE_OR_PDF", help="JPEG/PNG/TIFF/BMP 图像或 PDF 文件")
    process.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    process.add_argument(
        "--mode", choices=("auto", "color", "grey", "bw"), default="auto", help="处理模式"
    )
    process.add_argument(
        "--source",
        choices=("auto", "camera", "scan"),
        default="auto",
        help="来源：camera（高拍仪照片，需找页面边框）或 scan（扫描件）；auto 时 PDF/TIFF 视为扫描件",
    )
    process.add_argument("--dpi", type=int, default=200, help="输出分辨率（默认200）")
    process.add_argument("--json", action="store_true", help="以 JSON 输出")
    process.set_defaults(func=run_process)


def _source_for(path: Path, requested: str) -> Source:
    if requested in ("camera", "scan"):
        return "scan" if requested == "scan" else "camera"
    try:
        with path.open("rb") as fh:
            kind = sniff(fh.read(1024))
    except OSError:
        return "camera"  # the real error is reported when the pages are loaded
    return "scan" if kind in ("pdf", "tiff") else "camera"


def _page_json(
    index: int, page: ProcessedPage, out_path: Path, source: Source
) -> dict[str, object]:
    return {"page": index, "file": str(out_path), "source": source, **page.to_json()}


def _print_text(record: dict[str, object], out: TextIO) -> None:
    if record["found"]:
        found = "已识别页面"
    elif record["source"] == "scan":
        found = "扫描件（整幅图像即页面）"
    else:
        found = "未识别到页面边框（使用整幅图像）"
    print(f"第{record['page']}页：{found}；角点 {record['corners']}", file=out)
    findings = record["findings"]
    assert isinstance(findings, list)
    for f in findings:
        print(f"  质量提示 {f['code']}：{f['message']}", file=out)
    codes = record["codes"]
    assert isinstance(codes, list)
    for c in codes:
        extra = c.get("uscc") or c.get("intake_number") or ""
        print(
            f"  条码 {c['symbology']} {c['kind']}（{c['label']}）{extra}：{c['payload']}", file=out
        )
    print(f"  输出 {record['file']}（{record['bytes']} 字节，{record['mode']}）", file=out)


def run_process(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    path = Path(args.path)
    out_dir = Path(args.out)
    records: list[dict[str, object]] = []
    try:
        source = _source_for(path, args.source)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            raise CaptureError("capture.out_unwritable") from None
        for index, image in enumerate(iter_pages(path, dpi=args.dpi), start=1):
            page = process_page(
                image,
                args.mode,
                source=source,
                dpi=args.dpi,
                decode="thorough",  # an offline tool: look hard for codes
            )
            target = out_dir / f"{path.stem}-p{index:03d}{page.extension}"
            try:
                target.write_bytes(page.data)
            except OSError:
                raise CaptureError("capture.out_unwritable", variant=2, page=index) from None
            record = _page_json(index, page, target, source)
            records.append(record)
            if not args.json:
                _print_text(record, out)
    except CaptureError as exc:
        print(json.dumps({"error": exc.to_json()}, ensure_ascii=False), file=out)
        return 1
    if args.json:
        print(json.dumps({"file": str(path), "pages": records}, ensure_ascii=False), file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m app.cli.capture capture process …`)."""
    parser = argparse.ArgumentParser(prog="intake")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
