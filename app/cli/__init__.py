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
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from app.logsetup import setup_logging
from local_db.errors import DomainError

log = logging.getLogger("intake.cli")

# One module per command group, each with `register(subparsers)`, in `intake --help` order. By
# name: an optional part that is not installed (sync needs requests, capture OpenCV) is left out;
# the frozen build bundles them all (installer/manifest.own_modules).
COMMAND_MODULES = (
    "app.cli.catalog",  # id-check, catalog, checklist
    "app.cli.records",  # demo-data, ledger, audit, verify-receipt, public-key
    "app.cli.station",  # backup, setup
    "app.cli.keys",
    "app.cli.idcard",
    "app.cli.capture",
    "app.cli.documents",  # print (guide: app.cli.guide)
    "app.cli.acceptance",  # overdue-acceptance
    "sync.cli",  # left where it is: the sync subsystem's own commands
    "app.cli.submit",
    "app.cli.notices",  # notices sent to the applicant (短信告知)
    "app.cli.oneperson",  # consent, reuse (一人一档)
    "app.cli.rating",  # 好差评
    "app.cli.handover",  # paper to the lead department (移交清单)
    "app.cli.online",  # online applications: list, claim, review
)


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

    for module in COMMAND_MODULES:
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
