"""`intake print guide BUNDLE --out FILE.pdf [--answer KEY=VALUE …] [--items ID,…] [--record]`:
the 办事指南 leaflet of a bundle for the chosen items and situation answers, without an
applicant. --record counts it in the ledger as a 咨询 (a leaflet printed for the rack is not one).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.common import write_pdf
from app.errors import IntakeError
from app.options import STATION_ADDRESS, from_env


def guide_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--items", help="guide：事项 id，逗号分隔（默认：全部非可选事项）")
    p.add_argument("--answer", action="append", metavar="KEY=VALUE", help="guide：情形回答，可重复")
    p.add_argument("--record", action="store_true", help="guide：计入台账的咨询数")


def run_guide(args: argparse.Namespace) -> int:
    from app.cli.catalog import _kv
    from app.context import build_context
    from printing.guide import build_guide_pdf

    items = [i.strip() for i in args.items.split(",") if i.strip()] if args.items else None
    answers = _kv(args.answer or [])
    if args.reprint:
        raise IntakeError("print.guide_reprint")
    ctx = build_context(args.db, create=bool(getattr(args, "create", False)))
    try:
        doc = ctx.consultations.guide(
            None,
            args.number,
            items=items,
            answers=answers,
            where=from_env(STATION_ADDRESS) or "",
            numbered=args.record,
        )
        pdf = build_guide_pdf(doc, args.paper)
        write_pdf(args.out, pdf)
        if args.record:
            ctx.consultations.record(None, doc)
    finally:
        ctx.close()
    data: dict[str, Any] = {
        "kind": "guide",
        "bundle": doc.bundle_id,
        "reference": doc.reference,
        "items": [i.name for i in doc.items],
        "materials": [m.name for m in doc.materials],
        "paper": args.paper,
        "out": str(args.out),
        "bytes": len(pdf),
    }
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        counted = f"，已计入咨询（{doc.reference}）" if doc.reference else ""
        print(f"已生成 {args.out}（{doc.bundle_name} 办事指南，{len(pdf)} 字节{counted}）")
    return 0
