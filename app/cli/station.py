"""`intake backup run|verify|restore|recovery-code` and `intake setup`: the station's store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli.common import common_flags as _common
from app.cli.common import context as _context
from app.cliout import emit as _emit


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


def register(sub: Any) -> None:
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
