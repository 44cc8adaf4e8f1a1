"""`intake print receipt|notice|commitment|return-list|application-form|authorization NUMBER
[--out FILE.pdf] [--paper A4|A5]`: documents without a display (the same builders the window
prints with). application-form and authorization are the forms the window generates (一表申请):
their output also says how many fields were prefilled. `intake print guide BUNDLE` prints the
办事指南 (app/cli/guide.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli.common import write_pdf
from app.cli.guide import guide_flags, run_guide
from app.errors import IntakeError

KINDS = {
    "receipt": "receipt",
    "notice": "notice",
    "commitment": "commitment",
    "return-list": "return_list",
    "supplement": "supplement",
    "application-form": "application_form",
    "authorization": "authorization",
    "handover-list": "handover_list",  # NUMBER is the batch (移交编号): app/cli/handover.py
    "delivery-proof": "delivery_proof",
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "print",
        help="生成受理文书 PDF（收件回执、一次告知通知书、告知承诺书、退还清单、联办申请表、授权书）",
    )
    p.add_argument("kind", choices=sorted([*KINDS, "guide"]))
    p.add_argument("number", help="受理编号（guide：一件事名称或 id；handover-list：移交编号）")
    p.add_argument("--out", type=Path, default=None, help="默认：当前目录下 <受理编号>-<文书>.pdf")
    p.add_argument("--paper", choices=("A4", "A5"), default="A4")
    p.add_argument("--reprint", action="store_true", help="标注“补打”")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--json", action="store_true")
    guide_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.kind == "guide":
        if args.out is None:
            args.out = Path(f"{args.number}-guide.pdf")
        return run_guide(args)
    from app.context import build_context
    from printing.documents import build_document

    ctx = build_context(args.db, create=bool(getattr(args, "create", False)))
    if args.kind in ("handover-list", "delivery-proof"):
        return _run_handover(ctx, args)
    try:
        sid = ctx.queries.find_by_number(args.number)
        if sid is None:
            raise IntakeError("print.unknown_number", args_number=args.number)
        kind = KINDS[args.kind]
        doc = ctx.documents.document(None, sid, kind, reprint=args.reprint)  # type: ignore[arg-type]
        pdf = build_document(doc, args.paper)
        if args.out is None:
            args.out = Path(f"{doc.number}-{args.kind}.pdf")
        write_pdf(args.out, pdf)
        ctx.documents.save_document(None, sid, kind, pdf, reprint=args.reprint)  # type: ignore[arg-type]
    finally:
        ctx.close()
    data = {
        "number": doc.number,
        "kind": kind,
        "paper": args.paper,
        "out": str(args.out),
        "bytes": len(pdf),
    }
    if doc.form is not None:
        data |= {"fields": doc.form.total, "prefilled": doc.form.prefilled}
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif doc.form is not None:
        print(
            f"已生成 {args.out}（{len(pdf)} 字节）：共{doc.form.total}项信息，"
            f"窗口自动生成{doc.form.prefilled}项"
        )
    else:
        print(f"已生成 {args.out}（{len(pdf)} 字节）")
    return 0


def _run_handover(ctx: Any, args: argparse.Namespace) -> int:
    """移交清单 and 送达凭证: built from app/handover.py and app/delivery.py."""
    from app.cli.handover import print_delivery_proof, print_handover_list

    run = print_handover_list if args.kind == "handover-list" else print_delivery_proof
    if args.out is None:
        args.out = Path(f"{args.number}-{args.kind}.pdf")
    try:
        number, size = run(ctx, args.number, args.out, args.paper)
    finally:
        ctx.close()
    data = {"number": number, "kind": KINDS[args.kind], "paper": args.paper, "out": str(args.out)}
    if args.json:
        print(json.dumps({**data, "bytes": size}, ensure_ascii=False, indent=2))
    else:
        print(f"已生成 {args.out}（{size} 字节）")
    return 0
