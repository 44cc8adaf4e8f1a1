"""`intake submit | supplement | withdraw | deliver`: the counter's actions without the window.

Each command drives the same IntakeService calls the window makes (start → applicant → bundle and
items → answers → marks → finish, then for every document: build → keep with the submission →
print), here printing to PDF files in --print-dir. All of one command's calls run inside one
database transaction: a refusal at any step (an invalid ID number at finish, an unknown material,
a full disk while writing a PDF) leaves nothing of the command in the store and no PDF behind.

The intake file's format: app/cli/intake_file.py.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.agent import AgentService
from app.cli.intake_file import IntakeRequest, SubmitError, read_request
from app.cliout import emit
from app.delivery import DeliveryProofs
from app.documents import DocKind
from app.errors import IntakeError
from app.intake import IntakeService
from app.intake_documents import IntakeDocuments
from app.intake_pages import IntakePages
from app.ledger import IntakeQueries
from app.options import REUSE_MAX_AGE_DAYS, from_env
from app.reuse import ReuseService
from app.views import StaffView

log = logging.getLogger("intake.submit")

DOC_TITLES = {
    "receipt": "收件回执",
    "notice": "一次告知通知书",
    "commitment": "容缺受理告知承诺书",
    "return_list": "撤回申请材料退还清单",
    "supplement": "补正材料收件回执",
    "delivery_proof": "送达凭证",
}


# ----------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class Services:
    """The intake services of one command, sharing its transaction."""

    intake: IntakeService
    pages: IntakePages
    documents: IntakeDocuments
    queries: IntakeQueries
    reuse: ReuseService
    agents: AgentService
    deliveries: DeliveryProofs


@contextlib.contextmanager
def atomic(ctx: Any) -> Iterator[tuple[Services, sessionmaker[Any]]]:
    """Intake services whose every call runs inside one transaction (each call's own becomes a
    savepoint), committed when the block ends and rolled back whole when it raises. Attachment
    blobs written meanwhile (kept PDFs) are removed again on rollback, unless they existed."""
    engine = ctx.sessions.kw["bind"]
    conn = engine.connect()
    conn.execution_options(immediate=True)  # BEGIN IMMEDIATE: take the write lock up front
    tx = conn.begin()
    sessions: sessionmaker[Any] = sessionmaker(
        bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    store = _TrackingBlobs(ctx.attachments)
    parts = (sessions, ctx.catalogs, store, ctx.clock, ctx.signer)
    service = Services(
        IntakeService(*parts),  # type: ignore[arg-type]
        IntakePages(*parts),  # type: ignore[arg-type]
        IntakeDocuments(*parts),  # type: ignore[arg-type]
        IntakeQueries(*parts),  # type: ignore[arg-type]
        ReuseService(*parts),  # type: ignore[arg-type]
        AgentService(*parts),  # type: ignore[arg-type]
        DeliveryProofs(*parts),  # type: ignore[arg-type]
    )
    service.reuse.configure(from_env(REUSE_MAX_AGE_DAYS) or REUSE_MAX_AGE_DAYS.default)
    try:
        yield service, sessions
        tx.commit()
    except BaseException:
        tx.rollback()
        store.forget_new()
        raise
    finally:
        conn.close()


class _TrackingBlobs:
    """The attachment store, remembering which blobs this command created."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._new: list[str] = []

    def put(self, data: bytes, **kw: Any) -> str:
        existed = self._inner.has(hashlib.sha256(data).hexdigest())  # blobs are named by it
        got: str = self._inner.put(data, **kw)
        if not existed:
            self._new.append(got)
        return got

    def forget_new(self) -> None:
        for sha in self._new:
            with contextlib.suppress(OSError):
                self._inner.path(sha).unlink()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _clerk(sessions: sessionmaker[Any], username: str) -> StaffView:
    from app.staff import staff_view
    from local_db.models import Staff

    with sessions() as s:
        staff = s.scalars(select(Staff).where(Staff.username == username)).first()
        if staff is None:
            raise SubmitError("submit.unknown_clerk", clerk=username)
        if not staff.active:
            raise SubmitError("submit.clerk_inactive", clerk=username)
        return staff_view(staff)


