"""一表申请: what the window's generated forms carry, assembled from the catalog's form
declarations, the intake's checklist, the applicant record and the answers.

一件事联办申请表: one section for the applicant, then one per chosen item with the fields of that
item's own forms (申请表/申请书) that were not asked already — the same 姓名 is asked once. The
个人信息查询核验授权书: the applicant's identity, the items and departments that will query and
verify data, and the data each will check. A field is prefilled when the intake holds its value
(card, applicant record, licence, answer, a material fetched by data sharing); every other field
is left blank for the applicant's hand. Pure: no store, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.catalog import Bundle, Catalog, FormField, Item, Material
    from app.checklist import Checklist

FormKind = Literal["application_form", "authorization"]
# The catalog's material that stands for the joint form itself: its fields join the applicant's.
JOINT_FORM_MATERIAL = "application_form"
FORM_TITLES = {
    ("application_form", "personal"): "一件事联办申请表",
    ("application_form", "enterprise"): "一件事联办申请表",
    ("authorization", "personal"): "个人信息查询核验授权书",
    ("authorization", "enterprise"): "企业信息查询核验授权书",
}


@dataclass(frozen=True)
class FilledField:
    key: str
    label: str
    source: str  # as declared: id_card, applicant, licence, answer:<q>, shared:<m>, manual
    required: bool
    value: str  # "" = left blank for the applicant's hand

    @property
    def prefilled(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True)
class FormSection:
    title: str
    department: str
    fields: tuple[FilledField, ...]
    asked_above: tuple[str, ...] = ()  # labels of this item's fields merged into earlier ones
    forms: tuple[str, ...] = ()  # names of the item's own forms this section replaces


@dataclass(frozen=True)
class Verification:
    item: str
    department: str
    data: tuple[str, ...]  # what the department queries and verifies


@dataclass(frozen=True)
class FormContent:
    kind: FormKind
    title: str
    sections: tuple[FormSection, ...]
    verifications: tuple[Verification, ...] = ()

    @property
    def fields(self) -> tuple[FilledField, ...]:
        return tuple(f for sec in self.sections for f in sec.fields)

    @property
    def total(self) -> int:
        return len(self.fields)

    @property
    def prefilled(self) -> int:
        return sum(1 for f in self.fields if f.prefilled)


def assemble(
    kind: FormKind,
    catalog: Catalog,
    bundle: Bundle,
    result: Checklist,
    record: Mapping[str, object],
    answers: Mapping[str, object],
    jurisdiction: str | None,
) -> FormContent:
    """The content of form KIND for an intake (RECORD: the applicant record's fields by key)."""
    applicant_kind = str(record.get("kind") or bundle.kind)
    resolve = _Resolver(bundle, result, record, answers)
    set_name = ("applicant_" if kind == "application_form" else "authorization_") + applicant_kind
    role = "application" if kind == "application_form" else "authorization"
    asked: dict[str, FilledField] = {}

    def take(fields: tuple[FormField, ...]) -> tuple[list[FilledField], list[str]]:
        new, dup = [], []
        for f in fields:
            if not resolve.applies(f):
                continue
            if f.key in asked:
                dup.append(asked[f.key].label)
                continue
            filled = FilledField(f.key, resolve.label(f), f.source, f.required, resolve(f))
            asked[f.key] = filled
            new.append(filled)
        return new, dup

    head = list(catalog.form_field_sets.get(set_name, ()))
    # The joint form's own declaration (application) or every authorization the items ask for.
    for line in result.materials:
        m = line.material
        if m.form_role == role and (role == "authorization" or m.id == JOINT_FORM_MATERIAL):
            head += m.form_fields
    first, _ = take(tuple(head))
    title = "申请人基本信息" if kind == "application_form" else "授权人信息"
    sections = [FormSection(title, "", tuple(first))]
    verifications: list[Verification] = []
    for item in result.active_items:
        dept = item.department_in(jurisdiction)
        if kind == "application_form":
            forms = _item_forms(result, item, "application")
            fields = tuple(f for m in forms for f in m.form_fields)
            new, dup = take(fields)
            sections.append(
                FormSection(
                    item.name,
                    dept,
                    tuple(new),
                    tuple(dict.fromkeys(dup)),
                    tuple(m.name for m in forms),
                )
            )
        else:
            verifications.append(Verification(item.name, dept, _verified_data(result, item)))
    return FormContent(
        kind, FORM_TITLES[(kind, applicant_kind)], tuple(sections), tuple(verifications)
    )


def _item_forms(result: Checklist, item: Item, role: str) -> list[Material]:
    """The item's own forms in the checklist, in checklist order (the joint form excluded)."""
    return [
        line.material
        for line in result.materials
        if line.material.form_fields
        and line.material.form_role == role
        and line.material.id != JOINT_FORM_MATERIAL
        and any(r.item_id == item.id for r in line.required_by)
    ]


def _verified_data(result: Checklist, item: Item) -> tuple[str, ...]:
    """What the item's department fetches instead of paper: its 免提交 materials and the shared
    data its forms declare; the applicant's identity always."""
    data: list[str] = ["申请人身份信息"]
    for line in result.materials:
        if not any(r.item_id == item.id for r in line.required_by):
            continue
        if line.state == "exempt":
            data.append(line.name)
        for f in line.material.form_fields:
            if f.source.startswith("shared:"):
                data += [m.name for m in result.materials if m.material.id == f.source[7:]]
    return tuple(dict.fromkeys(data))


class _Resolver:
    """A declared field's value from what the intake holds, or "" (left for the hand)."""

    def __init__(
        self,
        bundle: Bundle,
        result: Checklist,
        record: Mapping[str, object],
        answers: Mapping[str, object],
    ) -> None:
        self.bundle, self.result, self.record, self.answers = bundle, result, record, answers

    def applies(self, f: FormField) -> bool:
        """A form shared by several bundles declares every bundle's situation fields: one asks
        only the questions of this bundle, and data sharing only of the materials this intake's
        checklist needs (no 受托人 card when no agent applies)."""
        kind, _, ref = f.source.partition(":")
        if kind == "answer":
            return self.bundle.question(ref) is not None
        if kind == "shared":
            return any(m.material.id == ref for m in self.result.materials)
        return True

    def label(self, f: FormField) -> str:
        """An answer's field reads as this bundle asked the question."""
        kind, _, ref = f.source.partition(":")
        q = self.bundle.question(ref) if kind == "answer" else None
        return q.text.rstrip("？?") if q is not None else f.label

    def __call__(self, f: FormField) -> str:
        kind, _, ref = f.source.partition(":")
        if kind in ("id_card", "applicant", "licence"):
            return _text(self.record.get(f.key))
        if kind == "answer":
            return self._answer(ref)
        if kind == "shared":
            # Every copy of the material (one per person, for some) fetched instead of paper.
            lines = [m for m in self.result.materials if m.material.id == ref]
            if lines and all(m.state == "exempt" for m in lines):
                basis = lines[0].exempt_basis
                return f"经数据共享获取（{basis}）" if basis else "经数据共享获取"
        return ""

    def _answer(self, qid: str) -> str:
        if qid not in self.answers or self.answers[qid] is None:
            return ""
        value = self.answers[qid]
        q = self.bundle.question(qid)
        if q is None:
            return _text(value)
        if q.type == "bool":
            return "是" if value else "否"
        if q.type == "choice":
            return q.choice_label(str(value))
        number = int(value) if isinstance(value, float) and value.is_integer() else value
        return f"{number}{q.unit}"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month:02d}月{value.day:02d}日"
    return str(value).strip()
