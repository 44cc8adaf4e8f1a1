"""`intake online list | claim | review`: the online channel's applications at this window.

list    the county's applications waiting for review, with the two hours counting down
        (--refresh: ask the hub first; offline, the list as of the last sync)
claim   claim one for review through the hub (refused offline: another window might be
        reviewing it), which opens it as an intake with the uploaded files as pages
review  show its checklist, mark materials 收到 (--received) / 缺 (--missing), and with --answer
        finish it: 电子收件回执 or 电子一次告知通知书, sent back through the hub
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli.common import common_flags, context
from app.cliout import emit
from app.online_texts import DECISION_LABELS, STATUS_LABELS, level, remaining_text


def _service(args: argparse.Namespace) -> tuple[Any, Any]:
    from sync.engine import SyncEngine
    from sync.online import OnlineService

    ctx = context(args)
    return ctx, OnlineService(ctx, SyncEngine.from_context(ctx))


def _clerk(ctx: Any, username: str) -> Any:
    from app.cli.submit import _clerk

    return _clerk(ctx.sessions, username)


def _row(v: Any, now: Any) -> dict[str, Any]:
    return {
        "id": v.id,
        "platform_ref": v.platform_ref,
        "bundle": v.bundle_id,
        "applicant": v.applicant_name,
        "received_at": v.received_at.isoformat(),
        "deadline_at": v.deadline_at.isoformat(),
        "remaining_minutes": int(v.remaining(now).total_seconds() // 60),
        "level": level(v.remaining(now)),
        "status": v.status,
        "claimed_by": v.claimed_by,
        "mine": v.mine,
        "decision": v.decision,
        "files": len(v.files),
    }


def run_list(args: argparse.Namespace) -> int:
    from app.errors import IntakeError

    ctx, svc = _service(args)
    note = ""
    try:
        if args.refresh:
            try:
                svc.refresh()
            except IntakeError as exc:
                note = f"（{exc.message} 以下为上次同步时的列表）"
        now = ctx.clock.now()
        views = svc.queue(done=args.all)
        rows = [_row(v, now) for v in views]
        lines = [
            f"{v.id[:8]}  {v.applicant_name}  {v.bundle_id}  "
            f"{STATUS_LABELS.get(v.status, v.status)}"
            + (f"（{v.claimed_by}）" if v.claimed_by else "")
            + (f"  {remaining_text(v.remaining(now))}" if v.status in ("open", "claimed") else "")
            for v in views
        ]
        text = "\n".join(lines) if lines else "没有待审核的线上申请。"
        emit(args, {"applications": rows, "note": note}, (note + "\n" if note else "") + text)
    finally:
        ctx.close()
    return 0


def run_claim(args: argparse.Namespace) -> int:
    ctx, svc = _service(args)
    try:
        view = svc.claim(_clerk(ctx, args.clerk), args.id)
        emit(
            args,
            _row(view, ctx.clock.now()) | {"submission_id": view.submission_id},
            f"已认领线上申请 {view.id[:8]}（{view.applicant_name}），"
            f"{remaining_text(view.remaining(ctx.clock.now()))}。"
            f"请用 intake online review {view.id[:8]} 审核材料。",
        )
    finally:
        ctx.close()
    return 0


def _split(values: list[str] | None) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


def run_review(args: argparse.Namespace) -> int:
    ctx, svc = _service(args)
    try:
        clerk = _clerk(ctx, args.clerk)
        marks = {m: "received" for m in _split(args.received)}
        marks |= {m: "missing" for m in _split(args.missing)}
        if marks:
            svc.mark(clerk, args.id, marks)
        if not args.answer:
            view = svc.get(args.id)
            checklist = svc.checklist(args.id)
            files = {f.material_id for f in view.files}
            lines = [
                f"{m.id}  {m.name}  {'收到' if m.state in ('collected', 'exempt') else '缺'}"
                + ("  [已上传文件]" if m.id in files else "")
                for m in checklist.materials
                if m.produced_by is None
            ]
            data = {
                "id": view.id,
                "materials": [
                    {"id": m.id, "name": m.name, "state": m.state, "uploaded": m.id in files}
                    for m in checklist.materials
                    if m.produced_by is None
                ],
            }
            emit(args, data, "\n".join(lines))
            return 0
        out = svc.answer(clerk, args.id)
        if args.pdf:
            Path(args.pdf).write_bytes(out.pdf)
        sent = "已通过县级平台答复申请人" if out.sent else "已保存，联网后由同步自动答复"
        emit(
            args,
            {
                "id": out.application_id,
                "number": out.number,
                "decision": out.decision,
                "missing": list(out.missing),
                "sent": out.sent,
                "answered_at": out.answered_at.isoformat() if out.answered_at else None,
                "pdf": args.pdf,
            },
            f"{DECISION_LABELS[out.decision]} {out.number}：{sent}"
            + (f"；缺少：{'、'.join(out.missing)}" if out.missing else ""),
        )
    finally:
        ctx.close()
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("online", help="线上申请（一体化政务服务平台）：列表、认领、审核答复")
    sub = p.add_subparsers(dest="online_command", metavar="ACTION")
    sub.required = True

    q = sub.add_parser("list", help="待审核的线上申请（2小时审核时限倒计时）")
    q.add_argument("--refresh", action="store_true", help="先从县级平台取最新列表")
    q.add_argument("--all", action="store_true", help="也列出已答复的")
    common_flags(q)
    q.set_defaults(func=run_list)

    c = sub.add_parser("claim", help="认领一件线上申请（须联网：防止两个窗口重复审核）")
    c.add_argument("id", help="申请编号（列表中的前8位即可）")
    c.add_argument("--clerk", required=True, help="经办人登录名")
    common_flags(c)
    c.set_defaults(func=run_claim)

    r = sub.add_parser("review", help="审核已认领的线上申请：标记材料，--answer 答复")
    r.add_argument("id", help="申请编号（列表中的前8位即可）")
    r.add_argument("--clerk", required=True, help="经办人登录名")
    r.add_argument(
        "--received", action="append", metavar="ID", help="收到的材料 id（可重复或逗号分隔）"
    )
    r.add_argument(
        "--missing", action="append", metavar="ID", help="缺少的材料 id（可重复或逗号分隔）"
    )
    r.add_argument(
        "--answer", action="store_true", help="完成审核并答复（电子收件回执或电子一次告知通知书）"
    )
    r.add_argument("--pdf", help="把答复文书另存为此 PDF 文件")
    common_flags(r)
    r.set_defaults(func=run_review)
