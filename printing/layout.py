"""What every printed document shares: paper metrics, styles and table helpers of one build
(DocContext), the QR and barcode flowables, the page footer, and the date and due-date texts.

The documents themselves are in printing/documents.py.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.documents import GENERATED_FORM_KINDS, DocMaterial, IntakeDocument
from app.validators import mask_phone, mask_resident_id
from printing.fonts import FontSet

Paper = Literal["A4", "A5"]

TITLES = {
    "receipt": "收件回执",
    "notice": "一次告知通知书",
    "commitment": "容缺受理告知承诺书",
    "return_list": "撤回申请材料退还清单",
    "supplement": "补正材料收件回执",
}
ELECTRONIC_MARK = "电子"  # the answer to an online application, sent back through the hub


# What the QR is for, per document. Every document carries the intake's signed code; only a
# receipt or a notice is the applicant's proof, so only there is it offered for checking.
QR_CHECKS = {
    "receipt": "右侧二维码用于核验回执真伪",
    "supplement": "右侧二维码用于核验回执真伪",
    "notice": "右侧二维码用于核验通知书真伪",
}
QR_AT_THE_WINDOW = "受理窗口扫描右侧二维码可调取本件"


def qr_line(kind: str, qr_payload: str) -> str:
    """The line under the intake number saying what the number and the QR are for."""
    # the QR is a link only when a query address is configured (app.receipts.query_base)
    if qr_payload.startswith(("http://", "https://")):
        return "凭本编号或扫描右侧二维码查询办理进度"
    if kind in GENERATED_FORM_KINDS:  # handed in at the window, not kept by the applicant
        return QR_AT_THE_WINDOW
    return "凭本编号到受理窗口查询办理进度；" + QR_CHECKS.get(kind, QR_AT_THE_WINDOW)


def title_of(doc: Any, kind: str) -> str:
    """A document's title; 电子… for the electronic answer to an online application."""
    return (ELECTRONIC_MARK if getattr(doc, "electronic", False) else "") + TITLES[kind]


REPRINT_MARK = "补打"
# Whether the identity was read from the card (or a licence QR) or typed: DOMAIN-FACTS / issue 4.
IDENTITY_SOURCES = {
    "card": "读卡核验",
    "licence_qr": "执照二维码核验",
    "ocr": "证件照片识别（已核对）",
    "reuse": "档案复用（经同意）",
    "typed": "手工录入",
}
# reportlab keeps per-document font subset state in shared TTFont objects: one build at a time.
BUILD_LOCK = threading.Lock()
GRID = colors.Color(0.25, 0.25, 0.25)
SHADE = colors.Color(0.92, 0.92, 0.92)


@dataclass(frozen=True)
class Metrics:
    page: tuple[float, float]
    margin: float
    body: float  # font size of body text (pt)
    small: float
    title: float
    centre: float
    qr: float  # QR side (pt)
    bar_width: float  # Code128 module width (pt)
    bar_height: float
    seal: float  # seal box width (pt)


METRICS: dict[str, Metrics] = {
    "A4": Metrics(A4, 15 * mm, 10, 8, 17, 13, 25 * mm, 0.30 * mm, 9 * mm, 34 * mm),
    "A5": Metrics(A5, 10 * mm, 8, 6.5, 14, 10, 22 * mm, 0.25 * mm, 7 * mm, 26 * mm),
}


