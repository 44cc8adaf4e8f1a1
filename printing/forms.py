"""The forms the window generates (一表申请): 一件事联办申请表 and 个人信息查询核验授权书.

Prefilled values are printed; a field the intake does not hold is an empty box for the
applicant's hand; signature and date lines close both. Same page kit as the other documents
(printing/layout.py): heading with the intake number as QR and Code128, footer on every page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from reportlab.platypus import Flowable, Spacer

from app.documents import IntakeDocument
from app.form_content import FilledField, FormContent
from printing.fonts import FontSet, default_font_set
from printing.layout import SHADE, DocContext, Paper, build_intake_pdf, fmt_date

log = logging.getLogger("intake.printing.forms")

CN_NUMBERS = "一二三四五六七八九十"
DECLARATION = (
    "申请人承诺：本表所填信息及所提交的申请材料真实、准确、完整，与原件一致；表中由窗口根据"
    "身份证件、申请人登记信息、情形答复和共享数据预先填写的内容，申请人已逐项核对无误。"
    "如有不实，愿承担相应的法律责任。"
)


def _form(doc: IntakeDocument) -> FormContent:
    if doc.form is None:
        raise ValueError(f"{doc.kind} of intake {doc.number} carries no form content")
    return doc.form


def _section_no(i: int) -> str:
    return CN_NUMBERS[i] if i < len(CN_NUMBERS) else str(i + 1)


def _fields_table(ctx: DocContext, fields: tuple[FilledField, ...]) -> Flowable:
    """Two fields a row: label, then the value, or an empty box left for the hand."""
    rows: list[list[Any]] = []
    extra: list[tuple[Any, ...]] = []
    for i in range(0, len(fields), 2):
        row: list[Any] = []
        for f in fields[i : i + 2]:
            label = f.label + ("" if f.required else "（选填）")
            row += [ctx.c(label, centred=True), ctx.c(f.value) if f.value else ""]
        r = len(rows)
        if len(row) == 2:
            row += ["", ""]
            extra.append(("SPAN", (1, r), (3, r)))
        extra += [("BACKGROUND", (0, r), (0, r), SHADE), ("BACKGROUND", (2, r), (2, r), SHADE)]
        rows.append(row)
    # Room to write in the blank boxes.
    extra += [("TOPPADDING", (0, 0), (-1, -1), 7), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]
    return ctx.grid(rows, (0.17, 0.33, 0.17, 0.33), header=False, extra=extra)


def _application(ctx: DocContext) -> list[Flowable]:
    doc, form = ctx.doc, _form(ctx.doc)
    story = ctx.heading(form.title)
    story += ctx.bundle_block(with_limits=True)
    story.append(
        ctx.p(
            "说明：本表由受理窗口根据已核验的身份证件、申请人信息、情形答复和共享数据自动生成，"
            "各事项原需分别填写的申请表已合并为本表，相同信息只填一次；空白栏由申请人填写。",
            ctx.small,
        )
    )
    for i, sec in enumerate(form.sections):
        title = sec.title if not sec.department else f"{sec.title}（{sec.department}）"
        story.append(ctx.section(f"{_section_no(i)}、{title}"))
        if sec.forms:
            story.append(ctx.p(f"已并入本表：{'、'.join(sec.forms)}", ctx.small))
        if sec.fields:
            story.append(_fields_table(ctx, sec.fields))
        if sec.asked_above:
            story.append(ctx.p(f"同上（已在前文填写）：{'、'.join(sec.asked_above)}", ctx.small))
        if not sec.fields and not sec.asked_above:
            story.append(ctx.p("本事项无需另行填写信息。", ctx.small))
    story.append(ctx.section(f"{_section_no(len(form.sections))}、申请人承诺"))
    story.append(ctx.p(DECLARATION, ctx.indent))
    story.append(Spacer(1, ctx.m.body))
    story += _signatures(ctx, "申请人签字")
    story.append(Spacer(1, ctx.m.body * 0.5))
    story.append(
        ctx.p(
            f"本表共{form.total}项信息，其中窗口自动生成{form.prefilled}项。"
            f"生成时间：{fmt_date(doc.issued_at.date())}　受理人员：{doc.clerk_name}",
            ctx.small,
        )
    )
    return story


def _authorization(ctx: DocContext) -> list[Flowable]:
    doc, form = ctx.doc, _form(ctx.doc)
    story = ctx.heading(form.title)
    who = "本单位" if doc.applicant.kind == "enterprise" else "本人"
    story.append(ctx.section(f"一、{form.sections[0].title}"))
    story.append(_fields_table(ctx, form.sections[0].fields))
    story.append(ctx.section("二、授权内容"))
    story.append(
        ctx.p(
            f"{who}申请办理“{doc.bundle_name}”一件事，现授权下列部门在办理期间通过政务数据共享、"
            f"电子证照等方式查询、核验{who}的下列信息，以代替提交相应的纸质材料。所获信息仅用于"
            f"本次办理，不得用于其他用途，并依法予以保密。",
            ctx.indent,
        )
    )
    rows: list[list[Any]] = [
        [ctx.c(h, centred=True) for h in ("序号", "办理事项", "查询核验部门", "查询核验的信息")]
    ]
    for n, v in enumerate(form.verifications, start=1):
        rows.append(
            [
                ctx.c(str(n), centred=True),
                ctx.c(v.item),
                ctx.c(v.department),
                ctx.c("、".join(v.data)),
            ]
        )
    story.append(ctx.grid(rows, (0.08, 0.3, 0.24, 0.38)))
    story.append(
        ctx.p(f"授权日期：{fmt_date(doc.issued_at.date())}起，至本次办理办结止。", ctx.body)
    )
    story.append(Spacer(1, ctx.m.body))
    story += _signatures(ctx, "授权人签字")
    story.append(
        ctx.p(f"本授权书共{form.total}项信息，其中窗口自动生成{form.prefilled}项。", ctx.small)
    )
    return story


def _signatures(ctx: DocContext, signer: str) -> list[Flowable]:
    enterprise = ctx.doc.applicant.kind == "enterprise"
    if enterprise:
        signer = "法定代表人（或经办人）签字"
    return [ctx.signatures([signer, "受理人员签字"], "单位盖章" if enterprise else None)]


def _build(
    doc: IntakeDocument,
    paper: str,
    story_of: Callable[[DocContext], list[Flowable]],
    fonts: FontSet | None,
) -> bytes:
    form = _form(doc)
    printed = "".join(f.value + f.label for f in form.fields)
    return build_intake_pdf(
        doc, paper, fonts or default_font_set(), form.title, story_of, printed, log
    )


def build_application_form(
    doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None
) -> bytes:
    """一件事联办申请表, prefilled from the intake, for the applicant's signature."""
    return _build(doc, paper, _application, fonts)


def build_authorization(
    doc: IntakeDocument, paper: Paper = "A4", fonts: FontSet | None = None
) -> bytes:
    """个人信息查询核验授权书: who queries and verifies which data, signed by the applicant."""
    return _build(doc, paper, _authorization, fonts)
