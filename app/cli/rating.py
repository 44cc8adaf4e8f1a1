"""`intake rating add NUMBER --level … [--reason …] [--text …]`, `rating decline NUMBER`,
`rating list [--date DAY | --open]`, `rating followup ID --note …`: 好差评 at the command line
(a rating given on a paper form or a pad at the window, and the supervisor's 整改)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from app.cli.common import common_flags as _common
from app.cli.common import context as _context
from app.cliout import emit as _emit
from app.clock import STATION_TZ
from app.errors import ChecklistError, IntakeError
from app.rating_levels import LEVELS, REASONS
from app.ratings import RatingService, RatingView, parse_level


def _service(ctx: Any) -> RatingService:
    service: RatingService = ctx.ratings
    return service


def _sid(ctx: Any, number: str) -> str:
    sid: str | None = ctx.queries.find_by_number(number)
    if sid is None:
        raise IntakeError("print.unknown_number", args_number=number)
    return sid


def _line(r: RatingView) -> str:
    reasons = "、".join(r.reason_labels)
    follow = ""
    if r.followup_due is not None:
        if r.followup_closed_at is not None:
            follow = f"整改已办结：{r.followup_note}"
        else:
            follow = f"整改待办（{r.followup_due} 前）" + ("【已逾期】" if r.overdue else "")
    return (
        f"{r.id:>5} {r.number:24} {r.rated_at.astimezone(STATION_TZ):%Y-%m-%d %H:%M} "
        f"{r.level_label:6} {r.clerk_name:8} {reasons} {follow}"
    ).rstrip()


def cmd_add(args: argparse.Namespace) -> int:
    level = parse_level(args.level)
    ctx = _context(args)
    try:
        view = _service(ctx).rate(None, _sid(ctx, args.number), level, args.reason, args.text)
    finally:
        ctx.close()
    text = f"已记录 {view.number} 的评价：{view.level_label}。"
    if view.followup_due is not None:
        text += f"差评已生成整改，须于 {view.followup_due} 前办结。"
    _emit(args, view.to_json(), text)
    return 0


def cmd_decline(args: argparse.Namespace) -> int:
    ctx = _context(args)
    try:
        view = _service(ctx).decline(None, _sid(ctx, args.number))
    finally:
        ctx.close()
    _emit(args, view.to_json(), f"已记录 {view.number}：申请人未评价。")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    day = None
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            raise ChecklistError("ledger.date", args_date=args.date) from None
    ctx = _context(args)
    try:
        rows = _service(ctx).list_ratings(day, day, open_only=args.open)
    finally:
        ctx.close()
    what = "待整改的差评" if args.open else "评价"
    text = "\n".join(_line(r) for r in rows) + f"\n共 {len(rows)} 条{what}"
    _emit(args, [r.to_json() for r in rows], text.lstrip("\n"))
    return 0


def cmd_followup(args: argparse.Namespace) -> int:
    ctx = _context(args)
    try:
        view = _service(ctx).close_followup(None, args.id, args.note)
    finally:
        ctx.close()
    _emit(args, view.to_json(), f"已办结 {view.number} 的差评整改。")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("rating", help="好差评：登记评价、查看评价、办结差评整改")
    sub = p.add_subparsers(dest="rating_command", metavar="ACTION")
    sub.required = True
    levels = "、".join(f"{label}({score})" for _c, label, score in LEVELS)
    reasons = "、".join(f"{code}={label}" for code, label in REASONS)

    a = sub.add_parser("add", help="登记申请人的评价（每件受理只能评价一次）")
    a.add_argument("number", help="受理编号")
    a.add_argument("--level", required=True, help=f"评价等级：{levels}，或英文代码")
    a.add_argument(
        "--reason",
        action="append",
        default=[],
        metavar="CODE",
        help=f"差评原因（可重复，差评必填）：{reasons}",
    )
    a.add_argument("--text", default="", help="原因说明（选 other 时必填，最多500字）")
    _common(a)
    a.set_defaults(func=cmd_add)

    d = sub.add_parser("decline", help="登记申请人未评价")
    d.add_argument("number", help="受理编号")
    _common(d)
    d.set_defaults(func=cmd_decline)

    ls = sub.add_parser("list", help="列出评价（默认全部，最新在前）")
    ls.add_argument("--date", help="只列该日（YYYY-MM-DD）的评价")
    ls.add_argument("--open", action="store_true", help="只列尚未办结整改的差评")
    _common(ls)
    ls.set_defaults(func=cmd_list)

    f = sub.add_parser("followup", help="办结差评整改（须写明整改情况）")
    f.add_argument("id", type=int, help="评价记录编号（见 rating list）")
    f.add_argument("--note", required=True, help="整改情况说明")
    _common(f)
    f.set_defaults(func=cmd_followup)
