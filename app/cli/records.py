"""`intake demo-data`, `ledger`, `audit verify|checkpoint`, `verify-receipt`, `public-key`:
the store's records and the station's keys."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from app.cli.common import common_flags as _common
from app.cli.common import context as _context
from app.cliout import emit as _emit
from app.errors import ChecklistError
from local_db.errors import DomainError


def cmd_demo_data(args: argparse.Namespace) -> int:
    from app.demo import generate

    if args.count < 0:
        raise ChecklistError("demo.count")
    ctx = _context(args)
    try:
        stats = generate(
            ctx.sessions, ctx.catalogs.current, args.count, days=args.days, seed=args.seed
        )
    finally:
        ctx.close()
    data = {
        "submissions": stats.submissions,
        "events": stats.events,
        "stations": stats.stations,
        "clerks": stats.clerks,
        "days": stats.days,
        "db": str(ctx.db_path),
    }
    _emit(
        args,
        data,
        f"已生成 {stats.submissions} 条演示受理记录（{stats.days} 天，{stats.stations} 个站点）。",
    )
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    from app.clock import local_day

    ctx = _context(args)
    try:
        try:
            day = dt.date.fromisoformat(args.date) if args.date else local_day(ctx.clock.now())
        except ValueError:
            raise ChecklistError("ledger.date", args_date=args.date) from None
        rows = ctx.queries.ledger(day)
    finally:
        ctx.close()
    data = [r.to_json() for r in rows]
    text = (
        "\n".join(
            f"{r.number or '-':20} {r.created_at:%H:%M} {r.bundle_name:12} {r.applicant_id_masked:20} {r.label:10} {r.clerk_name}"
            for r in rows
        )
        + f"\n{day} 共 {len(rows)} 件"
    )
    _emit(args, data, text)
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from app import audit
    from app.audit_anchor import anchor_json
    from local_db.models import AuditEntry

    ctx = _context(args)
    try:
        with ctx.sessions() as s:
            problems = audit.verify(s)
            anchored = ctx.audit_anchor.verify(s)
            problems += anchored.problems
            total = s.scalar(select(func.count()).select_from(AuditEntry))
    finally:
        ctx.close()
    cp = anchored.checkpoint
    data = {
        "valid": not problems,
        "entries": total,
        "checkpoint": anchor_json(cp),
        "problems": [{"entry": p.entry_id, "code": p.code, "message": p.message} for p in problems],
    }
    if problems:
        text = "审计日志被改动：\n" + "\n".join(p.message for p in problems)
    elif cp is None:
        text = f"审计日志哈希链完整（{total} 条）；尚无签名检查点（日结或同步确认后生成），删除最新记录无法发现。"
    else:
        text = f"审计日志完整（{total} 条），与签名检查点一致（{cp.count} 条，{cp.at}）。"
    _emit(args, data, text)
    return 0 if not problems else 1


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from app.audit_anchor import anchor_json

    ctx = _context(args)
    try:
        if ctx.signer is None:
            raise DomainError("keys.keyring_unavailable", variant=2)
        cp = ctx.audit_anchor.checkpoint("manual")
    finally:
        ctx.close()
    if cp is None:
        raise DomainError("audit.checkpoint_refused")
    _emit(args, anchor_json(cp), f"已签署审计检查点：{cp.count} 条，至第{cp.last_id}条。")
    return 0


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    from app.receipts import verify_receipt

    keys: dict[str, str] = {}
    if args.keys:
        try:
            keys.update(json.loads(Path(args.keys).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise DomainError("receipt.keys_file", args_keys=args.keys) from exc
    for pair in args.key or []:
        kid, _, key = pair.partition("=")
        keys[kid] = key
    v = verify_receipt(args.payload, keys)
    data = {
        "valid": v.valid,
        "number": v.number,
        "code": v.code,
        "message": v.message,
        "issued": v.issued or None,
        "manifest": v.manifest or None,
    }
    _emit(
        args,
        data,
        f"{'有效' if v.valid else '无效'}：{v.message}" + (f"（{v.number}）" if v.number else ""),
    )
    return 0 if v.valid else 1


def cmd_public_key(args: argparse.Namespace) -> int:
    ctx = _context(args)
    try:
        if ctx.signer is None:
            raise DomainError("keys.keyring_unavailable", variant=3)
        data = {ctx.signer.key_id: ctx.signer.public_key_text()}
    finally:
        ctx.close()
    _emit(args, data, json.dumps(data))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("demo-data", help="生成演示受理数据")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    _common(p)
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("ledger", help="某日台账")
    p.add_argument("--date", help="YYYY-MM-DD（默认：今天）")
    _common(p)
    p.set_defaults(func=cmd_ledger)

    audit_p = sub.add_parser("audit", help="审计日志").add_subparsers(
        dest="audit_command", metavar="SUB"
    )
    audit_p.required = True
    p = audit_p.add_parser("verify", help="校验审计日志哈希链及签名检查点")
    _common(p)
    p.set_defaults(func=cmd_audit_verify)
    p = audit_p.add_parser("checkpoint", help="立即签署审计日志检查点（存于数据库之外）")
    _common(p)
    p.set_defaults(func=cmd_audit_checkpoint)

    p = sub.add_parser("verify-receipt", help="离线核验收件回执二维码的签名")
    p.add_argument("payload", help="回执二维码内容")
    p.add_argument("--keys", help="站点公钥文件（JSON：密钥编号 → 公钥）")
    p.add_argument("--key", action="append", metavar="KID=KEY", help="站点公钥，可重复")
    _common(p)
    p.set_defaults(func=cmd_verify_receipt)

    p = sub.add_parser("public-key", help="输出本站回执签名公钥（登记到县级平台）")
    _common(p)
    p.set_defaults(func=cmd_public_key)
