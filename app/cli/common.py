"""What every command shares: the --db/--json/--create flags and the store they open. The
database option is declared with every other option (app/options.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.errors import IntakeError
from app.options import DB_PATH


def common_flags(p: argparse.ArgumentParser) -> None:
    assert DB_PATH.flag is not None
    p.add_argument(
        DB_PATH.flag,
        dest="db",
        type=Path,
        default=None,
        metavar=DB_PATH.metavar,
        help=f"{DB_PATH.description}（默认：本机用户数据目录）",
    )
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--create", action="store_true", help="数据库文件不存在（或为空文件）时新建")


# Commands that make a store as their purpose (first-run set-up, demo data); every other command
# opens an existing one, so a mistyped path or a file emptied by a failed copy is refused.
_CREATING = ("setup", "demo-data")


def context(args: argparse.Namespace) -> Any:
    from app.context import build_context

    create = bool(getattr(args, "create", False)) or args.command in _CREATING
    return build_context(args.db, catalog_path=getattr(args, "catalog", None), create=create)


def write_pdf(out: Path, pdf: bytes) -> None:
    """PDF written to OUT, or the clerk told in Chinese why it could not be."""
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        raise IntakeError("print.write_failed", args_out=out, exc_strerror=exc.strerror) from exc
