"""`intake keys`: the data key of an encrypted store on a replaced machine.

    intake keys status  [--db PATH]                  is this store's data key in the keyring?
    intake keys recover [--db PATH] [--recovery-code CODE]
                                                     put it back from the administrator's code

Neither opens the store through the services (that needs the key); they read its key records.
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
from pathlib import Path
from typing import Any

from app.cliout import emit as _print
from app.paths import default_db_path
from local_db.crypto import load_data_key, recover_data_key
from local_db.errors import DomainError, StoreError
from local_db.keys import KeyringSecretStore, key_from_recovery_code


def _db(args: argparse.Namespace) -> Path:
    path = Path(args.db) if args.db else default_db_path()
    if not path.is_file():
        raise StoreError("store.unavailable", variant=3, file=path.name, path=path)
    return path


def cmd_status(args: argparse.Namespace) -> int:
    path = _db(args)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        load_data_key(con, KeyringSecretStore())
    except DomainError as exc:
        _print(args, {"key": "unusable", "code": exc.code, "message": exc.message}, exc.message)
        return 1
    except sqlite3.DatabaseError as exc:
        raise StoreError("store.not_a_database", variant=3, path_name=path.name) from exc
    finally:
        con.close()
    _print(args, {"key": "ok"}, "本机密钥环中有这个数据库的数据密钥，且与数据库相符。")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    path = _db(args)
    code = args.recovery_code or getpass.getpass("备份恢复码：")
    recover_data_key(path, key_from_recovery_code(code), KeyringSecretStore())
    _print(args, {"recovered": True}, "数据密钥已恢复到本机密钥环，可以正常打开数据库了。")
    return 0


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="数据密钥（加密的个人信息）")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    for name, func, help_text in (
        ("status", cmd_status, "检查本机密钥环中是否有这个数据库的数据密钥"),
        ("recover", cmd_recover, "用备份恢复码把数据密钥放回本机密钥环（换机、重装后）"),
    ):
        p = commands.add_parser(name, help=help_text)
        p.add_argument("--db", help="数据库文件（默认：本机数据目录中的 intake.sqlite3）")
        p.add_argument("--json", action="store_true", help="以 JSON 输出")
        if name == "recover":
            p.add_argument("--recovery-code", help="不给出则交互输入")
        p.set_defaults(func=func)
