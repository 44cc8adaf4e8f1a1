"""`intake overdue-acceptance [--date D] [--period day|week|month]`: the items whose department
did not decide 受理 / 不予受理 within 1 working day of the push (China's calendar), among the
intakes of the period — what the supervisor's 部门逾期 tab lists."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from app.cli.common import common_flags, context
from app.cliout import emit
from app.errors import ChecklistError


def register(sub: Any) -> None:
    p = sub.add_parser("overdue-acceptance", help="部门逾期未受理的事项（推送后1个工作日）")
    p.add_argument("--date", help="YYYY-MM-DD（默认：今天）")
    p.add_argument("--period", choices=("day", "week", "month"), default="month")
    common_flags(p)
    p.set_defaults(func=cmd_overdue)


def cmd_overdue(args: argparse.Namespace) -> int:
    from app import workdays
    from app.clock import STATION_TZ, local_day
    from app.reports import Period

    ctx = context(args)
    try:
        now = ctx.clock.now()
        try:
            day = dt.date.fromisoformat(args.date) if args.date else local_day(now)
        except ValueError:
            raise ChecklistError("ledger.date", args_date=args.date) from None
        period = Period.of(args.period, day)
        rows = ctx.reports.overdue_acceptances_unchecked(period, now)
    finally:
        ctx.close()
    known = workdays.current().known_year(local_day(now).year)
    data = {
        "period": [period.start.isoformat(), period.end.isoformat()],
        "calendar_known": known,
        "items": [
            {
                "number": o.number,
                "item": o.item_id,
                "item_name": o.item_name,
                "department": o.department,
                "pushed_at": o.pushed_at.isoformat(),
                "due": o.due.isoformat(),
                "decided_at": o.decided_at.isoformat() if o.decided_at else None,
            }
            for o in rows
        ],
    }
    lines = [
        f"{o.number:20} {o.item_name[:16]:16} {o.department[:14]:14} "
        f"{o.pushed_at.astimezone(STATION_TZ):%m-%d %H:%M} 应于{o.due:%m-%d} {o.status}"
        for o in rows
    ]
    lines.append(f"{period.label} 部门逾期未受理 {len(rows)} 项")
    if not known:
        lines.append("注意：本年度节假日安排未知（请同步目录），暂按周一至周五计算工作日。")
    emit(args, data, "\n".join(lines))
    return 0
