"""The printed documents as PDF (reportlab platypus): receipt, deficiency notice, commitment
letter and the list of materials returned on withdrawal.

What each document carries follows docs/DOMAIN-FACTS.md "What the printed documents carry".
Builders are pure: same IntakeDocument and paper in, same bytes out (``invariant=1`` pins the
timestamps and ids reportlab would otherwise embed). No personal data goes into the PDF metadata
or the log; the log names the intake number only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
)

from app.documents import IntakeDocument
from printing.fonts import FontSet, default_font_set
from printing.forms import build_application_form, build_authorization
from printing.layout import (
    TITLES,
    DocContext,
    Paper,
    build_intake_pdf,
    due_table,
    due_text,
    fmt_date,
    fmt_datetime,
    pages_text,
    title_of,
)

log = logging.getLogger("intake.printing.documents")

LAW_32 = (
    "《中华人民共和国行政许可法》第三十二条：申请材料不齐全或者不符合法定形式的，应当当场或者在五日内"
    "一次告知申请人需要补正的全部内容，逾期不告知的，自收到申请材料之日起即为受理；行政机关受理或者"
    "不予受理行政许可申请，应当出具加盖本行政机关专用印章和注明日期的书面凭证。"
)

# 一人一档: printed on the receipt when the applicant's consent to reuse is in force
REUSE_CONSENT = "申请人同意本次及今后办件复用其已提交的信息和材料（一人一档）"


def _receipt(ctx: DocContext) -> list[Flowable]:
    doc = ctx.doc
    story = ctx.heading(title_of(ctx.doc, "receipt"))
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
        if mat.reused_number and mat.reused_date:
            origin = ctx.fonts.markup(f"复用自 {mat.reused_number}（{fmt_date(mat.reused_date)}）")
            name += f'<br/><font size="{ctx.m.small}">{origin}</font>'
        rows.append(
            [
                ctx.c(str(mat.seq), centred=True),
                Paragraph(name, ctx.cell),
                ctx.c(mat.form_label, centred=True),
                ctx.c(str(mat.copies), centred=True),
                ctx.c(pages_text(mat), centred=True),
                ctx.c(mat.state_label, centred=True),
            ]
        )
    story.append(ctx.grid(rows, (0.08, 0.44, 0.16, 0.08, 0.1, 0.14)))

    if doc.tolerated:
        heading = ctx.section("四、容缺受理材料（已签署告知承诺书，须在期限内补交）")
        # Heading and table on one page: a split table reads as two lists on separate sheets.
        story.append(KeepTogether([heading, due_table(ctx, doc.tolerated, own_seq=True)]))
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
                ("收件时间", fmt_datetime(doc.issued_at)),
            ],
            [("送达方式", doc.delivery), ("进度查询", progress)]
            + ([("优先办", doc.priority)] if doc.priority else []),
        )
    )
    story += ctx.notes()
    if doc.reuse_consent_on is not None:
        story.append(ctx.p(f"{REUSE_CONSENT}（同意日期：{fmt_date(doc.reuse_consent_on)}）"))
    story.append(Spacer(1, ctx.m.body * 0.5))
    story.append(
        ctx.signatures(
            ["申请人（签字）", "收件人（签字）"]
            + (["代办人（签字）"] if doc.applicant.agent_resident_id else []),
            "受理单位（盖章）",
            lead="申请人确认以上材料清单无误。",
        )
    )
    return story


def _notice(ctx: DocContext) -> list[Flowable]:
    doc = ctx.doc
    a = doc.applicant
    if not doc.missing:
        # "材料不齐全 … 无" contradicts itself: a complete intake gets a receipt, not a notice.
        raise ValueError(f"intake {doc.number}: a notice needs at least one missing material")
    story = ctx.heading(title_of(ctx.doc, "notice"))
    story += [ctx.section("一、申请人"), ctx.applicant_table(full_id=False)]
    story += [ctx.section("二、申请事项"), *ctx.bundle_block(with_limits=False)]
    story.append(ctx.section("三、需要补正的全部材料"))
    you = "贵单位" if a.kind == "enterprise" else "您"
    story.append(
        ctx.p(
            f"{a.name}：{you}于{fmt_date(doc.issued_at.date())}申请办理“{doc.bundle_name}”，经审查，申请材料"
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
            when = f"可容缺，{due_text(ctx, mat)}{'前' if dated else ''}补交"
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
                ("告知时间", fmt_datetime(doc.issued_at)),
            ],
            [("咨询电话", contact)],
        )
    )
    story += ctx.notes()
    story.append(Spacer(1, ctx.m.body))
    story.append(ctx.signatures(["申请人（签收）", "告知人（签字）"], "受理单位（盖章）"))
    return story


def _commitment_copy(ctx: DocContext, copy_label: str) -> list[Flowable]:
    doc = ctx.doc
    a = doc.applicant
    enterprise = a.kind == "enterprise"
    we = "本单位" if enterprise else "本人"
    story = ctx.heading(TITLES["commitment"])
    story.append(ctx.p(copy_label, ctx.copy_label))
    story += [ctx.section("一、承诺人"), ctx.applicant_table(full_id=True)]
    story += [ctx.section("二、申请事项"), *ctx.bundle_block()]
    story.append(ctx.section("三、容缺受理材料及补交期限"))
    story.append(due_table(ctx, doc.tolerated))

    latest = _latest_due(doc)
    by = f"于{fmt_date(latest)}前" if latest else "在上表所列期限内"
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
            f"时间：{fmt_datetime(doc.issued_at)}",
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


def _commitment(ctx: DocContext) -> list[Flowable]:
    if not ctx.doc.tolerated:
        raise ValueError(f"intake {ctx.doc.number}: a commitment letter needs a tolerated material")
    story: list[Flowable] = []
    for i, label in enumerate(COMMITMENT_COPIES):
        if i:
            story.append(PageBreak())
        story += _commitment_copy(ctx, label)
    return story


def _return_list(ctx: DocContext) -> list[Flowable]:
    doc = ctx.doc
    returned = [m for m in doc.materials if m.state == "collected"]
    story = ctx.heading(TITLES["return_list"])
    story += [ctx.section("一、申请人"), ctx.applicant_table(full_id=False)]
    story += [ctx.section("二、撤回的申请事项"), *ctx.bundle_block(with_limits=False)]
    story.append(ctx.section("三、退还材料"))
    story.append(
        ctx.p(
            f"申请人于{fmt_date(doc.issued_at.date())}撤回“{doc.bundle_name}”办理申请。受理窗口将已收取的下列申请材料"
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
                ctx.c(pages_text(mat), centred=True),
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
                ("退还时间", fmt_datetime(doc.issued_at)),
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


def _supplement(ctx: DocContext) -> list[Flowable]:
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
                ctx.c(pages_text(mat), centred=True),
            ]
        )
    story.append(
        KeepTogether(
            [
                ctx.section(f"三、本次补交的容缺材料（{fmt_datetime(doc.issued_at)}收到）"),
                ctx.grid(rows, (0.08, 0.5, 0.16, 0.1, 0.16)),
            ]
        )
    )
    if owed:
        story.append(KeepTogether([ctx.section("四、仍须补交的容缺材料"), due_table(ctx, owed)]))
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
                ("补正时间", fmt_datetime(doc.issued_at)),
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
    story_of: Callable[[DocContext], list[Flowable]],
    fonts: FontSet | None,
) -> bytes:
    title = title_of(doc, kind)
    fonts = fonts or default_font_set()
    data = build_intake_pdf(doc, paper, fonts, title, story_of, _document_text(doc), log)
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
    "application_form": build_application_form,
    "authorization": build_authorization,
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
        a.agent_relation,
        doc.priority,
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