class DocContext:
    """Styles and helpers of one build: one paper size, one font set."""

    def __init__(self, doc: IntakeDocument, paper: str, fonts: FontSet) -> None:
        if paper not in METRICS:
            raise ValueError(f"paper must be A4 or A5, not {paper!r}")
        self.doc = doc
        self.m = METRICS[paper]
        self.fonts = fonts
        self.width = self.m.page[0] - 2 * self.m.margin
        f, m = fonts.primary, self.m
        self.body = ParagraphStyle(
            "body", fontName=f, fontSize=m.body, leading=m.body * 1.4, wordWrap="CJK"
        )
        self.small = ParagraphStyle(
            "small", parent=self.body, fontSize=m.small, leading=m.small * 1.35
        )
        self.cell = ParagraphStyle("cell", parent=self.body, leading=m.body * 1.25)
        self.cell_c = ParagraphStyle("cell_c", parent=self.cell, alignment=TA_CENTER)
        self.centre = ParagraphStyle(
            "centre",
            parent=self.body,
            fontSize=m.centre,
            leading=m.centre * 1.4,
            alignment=TA_CENTER,
        )
        self.title = ParagraphStyle(
            "title",
            parent=self.body,
            fontSize=m.title,
            leading=m.title * 1.3,
            alignment=TA_CENTER,
            spaceAfter=m.body * 0.3,
        )
        self.section_style = ParagraphStyle(
            "section",
            parent=self.body,
            fontSize=m.body + 1,
            leading=(m.body + 1) * 1.4,
            spaceBefore=m.body * 0.4,
            spaceAfter=m.body * 0.15,
            alignment=TA_LEFT,
        )
        self.indent = ParagraphStyle("indent", parent=self.body, firstLineIndent=m.body * 2)
        self.number = ParagraphStyle(
            "number", parent=self.body, fontSize=m.body + 1.5, leading=(m.body + 1.5) * 1.5
        )
        self.copy_label = ParagraphStyle("copy_label", parent=self.small, alignment=TA_CENTER)

    # -- text ---------------------------------------------------------------------------------
    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(self.fonts.markup(text), style or self.body)

    def c(self, text: str, centred: bool = False) -> Paragraph:
        return self.p(text, self.cell_c if centred else self.cell)

    # -- tables -------------------------------------------------------------------------------
    def grid(
        self,
        rows: list[list[Any]],
        fractions: Sequence[float],
        header: bool = True,
        extra: Sequence[tuple[Any, ...]] = (),
    ) -> Table:
        total = sum(fractions)
        widths = [self.width * f / total for f in fractions]
        table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
        style: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.5, GRID),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
        table.setStyle(TableStyle(style + list(extra)))
        return table

    def key_values(
        self, pairs: Sequence[tuple[str, str]], wide: Sequence[tuple[str, str]] = ()
    ) -> Table:
        """Label/value pairs two to a row; WIDE pairs take a whole row each."""
        rows: list[list[Any]] = []
        extra: list[tuple[Any, ...]] = [("BACKGROUND", (0, 0), (0, -1), SHADE)]
        for i in range(0, len(pairs), 2):
            row: list[Any] = []
            for label, value in pairs[i : i + 2]:
                row += [self.c(label, centred=True), self.c(value)]
            r = len(rows)
            if len(row) == 2:
                row += ["", ""]
                extra.append(("SPAN", (1, r), (3, r)))
            else:
                extra.append(("BACKGROUND", (2, r), (2, r), SHADE))
            rows.append(row)
        for label, value in wide:
            extra.append(("SPAN", (1, len(rows)), (3, len(rows))))
            rows.append([self.c(label, centred=True), self.c(value), "", ""])
        return self.grid(rows, (0.17, 0.33, 0.17, 0.33), header=False, extra=extra)

    # -- blocks shared by every document -------------------------------------------------------
    def heading(self, title: str) -> list[Flowable]:
        doc, m = self.doc, self.m
        title_text = self.fonts.markup(title)
        if doc.reprint:
            mark_size = m.body + 3
            title_text += f' <font size="{mark_size}">【{REPRINT_MARK}】</font>'
        qr_drawing = QrFlowable(doc.qr_payload, m.qr)
        barcode = Code128(
            doc.number, barWidth=m.bar_width, barHeight=m.bar_height, humanReadable=0, quiet=1
        )
        barcode.hAlign = "LEFT"
        left: list[Flowable] = [
            self.p(f"受理编号：{doc.number}", self.number),
            barcode,
            self.p(qr_line(doc.kind, doc.qr_payload), self.small),
        ]
        right: list[Flowable] = [qr_drawing]
        band = Table(
            [[left, right]],
            colWidths=[self.width - m.qr - 2 * mm, m.qr + 2 * mm],
            style=TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                    ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
                    ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ]
            ),
        )
        return [
            self.p(doc.centre_name, self.centre),
            Paragraph(title_text, self.title),
            band,
            Spacer(1, m.body * 0.2),
        ]

    def items_table(self, with_limits: bool = True) -> Table:
        head = ["序号", "事项名称", "承办部门"] + (["承诺时限"] if with_limits else [])
        rows: list[list[Any]] = [[self.c(h, centred=True) for h in head]]
        for i, item in enumerate(self.doc.items, start=1):
            row = [self.c(str(i), centred=True), self.c(item.name), self.c(item.department)]
            if with_limits:
                row.append(self.c(item.time_limit, centred=True))
            rows.append(row)
        fractions = (0.08, 0.42, 0.32, 0.18) if with_limits else (0.08, 0.5, 0.42)
        return self.grid(rows, fractions)

    def bundle_block(self, with_limits: bool = True) -> list[Flowable]:
        return [
            self.p(f"一件事：{self.doc.bundle_name}（共{len(self.doc.items)}个事项）"),
            Spacer(1, 2),
            self.items_table(with_limits),
        ]

    def applicant_pairs(self, full_id: bool) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Pairs and wide pairs describing the applicant; the ID number masked unless FULL_ID."""
        a = self.doc.applicant
        rid = a.resident_id if full_id else mask_resident_id(a.resident_id)
        phone = a.phone if full_id else mask_phone(a.phone)
        pairs: list[tuple[str, str]]
        if a.kind == "enterprise":
            checked_agent = bool(a.agent_resident_id)  # 帮办代办: the agent's own number
            id_label = (
                "经办人身份证号" if a.agent_name and not checked_agent else "法定代表人身份证号"
            )
            pairs = [("统一社会信用代码", a.uscc), ("法定代表人", a.legal_representative)]
            if a.agent_name:
                pairs.append(("经办人", _agent_text(a.agent_name, a.agent_relation)))
            if checked_agent:
                pairs.append(("经办人身份证号", _id_text(a.agent_resident_id, full_id)))
            pairs += [
                (id_label, rid),
                ("联系电话", phone),
                ("身份核验", IDENTITY_SOURCES[a.identity_source]),
            ]
            wide = [("单位名称", a.name), ("住所", a.address)]
            return pairs, wide
        if a.document_type_name:  # another card than the resident ID card: say which
            pairs = [("姓名", a.name), ("证件类型", a.document_type_name), ("证件号码", rid)]
        else:
            pairs = [("姓名", a.name), ("公民身份号码", rid)]
        if a.agent_resident_id:  # 帮办代办: "代办人：…" with their own (checked) number
            pairs.append(("代办人", _agent_text(a.agent_name, a.agent_relation)))
            pairs.append(("代办人证件号码", _id_text(a.agent_resident_id, full_id)))
        elif a.agent_name:
            pairs.append(("代理人", a.agent_name))
        pairs += [("联系电话", phone), ("身份核验", IDENTITY_SOURCES[a.identity_source])]
        return pairs, [("住址", a.address)]

    def applicant_table(self, full_id: bool = False) -> Table:
        pairs, wide = self.applicant_pairs(full_id)
        a = self.doc.applicant
        if a.kind == "enterprise":
            # The enterprise name reads first.
            return self.key_values([wide[0], *pairs], wide[1:])
        return self.key_values(pairs, wide)

    def signatures(self, lines: Sequence[str], seal_label: str | None, lead: str = "") -> Table:
        """LEAD text, one line per signer (signature and date), a dashed seal box at the right."""
        left: list[Flowable] = []
        if lead:
            left += [self.p(lead, self.body), Spacer(1, self.m.body * 0.6)]
        for i, label in enumerate(lines):
            if i:
                left.append(Spacer(1, self.m.body * 1.1))
            left.append(self.p(f"{label}：＿＿＿＿＿＿＿＿　＿＿＿＿年＿＿月＿＿日", self.body))
        seal_w = self.m.seal + 4 * mm
        right: Any = ""
        if seal_label:
            right = Table(
                [[self.p(seal_label, self.cell_c)]],
                colWidths=[self.m.seal],
                rowHeights=[self.m.seal * 0.62],
                style=TableStyle(
                    [
                        ("BOX", (0, 0), (-1, -1), 0.6, colors.grey, None, (2, 2)),
                        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ]
                ),
            )
        return Table(
            [[left, right]],
            colWidths=[self.width - seal_w, seal_w],
            style=TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                    ("RIGHTPADDING", (1, 0), (1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ]
            ),
        )

    def notes(self) -> list[Flowable]:
        if not self.doc.notes:
            return []
        out: list[Flowable] = [self.p("备注：", self.body)]
        out += [self.p(f"{i}. {n}", self.body) for i, n in enumerate(self.doc.notes, start=1)]
        return out

    def section(self, text: str) -> Paragraph:
        return self.p(text, self.section_style)

    # -- page decoration ----------------------------------------------------------------------
    def on_page(self) -> Callable[[Canvas, Any], None]:
        """Footer on every page: the intake number (pages may be separated), page, reprint."""
        doc, m, fonts = self.doc, self.m, self.fonts

        def draw(canvas: Canvas, template: Any) -> None:
            parts = [f"受理编号：{doc.number}", f"第{canvas.getPageNumber()}页"]
            if doc.reprint:
                parts.append(REPRINT_MARK)
            canvas.saveState()
            draw_runs(canvas, fonts, "　".join(parts), m.page[0] / 2, m.margin * 0.55, m.small)
            canvas.restoreState()

        return draw


class QrFlowable(Flowable):
    """A QR code drawn as one filled path (the graphics widget costs ~5 ms per code)."""

    def __init__(self, payload: str, size: float, border: int = 2) -> None:
        super().__init__()
        qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        qr.addData(payload)
        qr.make()
        self.modules: list[list[bool]] = [[bool(v) for v in row] for row in qr.modules]
        self.size = size
        self.border = border
        self.width = self.height = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        n = len(self.modules)
        box = self.size / (n + 2 * self.border)
        canvas = self.canv
        path = canvas.beginPath()
        for r, row in enumerate(self.modules):
            y = self.size - (r + self.border + 1) * box
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    path.rect((start + self.border) * box, y, (c - start) * box, box)
                else:
                    c += 1
        canvas.saveState()
        canvas.setFillColor(colors.black)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()


def draw_runs(
    canvas: Canvas, fonts: FontSet, text: str, x_centre: float, y: float, size: float
) -> None:
    """Centred single-line text with per-character font fallback."""
    runs = fonts.split_runs(text)
    total = sum(stringWidth(r.text, r.font, size) for r in runs)
    x = x_centre - total / 2
    for r in runs:
        canvas.setFont(r.font, size)
        canvas.drawString(x, y, r.text)
        x += stringWidth(r.text, r.font, size)


def _agent_text(name: str, relation: str) -> str:
    return f"{name}（{relation}）" if relation else name


def _id_text(number: str, full: bool) -> str:
    return number if full else mask_resident_id(number)


def fmt_date(d: dt.date) -> str:
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"


def fmt_datetime(t: dt.datetime) -> str:
    return f"{fmt_date(t.date())} {t.hour:02d}:{t.minute:02d}"


def due_text(ctx: DocContext, m: DocMaterial) -> str:
    due = m.due_date or ctx.doc.tolerated_due
    if due:
        return fmt_date(due)
    # Not yet received (一次告知): the limit runs from the day of receipt.
    return f"收件之日起{m.due_days}个工作日内" if m.due_days else "按承诺约定"


def pages_text(m: DocMaterial) -> str:
    return str(m.pages) if m.pages is not None else "—"


# -- documents ----------------------------------------------------------------------------------


def due_table(ctx: DocContext, materials: Sequence[DocMaterial], own_seq: bool = False) -> Table:
    """Tolerated materials and when each is due: numbered 1…n, or by their checklist number."""
    rows: list[list[Any]] = [
        [ctx.c(h, centred=True) for h in ("序号", "材料名称", "原件/复印件", "份数", "补交期限")]
    ]
    for i, mat in enumerate(materials, start=1):
        rows.append(
            [
                ctx.c(str(mat.seq if own_seq else i), centred=True),
                ctx.c(mat.name),
                ctx.c(mat.form_label, centred=True),
                ctx.c(str(mat.copies), centred=True),
                ctx.c(due_text(ctx, mat), centred=True),
            ]
        )
    return ctx.grid(rows, (0.08, 0.42, 0.16, 0.08, 0.26))


PageHook = Callable[[Canvas, Any], None]


def render_pdf(
    metrics: Metrics,
    story: Callable[[], list[Flowable]],
    *,
    title: str,
    author: str,
    subject: str,
    on_page: PageHook | None = None,
) -> bytes:
    """One document built under BUILD_LOCK (STORY is made inside it: flowables measure text with
    the shared fonts). Metadata carries no personal data: titles and numbers only."""
    buf = io.BytesIO()
    template = SimpleDocTemplate(
        buf,
        pagesize=metrics.page,
        leftMargin=metrics.margin,
        rightMargin=metrics.margin,
        topMargin=metrics.margin,
        bottomMargin=metrics.margin,
        title=title,
        author=author,
        subject=subject,
        creator="一件事一次办综合受理",
        producer="yijianshi-intake",
        invariant=1,
    )
    with BUILD_LOCK:
        if on_page is None:
            template.build(story())
        else:
            template.build(story(), onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


def build_intake_pdf(
    doc: IntakeDocument,
    paper: str,
    fonts: FontSet,
    title: str,
    story_of: Callable[[DocContext], list[Flowable]],
    printed_text: str,
    log: logging.Logger,
) -> bytes:
    """An intake's document: STORY_OF on this build's DocContext, titled TITLE and the number.
    Characters of PRINTED_TEXT no font covers are logged to LOG, counted only (they may be part
    of a name)."""
    ctx = DocContext(doc, paper, fonts)
    data = render_pdf(
        ctx.m,
        lambda: story_of(ctx),
        title=f"{title} {doc.number}",
        author=doc.centre_name,
        subject=title,
        on_page=ctx.on_page(),
    )
    missing = ctx.fonts.uncovered(printed_text)
    if missing:
        log.warning("intake %s: %d characters have no glyph in any font", doc.number, len(missing))
    return data