def _unknown_materials(catalog: Any, marks: Mapping[str, object]) -> None:
    from app.catalog import split_line_id

    for material in marks:  # a line id: a material, or one person's copy ("<material>.<person>")
        if split_line_id(material)[0] not in catalog.materials:
            raise SubmitError("submit.unknown_material", material=material)


@dataclass
class _Printed:
    paths: dict[str, str | None] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)


def _print(
    service: Services,
    actor: StaffView,
    sid: str,
    kinds: Sequence[DocKind],
    out_dir: Path | None,
    paper: str,
    printed: _Printed,
) -> None:
    """Each document as the window prints it: rebuilt from the store, built, kept, then sent to
    the 'printer' (a PDF file in OUT_DIR)."""
    from printing.documents import build_document

    for kind in kinds:
        doc = service.documents.document(actor, sid, kind)
        pdf = build_document(doc, paper)  # type: ignore[arg-type]
        _keep(service, actor, sid, kind, doc.number, pdf, out_dir, printed)


def _keep(
    service: Services,
    actor: StaffView,
    sid: str,
    kind: str,
    number: str,
    pdf: bytes,
    out_dir: Path | None,
    printed: _Printed,
) -> None:
    """Kept with the intake, then sent to the 'printer': a PDF file in OUT_DIR."""
    service.documents.save_document(actor, sid, kind, pdf, printed=out_dir is not None)  # type: ignore[arg-type]
    if out_dir is None:
        printed.paths[kind] = None
        return
    target = out_dir / f"{number}-{kind}.pdf"
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        raise SubmitError(
            "submit.write_failed", file=str(target), reason=exc.strerror or exc
        ) from exc
    printed.written.append(target)
    printed.paths[kind] = str(target)


