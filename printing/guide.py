"""The 办事指南 leaflet (咨询告知单) as PDF: what a consultation at the window hands over before
any applicant exists — items with departments and time limits, every material with its 受理标准,
免提交 and 容缺 where the catalog allows them, the procedure, and where to apply.

Same paper metrics, fonts and table look as the intake documents (printing/layout.py). Pure:
the same GuideDocument gives the same bytes. No personal data exists to leak.
"""

from __future__ import annotations

import logging
from typing import Any

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from app.guide import GuideDocument
from printing.fonts import FontSet, default_font_set
from printing.layout import (
    GRID,
    METRICS,
    SHADE,
    Paper,
    draw_runs,
    fmt_datetime,
    render_pdf,
)

log = logging.getLogger("intake.printing.guide")

TITLE = "办事指南"
DISCLAIMER = (
    "本指南依据所选事项和所答情形，按现行一件事目录生成，供咨询时一次告知；"
    "实际所需材料以窗口收件时的核对结果为准。可容缺的材料须签署告知承诺书，并在承诺期限内补交。"
)


class _Ctx:
    def __init__(self, paper: str, fonts: FontSet) -> None:
        if paper not in METRICS:
            raise ValueError(f"paper must be A4 or A5, not {paper!r}")
        self.m = m = METRICS[paper]
        self.fonts = fonts
        self.width = m.page[0] - 2 * m.margin
        self.body = ParagraphStyle(
            "g_body", fontName=fonts.primary, fontSize=m.body, leading=m.body * 1.4, wordWrap="CJK"
        )
        self.small = ParagraphStyle(
            "g_small", parent=self.body, fontSize=m.small, leading=m.small * 1.35
        )
        self.cell = ParagraphStyle("g_cell", parent=self.body, leading=m.body * 1.25)
        self.cell_c = ParagraphStyle("g_cell_c", parent=self.cell, alignment=TA_CENTER)
        self.centre = ParagraphStyle(
            "g_centre", parent=self.body, fontSize=m.centre, leading=m.centre * 1.4,
            alignment=TA_CENTER,
        )  # fmt: skip
        self.title = ParagraphStyle(
            "g_title", parent=self.body, fontSize=m.title, leading=m.title * 1.3,
            alignment=TA_CENTER, spaceAfter=m.body * 0.3,
        )  # fmt: skip
        self.section = ParagraphStyle(
            "g_section", parent=self.body, fontSize=m.body + 1, leading=(m.body + 1) * 1.4,
            spaceBefore=m.body * 0.5, spaceAfter=m.body * 0.2,
        )  # fmt: skip

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(self.fonts.markup(text), style or self.body)

    def c(self, text: str, centred: bool = False) -> Paragraph:
        return self.p(text, self.cell_c if centred else self.cell)

    def grid(self, rows: list[list[Any]], fractions: tuple[float, ...]) -> Table:
        total = sum(fractions)
        table = Table(rows, colWidths=[self.width * f / total for f in fractions], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return table


def _head(ctx: _Ctx, doc: GuideDocument) -> list[Flowable]:
    facts = [
        f"牵头部门：{doc.lead_department}",
        f"咨询时间：{fmt_datetime(doc.issued_at)}",
        f"咨询窗口：{doc.station_name}　{doc.clerk_name}",
    ]
    if doc.reference:
        facts.insert(0, f"咨询编号：{doc.reference}")
    out: list[Flowable] = [
        ctx.p(doc.centre_name, ctx.centre),
        ctx.p(f"{doc.bundle_name}“一件事”{TITLE}", ctx.title),
        ctx.p("（咨询辅导 · 一次告知）", ctx.centre),
        Spacer(1, ctx.m.body * 0.4),
        ctx.p("　".join(facts), ctx.small),
    ]
    if doc.description:
        out.append(ctx.p(doc.description, ctx.small))
    if doc.answers:
        shown = "；".join(f"{q}：{a}" for q, a in doc.answers)
        out.append(ctx.p(f"所答情形：{shown}"))
    if doc.open_questions:
        out.append(
            ctx.p("尚未确认的情形（确认后可能增加事项或材料）：" + "；".join(doc.open_questions))
        )
    return out


def _items(ctx: _Ctx, doc: GuideDocument) -> list[Flowable]:
    head = ["序号", "事项名称", "承办部门", "承诺时限", "法定时限"]
    rows: list[list[Any]] = [[ctx.c(h, centred=True) for h in head]]
    for i, item in enumerate(doc.items, start=1):
        name = item.name + (f"（{item.reason}）" if item.reason else "")
        rows.append(
            [
                ctx.c(str(i), centred=True),
                ctx.c(name),
                ctx.c(item.department),
                ctx.c(item.time_limit, centred=True),
                ctx.c(item.statutory_limit or "—", centred=True),
            ]
        )
    return [
        ctx.p(f"一、办理事项（共{len(doc.items)}项）", ctx.section),
        ctx.grid(rows, (0.07, 0.37, 0.3, 0.13, 0.13)),
    ]


def _materials(ctx: _Ctx, doc: GuideDocument) -> list[Flowable]:
    head = ["序号", "材料名称", "形式及份数", "受理标准", "说明"]
    rows: list[list[Any]] = [[ctx.c(h, centred=True) for h in head]]
    for m in doc.materials:
        explain = m.note
        if m.how_to_obtain:
            explain = f"{explain}；取得方式：{m.how_to_obtain}" if explain else m.how_to_obtain
        rows.append(
            [
                ctx.c(str(m.seq), centred=True),
                ctx.c(m.name),
                ctx.c(f"{m.form}{m.copies}份" if m.copies else m.form, centred=True),
                ctx.c(m.acceptance_standard),
                ctx.c(explain),
            ]
        )
    return [
        ctx.p(f"二、申请材料（一套材料，共{len(doc.materials)}项）", ctx.section),
        ctx.grid(rows, (0.07, 0.22, 0.14, 0.3, 0.27)),
    ]


def _rest(ctx: _Ctx, doc: GuideDocument) -> list[Flowable]:
    out: list[Flowable] = [ctx.p("三、办理流程", ctx.section)]
    out += [ctx.p(f"{i}. {step}") for i, step in enumerate(doc.steps, start=1)]
    out.append(ctx.p("四、办理地点与咨询", ctx.section))
    out.append(ctx.p(f"办理地点：{doc.where}"))
    if doc.progress_phone:
        out.append(ctx.p(f"咨询电话：{doc.progress_phone}"))
    out += [Spacer(1, ctx.m.body * 0.6), ctx.p(f"注意事项：{DISCLAIMER}", ctx.small)]
    return out


def guide_text(doc: GuideDocument) -> str:
    """Every text the leaflet prints (for the font coverage check)."""
    parts = [doc.centre_name, doc.station_name, doc.clerk_name, doc.bundle_name, doc.where]
    parts += [doc.lead_department, doc.description, *doc.open_questions, *doc.steps]
    parts += [q + a for q, a in doc.answers]
    for item in doc.items:
        parts += [item.name, item.department, item.time_limit, item.reason]
    for m in doc.materials:
        parts += [m.name, m.form, m.acceptance_standard, m.how_to_obtain, m.note]
    return "".join(parts)


def build_guide_pdf(doc: GuideDocument, paper: Paper = "A4", fonts: FontSet | None = None) -> bytes:
    ctx = _Ctx(paper, fonts or default_font_set())

    def footer(canvas: Canvas, _template: Any) -> None:
        parts = [f"{doc.bundle_name} {TITLE}", f"第{canvas.getPageNumber()}页"]
        if doc.reference:
            parts.insert(0, f"咨询编号：{doc.reference}")
        canvas.saveState()
        draw_runs(canvas, ctx.fonts, "　".join(parts), ctx.m.page[0] / 2, ctx.m.margin * 0.55,
                  ctx.m.small)  # fmt: skip
        canvas.restoreState()

    data = render_pdf(
        ctx.m,
        lambda: _head(ctx, doc) + _items(ctx, doc) + _materials(ctx, doc) + _rest(ctx, doc),
        title=f"{TITLE} {doc.bundle_name}",
        author=doc.centre_name,
        subject=TITLE,
        on_page=footer,
    )
    if ctx.fonts.uncovered(guide_text(doc)):
        log.warning("guide %s: some characters have no glyph in any font", doc.bundle_id)
    return data
