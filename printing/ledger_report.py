"""日结报告: the supervisor's ledger report of a day (or period) as PDF, A4 landscape.

Summary figures, the policy metrics against their targets, the table of intakes (ID numbers
masked, as the ledger rows already carry them) and the day-close seal when there is one; the
day-close report also lists what was still open at the close and ends with the 负责人's signature.
Pure: same inputs, same bytes (``invariant=1``). No personal data in metadata or the log.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.exports import HEADERS, detail_rows, summary_rows
from printing.fonts import FontSet, default_font_set
from printing.layout import BUILD_LOCK
from printing.rating_report import HEADERS as RATING_HEADERS
from printing.rating_report import rating_rows, rating_summary

if TYPE_CHECKING:
    from app.dayclose import SealBasis
    from app.rating_figures import RatingFigures
    from app.reports import Metric, OpenWork, Reconciliation
    from app.views import LedgerRow

log = logging.getLogger("intake.printing.ledger_report")

_GRID = colors.Color(0.25, 0.25, 0.25)
_SHADE = colors.Color(0.92, 0.92, 0.92)
_COL_WIDTHS_MM = (40, 24, 28, 18, 36, 18, 22, 16, 24, 24, 24)  # 274 mm of 297 - 2*10


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _met(m: Metric) -> str:
    if m.met is None:
        return "待推送，暂无结果" if m.pending else "暂无数据"
    return "达标" if m.met else "未达标"


def _fraction(m: Metric) -> str:
    return f"{m.numerator}/{m.denominator}" + (f"（另{m.pending}件待推送）" if m.pending else "")


class _Styles:
    """Paragraph styles and the grid of one report."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.body = ParagraphStyle("body", fontName=fonts.primary, fontSize=9, leading=12)
        self.cell = ParagraphStyle("cell", parent=self.body, fontSize=7.5, leading=9.5)
        self.head = ParagraphStyle("head", parent=self.cell, alignment=TA_CENTER)
        self.title = ParagraphStyle(
            "title", parent=self.body, fontSize=16, leading=22, alignment=TA_CENTER
        )
        self.sub = ParagraphStyle("sub", parent=self.body, alignment=TA_CENTER)
        self.section = ParagraphStyle(
            "section", parent=self.body, fontSize=11, leading=15, spaceBefore=6, spaceAfter=3
        )

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(self.fonts.markup(text), style or self.body)

    def grid(self, data: list[list[Paragraph]], widths: Sequence[float] | None = None) -> Table:
        t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
                    ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return t


def build_ledger_report(
    title: str,
    centre_name: str,
    period_label: str,
    counts: Sequence[tuple[str, int]],
    metrics: Sequence[Metric],
    rows: Sequence[LedgerRow],
    seal: SealBasis | str | None,
    fonts: FontSet | None = None,
    *,
    open_work: Sequence[tuple[str, Sequence[str]]] = (),
    sign_off: str | None = None,
    ratings: RatingFigures | None = None,
) -> bytes:
    """The report's PDF bytes. COUNTS: (label, number) in display order. SEAL: for the day-close
    report, what the day's seal is computed from (with this PDF's own SHA-256 anyone can
    recompute the seal); for a ledger export, the seal of a day already closed, or None.
    Without METRICS (an export) the metrics section is left out. OPEN_WORK: (label, intake
    numbers) still open at the close. SIGN_OFF (the day-close report): who closed the day; the
    report then ends with the 负责人签字 lines."""
    fonts = fonts or default_font_set()
    st = _Styles(fonts)
    p = st.p
    story: list[Any] = [
        p(title, st.title),
        p(f"{centre_name}　统计期间：{period_label}", st.sub),
        Spacer(1, 4 * mm),
        p("一、汇总", st.section),
    ]
    story += _counts_table(st, counts)
    numbers = iter("二三四五六")
    if metrics:
        story.append(p(f"{next(numbers)}、政策指标", st.section))
        story.append(_metrics_table(st, metrics))
    if ratings is not None:  # 好差评 (printing/rating_report.py)
        story.append(p(f"{next(numbers)}、好差评", st.section))
        cells = [[p(h, st.head) for h in RATING_HEADERS]]
        cells += [[p(v, st.cell) for v in r] for r in rating_rows(ratings)]
        story += [st.grid(cells, [40 * mm, 30 * mm, 30 * mm]), p(rating_summary(ratings))]

    story.append(p(f"{next(numbers)}、受理明细（共{len(rows)}件）", st.section))
    detail = [[p(h, st.head) for h in HEADERS]]
    detail += [[p(v, st.cell) for v in r] for r in detail_rows(rows)]
    story.append(st.grid(detail, [w * mm for w in _COL_WIDTHS_MM]))

    if open_work:
        story.append(p(f"{next(numbers)}、日结时尚未完结", st.section))
        for label, intake_numbers in open_work:
            listed = "、".join(intake_numbers) if intake_numbers else "无"
            story.append(p(f"{label}（{len(intake_numbers)}件）：{listed}"))

    story.append(p(f"{next(numbers)}、日结封存", st.section))
    story += [p(line) for line in _seal_lines(seal)]

    if sign_off is not None:
        story.append(Spacer(1, 8 * mm))
        story.append(
            p(
                f"日结操作人：{sign_off}　　　　负责人签字：＿＿＿＿＿＿＿＿＿＿＿＿　　　　"
                "日期：＿＿＿＿年＿＿月＿＿日"
            )
        )
    data = _render(story, title, centre_name, period_label, fonts.primary)
    log.debug("built ledger report (%d rows, %d bytes)", len(rows), len(data))
    return data


