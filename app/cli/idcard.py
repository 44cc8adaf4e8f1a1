"""`idcard read`: read one ID card (diagnostics and scripting).

The reader is a GA 467 serial reader (`--port`) or a USB reader through its vendor library
(`--sdk sdt|cvr --lib PATH`, with `--wlt PATH` for the photo decoder of the SDT family).

Exit codes: 0 card read and usable; 1 no card, or a card whose ID number is invalid or which
has expired (the card is still printed); 2 device error. `--json` prints
`{"ok": bool, "card": {...} | null, "error": {"code", "message"} | null}`.
The JSON carries the full ID number for programs; the text output masks it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from app.capture.cardtypes import (
    IdCardData,
)
from app.capture.idcard import (
    Ga467Reader,
    IdCardReader,
    device_error,
)
from app.errors import DeviceError
from app.validators import mask_resident_id

ReaderFactory = Callable[..., IdCardReader]


def register(subparsers: Any) -> None:
    """Add `idcard read` to an argparse subparsers object (sets `func` on the namespace)."""
    idcard = subparsers.add_parser("idcard", help="二代身份证阅读器")
    commands = idcard.add_subparsers(dest="idcard_command", required=True)
    read = commands.add_parser("read", help="读取一张身份证")
    source = read.add_mutually_exclusive_group(required=True)
    source.add_argument("--port", help="GA 467 串口（如 /dev/ttyUSB0、COM3）或 pyserial URL")
    source.add_argument(
        "--sdk",
        choices=("sdt", "cvr"),
        help="通过厂商动态库读卡：sdt（SDT_* 接口）或 cvr（CVR_* 接口）",
    )
    read.add_argument(
        "--lib", help="厂商读卡动态库路径（与 --sdk 一起使用，如 libsdtapi.so、termb.dll）"
    )
    read.add_argument("--wlt", help="照片解码库路径（如 libwlt.so、WltRS.dll；可选）")
    read.add_argument(
        "--sdk-port", type=int, default=1001, help="厂商接口端口号（默认 1001 即第一个 USB 口）"
    )
    read.add_argument("--baudrate", type=int, default=115200, help="波特率（默认 115200）")
    read.add_argument(
        "--timeout", type=float, default=3.0, help="等待放卡和阅读器应答的秒数（默认 3）"
    )
    read.add_argument("--json", action="store_true", help="以 JSON 输出")
    read.set_defaults(func=run_read)


def run_read(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    reader_factory: ReaderFactory = Ga467Reader,
    today: dt.date | None = None,
) -> int:
    out = out or sys.stdout
    today = today or dt.date.today()
    card: IdCardData | None = None
    try:
        reader = _make_reader(args, reader_factory)
        reader.open()
        try:
            if not reader.wait_for_card(args.timeout):
                raise device_error("idcard.no_card")
            card = reader.read()
        finally:
            reader.close()
    except DeviceError as exc:
        code = 1 if exc.code == "idcard.no_card" else 2
        _emit(out, args.json, None, exc, today)
        return code
    problem = _card_problem(card, today)
    _emit(out, args.json, card, problem, today)
    return 1 if problem else 0


def _make_reader(args: argparse.Namespace, reader_factory: ReaderFactory) -> IdCardReader:
    sdk = getattr(args, "sdk", None)
    if sdk:
        from app.capture.idcard_sdk import make_sdk_reader

        if not getattr(args, "lib", None):
            raise DeviceError("idcard.sdk_library_missing")
        return make_sdk_reader(
            sdk,
            args.lib,
            getattr(args, "sdk_port", 1001),
            wlt_library=getattr(args, "wlt", None),
            timeout=max(args.timeout, 1.0),
        )
    # Per-answer timeout stays short; the card wait gets the whole budget.
    return reader_factory(
        args.port, baudrate=args.baudrate, timeout=min(max(args.timeout, 0.1), 1.0)
    )


def _card_problem(card: IdCardData, today: dt.date) -> DeviceError | None:
    if not card.id_valid:
        return DeviceError("idcard.invalid_id", id_error=card.id_error)
    if card.valid_to is not None and card.expired(today):
        return DeviceError(
            "idcard.expired", card_type_name=card.card_type_name, valid_to=card.valid_to
        )
    return None


def _emit(
    out: TextIO,
    as_json: bool,
    card: IdCardData | None,
    error: DeviceError | None,
    today: dt.date,
) -> None:
    if as_json:
        doc = {
            "ok": error is None and card is not None,
            "card": card.to_json(today) if card else None,
            "error": {"code": error.code, "message": error.message} if error else None,
        }
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return
    if card is not None:
        lines = [
            "读卡成功" if error is None else "已读卡，但证件有问题",
            f"证件类型：{card.card_type_name}",
            f"姓名：{card.name}",
            *([f"英文姓名：{card.name_en}"] if card.name_en else []),
            f"性别：{card.gender}    "
            + (f"国籍：{card.nationality}" if card.is_foreign else f"民族：{card.ethnicity}"),
            f"出生：{card.birth_date:%Y年%m月%d日}",
            *([f"住址：{card.address}"] if card.address else []),
            ("公民身份号码：" if card.card_type == "resident" else "证件号码：")
            + mask_resident_id(card.resident_id),
            *([f"通行证号码：{card.pass_number}"] if card.pass_number else []),
            *([f"签发次数：{card.issue_count}"] if card.issue_count else []),
            f"签发机关：{card.issuer}",
            f"有效期限：{card.valid_from:%Y.%m.%d}-"
            + ("长期" if card.valid_to is None else f"{card.valid_to:%Y.%m.%d}"),
            f"照片：{card.photo_message or '可显示'}",
        ]
        out.write("\n".join(lines) + "\n")
    if error is not None:
        out.write(f"{error.message}（{error.code}）\n")
