"""The 办事指南 leaflet given at a consultation (咨询辅导, 001 §四(二)1): before any applicant
exists, the clerk picks a bundle, answers the situation questions and prints "所需材料、办理流程、
办理时限、注意事项" in one go.

`build_guide` turns the catalog and the answers into a `GuideDocument` through the same
checklist engine the intake uses, so the leaflet lists exactly what the clerk's screen lists for
those answers. No personal data: there is no applicant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app import checklist as engine
from app.catalog import Catalog
from app.checklist import Checklist, MaterialLine
from app.documents import FORM_LABELS


@dataclass(frozen=True)
class GuideItem:
    name: str
    department: str
    time_limit: str  # 承诺时限, e.g. "5个工作日"
    statutory_limit: str  # 法定时限, "" when the catalog has none
    reason: str  # why it applies (a condition's wording), "" when always


@dataclass(frozen=True)
class GuideMaterial:
    seq: int
    name: str
    form: str  # 原件 / 复印件 / 原件及复印件
    copies: int
    acceptance_standard: str  # 受理标准
    how_to_obtain: str
    required_by: tuple[str, ...]  # item names
    note: str  # 免提交 / 容缺 and conditions, in words


@dataclass(frozen=True)
class GuideDocument:
    reference: str  # 咨询编号 (the consultation record's), "" when not recorded
    centre_name: str
    station_name: str
    where: str  # address / window where to apply
    progress_phone: str
    clerk_name: str
    issued_at: dt.datetime
    bundle_id: str
    bundle_name: str
    lead_department: str
    description: str
    items: tuple[GuideItem, ...]
    materials: tuple[GuideMaterial, ...]
    answers: tuple[tuple[str, str], ...]  # (question, answer) as answered
    open_questions: tuple[str, ...]  # unanswered questions that would change the list
    steps: tuple[str, ...]
    item_ids: tuple[str, ...]  # for the consultation record
    answer_values: Mapping[str, object]


def process_steps(lead_department: str) -> tuple[str, ...]:
    """The counter procedure of 001 §四(二), as the applicant meets it."""
    return (
        "申请：携带下列材料到综合受理窗口一次提交（一表申请、一套材料）；材料不全的，窗口一次性告知需补正的全部内容。",
        "收件：材料齐全的，窗口当场出具收件回执；符合容缺条件的，签署告知承诺书后先行收件。",
        "推送：窗口在收件后2小时内将材料数字化并推送至各联办部门。",
        "受理：各联办部门收到材料后1个工作日内作出受理或不予受理决定，并短信告知。",
        f"审批办结：由{lead_department}牵头，各联办部门在承诺时限内办结。",
        "送达：办理结果到窗口领取或免费寄递，当日送达。",
    )


def _note(line: MaterialLine) -> str:
    parts: list[str] = []
    if line.produced_by is not None:
        parts.append(f"免提交：由本件事中“{line.produced_by.name}”办理产生")
    elif line.exemptable:
        parts.append(f"可免提交（{line.material.exempt_via}），以窗口核验结果为准")
    if line.tolerable:
        days = line.material.tolerance_days
        parts.append(f"可容缺受理，签署告知承诺书后{days}个工作日内补交" if days else "可容缺受理")
    reasons = [r.reason for r in line.required_by if r.reason]
    parts += list(dict.fromkeys(reasons))
    notes = [r.note for r in line.required_by if r.note]
    parts += list(dict.fromkeys(notes))
    return "；".join(parts)


def _answer_text(catalog_answer: object, choices: Sequence[tuple[str, str]], unit: str) -> str:
    if isinstance(catalog_answer, bool):
        return "是" if catalog_answer else "否"
    for value, label in choices:
        if value == catalog_answer:
            return label
    return f"{catalog_answer}{unit}"


def build_guide(
    catalog: Catalog,
    bundle_key: str,
    *,
    items: Sequence[str] | None = None,
    answers: Mapping[str, object] | None = None,
    jurisdiction: str | None = None,
    centre_name: str,
    station_name: str,
    where: str,
    progress_phone: str,
    clerk_name: str,
    issued_at: dt.datetime,
    reference: str = "",
) -> tuple[GuideDocument, Checklist]:
    """The leaflet for BUNDLE_KEY (id or name), ITEMS (None: the bundle's default choice) and
    ANSWERS; also the checklist it was made from (what the clerk's screen shows)."""
    bundle = catalog.resolve_one(bundle_key, jurisdiction, "checklist")
    checklist = engine.evaluate(
        bundle, items, answers or {}, catalog=catalog, jurisdiction=jurisdiction
    )
    active = [line for line in checklist.items if line.state == "active"]
    guide_items = tuple(
        GuideItem(
            name=line.item.name,
            department=line.item.department_in(jurisdiction),
            time_limit=line.item.time_limit_text,
            statutory_limit=(
                f"{line.item.statutory_limit_days}个工作日"
                if line.item.statutory_limit_days
                else ""
            ),
            reason=line.reason,
        )
        for line in active
    )
    materials = tuple(
        GuideMaterial(
            seq=seq,
            name=line.name,
            form=FORM_LABELS.get(line.form, "电子材料"),
            copies=line.copies,
            acceptance_standard=line.material.acceptance_standard,
            how_to_obtain=line.material.how_to_obtain,
            required_by=tuple(r.item_name for r in line.required_by),
            note=_note(line),
        )
        for seq, line in enumerate(checklist.materials, start=1)
    )
    questions = {q.id: q for q in bundle.questions}
    given = dict(answers or {})
    shown = []
    for qid, raw in given.items():
        q = questions[qid]
        value = engine.coerce_answer(q, raw)
        shown.append((q.text, _answer_text(value, q.choices, q.unit)))
    doc = GuideDocument(
        reference=reference,
        centre_name=centre_name,
        station_name=station_name,
        where=where,
        progress_phone=progress_phone,
        clerk_name=clerk_name,
        issued_at=issued_at,
        bundle_id=bundle.id,
        bundle_name=bundle.name,
        lead_department=bundle.lead_department_in(jurisdiction),
        description=bundle.description,
        items=guide_items,
        materials=materials,
        answers=tuple(shown),
        open_questions=tuple(questions[q].text for q in checklist.unanswered),
        steps=process_steps(bundle.lead_department_in(jurisdiction)),
        item_ids=tuple(line.item.id for line in checklist.items),
        answer_values=given,
    )
    return doc, checklist
