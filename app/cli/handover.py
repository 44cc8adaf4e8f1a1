"""`intake handover pending | create | list`: the paper of the day's intakes handed to each
bundle's lead department, with its 移交清单 (app/handover.py, printing/handover.py).

    intake handover pending [--day DATE]            what waits, per lead department
    intake handover create --department D --received-by NAME --clerk USER [--day DATE]
                           [--number N …] [--out FILE.pdf] [--paper A4|A5]
    intake handover list [--day DATE]               the batches handed over

`create` records the hand-over of every listed intake (batch, receiver, time; synced to the hub
as a `handed_over` event) and prints the list to --out. `intake print handover-list BATCH`
reprints it.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from app.cli.common import write_pdf
from app.cliout import emit
from app.errors import ChecklistError, IntakeError


def _day(ctx: Any, text: str | None) -> dt.date:
    from app.clock import local_day

    try:
        return dt.date.fromisoformat(text) if text else local_day(ctx.clock.now())
    except ValueError:
        raise ChecklistError("ledger.date", args_date=text) from None


def run_pending(args: argparse.Namespace) -> int:
    from app.context import build_context

    ctx = build_context(args.db)
    try:
        day = _day(ctx, args.day)
        entries = ctx.handover.pending(day)
    finally:
        ctx.close()
    by_dept: dict[str, list[str]] = {}
    for e in entries:
        by_dept.setdefault(e.department, []).append(e.number)
    data = {"day": day.isoformat(), "departments": by_dept}
    lines = [f"{day} 待移交纸质材料："]
    lines += [f"  {d}：{len(ns)}件（{'、'.join(ns)}）" for d, ns in sorted(by_dept.items())]
    if not by_dept:
        lines.append("  （无）")
    emit(args, data, "\n".join(lines))
    return 0


def run_create(args: argparse.Namespace) -> int:
    """All or nothing: the hand-over is recorded only if its list was written to --out."""
    from app.cli.submit import _clerk, _command
    from app.handover import HandoverService
    from printing.handover import build_handover_list

    with _command(args) as (ctx, _service, sessions, _printed):
        actor = _clerk(sessions, args.clerk)
        day = _day(ctx, args.day)
        numbers = [n.strip() for raw in args.number or () for n in raw.split(",") if n.strip()]
        handover = HandoverService(sessions, ctx.catalogs, ctx.attachments, ctx.clock)
        listed = handover.create(
            actor, args.department, day, args.received_by, numbers=numbers or None
        )
        if args.out is not None:
            write_pdf(args.out, build_handover_list(listed, args.paper))
    data = {
        "batch": listed.number,
        "department": listed.department,
        "day": listed.day.isoformat(),
        "received_by": listed.received_by,
        "intakes": [e.number for e in listed.entries],
        "out": str(args.out) if args.out else None,
    }
    text = f"{listed.number} 已移交{listed.department}：{len(listed.entries)}件，接收人{listed.received_by}"
    if args.out:
        text += f"\n  移交清单：{args.out}"
    emit(args, data, text)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from app.context import build_context

    ctx = build_context(args.db)
    try:
        day = _day(ctx, args.day) if args.day else None
        batches = ctx.handover.batches(day)
    finally:
        ctx.close()
    data = [
        {
            "batch": b.number,
            "department": b.department,
            "day": b.day.isoformat(),
            "intakes": b.intakes,
            "clerk": b.clerk_name,
            "received_by": b.received_by,
            "at": b.created_at.isoformat(),
        }
        for b in batches
    ]
    text = "\n".join(
        f"{b.number}  {b.created_at:%Y-%m-%d %H:%M}  {b.department}  {b.intakes}件  "
        f"移交人{b.clerk_name}  接收人{b.received_by}"
        for b in batches
    )
    emit(args, data, text or "（没有移交记录）")
    return 0


def print_handover_list(ctx: Any, batch: str, out: Path, paper: str) -> tuple[str, int]:
    """`intake print handover-list BATCH`: the list rebuilt from the store."""
    from printing.handover import build_handover_list

    pdf = build_handover_list(ctx.handover.document(batch), paper)  # type: ignore[arg-type]
    write_pdf(out, pdf)
    return batch, len(pdf)


def print_delivery_proof(ctx: Any, number: str, out: Path, paper: str) -> tuple[str, int]:
    """`intake print delivery-proof NUMBER`: the 送达凭证 of the intake's latest delivery."""
    from printing.handover import build_delivery_proof

    sid = ctx.queries.find_by_number(number)
    if sid is None:
        raise IntakeError("print.unknown_number", args_number=number)
    pdf = build_delivery_proof(ctx.deliveries.proof(sid), paper)  # type: ignore[arg-type]
    write_pdf(out, pdf)
    return number, len(pdf)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None, help="数据库文件（默认：本机用户数据目录）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("handover", help="纸质材料移交牵头部门（移交清单）")
    sub = top.add_subparsers(dest="handover_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("pending", help="按牵头部门列出当天待移交的受理件")
    p.add_argument("--day", help="受理日期 YYYY-MM-DD（默认：今天）")
    _common(p)
    p.set_defaults(func=run_pending)

    p = sub.add_parser("create", help="登记移交并打印移交清单")
    p.add_argument("--department", required=True, help="接收的牵头部门（如 县卫健委）")
    p.add_argument("--received-by", required=True, help="牵头部门接收人姓名")
    p.add_argument("--clerk", required=True, help="移交人（经办人登录名）")
    p.add_argument("--day", help="受理日期 YYYY-MM-DD（默认：今天）")
    p.add_argument(
        "--number", action="append", metavar="N", help="只移交这些受理编号（可重复或逗号分隔）"
    )
    p.add_argument("--out", type=Path, default=None, help="移交清单 PDF 输出文件")
    p.add_argument("--paper", choices=("A4", "A5"), default="A4")
    _common(p)
    p.set_defaults(func=run_create)

    p = sub.add_parser("list", help="列出移交记录")
    p.add_argument("--day", help="受理日期 YYYY-MM-DD（默认：全部）")
    _common(p)
    p.set_defaults(func=run_list)
