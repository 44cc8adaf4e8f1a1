"""`intake consent grant|withdraw|show WHO` and `intake reuse show NUMBER`: 一人一档 without the
window. WHO is the applicant's ID number or one of their intake numbers. Granting and
withdrawing are recorded with the clerk and the time, and audited (app/reuse.py); taking reused
data into an intake from the command line is the intake file's `reuse` (app/cli/intake_file.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cliout import emit
from app.errors import IntakeError

STATUS_TEXT = {
    "granted": "已同意复用（一人一档）",
    "withdrawn": "已撤回复用同意",
    "none": "未同意复用",
    "no_person": "非个人申请人，不适用一人一档",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None, help="数据库文件（默认：本机用户数据目录）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("consent", help="一人一档：登记、撤回或查看申请人的复用同意")
    p.add_argument(
        "action", choices=("grant", "withdraw", "show"), help="grant 同意，withdraw 撤回，show 查看"
    )
    p.add_argument("who", help="申请人身份证件号码，或其一个受理编号")
    p.add_argument("--clerk", help="经办人登录名（grant / withdraw 必填）")
    _common(p)
    p.set_defaults(func=run_consent)

    p = subparsers.add_parser("reuse", help="一人一档：查看一次办件复用了哪些信息和材料")
    p.add_argument("action", choices=("show",))
    p.add_argument("number", help="受理编号")
    _common(p)
    p.set_defaults(func=run_reuse)


def _actor(ctx: Any, username: str | None) -> Any:
    from sqlalchemy import select

    from app.staff import staff_view
    from local_db.models import Staff

    if not username:
        raise IntakeError("reuse.clerk_required", field="clerk")
    with ctx.sessions() as s:
        staff = s.scalars(select(Staff).where(Staff.username == username)).first()
        if staff is None:
            raise IntakeError("submit.unknown_clerk", clerk=username)
        if not staff.active:
            raise IntakeError("submit.clerk_inactive", clerk=username)
        return staff_view(staff)


def run_consent(args: argparse.Namespace) -> int:
    from app.context import build_context

    ctx = build_context(args.db)
    try:
        if args.action == "show":
            state = ctx.reuse.consent_status(args.who)
        else:
            actor = _actor(ctx, args.clerk)
            state = ctx.reuse.consent(actor, args.who, grant=args.action == "grant")
    finally:
        ctx.close()
    at = state.at.isoformat() if state.at else None
    text = STATUS_TEXT[state.status]
    if state.at is not None:
        from app.clock import local_day

        text += f"（登记日期：{local_day(state.at).isoformat()}）"
    emit(args, {"status": state.status, "at": at}, text)
    return 0


def run_reuse(args: argparse.Namespace) -> int:
    from app.context import build_context

    ctx = build_context(args.db)
    try:
        sid = ctx.queries.find_by_number(args.number)
        if sid is None:
            raise IntakeError("intake.unknown_number", number=args.number)
        reused = sorted(ctx.reuse.reused(sid).values(), key=lambda r: (r.kind, r.key))
        consent = ctx.reuse.consent_of(sid)
    finally:
        ctx.close()
    rows = [
        {
            "kind": r.kind,
            "id": r.key,
            "from": r.origin.number,
            "date": r.origin.date.isoformat(),
            "pages": r.pages,
        }
        for r in reused
    ]
    lines = [f"{args.number}：{STATUS_TEXT[consent.status]}"]
    lines += [
        f"  {'申请人信息' if r['kind'] == 'field' else '材料'} {r['id']}："
        f"复用自 {r['from']}（{r['date']}）"
        for r in rows
    ]
    if not rows:
        lines.append("  本件未复用早前办件的信息或材料。")
    emit(args, {"number": args.number, "consent": consent.status, "reused": rows}, "\n".join(lines))
    return 0
