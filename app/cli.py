"""`intake` — the scriptable command line (also `python -m app`).

Every command takes --json; every command that uses the store takes --db PATH. Exit codes:
0 success, 1 the input was refused or invalid (a clear message, nothing half-written), 2 usage
error, 3 an unexpected internal error (details in the log file, never a traceback on screen),
141 the reader of the output went away (`intake … | head`), quietly.

The CLI is the administrator's tool on the machine itself: it has no staff login and runs with
the rights of the operating-system account that owns the database file and the keyring (which
can read and write everything anyway). It therefore calls no service action that is checked
against a staff role (app.staff.ACTIONS); those are reached only through a logged-in account.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.cliout import emit as _emit
from app.errors import ChecklistError
from app.logsetup import setup_logging
from local_db.errors import DomainError

log = logging.getLogger("intake.cli")

Handler = Callable[[argparse.Namespace], int]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None, help="数据库文件（默认：本机用户数据目录）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--create", action="store_true", help="数据库文件不存在（或为空文件）时新建")


# Commands that make a store as their purpose (first-run set-up, demo data); every other command
# opens an existing one, so a mistyped path or a file emptied by a failed copy is refused.
_CREATING = ("setup", "demo-data")


def _context(args: argparse.Namespace) -> Any:
    from app.context import build_context

    create = bool(getattr(args, "create", False)) or args.command in _CREATING
    return build_context(args.db, catalog_path=getattr(args, "catalog", None), create=create)


# ----------------------------------------------------------------------------- id-check


def cmd_id_check(args: argparse.Namespace) -> int:
    from app.validators import check_any_id

    result = check_any_id(args.value)
    data = result.to_json()
    code = data.pop("code")
    if not result.valid:
        data["error_code"] = code  # the reason for programs (the message is for people)
    text = (
        f"有效 {result.kind}：{result.normalized}"
        + (
            f"，出生日期 {result.birth_date}，{'男' if result.gender == 'male' else '女'}"
            if result.birth_date
            else ""
        )
        if result.valid
        else f"无效：{result.message}"
    )
    _emit(args, data, text)
    return 0 if result.valid else 1


# ----------------------------------------------------------------------------- catalog


def _bundle_json(b: Any, full: bool = False, catalog: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": b.id,
        "name": b.name,
        "aliases": list(b.aliases),
        "kind": b.kind,
        "lead_department": b.lead_department,
        "items": [
            {"id": i.id, "name": i.name, "department": i.department, "levels": list(i.levels)}
            for i in b.items
        ],
    }
    if full:
        out["jurisdictions"] = list(b.jurisdictions)
        out["sources"] = list(b.sources)
        out["lead_department_variants"] = dict(b.lead_department_variants)
        out["questions"] = [
            {
                "id": q.id,
                "text": q.text,
                "type": q.type,
                "unit": q.unit or None,
                "choices": [{"value": v, "label": label} for v, label in q.choices] or None,
            }
            for q in b.questions
        ]
        for item_json, item in zip(out["items"], b.items, strict=True):
            item_json.update(
                department_variants=dict(item.department_variants),
                time_limit=item.time_limit_text,
                optional=item.optional,
                notes=item.notes or None,
                jurisdictions=list(item.jurisdictions) or None,
                condition=item.reason or None,
                materials=[
                    {
                        "id": r.id,
                        "name": catalog.materials[r.id].name,
                        "condition": r.reason or None,
                        "persons": list(r.persons) or None,
                        "produced_by": r.produced_by,
                    }
                    for r in item.materials
                ],
            )
    return out


def cmd_catalog_list(args: argparse.Namespace) -> int:
    from app.catalog_load import load_catalog

    cat = load_catalog(args.catalog)
    data = [_bundle_json(b) for b in cat.bundles]
    text = (
        "\n".join(
            f"{b.id:36} {b.name}（{'企业' if b.kind == 'enterprise' else '个人'}，{len(b.items)}项）"
            for b in cat.bundles
        )
        + f"\n共 {len(cat.bundles)} 个一件事，目录版本 {cat.version}"
    )
    _emit(args, data, text)
    return 0


def cmd_catalog_show(args: argparse.Namespace) -> int:
    from app.catalog_load import load_catalog

    cat = load_catalog(args.catalog)
    b = cat.resolve_one(args.bundle, None, "catalog")
    data = _bundle_json(b, full=True, catalog=cat)
    lines = [f"{b.name}（{b.id}） 牵头部门：{b.lead_department}"]
    for i in b.items:
        lines.append(
            f"  - {i.name} [{i.department}，{'、'.join(i.levels)}，{i.time_limit_text}]"
            + ("（可选）" if i.optional else "")
            + (f"（{i.reason}）" if i.reason else "")
        )
        for r in i.materials:
            names = (
                "、".join(cat.materials[r.id].name_for(p) for p in r.persons)
                or cat.materials[r.id].name
            )
            origin = (
                f"（由“{b.item(r.produced_by).name}”产生）"
                if r.produced_by and b.item(r.produced_by)
                else ""
            )
            lines.append(f"      · {names}{origin}" + (f"（{r.reason}）" if r.reason else ""))
    _emit(args, data, "\n".join(lines))
    return 0


def cmd_catalog_validate(args: argparse.Namespace) -> int:
    from app.catalog_load import load_catalog

    cat = load_catalog(args.path)
    data = {
        "valid": True,
        "version": cat.version,
        "effective_date": cat.effective_date.isoformat(),
        "bundles": len(cat.bundles),
        "materials": len(cat.materials),
        "digest": cat.digest,
    }
    _emit(
        args,
        data,
        f"目录有效：版本 {cat.version}，{len(cat.bundles)} 个一件事，{len(cat.materials)} 种材料",
    )
    return 0


def cmd_catalog_pack(args: argparse.Namespace) -> int:
    from app.catalog import BUNDLED_CATALOG
    from app.catalog_load import pack_directory

    out = pack_directory(Path(args.src) if args.src else BUNDLED_CATALOG, Path(args.out))
    _emit(args, {"out": str(out)}, f"已打包：{out}")
    return 0


# ----------------------------------------------------------------------------- checklist


def _kv(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in items:
        if "=" not in raw:
            raise ChecklistError("checklist.answer_format", raw=raw)
        k, v = raw.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_checklist(args: argparse.Namespace) -> int:
    from app import checklist as engine
    from app.catalog import split_line_id
    from app.catalog_load import load_catalog

    cat = load_catalog(args.catalog)
    bundle = cat.resolve_one(args.bundle, args.jurisdiction, "checklist")
    items = [i.strip() for i in args.items.split(",") if i.strip()] if args.items else None
    marks: dict[str, str] = {}
    for flag, mark in (("have", "collected"), ("exempt", "exempt"), ("tolerate", "tolerated")):
        for mid in getattr(args, flag) or []:
            if mid in marks and marks[mid] != mark:
                raise ChecklistError("checklist.conflicting_marks", material=mid)
            marks[mid] = mark
    unknown = [m for m in marks if split_line_id(m)[0] not in cat.materials]
    if unknown:
        raise ChecklistError("checklist.unknown_material", material=unknown[0])
    result = engine.evaluate(
        bundle,
        items,
        _kv(args.answer or []),
        marks,
        catalog=cat,
        jurisdiction=args.jurisdiction,
        strict=True,
    )
    data = result.to_json()
    verdict_text = {
        "complete": "材料齐全",
        "complete_with_tolerance": "容缺受理（需签告知承诺书）",
        "incomplete": "材料不全",
    }
    lines = [f"{bundle.name}：{verdict_text[result.verdict]}"]
    state_text = {"collected": "已收", "exempt": "免提交", "tolerated": "容缺", "missing": "缺"}
    for m in result.materials:
        lines.append(
            f"  [{state_text[m.state]}] {m.name}（{'、'.join(r.item_name for r in m.required_by)}）"
        )
    if result.unanswered:
        lines.append(
            "  待回答：" + "、".join(q.text for q in bundle.questions if q.id in result.unanswered)
        )
    lines.append(
        f"  材料压减：分别提交 {result.reduction.separate} 份 → 合并后 {result.reduction.merged} 份"
    )
    _emit(args, data, "\n".join(lines))
    return 0


# ----------------------------------------------------------------------------- store-backed


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


def _backups(args: argparse.Namespace, ctx: Any) -> Any:
    from app.backup import BackupService

    target = Path(args.dir) if args.dir else ctx.db_path.parent / "backups"
    return BackupService(ctx.db_path, ctx.files_dir / "blobs", target, ctx.secrets, ctx.clock)


def _restore(args: argparse.Namespace) -> int:
    # No store is opened: on a replacement machine there is none yet, or its key is missing.
    from app.backup import BackupService
    from app.context import files_dir_for
    from app.paths import default_db_path
    from local_db.keys import KeyringSecretStore, key_from_recovery_code

    db = Path(args.db) if args.db else default_db_path()
    svc = BackupService(
        db,
        files_dir_for(db) / "blobs",
        Path(args.dir or db.parent / "backups"),
        KeyringSecretStore(),
    )
    key = key_from_recovery_code(args.recovery_code) if args.recovery_code else None
    target = Path(args.to)
    svc.restore(Path(args.file), target, files_dir_for(target) / "blobs", key=key)
    _emit(args, {"restored": str(target)}, f"已恢复到 {target}（数据密钥已放入本机密钥环）")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from local_db.keys import key_from_recovery_code, recovery_code

    if args.backup_command == "restore":
        return _restore(args)
    ctx = _context(args)
    try:
        svc = _backups(args, ctx)
        if args.backup_command == "run":
            r = svc.run()
            data: dict[str, Any] = {
                "file": str(r.path),
                "bytes": r.size,
                "blobs": r.blobs,
                "verified": True,
            }
            text = f"备份完成并已校验：{r.path}（{r.size} 字节）"
        elif args.backup_command == "verify":
            key = key_from_recovery_code(args.recovery_code) if args.recovery_code else None
            m = svc.verify(Path(args.file), key)
            data = {"valid": True, "created_at": m["created_at"], "blobs": len(m["blobs"])}  # type: ignore[arg-type]
            text = f"备份有效（{m['created_at']}）"
        else:  # recovery-code
            from app.backup import KEY_NAME
            from local_db.keys import get_or_create_key

            code = recovery_code(get_or_create_key(ctx.secrets, KEY_NAME))
            data = {"recovery_code": code}
            text = f"备份密钥恢复码（请抄写并妥善保管）：{code}"
    finally:
        ctx.close()
    _emit(args, data, text)
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    import getpass

    ctx = _context(args)
    try:
        password = args.admin_password or getpass.getpass("管理员密码：")
        station, admin = ctx.staff.setup_station(
            code=args.station_code,
            name=args.station_name,
            centre_name=args.centre_name,
            jurisdiction=args.jurisdiction,
            admin_username=args.admin,
            admin_display_name=args.admin_name,
            admin_password=password,
            progress_phone=args.phone or "",
        )
    finally:
        ctx.close()
    _emit(
        args,
        {"station": station.code, "admin": admin.username},
        f"站点 {station.code} 设置完成，管理员 {admin.username}。",
    )
    return 0


# ----------------------------------------------------------------------------- parser


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any) -> None:
        from app.version import version_text

        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intake", description="一件事一次办 综合受理 命令行工具")
    parser.add_argument("--version", action=_VersionAction, help="显示客户端、数据库结构和目录版本")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("id-check", help="校验身份证号码或统一社会信用代码")
    p.add_argument("value")
    _common(p)
    p.set_defaults(func=cmd_id_check)

    cat = sub.add_parser("catalog", help="一件事目录").add_subparsers(
        dest="catalog_command", metavar="SUB"
    )
    cat.required = True
    for name, fn, helptext in (
        ("list", cmd_catalog_list, "列出全部一件事"),
        ("show", cmd_catalog_show, "显示一件事详情"),
    ):
        p = cat.add_parser(name, help=helptext)
        if name == "show":
            p.add_argument("bundle", help="一件事 id、名称、别名、名称的一部分或拼音首字母")
        p.add_argument(
            "--catalog", type=Path, default=None, help="目录目录或打包文件（默认：内置目录）"
        )
        _common(p)
        p.set_defaults(func=fn)
    p = cat.add_parser("validate", help="校验目录文件")
    p.add_argument("path", type=Path)
    _common(p)
    p.set_defaults(func=cmd_catalog_validate)
    p = cat.add_parser("pack", help="把目录打包为单个文件（供同步分发）")
    p.add_argument("--src", type=Path, default=None)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_catalog_pack)

    p = sub.add_parser("checklist", help="计算合并材料清单")
    p.add_argument("bundle", help="一件事 id、名称、别名、名称的一部分或拼音首字母")
    p.add_argument("--items", help="事项 id，逗号分隔（默认：全部非可选事项）")
    p.add_argument("--answer", action="append", metavar="KEY=VALUE", help="情形回答，可重复")
    p.add_argument("--have", action="append", metavar="MATERIAL", help="已收材料，可重复")
    p.add_argument("--exempt", action="append", metavar="MATERIAL", help="免提交（已核验电子证照）")
    p.add_argument("--tolerate", action="append", metavar="MATERIAL", help="容缺")
    p.add_argument("--jurisdiction", help="辖区（xinxiang / meixian / sanmenxia）")
    p.add_argument("--catalog", type=Path, default=None)
    _common(p)
    p.set_defaults(func=cmd_checklist)

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

    bk = sub.add_parser("backup", help="加密备份与恢复").add_subparsers(
        dest="backup_command", metavar="SUB"
    )
    bk.required = True
    for name, helptext in (
        ("run", "立即备份并校验"),
        ("verify", "校验备份文件"),
        ("restore", "恢复到新的数据库文件"),
        ("recovery-code", "显示备份密钥的恢复码"),
    ):
        p = bk.add_parser(name, help=helptext)
        if name in ("verify", "restore"):
            p.add_argument("file")
            p.add_argument("--recovery-code", help="在新机器上用恢复码代替密钥环中的密钥")
        if name == "restore":
            p.add_argument("--to", required=True, help="恢复出的数据库文件（须不存在）")
        p.add_argument("--dir", help="备份目录（默认：数据库旁的 backups）")
        _common(p)
        p.set_defaults(func=cmd_backup)

    p = sub.add_parser("setup", help="首次设置站点和管理员")
    p.add_argument("--station-code", required=True)
    p.add_argument("--station-name", required=True)
    p.add_argument("--centre-name", required=True)
    p.add_argument("--jurisdiction")
    p.add_argument("--phone")
    p.add_argument("--admin", default="admin")
    p.add_argument("--admin-name", default="管理员")
    p.add_argument("--admin-password", help="不给出则交互输入")
    _common(p)
    p.set_defaults(func=cmd_setup)

    for module in (
        "app.keys_cli",
        "app.capture.idcard_cli",
        "app.capture.capture_cli",
        "printing.cli",
        "sync.cli",
        "app.submit",
    ):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError as exc:  # an optional part that is not installed
            log.debug("cli module %s unavailable: %s", module, exc.name)
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    setup_logging()
    try:
        args = build_parser().parse_args(argv)
        code = _dispatch(args)
        sys.stdout.flush()  # a reader that went away shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        # `intake … | head`: the reader has all it wanted; end quietly like any Unix tool.
        _detach_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool ended by a closed pipe


def _detach_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush has nowhere to fail
    except (OSError, ValueError):
        pass


def _dispatch(args: argparse.Namespace) -> int:
    try:
        code: int = args.func(args)
        return code
    except BrokenPipeError:
        raise
    except DomainError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": exc.to_json()}, ensure_ascii=False, indent=2))
        else:
            print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: no traceback in front of a person
        log.exception("internal error in command %s", args.command)
        msg = {"code": "internal", "message": f"内部错误（{exc.__class__.__name__}），详情见日志。"}
        if getattr(args, "json", False):
            print(json.dumps({"error": msg}, ensure_ascii=False, indent=2))
        else:
            print(f"错误：{msg['message']}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
