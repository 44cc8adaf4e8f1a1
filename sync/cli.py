"""Command line of the sync subsystem, wired into `intake` by app/cli.py (module `sync.cli`).

intake hub serve --host H --port P --db URL --blobs DIR
intake hub enroll-code --station XX01 [--county 330106]   (one-time code for a station)
intake hub rewrap                              (data keys under the newest master key)
intake hub revoke --station XX01 | dept-key --name 部门 --item ID… | publish-catalog PATH
intake hub import FILE | decide NUMBER ITEM accepted|rejected|completed [--reason 理由]
intake hub receipt-keys [--station XX01]     (every enrolled key: for intake verify-receipt --keys)
intake hub stations [--json]                  (last contact, backlog, client and catalog versions)
intake hub ratings [--json]                   (好差评 per station: levels, 未评价, open follow-ups)
intake hub backup DIR | restore DIR            (database dump + pages as stored)
intake station enroll URL CODE [--ca-bundle PEM] [--proxy URL]
intake station show | configure [--ca-bundle PEM] [--proxy URL]
intake sync --once [--max-wait S]               (exit 0 drained, 1 needs a person, 75 link down)
intake sync --export FILE | --status | --queue | --retry [ITEM|all]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cliout import emit
from sync.protocol import NOTICE_STATUSES

EXIT_WAITING = 75  # EX_TEMPFAIL: items wait for the link, nothing for a person


def _hub_error(exc: Exception) -> int:
    code = getattr(exc, "code", "hub.error")
    message = getattr(exc, "message", str(exc))
    emit(None, {"error": {"code": code, "message": message}})
    print(f"错误：{message}", file=sys.stderr)
    return 1


# ----------------------------------------------------------------------------- hub


def _settings(args: argparse.Namespace) -> Any:
    """Hub settings: these flags over INTAKE_HUB_* over the --config file (sync/hub/settings.py)."""
    from sync.hub.settings import load

    flags = {k: getattr(args, k, None) for k in ("host", "port", "db", "blobs", "workers")}
    return load(getattr(args, "config", None), **flags)


def _store(args: argparse.Namespace) -> Any:
    from sync.hub.server import open_store

    return open_store(_settings(args))


def cmd_hub_serve(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from sync.hub.server import serve
    from sync.hub.settings import SettingsError

    try:
        settings = _settings(args)
    except SettingsError as exc:
        return _hub_error(exc)
    try:
        serve(settings)
    except SettingsError as exc:  # at start: the page store is not there, or refuses
        return _hub_error(exc)
    except OperationalError as exc:  # at start: the database is not there (yet)
        where, reason = _db_failure(settings, exc)
        return _hub_error(SettingsError("hub.db_unreachable", where=where, reason=reason))
    return 0


def _db_failure(settings: Any, exc: Exception) -> tuple[str, str]:
    """Where the database was looked for (never the password) and its first line of answer."""
    from sqlalchemy.engine import make_url

    url = settings.db_url() or ""
    try:
        u = make_url(url)
        where = (
            f"{u.host}:{u.port or 5432}/{u.database}"
            if u.host
            else u.render_as_string(hide_password=True)  # a Unix socket: the URL, masked
        )
    except Exception:  # an unparsable URL: say nothing of it
        where = "(db)"
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()
    return where, reason[0][:200] if reason else exc.__class__.__name__


def main_hub_serve(argv: list[str]) -> int:
    """`python -m sync.hub [serve flags]`: the service entry point (systemd units, containers)."""
    p = argparse.ArgumentParser(prog="python -m sync.hub", description="县级同步平台（参考实现）")
    _serve_flags(p)
    args = p.parse_args(argv)
    args.json = False
    return cmd_hub_serve(args)


def _serve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", type=Path, help="平台配置文件（TOML；也可用环境变量 INTAKE_HUB_CONFIG）"
    )
    p.add_argument("--host", default=None, help="监听地址（默认 127.0.0.1）")
    p.add_argument("--port", type=int, default=None, help="监听端口（默认 8700）")
    p.add_argument("--workers", type=int, default=None, help="平台进程数（共用同一端口和数据库）")
    p.add_argument("--blobs", default=None, help="页面文件目录（默认：数据目录/hub-blobs）")
    p.add_argument(
        "--db",
        default=None,
        help="平台数据库 URL，不得含密码（含密码的写入配置文件或环境变量 INTAKE_HUB_DB）",
    )


def cmd_hub_enroll_code(args: argparse.Namespace) -> int:
    from sync.hub.errors import HubError

    store = _store(args)
    try:
        code = store.issue_enroll_code(
            args.station, args.name or "", args.valid_hours, county=args.county or ""
        )
    except HubError as exc:
        return _hub_error(exc)
    finally:
        store.close()
    if args.json:
        emit(None, {"station": args.station.upper(), "code": code, "valid_hours": args.valid_hours})
    else:
        print(
            f"站点 {args.station.upper()} 的登记码：{code}（{args.valid_hours:g} 小时内有效，只能使用一次）"
        )
    return 0


def cmd_hub_rewrap(args: argparse.Namespace) -> int:
    from sync.hub.errors import HubError
    from sync.hub.server import open_blobs

    store = _store(args)
    try:
        out = store.rewrap(open_blobs(_settings(args), store))
    except HubError as exc:
        return _hub_error(exc)
    finally:
        store.close()
    emit(None, out)
    return 0


def cmd_hub_revoke(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        n = store.revoke(args.station)
    finally:
        store.close()
    emit(None, {"station": args.station.upper(), "revoked_tokens": n})
    return 0


def cmd_hub_dept_key(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        key = store.issue_dept_key(args.name, None if args.all_items else args.item)
    finally:
        store.close()
    emit(
        None, {"department": args.name, "items": "all" if args.all_items else args.item, "key": key}
    )
    return 0


def cmd_hub_publish(args: argparse.Namespace) -> int:
    from sync.hub.errors import HubError

    store = _store(args)
    try:
        out = store.publish_catalog(args.path, force=args.force)
    except HubError as exc:
        return _hub_error(exc)
    finally:
        store.close()
    emit(None, out)
    return 0


def cmd_hub_import(args: argparse.Namespace) -> int:
    from local_db.errors import DomainError
    from sync.hub.errors import HubError
    from sync.hub.importer import import_file
    from sync.hub.server import open_blobs

    store = _store(args)
    try:
        out = import_file(store, open_blobs(_settings(args), store), args.file)
    except (HubError, DomainError) as exc:
        return _hub_error(exc)
    finally:
        store.close()
    emit(None, out)
    return 0 if not out["refused"] and not out["audit"]["refused"] else 1  # an operator must look


def cmd_hub_decide(args: argparse.Namespace) -> int:
    from sync.hub.errors import HubError

    store = _store(args)
    try:
        out = store.decide(
            number=args.number,
            item_id=args.item,
            decision=args.decision,
            reason=args.reason or "",
            department=args.department or "",
        )
    except HubError as exc:
        return _hub_error(exc)
    finally:
        store.close()
    emit(None, out)
    return 0


def cmd_hub_receipt_keys(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        keys = store.receipt_keys(args.station)
    finally:
        store.close()
    emit(None, keys)
    return 0


def cmd_hub_stations(args: argparse.Namespace) -> int:
    from sync.hub.ops import stations

    store = _store(args)
    try:
        rows = stations(store)
    finally:
        store.close()
    if args.json:
        emit(None, rows)
        return 0
    head = ("站点", "名称", "最后联系", "距今", "待传事件", "缺页", "客户端版本", "目录版本")
    table = [head]
    for r in rows:
        age = r["last_seen_age_s"]
        table.append(
            (
                r["station"] + ("" if r["enrolled"] else "（未登记）"),
                r["name"] or "—",
                (r["last_seen_at"] or "从未联系")[:19].replace("T", " "),
                "—" if age is None else _age_text(age),
                "—" if r["backlog_events"] is None else str(r["backlog_events"]),
                str(r["pages_missing"]),
                r["client_version"] or "—",
                r["catalog_version"] or "—",
            )
        )
    for row in table:
        print("  ".join(row))
    return 0


def cmd_hub_ratings(args: argparse.Namespace) -> int:
    from app.rating_levels import LEVELS
    from sync.hub.ratings import rating_summary

    store = _store(args)
    try:
        rows = rating_summary(store)
    finally:
        store.close()
    if args.json:
        emit(None, rows)
        return 0
    print("  ".join(["站点", *(label for _c, label, _s in LEVELS), "未评价", "待整改差评"]))
    for r in rows:
        levels = [str(r["levels"][code]) for code, _l, _s in LEVELS]
        print("  ".join([r["station"], *levels, str(r["declined"]), str(r["open_followups"])]))
    return 0


def _blobs(args: argparse.Namespace) -> Any:
    """The page store the settings name, as stored (backups copy pages sealed): no sealer."""
    from sync.hub.server import open_blobs

    return open_blobs(_settings(args), _NoSealer())


class _NoSealer:
    sealer = None


def cmd_hub_backup(args: argparse.Namespace) -> int:
    from sync.hub.backup import backup
    from sync.hub.server import default_db_url

    out = backup(_settings(args).db_url() or default_db_url(), _blobs(args), args.dest)
    emit(None, out)
    return 0


def cmd_hub_restore(args: argparse.Namespace) -> int:
    from sync.hub.backup import restore
    from sync.hub.server import default_db_url

    out = restore(_settings(args).db_url() or default_db_url(), _blobs(args), args.src)
    emit(None, out)
    return 0


def _age_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} 秒"
    if seconds < 7200:
        return f"{seconds // 60} 分钟"
    if seconds < 172800:
        return f"{seconds // 3600} 小时"
    return f"{seconds // 86400} 天"


# ----------------------------------------------------------------------------- station / sync


def _engine(args: argparse.Namespace) -> tuple[Any, Any]:
    from app.context import build_context
    from sync.engine import SyncEngine

    ctx = build_context(args.db, create=bool(getattr(args, "create", False)))
    return ctx, SyncEngine.from_context(ctx)


def cmd_station_enroll(args: argparse.Namespace) -> int:
    ctx, engine = _engine(args)
    try:
        out = engine.enroll(args.url, args.code, ca_bundle=args.ca_bundle, proxy=args.proxy)
    finally:
        ctx.close()
    if args.json:
        emit(None, out)
    else:
        print(f"站点 {out['station_code']} 已登记到 {out['hub_url']}；凭据已保存在系统密钥环。")
    return 0


def cmd_station_show(args: argparse.Namespace) -> int:
    ctx, engine = _engine(args)
    try:
        out = {
            "hub_url": engine.outbox.get("hub_url"),
            "station_code": engine.outbox.get("station_code"),
            "token_id": engine.outbox.get("token_id"),
            "store_id": engine.outbox.store_id(),
            "ca_bundle": engine.outbox.get("ca_bundle"),
            "proxy": engine.outbox.get("proxy"),
            "token_in_keyring": engine.link.token() is not None,
        }
    finally:
        ctx.close()
    emit(None, out)
    return 0


def cmd_station_configure(args: argparse.Namespace) -> int:
    ctx, engine = _engine(args)
    try:
        engine.configure(
            ca_bundle=False if args.ca_bundle is None else (args.ca_bundle or None),
            proxy=False if args.proxy is None else (args.proxy or None),
        )
        out = {"ca_bundle": engine.outbox.get("ca_bundle"), "proxy": engine.outbox.get("proxy")}
    finally:
        ctx.close()
    emit(None, out)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    ctx, engine = _engine(args)
    try:
        if args.export:
            summary = engine.export(args.export)
            emit(
                None,
                {
                    "file": str(summary.path),
                    "export_id": summary.export_id,
                    "events": summary.events,
                    "pages": summary.pages,
                    "page_bytes": summary.page_bytes,
                    "size": summary.size,
                    "first_seq": summary.first_seq,
                    "last_seq": summary.last_seq,
                },
            )
            return 0
        if args.status:
            emit(None, engine.status().to_json())
            return 0
        if args.queue:
            emit(None, [q.to_json() for q in engine.queue()])
            return 0
        if args.retry:
            n = engine.retry(None if args.retry == "all" else args.retry)
            emit(None, {"retry_requested": n})
            return 0
        report = engine.run_until_idle(max_seconds=args.max_wait)
        out = report.to_json()
        out["needs_person"] = [q.to_json() for q in engine.queue() if q.state == "needs_person"]
        emit(None, out)
        if engine.needs_person():
            return 1
        return 0 if engine.status().waiting == 0 else EXIT_WAITING
    finally:
        ctx.close()


def cmd_hub_notices(args: argparse.Namespace) -> int:
    from sync.hub.notices_cli import cmd_hub_notices as run

    return run(args, lambda: _store(args))


def register(sub: Any) -> None:
    _register_hub(sub)
    _register_station(sub)


def hub_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=None,
        help="平台数据库 URL，不得含密码（默认取配置文件或 INTAKE_HUB_DB，"
        "再默认 sqlite:///数据目录/hub.sqlite3）",
    )
    p.add_argument("--config", type=Path, help="平台配置文件（TOML；或 INTAKE_HUB_CONFIG）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")


def _register_hub(sub: Any) -> None:
    hub = sub.add_parser("hub", help="县级同步平台（参考实现）").add_subparsers(
        dest="hub_command", metavar="SUB"
    )
    hub.required = True

    p = hub.add_parser(
        "notices", help="发给申请人的短信通知：待发、失败与已发（--retry 重发失败的）"
    )
    p.add_argument("--status", choices=NOTICE_STATUSES, help="只列出该状态的通知")
    p.add_argument("--number", help="只列出该受理编号的通知")
    p.add_argument("--limit", type=int, default=200, help="最多列出条数（最新的）")
    p.add_argument("--retry", action="store_true", help="把发送失败的通知重新排队发送")
    hub_db(p)
    p.set_defaults(func=cmd_hub_notices)

    p = hub.add_parser("serve", help="启动平台服务")
    _serve_flags(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=cmd_hub_serve)

    p = hub.add_parser("enroll-code", help="为站点生成一次性登记码")
    p.add_argument("--station", required=True, help="站点编码，如 XX01")
    p.add_argument("--name", help="站点名称")
    p.add_argument("--valid-hours", type=float, default=72)
    p.add_argument("--county", help="县（区）行政区划代码：站点数据用该县的数据密钥加密")
    hub_db(p)
    p.set_defaults(func=cmd_hub_enroll_code)

    p = hub.add_parser("rewrap", help="用最新主密钥重新包装全部数据密钥（主密钥轮换后）")
    p.add_argument("--blobs", default=None, help="页面文件目录（默认：数据目录/hub-blobs）")
    hub_db(p)
    p.set_defaults(func=cmd_hub_rewrap)

    p = hub.add_parser("revoke", help="吊销站点凭据")
    p.add_argument("--station", required=True)
    hub_db(p)
    p.set_defaults(func=cmd_hub_revoke)

    p = hub.add_parser("dept-key", help="生成部门接口密钥")
    p.add_argument("--name", required=True, help="部门名称")
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument(
        "--item", action="append", help="推送给该部门的事项 id（可重复）；部门只看到并登记这些事项"
    )
    scope.add_argument("--all-items", action="store_true", help="全部事项（县行政审批局自用）")
    hub_db(p)
    p.set_defaults(func=cmd_hub_dept_key)

    p = hub.add_parser("publish-catalog", help="发布事项目录（目录文件夹或打包文件）")
    p.add_argument("path", type=Path)
    p.add_argument("--force", action="store_true", help="允许发布比当前更早的版本")
    hub_db(p)
    p.set_defaults(func=cmd_hub_publish)

    p = hub.add_parser("import", help="导入站点U盘导出文件")
    p.add_argument("file", type=Path)
    p.add_argument("--blobs", default=None)
    hub_db(p)
    p.set_defaults(func=cmd_hub_import)

    p = hub.add_parser("decide", help="登记部门办理结果")
    p.add_argument("number", help="受理编号")
    p.add_argument("item", help="事项 id")
    p.add_argument("decision", choices=("accepted", "rejected", "completed"))
    p.add_argument("--reason")
    p.add_argument("--department")
    hub_db(p)
    p.set_defaults(func=cmd_hub_decide)

    p = hub.add_parser(
        "receipt-keys", help="输出站点回执签名公钥（JSON，供 intake verify-receipt --keys 使用）"
    )
    p.add_argument("--station", help="只输出该站点的公钥")
    hub_db(p)
    p.set_defaults(func=cmd_hub_receipt_keys)

    _register_hub_ops(hub)


def _register_hub_ops(hub: Any) -> None:
    """Backups and the stations' listing: what the county's IT team runs."""
    p = hub.add_parser("backup", help="备份平台数据库与全部页面（先数据库后页面，运行中即可备份）")
    p.add_argument("dest", type=Path, help="备份目录（再次备份到同一目录只复制新页面）")
    p.add_argument("--blobs", default=None, help="页面文件目录（默认取配置）")
    hub_db(p)
    p.set_defaults(func=cmd_hub_backup)

    p = hub.add_parser("restore", help="把备份恢复到空的平台数据库与页面存储")
    p.add_argument("src", type=Path, help="备份目录")
    p.add_argument("--blobs", default=None, help="页面文件目录（默认取配置）")
    hub_db(p)
    p.set_defaults(func=cmd_hub_restore)

    p = hub.add_parser(
        "stations", help="列出各站点最后联系时间、待传积压、客户端与目录版本（时间为 UTC）"
    )
    hub_db(p)
    p.set_defaults(func=cmd_hub_stations)

    p = hub.add_parser("ratings", help="按站点统计好差评：各等级、未评价、待整改差评")
    hub_db(p)
    p.set_defaults(func=cmd_hub_ratings)


def _register_station(sub: Any) -> None:
    def local_db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", type=Path, default=None, help="数据库文件（默认：本机用户数据目录）")
        p.add_argument("--json", action="store_true", help="以 JSON 输出")

    st = sub.add_parser("station", help="本站点与县级平台的登记").add_subparsers(
        dest="station_command", metavar="SUB"
    )
    st.required = True
    p = st.add_parser("enroll", help="用登记码登记本站点（凭据存入系统密钥环）")
    p.add_argument("url", help="平台地址，如 https://hub.example.gov.cn")
    p.add_argument("code", help="县行政审批局提供的一次性登记码")
    p.add_argument("--ca-bundle", help="政务外网 CA 证书文件（PEM）")
    p.add_argument("--proxy", help="HTTP 代理，如 http://10.1.1.1:3128")
    local_db(p)
    p.set_defaults(func=cmd_station_enroll)
    p = st.add_parser("show", help="显示登记信息（不显示凭据）")
    local_db(p)
    p.set_defaults(func=cmd_station_show)
    p = st.add_parser("configure", help="设置 CA 证书文件或代理（空字符串表示清除）")
    p.add_argument("--ca-bundle")
    p.add_argument("--proxy")
    local_db(p)
    p.set_defaults(func=cmd_station_configure)

    p = sub.add_parser("sync", help="与县级平台同步")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--once", action="store_true", help="上传全部待传资料、拉取办理结果和目录后退出"
    )
    mode.add_argument(
        "--export", type=Path, metavar="FILE", help="把待传资料导出为U盘文件（加密并签名）"
    )
    mode.add_argument("--status", action="store_true", help="同步状态")
    mode.add_argument("--queue", action="store_true", help="同步队列")
    mode.add_argument("--retry", metavar="ITEM", help="重试需人工处理的项（ITEM 或 all）")
    p.add_argument(
        "--max-wait", type=float, default=60.0, help="网络不通时最多等待的秒数（默认 60）"
    )
    local_db(p)
    p.set_defaults(func=cmd_sync)