def _print_dir(args: argparse.Namespace) -> Path | None:
    if args.print_dir is None:
        return None
    out = Path(args.print_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SubmitError("submit.print_dir", out=out, reason=exc.strerror or exc) from exc
    return out


@contextlib.contextmanager
def _command(
    args: argparse.Namespace,
) -> Iterator[tuple[Any, Services, sessionmaker[Any], _Printed]]:
    """The store, an all-or-nothing service, and the PDFs written (removed again on failure)."""
    from app.context import build_context

    ctx = build_context(args.db)
    printed = _Printed()
    try:
        with atomic(ctx) as (service, sessions):
            yield ctx, service, sessions, printed
    except BaseException:
        for path in printed.written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    finally:
        ctx.close()


# ----------------------------------------------------------------------------- commands


def run_submit(args: argparse.Namespace) -> int:
    request = read_request(args.file)
    out_dir = _print_dir(args)
    with _command(args) as (ctx, service, sessions, printed):
        actor = _clerk(sessions, request.clerk)
        catalog = ctx.catalogs.current
        _unknown_materials(catalog, request.marks)
        sid = service.intake.start(actor)
        service.intake.set_applicant(actor, sid, request.applicant)
        priority = _agent_and_priority(service, actor, sid, request)
        jurisdiction = _jurisdiction(sessions, actor)
        service.intake.choose(
            actor,
            sid,
            catalog.resolve_one(request.bundle, jurisdiction, "intake").id,
            list(request.items) if request.items is not None else None,
        )
        if request.answers:
            service.intake.answer_many(actor, sid, request.answers)
        if request.marks:
            service.intake.mark_many(actor, sid, request.marks)
        reused = _take_reuse(service, actor, sid, request.reuse)
        result = service.intake.finish(actor, sid)
        for line_id, data, mime in request.pages:  # captured after finishing, as at the counter
            service.pages.attach_page(actor, sid, line_id, data, mime)
        _print(service, actor, sid, result.documents, out_dir, args.paper, printed)
        names = {m.id: m.name for m in result.checklist.materials}
    summary = {
        "number": result.number,
        "outcome": result.stage,
        "verdict": result.verdict,
        "documents": printed.paths,
        "missing": [{"id": m, "name": names[m]} for m in result.checklist.missing],
        "tolerated": [{"id": m, "name": names[m]} for m in result.checklist.tolerated],
        "tolerance_due": result.tolerance_due.isoformat() if result.tolerance_due else None,
        "pages": len(request.pages),
        "agent": request.agent is not None,
        "priority": priority,
        "warnings": list(request.warnings),
        "reused": reused,
    }
    log.info("intake %s submitted from a file: %s", result.number, result.stage)
    heading = {"received": "已收件", "notified": "材料不齐，已出具一次告知通知书"}[result.stage]
    emit(args, summary, _text_report(f"{result.number} {heading}", printed, request.warnings))
    return 0


def _take_reuse(service: Services, actor: StaffView, sid: str, wanted: Any) -> list[dict[str, str]]:
    """一人一档 from the intake file: what was taken, with its origin."""
    if wanted is None:
        return []
    if wanted == "all":
        offer = service.reuse.offer(sid)
        fields = [f.field for f in offer.fields]
        materials = [m.line_id for m in offer.materials]
    else:
        fields, materials = list(wanted[0]), list(wanted[1])
    taken = service.reuse.accept(actor, sid, fields, materials)
    return [
        {"kind": r.kind, "id": r.key, "from": r.origin.number, "date": r.origin.date.isoformat()}
        for r in taken
    ]


def _agent_and_priority(
    service: Services, actor: StaffView, sid: str, request: IntakeRequest
) -> str:
    """帮办代办 and 优先办 from the file, before the items (the agent's papers join the list)."""
    if request.agent is not None:
        service.agents.set_agent(actor, sid, request.agent)
    priority = request.priority
    if priority == "auto":  # what the window offers the clerk: elderly from the birth date
        priority = service.agents.suggestion(sid)
    if priority:
        service.agents.set_priority(actor, sid, priority)
    return priority


def _jurisdiction(sessions: sessionmaker[Any], actor: StaffView) -> str | None:
    from local_db.models import Station

    with sessions() as s:
        station = s.get(Station, actor.station_id)
        return station.jurisdiction if station is not None else None


def _find(service: Services, number: str) -> str:
    sid = service.queries.find_by_number(number)
    if sid is None:
        raise IntakeError("intake.unknown_number", number=number)
    return sid


def run_supplement(args: argparse.Namespace) -> int:
    out_dir = _print_dir(args)
    materials = _split(args.material)
    if not materials:
        raise SubmitError("submit.no_materials")
    with _command(args) as (_ctx, service, sessions, printed):
        actor = _clerk(sessions, args.clerk)
        sid = _find(service, args.number)
        service.intake.supplement(actor, sid, materials)
        _print(service, actor, sid, ("supplement",), out_dir, args.paper, printed)
        view = service.queries.get(sid)
    data = {
        "number": view.number,
        "stage": view.stage,
        "awaiting_supplement": view.awaiting_supplement,
        "still_owed": list(view.tolerated_outstanding),
        "tolerance_due": view.tolerance_due.isoformat() if view.tolerance_due else None,
        "documents": printed.paths,
    }
    emit(args, data, _text_report(f"{view.number} 已登记补正", printed, ()))
    return 0


def run_withdraw(args: argparse.Namespace) -> int:
    out_dir = _print_dir(args)
    with _command(args) as (_ctx, service, sessions, printed):
        actor = _clerk(sessions, args.clerk)
        sid = _find(service, args.number)
        service.intake.withdraw(actor, sid, args.reason or "")
        _print(service, actor, sid, ("return_list",), out_dir, args.paper, printed)
        view = service.queries.get(sid)
    data = {"number": view.number, "stage": view.stage, "documents": printed.paths}
    emit(args, data, _text_report(f"{view.number} 已撤回", printed, ()))
    return 0


def run_deliver(args: argparse.Namespace) -> int:
    out_dir = _print_dir(args)
    with _command(args) as (_ctx, service, sessions, printed):
        actor = _clerk(sessions, args.clerk)
        sid = _find(service, args.number)
        items = _split(args.item) or None
        service.intake.deliver(
            actor,
            sid,
            method=args.method,
            items=items,
            tracking_number=args.tracking_number or "",
            address=args.address or "",
            carrier=args.carrier or "",
            recipient=args.recipient or "",
        )
        _print_proof(service, actor, sid, out_dir, args.paper, printed)
        view = service.queries.get(sid)
    data = {
        "number": view.number,
        "stage": view.stage,
        "delivery_method": view.delivery_method,
        "documents": printed.paths,
    }
    how = "窗口领取" if view.delivery_method == "window" else "邮寄"
    emit(args, data, _text_report(f"{view.number} 已登记送达（{how}）", printed, ()))
    return 0


def _print_proof(
    service: Services,
    actor: StaffView,
    sid: str,
    out_dir: Path | None,
    paper: str,
    printed: _Printed,
) -> None:
    """The 送达凭证 of the delivery just recorded: built, kept with the intake, printed."""
    from printing.handover import build_delivery_proof

    proof = service.deliveries.proof(sid)
    pdf = build_delivery_proof(proof, paper)  # type: ignore[arg-type]
    _keep(service, actor, sid, "delivery_proof", proof.number, pdf, out_dir, printed)


def _split(values: Sequence[str] | None) -> list[str]:
    return [v.strip() for raw in values or () for v in raw.split(",") if v.strip()]


def _text_report(heading: str, printed: _Printed, warnings: Sequence[str]) -> str:
    lines = [heading]
    for kind, path in printed.paths.items():
        lines.append(
            f"  {DOC_TITLES.get(kind, kind)}：{path or '已保存到受理记录（未指定 --print-dir）'}"
        )
    lines += [f"  注意：{w}" for w in warnings]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- parser


def _common(p: argparse.ArgumentParser, *, prints: bool = True) -> None:
    if prints:
        p.add_argument(
            "--print-dir", help="把打印的文书以 PDF 写入此目录（默认：只保存到受理记录）"
        )
        p.add_argument("--paper", choices=("A4", "A5"), default="A4")
    p.add_argument("--db", type=Path, default=None, help="数据库文件（默认：本机用户数据目录）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("submit", help="按受理文件（JSON）完成一次收件并打印文书")
    p.add_argument("file", help="受理文件（JSON；- 表示标准输入）")
    _common(p)
    p.set_defaults(func=run_submit)

    p = subparsers.add_parser("supplement", help="登记补正（容缺材料补交）并打印补正材料收件回执")
    p.add_argument("number", help="受理编号")
    p.add_argument(
        "--material", action="append", metavar="ID", help="补交的材料 id，可重复或逗号分隔"
    )
    p.add_argument("--clerk", required=True, help="经办人登录名")
    _common(p)
    p.set_defaults(func=run_supplement)

    p = subparsers.add_parser("withdraw", help="撤回申请并打印材料退还清单")
    p.add_argument("number", help="受理编号")
    p.add_argument("--reason", required=True, help="撤回原因")
    p.add_argument("--clerk", required=True, help="经办人登录名")
    _common(p)
    p.set_defaults(func=run_withdraw)

    p = subparsers.add_parser("deliver", help="登记送达（窗口领取或邮寄）并打印送达凭证")
    p.add_argument("number", help="受理编号")
    p.add_argument(
        "--method",
        choices=("window", "express"),
        required=True,
        help="window 窗口领取，express 邮寄",
    )
    p.add_argument(
        "--item",
        action="append",
        metavar="ID",
        help="送达的事项 id（默认：全部已办结或不予受理的）",
    )
    p.add_argument("--carrier", help="快递公司：ems post sf jd zto yto yunda sto jt（邮寄）")
    p.add_argument("--tracking-number", help="快递单号（邮寄必填，按快递公司的单号格式核对）")
    p.add_argument("--address", help="邮寄地址")
    p.add_argument("--recipient", help="领取人姓名（窗口领取；默认代办人或申请人）")
    p.add_argument("--clerk", required=True, help="经办人登录名")
    _common(p)
    p.set_defaults(func=run_deliver)
