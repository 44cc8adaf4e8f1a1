"""移交清单 (paper handed to a lead department) and 送达凭证 (a result delivered) as PDF.

Both use the layout helpers of the intake documents (printing/layout.py: styles, grids,
signature lines, font fallback); their data come from app/handover.py and app/delivery.py.
Builders are pure (``invariant=1``): the same data give the same bytes. The PDF metadata names
the document and its number only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Spacer

from app.delivery import DeliveryProof
from app.documents import DocApplicant, IntakeDocument
from app.handover import HandoverList
from printing.fonts import FontSet, default_font_set
from printing.layout import (
    DocContext,
    Paper,
    draw_runs,
    fmt_date,
    fmt_datetime,
    render_pdf,
)

log = logging.getLogger("intake.printing.handover")

HANDOVER_TITLE = "纸质材料移交清单"
PROOF_TITLE = "送达凭证"


def _context(number: str, centre: str, paper: str, fonts: FontSet | None) -> DocContext:
    """The shared styles and helpers; they read only the centre's name and a number from the
    document they are built for, so a carrier document stands in for a batch or a delivery."""
    carrier = IntakeDocument(
        kind="receipt",
        number=number,
        centre_name=centre,
        station_name="",
        clerk_name="",
        issued_at=None,  # type: ignore[arg-type]  # not read by the helpers used here
        bundle_name="",
        items=(),
        applicant=DocApplicant(kind="personal", name=""),
        materials=(),
        qr_payload=number,
        catalog_version="",
    )
    return DocContext(carrier, paper, fonts or default_font_set())


def _heading(ctx: DocContext, title: str, number_label: str, number: str) -> list[Flowable]:
    bar = Code128(
        number, barWidth=ctx.m.bar_width, barHeight=ctx.m.bar_height, humanReadable=0, quiet=1
    )
    bar.hAlign = "LEFT"
    return [
        ctx.p(ctx.doc.centre_name, ctx.centre),
        Paragraph(ctx.fonts.markup(title), ctx.title),
        ctx.p(f"{number_label}：{number}", ctx.number),
        bar,
        Spacer(1, ctx.m.body * 0.4),
    ]


def _handover_story(data: HandoverList) -> Callable[[DocContext], list[Flowable]]:
    def story(ctx: DocContext) -> list[Flowable]:
        out = _heading(ctx, HANDOVER_TITLE, "移交编号", data.number)
        out.append(
            ctx.key_values(
                [
                    ("接收部门", data.department),
                    ("受理日期", fmt_date(data.day)),
                    ("移交窗口", data.station_name),
                    ("移交时间", fmt_datetime(data.created_at)),
                    ("移交件数", f"{len(data.entries)}件"),
                    ("材料页数", f"{data.sheets}页（已数字化）"),
                ]
            )
        )
        out.append(ctx.section("移交明细（纸质原件及复印件）"))
        head = ("序号", "受理编号", "一件事 / 申请人", "材料名称", "原件/复印件", "份数", "页数")
        rows: list[list[Any]] = [[ctx.c(h, centred=True) for h in head]]
        spans: list[tuple[Any, ...]] = []
        for n, e in enumerate(data.entries, start=1):
            first = len(rows)
            who = f"{e.bundle_name}<br/>{ctx.fonts.markup(e.applicant_name)}"
            if e.priority:
                who += f"<br/>【优先办：{e.priority}】"
            for i, line in enumerate(e.paper):
                rows.append(
                    [
                        ctx.c(str(n), centred=True) if i == 0 else "",
                        ctx.p(e.number, ctx.small) if i == 0 else "",
                        Paragraph(who, ctx.cell) if i == 0 else "",
                        ctx.c(line.name),
                        ctx.c(line.form, centred=True),
                        ctx.c(str(line.copies), centred=True),
                        ctx.c("—" if line.pages is None else str(line.pages), centred=True),
                    ]
                )
            if len(rows) - first > 1:
                spans += [("SPAN", (c, first), (c, len(rows) - 1)) for c in range(3)]
        out.append(ctx.grid(rows, (0.05, 0.19, 0.2, 0.28, 0.12, 0.06, 0.06), extra=spans))
        out.append(Spacer(1, ctx.m.body * 0.8))
        out.append(
            ctx.p(
                f"以上纸质材料已由窗口移交{data.department}，接收人：{data.received_by}。"
                "双方核对件数、份数无误后签字。",
                ctx.body,
            )
        )
        out.append(Spacer(1, ctx.m.body * 0.5))
        out.append(
            ctx.signatures(
                [f"移交人（{data.clerk_name}）签字", f"接收人（{data.received_by}）签字"],
                "接收部门（盖章）",
            )
        )
        return out

    return story


def _proof_story(p: DeliveryProof) -> Callable[[DocContext], list[Flowable]]:
    def story(ctx: DocContext) -> list[Flowable]:
        out = _heading(ctx, PROOF_TITLE, "受理编号", p.number)
        pairs = [
            ("申请人", p.applicant_name),
            ("一件事", p.bundle_name),
            ("送达方式", p.method_label),
            ("送达时间", fmt_datetime(p.delivered_at)),
        ]
        if p.method == "express":
            pairs += [("快递公司", p.carrier), ("快递单号", p.tracking_number)]
            wide = [("收件人", p.recipient), ("邮寄地址", p.address)]
        else:
            wide = [("领取人", p.recipient)]
        wide += [("送达窗口", f"{p.station_name}（经办人：{p.clerk_name}）")]
        out.append(ctx.key_values(pairs, wide))
        out.append(ctx.section("送达的办理结果"))
        rows: list[list[Any]] = [[ctx.c("序号", centred=True), ctx.c("事项名称", centred=True)]]
        rows += [[ctx.c(str(n), centred=True), ctx.c(name)] for n, name in enumerate(p.items, 1)]
        out.append(ctx.grid(rows, (0.1, 0.9)))
        out.append(Spacer(1, ctx.m.body * 0.8))
        if p.method == "express":
            lead = "办理结果已交寄，可凭快递单号查询投递情况；签收以快递公司签收记录为准。"
            lines = ["经办人（签字）"]
        else:
            lead = "领取人已当面核对并领取以上办理结果。"
            lines = ["领取人（签字）", "经办人（签字）"]
        out.append(ctx.signatures(lines, "送达单位（盖章）", lead=lead))
        return out

    return story


def _build(
    ctx: DocContext, title: str, number: str, story: Callable[[DocContext], list[Flowable]]
) -> bytes:
    def footer(canvas: Canvas, _template: Any) -> None:
        text = f"{title}　{number}　第{canvas.getPageNumber()}页"
        canvas.saveState()
        draw_runs(canvas, ctx.fonts, text, ctx.m.page[0] / 2, ctx.m.margin * 0.55, ctx.m.small)
        canvas.restoreState()

    data = render_pdf(
        ctx.m,
        lambda: story(ctx),
        title=f"{title} {number}",
        author=ctx.doc.centre_name,
        subject=title,
        on_page=footer,
    )
    log.debug("built %s %s (%d bytes)", title, number, len(data))
    return data


def build_handover_list(
    data: HandoverList, paper: Paper = "A4", fonts: FontSet | None = None
) -> bytes:
    """纸质材料移交清单 of one batch, with the hand-over and receipt signature lines."""
    ctx = _context(data.number, data.centre_name, paper, fonts)
    return _build(ctx, HANDOVER_TITLE, data.number, _handover_story(data))


def build_delivery_proof(
    proof: DeliveryProof, paper: Paper = "A4", fonts: FontSet | None = None
) -> bytes:
    """送达凭证 of one delivery: who received it, how, when, and signature or tracking number."""
    ctx = _context(proof.number, proof.centre_name, paper, fonts)
    return _build(ctx, PROOF_TITLE, proof.number, _proof_story(proof))
