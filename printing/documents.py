"""The printed documents as PDF (reportlab platypus): receipt, deficiency notice, commitment
letter and the list of materials returned on withdrawal.

What each document carries follows docs/DOMAIN-FACTS.md "What the printed documents carry".
Builders are pure: same IntakeDocument and paper in, same bytes out (``invariant=1`` pins the
timestamps and ids reportlab would otherwise embed). No personal data goes into the PDF metadata
or the log; the log names the intake number only.
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
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.documents import DocMaterial, IntakeDocument
from app.validators import mask_phone, mask_resident_id
from printing.fonts import FontSet, default_font_set

log = logging.getLogger("printing.documents")

Paper = Literal["A4", "A5"]

TITLES = {
    "receipt": "收件回执",
    "notice": "一次告知通知书",
    "commitment": "容缺受理告知承诺书",
    "return_list": "撤回申请材料退还清单",
    "supplement": "补正材料收件回执",
}
REPRINT_MARK = "补打"
# Whether the identity was read from the card (or a licence QR) or typed: DOMAIN-FACTS / issue 4.
IDENTITY_SOURCES = {
    "card": "读卡核验",
    "licence_qr": "执照二维码核验",
    "ocr": "证件照片识别（已核对）",
    "reuse": "档案复用（经同意）",
    "typed": "手工录入",
}
LAW_32 = (
    "《中华人民共和国行政许可法》第三十二条：申请材料不齐全或者不符合法定形式的，应当当场或者在五日内"
    "一次告知申请人需要补正的全部内容，逾期不告知的，自收到申请材料之日起即为受理；行政机关受理或者"
    "不予受理行政许可申请，应当出具加盖本行政机关专用印章和注明日期的书面凭证。"
)
# reportlab keeps per-document font subset state in shared TTFont objects: one build at a time.
_BUILD_LOCK = threading.Lock()
_GRID = colors.Color(0.25, 0.25, 0.25)
_SHADE = colors.Color(0.92, 0.92, 0.92)


@dataclass(frozen=True)
class _Metrics:
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


_METRICS: dict[str, _Metrics] = {
    "A4": _Metrics(A4, 15 * mm, 10, 8, 17, 13, 25 * mm, 0.30 * mm, 9 * mm, 34 * mm),
    "A5": _Metrics(A5, 10 * mm, 8, 6.5, 14, 10, 22 * mm, 0.25 * mm, 7 * mm, 26 * mm),
}


class _Ctx:
    """Styles and helpers of one build: one paper size, one font set."""

    def __init__(self, doc: IntakeDocument, paper: str, fonts: FontSet) -> None:
        if paper not in _METRICS:
            raise ValueError(f"paper must be A4 or A5, not {paper!r}")
        self.doc = doc
        self.m = _METRICS[paper]
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
            ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), _SHADE))
        table.setStyle(TableStyle(style + list(extra)))
        return table

    def key_values(
        self, pairs: Sequence[tuple[str, str]], wide: Sequence[tuple[str, str]] = ()
    ) -> Table:
        """Label/value pairs two to a row; WIDE pairs take a whole row each."""
        rows: list[list[Any]] = []
        extra: list[tuple[Any, ...]] = [("BACKGROUND", (0, 0), (0, -1), _SHADE)]
        for i in range(0, len(pairs), 2):
            row: list[Any] = []
            for label, value in pairs[i : i + 2]:
                row += [self.c(label, centred=True), self.c(value)]
            r = len(rows)
            if len(row) == 2:
                row += ["", ""]
                extra.append(("SPAN", (1, r), (3, r)))
            else:
                extra.append(("BACKGROUND", (2, r), (2, r), _SHADE))
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
            # the QR is a link only when a query address is configured (app.receipts.query_base)
            self.p(
                "凭本编号或扫描右侧二维码查询办理进度"
                if doc.qr_payload.startswith(("http://", "https://"))
                else "凭本编号到受理窗口查询办理进度；右侧二维码用于核验回执真伪",
                self.small,
            ),
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
            id_label = "经办人身份证号" if a.agent_name else "法定代表人身份证号"
            pairs = [("统一社会信用代码", a.uscc), ("法定代表人", a.legal_representative)]
            if a.agent_name:
                pairs.append(("经办人", a.agent_name))
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
        if a.agent_name:
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
            _draw_runs(canvas, fonts, "　".join(parts), m.page[0] / 2, m.margin * 0.55, m.small)
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


def _draw_runs(
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


def _date(d: dt.date) -> str:
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"


def _datetime(t: dt.datetime) -> str:
    return f"{_date(t.date())} {t.hour:02d}:{t.minute:02d}"


def _due(ctx: _Ctx, m: DocMaterial) -> str:
    due = m.due_date or ctx.doc.tolerated_due
    if due:
        return _date(due)
    # Not yet received (一次告知): the limit runs from the day of receipt.
    return f"收件之日起{m.due_days}个工作日内" if m.due_days else "按承诺约定"


def _pages(m: DocMaterial) -> str:
    return str(m.pages) if m.pages is not None else "—"


# -- documents ----------------------------------------------------------------------------------


def _due_table(ctx: _Ctx, materials: Sequence[DocMaterial], own_seq: bool = False) -> Table:
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
                ctx.c(_due(ctx, mat), centred=True),
            ]
        )
    return ctx.grid(rows, (0.08, 0.42, 0.16, 0.08, 0.26))


def _receipt(ctx: _Ctx) -> list[Flowable]:
    doc = ctx.doc
    story = ctx.heading(TITLES["receipt"])
    story += [ctx.section("一、办理事项"), *ctx.bundle_block()]
    story += [ctx.section("二、申请人信息"), ctx.applicant_table(full_id=False)]

    story.append(ctx.section("三、申请材料（一套材料，多事项共用的只收一份）"))
    rows: list[list[Any]] = [
        [
            ctx.c(h, centred=True)
            for h in ("序号", "材料名称", "原件/复印件", "份数", "页数", "状态")
        ]
    ]
    for mat in doc.materials:
        name = ctx.fonts.markup(mat.name)
        if mat.state == "exempt" and mat.exempt_via:
            via = ctx.fonts.markup(f"免提交依据：{mat.exempt_via}")
            name += f'<br/><font size="{ctx.m.small}">{via}</font>'
        rows.append(
            [
                ctx.c(str(mat.seq), centred=True),
                Paragraph(name, ctx.cell),
                ctx.c(mat.form_label, centred=True),
                ctx.c(str(mat.copies), centred=True),
                ctx.c(_pages(mat), centred=True),
                ctx.c(mat.state_label, centred=True),
            ]
        )
    story.append(ctx.grid(rows, (0.08, 0.44, 0.16, 0.08, 0.1, 0.14)))

    if doc.tolerated:
        heading = ctx.section("四、容缺受理材料（已签署告知承诺书，须在期限内补交）")
        # Heading and table on one page: a split table reads as two lists on separate sheets.
        story.append(KeepTogether([heading, _due_table(ctx, doc.tolerated, own_seq=True)]))
        n = "五"
    else:
        n = "四"
    story.append(ctx.section(f"{n}、收件信息"))
    progress = doc.progress_hint + (
        f"；咨询电话：{doc.progress_phone}" if doc.progress_phone else ""
    )
    story.append(
        ctx.key_values(
            [
                ("受理中心", doc.centre_name),
                ("受理窗口", doc.station_name),
                ("收件人", doc.clerk_name),
                ("收件时间", _datetime(doc.issued_at)),
            ],
            [("送达方式", doc.delivery), ("进度查询", progress)],
        )
    )
    story += ctx.notes()
    story.append(Spacer(1, ctx.m.body * 0.5))
    story.append(
        ctx.signatures(
            ["申请人（签字）", "收件人（签字）"],
            "受理单位（盖章）",
            lead="申请人确认以上材料清单无误。",
        )
    )
    return story


def _notice(ctx: _Ctx) -> list[Flowable]:
    doc = ctx.doc
    a = doc.applicant
    if not doc.missing:
        # "材料不齐全 … 无" contradicts itself: a complete intake gets a receipt, not a notice.
        raise ValueError(f"intake {doc.number}: a notice needs at least one missing material")
    story = ctx.heading(TITLES["notice"])
    story += [ctx.section("一、申请人"), ctx.applicant_table(full_id=False)]
    story += [ctx.section("二、申请事项"), *ctx.bundle_block(with_limits=False)]
    story.append(ctx.section("三、需要补正的全部材料"))
    you = "贵单位" if a.kind == "enterprise" else "您"
    story.append(
        ctx.p(
            f"{a.name}：{you}于{_date(doc.issued_at.date())}申请办理“{doc.bundle_name}”，经审查，申请材料"
            f"不齐全。依据《中华人民共和国行政许可法》第三十二条，现将需要补正的全部材料一次性告知如下：",
            ctx.indent,
        )
    )
    story.append(Spacer(1, 3))
    rows: list[list[Any]] = [
        [
            ctx.c(h, centred=True)
            for h in ("序号", "材料名称", "原件/复印件及份数", "受理标准", "获取途径", "补交要求")
        ]
    ]
    owed = [m for m in doc.materials if m.state in ("missing", "tolerated")]
    for i, mat in enumerate(owed, start=1):
        when = "收件前补齐"
        if mat.state == "tolerated":
            dated = mat.due_date or doc.tolerated_due
            when = f"可容缺，{_due(ctx, mat)}{'前' if dated else ''}补交"
        rows.append(
            [
                ctx.c(str(i), centred=True),
                ctx.c(mat.name),
                ctx.c(f"{mat.form_label}{mat.copies}份", centred=True),
                ctx.c(mat.acceptance_standard or "—"),
                ctx.c(mat.how_to_obtain or "—"),
                ctx.c(when, centred=True),
            ]
        )
    story.append(ctx.grid(rows, (0.06, 0.2, 0.13, 0.24, 0.21, 0.16)))
    story.append(Spacer(1, 3))
    if doc.tolerated:
        story.append(
            ctx.p(
                "标注“可容缺”的材料，收件时签署容缺受理告知承诺书后可暂缓提交，须在所列期限内补交。",
                ctx.indent,
            )
        )
    story.append(
        ctx.p(
            f"请按上述要求一次性补齐材料后，凭本通知书到{doc.centre_name}综合受理窗口提交。"
            f"除本通知书所列材料外，不再要求{you}提交其他材料。",
            ctx.indent,
        )
    )
    story.append(ctx.p("依据：" + LAW_32, ctx.small))
    story.append(ctx.section("四、告知信息"))
    contact = doc.progress_phone or "—"
    story.append(
        ctx.key_values(
            [
                ("告知单位", doc.centre_name),
                ("受理窗口", doc.station_name),
                ("告知人", doc.clerk_name),
                ("告知时间", _datetime(doc.issued_at)),
            ],
            [("咨询电话", contact)],
        )
    )
    story += ctx.notes()
    story.append(Spacer(1, ctx.m.body))
    story.append(ctx.signatures(["申请人（签收）", "告知人（签字）"], "受理单位（盖章）"))
    return story


def _commitment_copy(ctx: _Ctx, copy_label: str) -> list[Flowable]:
    doc = ctx.doc
    a = doc.applicant
    enterprise = a.kind == "enterprise"
    we = "本单位" if enterprise else "本人"
    story = ctx.heading(TITLES["commitment"])
    story.append(ctx.p(copy_label, ctx.copy_label))
    story += [ctx.section("一、承诺人"), ctx.applicant_table(full_id=True)]
    story += [ctx.section("二、申请事项"), *ctx.bundle_block()]
    story.append(ctx.section("三、容缺受理材料及补交期限"))
    story.append(_due_table(ctx, doc.tolerated))

    latest = _latest_due(doc)
    by = f"于{_date(latest)}前" if latest else "在上表所列期限内"
    story.append(ctx.section("四、承诺内容"))
    story.append(
        ctx.p(f"{we}申请办理“{doc.bundle_name}”，现就上列容缺材料郑重承诺如下：", ctx.indent)
    )
    points = [
        f"本承诺是{we}的真实意思表示；",
        f"{we}已知悉受理窗口告知的全部内容，包括容缺受理的条件、须补交的材料及期限和未履行承诺的后果；",
        f"{we}所提交的申请材料及所填信息真实、准确、完整、有效；",
        f"{we}将{by}按上表补交全部容缺材料，补交期限不晚于所办事项的承诺办理时限；",
        (
            f"{we}未按期补交或补交材料不符合要求的，自愿承担相应后果：本次申请终止办理，"
            "相关情况可按规定记入失信记录。"
        ),
    ]
    numerals = "一二三四五六七八九"
    story += [ctx.p(f"（{numerals[i]}）{text}", ctx.indent) for i, text in enumerate(points)]
    if a.agent_name:
        story.append(ctx.p(f"代理人{a.agent_name}代为办理的，须提交授权委托书。", ctx.indent))
    story.append(ctx.p("本承诺书一式两份，承诺人与受理窗口各执一份。", ctx.indent))
    story.append(
        ctx.p(
            f"受理窗口：{doc.centre_name} {doc.station_name}；受理人：{doc.clerk_name}；"
            f"时间：{_datetime(doc.issued_at)}",
            ctx.small,
        )
    )
    story.append(Spacer(1, ctx.m.body))
    # The applicant's side: an enterprise signs by its 法定代表人 and seals; then the window's.
    lines = ["法定代表人（签字）" if enterprise else "承诺人（签字）"]
    if a.agent_name:
        lines.append("代理人（签字）")
    story.append(ctx.signatures(lines, "承诺单位（盖章）" if enterprise else None))
    story.append(Spacer(1, ctx.m.body * 0.6))
    story.append(ctx.signatures(["受理人（签字）"], "受理单位（盖章）"))
    return story


def _latest_due(doc: IntakeDocument) -> dt.date | None:
    dues = [m.due_date for m in doc.tolerated if m.due_date]
    if doc.tolerated_due:
        dues.append(doc.tolerated_due)
    return max(dues) if dues else None


COMMITMENT_COPIES = ("第一联 承诺人留存", "第二联 受理窗口留存")


def _commitment(ctx: _Ctx) -> list[Flowable]:
    if not ctx.doc.tolerated:
        raise ValueError(f"intake {ctx.doc.number}: a commitment letter needs a tolerated material")
    story: list[Flowable] = []
    for i, label in enumerate(COMMITMENT_COPIES):
        if i:
            story.append(PageBreak())
        story += _commitment_copy(ctx, label)
    return story


def _return_list(ctx: _Ctx) -> list[Flowable]:
    doc = ctx.doc
    returned = [m for m in doc.materials if m.state == "collected"]
    story = ctx.heading(TITLES["return_list"])
    story += [ctx.section("一、申请人"), ctx.applicant_table(full_id=False)]
    story += [ctx.section("二、撤回的申请事项"), *ctx.bundle_block(with_limits=False)]
    story.append(ctx.section("三、退还材料"))
    story.append(
        ctx.p(
            f"申请人于{_date(doc.issued_at.date())}撤回“{doc.bundle_name}”办理申请。受理窗口将已收取的下列申请材料"
            f"全部退还申请人，请申请人当场逐项核对后签收。",
            ctx.indent,
        )
    )
    rows: list[list[Any]] = [
        [
            ctx.c(h, centred=True)
            for h in ("序号", "材料名称", "原件/复印件", "份数", "页数", "核对")
        ]
    ]
    for i, mat in enumerate(returned, start=1):
        rows.append(
            [
                ctx.c(str(i), centred=True),
                ctx.c(mat.name),
                ctx.c(mat.form_label, centred=True),
                ctx.c(str(mat.copies), centred=True),
                ctx.c(_pages(mat), centred=True),
                "",
            ]
        )
    if not returned:
        rows.append([ctx.c("—", centred=True), ctx.c("无"), "", "", "", ""])
    story.append(ctx.grid(rows, (0.08, 0.46, 0.16, 0.08, 0.1, 0.12)))
    story.append(ctx.p(f"共退还材料{len(returned)}项。", ctx.body))
    story.append(ctx.section("四、经办信息"))
    story.append(
        ctx.key_values(
            [
                ("受理中心", doc.centre_name),
                ("受理窗口", doc.station_name),
                ("经办人", doc.clerk_name),
                ("退还时间", _datetime(doc.issued_at)),
            ]
        )
    )
    story += ctx.notes()
    story.append(Spacer(1, ctx.m.body))
    story.append(
        ctx.signatures(
            ["申请人（签收）", "经办人（签字）"],
            "受理单位（盖章）",
            lead="申请人确认已收回上列全部材料。",
        )
    )
    return story


def _supplement(ctx: _Ctx) -> list[Flowable]:
    """补正材料收件回执: what the applicant handed in now, and what is still owed."""
    doc = ctx.doc
    handed = [m for m in doc.materials if m.state == "collected"]
    owed = doc.tolerated
    if not handed:
        raise ValueError(f"intake {doc.number}: a supplement receipt needs a handed-in material")
    story = ctx.heading(TITLES["supplement"])
    story += [ctx.section("一、申请人"), ctx.applicant_table(full_id=False)]
    story += [ctx.section("二、申请事项"), *ctx.bundle_block()]
    rows: list[list[Any]] = [
        [ctx.c(h, centred=True) for h in ("序号", "材料名称", "原件/复印件", "份数", "页数")]
    ]
    for i, mat in enumerate(handed, start=1):
        rows.append(
            [
                ctx.c(str(i), centred=True),
                ctx.c(mat.name),
                ctx.c(mat.form_label, centred=True),
                ctx.c(str(mat.copies), centred=True),
                ctx.c(_pages(mat), centred=True),
            ]
        )
    story.append(
        KeepTogether(
            [
                ctx.section(f"三、本次补交的容缺材料（{_datetime(doc.issued_at)}收到）"),
                ctx.grid(rows, (0.08, 0.5, 0.16, 0.1, 0.16)),
            ]
        )
    )
    if owed:
        story.append(KeepTogether([ctx.section("四、仍须补交的容缺材料"), _due_table(ctx, owed)]))
    else:
        story += [
            ctx.section("四、仍须补交的容缺材料"),
            ctx.p("无。容缺材料已全部补齐，承诺已履行。", ctx.indent),
        ]
    story.append(ctx.section("五、收件信息"))
    story.append(
        ctx.key_values(
            [
                ("受理中心", doc.centre_name),
                ("受理窗口", doc.station_name),
                ("收件人", doc.clerk_name),
                ("补正时间", _datetime(doc.issued_at)),
            ]
        )
    )
    story += ctx.notes()
    story.append(Spacer(1, ctx.m.body * 0.5))
    story.append(
        ctx.signatures(
            ["申请人（签字）", "收件人（签字）"],
            "受理单位（盖章）",
            lead="申请人确认以上补交材料清单无误。",
        )
    )
    return story


# -- public API ---------------------------------------------------------------------------------


def _build(
    doc: IntakeDocument,
    paper: str,
    kind: str,
    story_of: Callable[[_Ctx], list[Flowable]],
    fonts: FontSet | None,
) -> bytes:
    ctx = _Ctx(doc, paper, fonts or default_font_set())
    buf = io.BytesIO()
    title = TITLES[kind]
    template = SimpleDocTemplate(
        buf,
        pagesize=ctx.m.page,
        leftMargin=ctx.m.margin,
        rightMargin=ctx.m.margin,
        topMargin=ctx.m.margin,
        bottomMargin=ctx.m.margin,
        # Metadata stays free of personal data: document title and intake number only.
        title=f"{title} {doc.number}",
        author=doc.centre_name,
        subject=title,
        creator="一件事一次办综合受理",
        producer="yijianshi-intake",
        invariant=1,
    )
    page = ctx.on_page()
    with _BUILD_LOCK:
        template.build(story_of(ctx), onFirstPage=page, onLaterPages=page)
    missing = ctx.fonts.uncovered(_document_text(doc))
    if missing:
        # Count only: the characters themselves may be part of a name.
        log.warning("intake %s: %d characters have no glyph in any font", doc.number, len(missing))
    data = buf.getvalue()
    log.debug("built %s for intake %s (%s, %d bytes)", kind, doc.number, paper, len(data))
    return data


def build_receipt(doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None) -> bytes:
    """收件回执."""
    return _build(doc, paper, "receipt", _receipt, fonts)


def build_notice(doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None) -> bytes:
    """一次告知通知书: every missing material with its 受理标准 and where to get it."""
    return _build(doc, paper, "notice", _notice, fonts)


def build_commitment(
    doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None
) -> bytes:
    """容缺受理告知承诺书, both copies (一式两份) in one PDF, each starting on a new page."""
    return _build(doc, paper, "commitment", _commitment, fonts)


def build_return_list(
    doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None
) -> bytes:
    """撤回申请材料退还清单: the collected materials handed back, with signature lines."""
    return _build(doc, paper, "return_list", _return_list, fonts)


def build_supplement(
    doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None
) -> bytes:
    """补正材料收件回执: the tolerated materials handed in later, and any still owed."""
    return _build(doc, paper, "supplement", _supplement, fonts)


BUILDERS: dict[str, Callable[..., bytes]] = {
    "receipt": build_receipt,
    "notice": build_notice,
    "commitment": build_commitment,
    "return_list": build_return_list,
    "supplement": build_supplement,
}


def build_document(doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None) -> bytes:
    """The document DOC.kind names."""
    return BUILDERS[doc.kind](doc, paper, fonts)


def _document_text(doc: IntakeDocument) -> str:
    a = doc.applicant
    parts = [
        doc.centre_name,
        doc.station_name,
        doc.clerk_name,
        doc.bundle_name,
        doc.delivery,
        doc.progress_hint,
        *doc.notes,
        a.name,
        a.address,
        a.legal_representative,
        a.agent_name,
    ]
    for item in doc.items:
        parts += [item.name, item.department, item.time_limit]
    for m in doc.materials:
        parts += [m.name, m.acceptance_standard, m.how_to_obtain, m.exempt_via]
    return "".join(parts)


def uncovered_characters(doc: IntakeDocument, fonts: FontSet | None = None) -> list[str]:
    """Characters of DOC that no available font can print (they would come out as boxes).

    The UI can warn the clerk before printing (e.g. suggest installing fonts-hanazono).
    """
    return (fonts or default_font_set()).uncovered(_document_text(doc))