def _counts_table(st: _Styles, counts: Sequence[tuple[str, int]]) -> list[Table]:
    """The counts as a grid of label/number pairs, 7 per line."""
    per_line = 7
    head = st.head
    count_cells: list[list[Paragraph]] = []
    items = list(counts)
    for i in range(0, len(items), per_line):
        chunk = items[i : i + per_line]
        pad = [st.p("", head)] * (per_line - len(chunk))
        count_cells.append([st.p(label, head) for label, _n in chunk] + pad)
        count_cells.append([st.p(str(n), head) for _l, n in chunk] + pad)
    if not count_cells:
        return []
    t = Table(count_cells, colWidths=[274 * mm / per_line] * per_line, hAlign="LEFT")
    style = [("GRID", (0, 0), (-1, -1), 0.4, _GRID), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    style += [("BACKGROUND", (0, r), (-1, r), _SHADE) for r in range(0, len(count_cells), 2)]
    t.setStyle(TableStyle(style))
    return [t]


def _metrics_table(st: _Styles, metrics: Sequence[Metric]) -> Table:
    head = st.head
    metric_rows = [[st.p(h, head) for h in ("指标", "实际值", "目标值", "分子/分母", "是否达标")]]
    for m in metrics:
        metric_rows.append(
            [
                st.p(m.label, st.cell),
                st.p(_pct(m.value), head),
                st.p(_pct(m.target), head),
                st.p(_fraction(m), head),
                st.p(_met(m), head),
            ]
        )
    return st.grid(metric_rows, [60 * mm, 30 * mm, 30 * mm, 40 * mm, 30 * mm])


def _seal_lines(seal: SealBasis | str | None) -> list[str]:
    if seal is None:
        return ["封存值：尚未日结"]
    if isinstance(seal, str):
        return [f"本日已日结，封存值（SHA-256）：{seal}"]
    from app.dayclose import SEAL_FORMULA

    return [
        f"上一日封存值：{seal.prev_seal}",
        f"记录摘要（当日全部受理事件的SHA-256）：{seal.records_hash}",
        f"受理件数：{seal.submissions}　事件数：{seal.events}",
        f"封存值 = {SEAL_FORMULA}；本报告归档后即可按此复核。",
    ]


def _render(story: list[Any], title: str, centre_name: str, period_label: str, font: str) -> bytes:
    """Landscape A4 with the period and page number at the foot of each page."""
    buf = io.BytesIO()
    page = landscape(A4)
    template = SimpleDocTemplate(
        buf,
        pagesize=page,
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=12 * mm,
        title=title,
        author=centre_name,
        subject=title,
        creator="一件事一次办综合受理",
        producer="yijianshi-intake",
        invariant=1,
    )

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawCentredString(
            page[0] / 2, 6 * mm, f"{period_label}　第{canvas.getPageNumber()}页"
        )
        canvas.restoreState()

    with BUILD_LOCK:
        template.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def build_day_close_report(
    centre_name: str,
    rec: Reconciliation,
    rows: Sequence[LedgerRow],
    basis: SealBasis,
    open_work: OpenWork,
    closed_by: str,
    fonts: FontSet | None = None,
) -> bytes:
    """The 日结报告 of REC's day: every figure, the metrics, the day's intakes, what was still
    open, what the seal is computed from, and the 负责人's signature lines."""
    from app.reports import FIGURE_LABELS, FIGURES, OPEN_WORK, OPEN_WORK_LABELS

    return build_ledger_report(
        "受理台账日结报告",
        centre_name,
        rec.period.label,
        [(FIGURE_LABELS[f], rec.counts.get(f, 0)) for f in FIGURES]
        + [("咨询（不计入受理）", rec.counts.get("consultations", 0))],
        rec.metrics,
        rows,
        basis,
        fonts,
        open_work=[
            (OPEN_WORK_LABELS[k], [n for _sid, n in open_work.lists.get(k, ())]) for k in OPEN_WORK
        ],
        sign_off=closed_by,
        ratings=rec.ratings,
    )


def ledger_pdf(
    rows: Sequence[LedgerRow], title: str, centre_name: str, period_label: str, seal: str | None
) -> bytes:
    """The ledger as an A4 report: the summary counts, then every row (SEAL: a closed day's);
    the renderer app.exports.export_ledger takes."""
    return build_ledger_report(title, centre_name, period_label, summary_rows(rows), (), rows, seal)
