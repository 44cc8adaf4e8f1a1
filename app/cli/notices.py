"""`intake notices NUMBER`: the notices sent to the applicant of an intake (短信告知: 受理,
不予受理, 办结, 领取) — kind, item, status and time, as the hub last reported them."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.common import common_flags, context
from app.cliout import emit
from app.clock import STATION_TZ
from app.errors import IntakeError
from app.notices import Notices, NoticeView


def _line(n: NoticeView, names: dict[str, str]) -> str:
    when = n.sent_at or n.created_at
    item = f"（{names.get(n.item_id, n.item_id)}）" if n.item_id else ""
    return (
        f"{when.astimezone(STATION_TZ):%Y-%m-%d %H:%M}  {n.kind_label}{item}  {n.status_label}"
        + (
            f"（{n.last_error}，已尝试{n.attempts}次）"
            if n.status in ("retrying", "failed")
            else ""
        )
    )


def cmd_notices(args: argparse.Namespace) -> int:
    ctx = context(args)
    try:
        sid = ctx.queries.find_by_number(args.number)
        if sid is None:
            raise IntakeError("intake.unknown_number", number=args.number)
        view = ctx.queries.get(sid)
        number = view.number or args.number
        found = Notices(ctx.sessions).of(sid)
        bundle = ctx.catalogs.current.bundle(view.bundle_id) if view.bundle_id else None
        names = {n.item_id: i.name for n in found if bundle and (i := bundle.item(n.item_id))}
    finally:
        ctx.close()
    data: dict[str, Any] = {"number": number, "notices": [n.to_json() for n in found]}
    if found:
        text = f"{number} 短信通知 {len(found)} 条\n" + "\n".join(_line(n, names) for n in found)
    else:
        text = f"{number} 尚无短信通知（平台发出后，同步时带回）"
    emit(args, data, text)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("notices", help="某件受理的短信通知（受理、不予受理、办结、领取）")
    p.add_argument("number", help="受理编号")
    common_flags(p)
    p.set_defaults(func=cmd_notices)
