"""The checklist engine: one merged material list ("一套材料") for the items an applicant chose.

Pure and deterministic: the same bundle, choice, answers and marks always give the same result,
with no I/O and no clock. Every line says which items need the material and why (the condition
that switched it on), so the clerk can explain the list to the applicant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from app import conditions as cond_mod
from app.catalog import (
    _FORM_RANK,
    PERSON_KEY_SEP,
    PERSON_LABELS,
    Bundle,
    Catalog,
    Form,
    Item,
    Material,
    Question,
    split_line_id,
)
from app.conditions import Answer
from app.errors import ChecklistError

Mark = Literal["collected", "exempt", "tolerated"]
MaterialState = Literal["collected", "exempt", "tolerated", "missing"]
Verdict = Literal["complete", "complete_with_tolerance", "incomplete"]
ItemState = Literal["active", "not_applicable", "undetermined"]
MARKS: tuple[Mark, ...] = ("collected", "exempt", "tolerated")

GUARDIAN_IS_ONE_OF = ("father", "mother")
# One item's need for a line: (item, requirement, copies, form, tolerable, producing item id).
_Use = tuple[Item, "Requirement", int | None, Form | None, bool | None, str | None]
# 帮办代办: what an agent hands in besides the applicant's materials (catalog common materials).
AGENT_MATERIALS = ("power_of_attorney", "agent_id_card")
AGENT_REASON = "委托他人代为办理（帮办代办）需提供"
_TRUE = {"true", "yes", "y", "1", "是", "有", "对"}
_FALSE = {"false", "no", "n", "0", "否", "无", "没有"}


@dataclass(frozen=True)
class Requirement:
    """One item's need for a material, and the condition behind it (if any)."""

    item_id: str
    item_name: str
    reason: str = ""  # the catalog's wording, e.g. "营业面积200平米以上需办理"
    condition: str = ""  # the condition as text, e.g. "营业面积 大于 200"
    note: str = ""


@dataclass(frozen=True)
class MaterialLine:
    material: Material
    state: MaterialState
    required_by: tuple[Requirement, ...]
    form: Form
    copies: int
    tolerable: bool  # every requiring item allows 容缺
    exemptable: bool  # has an electronic licence / shared-data source
    person: str | None = None  # whose copy (PERSON_LABELS), for materials needed per person
    produced_by: Item | None = None  # a chosen, active item of the bundle issues it: 免提交

    @property
    def id(self) -> str:
        """The line's id, what marks and pages are keyed by: the material id, or
        "<material id>.<person>" for one person's copy."""
        if self.person is None:
            return self.material.id
        return f"{self.material.id}{PERSON_KEY_SEP}{self.person}"

    @property
    def name(self) -> str:
        return self.material.name_for(self.person)

    @property
    def person_label(self) -> str:
        return PERSON_LABELS[self.person] if self.person else ""

    @property
    def exempt_basis(self) -> str:
        """Why it is not handed in: produced within the bundle, or its electronic source."""
        if self.produced_by is not None:
            return f"由本件事中“{self.produced_by.name}”办理产生，无需申请人提交"
        return self.material.exempt_via or ""

    @property
    def needs_pages(self) -> bool:
        """Collected paper that must be captured (the 2-hour digitise rule). A form the window
        prints (prefilled, app.forms) is paper the applicant signed: it is captured too."""
        return (
            self.state == "collected" and not self.material.generated_at_window and self.copies > 0
        )

    @property
    def bulk_collectable(self) -> bool:
        """May "the rest 已收" (Alt+A) sweep it? Not a form filled in and signed at the window:
        it does not exist until the applicant signs it, so the clerk marks it on its own."""
        return self.state == "missing" and self.material.source != "window"


@dataclass(frozen=True)
class ItemLine:
    item: Item
    state: ItemState
    reason: str = ""
    condition: str = ""


@dataclass(frozen=True)
class Reduction:
    separate: int  # material entries the chosen items list one by one
    merged: int  # what the applicant hands in after merging and exemptions

    @property
    def percent(self) -> float:
        return 0.0 if self.separate == 0 else round(100.0 * (1 - self.merged / self.separate), 1)


@dataclass(frozen=True)
class Checklist:
    bundle_id: str
    items: tuple[ItemLine, ...]
    materials: tuple[MaterialLine, ...]
    verdict: Verdict
    missing: tuple[str, ...]
    tolerated: tuple[str, ...]
    unanswered: tuple[str, ...]  # questions whose answer would change the list
    questions: tuple[Question, ...]  # the questions that matter for the chosen items
    reduction: Reduction
    ignored_marks: tuple[str, ...] = ()  # lenient mode: marks on materials no longer listed

    def line(self, material_id: str) -> MaterialLine | None:
        return next((m for m in self.materials if m.id == material_id), None)

    @property
    def active_items(self) -> tuple[Item, ...]:
        return tuple(i.item for i in self.items if i.state == "active")

    def to_json(self) -> dict[str, object]:
        return {
            "bundle": self.bundle_id,
            "verdict": self.verdict,
            "items": [
                {"id": i.item.id, "name": i.item.name, "state": i.state, "reason": i.reason or None}
                for i in self.items
            ],
            "materials": [
                {
                    "id": m.id,
                    "name": m.name,
                    "state": m.state,
                    "person": m.person,
                    "produced_by": m.produced_by.id if m.produced_by else None,
                    "required_by": [r.item_id for r in m.required_by],
                    "reasons": [r.reason for r in m.required_by if r.reason],
                    "form": m.form,
                    "copies": m.copies,
                    "tolerable": m.tolerable,
                    "exempt_via": m.exempt_basis or None,
                }
                for m in self.materials
            ],
            "missing": list(self.missing),
            "tolerated": list(self.tolerated),
            "unanswered": list(self.unanswered),
            "questions": [q.id for q in self.questions],
            "reduction": {
                "separate": self.reduction.separate,
                "merged": self.reduction.merged,
                "percent": self.reduction.percent,
            },
            "ignored_marks": list(self.ignored_marks),
        }


def line_name(catalog: Catalog, line_id: str) -> str:
    """A line id's printed name (one person's copy named for that person), or the id itself."""
    material_id, person = split_line_id(line_id)
    material = catalog.materials.get(material_id)
    if material is None or (
        person is not None and (person not in PERSON_LABELS or not material.person_name)
    ):
        return line_id
    return material.name_for(person)


def coerce_answer(question: Question, value: object) -> Answer:
    """Turn a typed or CLI-given answer into the question's type, or raise ChecklistError."""
    if question.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ChecklistError(
            "checklist.answer_type", question=question.id, question_text=question.text, value=value
        )
    if question.type == "number":
        if isinstance(value, bool):
            raise ChecklistError(
                "checklist.answer_type",
                variant=2,
                question=question.id,
                question_text=question.text,
            )
        try:
            number = (
                float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
            )
        except ValueError:
            raise ChecklistError(
                "checklist.answer_type",
                variant=4,
                question=question.id,
                question_text=question.text,
                value=value,
            ) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ChecklistError(
                "checklist.answer_type",
                variant=3,
                question=question.id,
                question_text=question.text,
            )
        if (question.min is not None and number < question.min) or (
            question.max is not None and number > question.max
        ):
            raise ChecklistError(
                "checklist.answer_range",
                question=question.id,
                question_text=question.text,
                question_min=question.min,
                question_max=question.max,
            )
        return int(number) if number.is_integer() else number
    allowed = {v for v, _ in question.choices}
    text = str(value).strip()
    if text in allowed:
        return text
    by_label = {label: v for v, label in question.choices}
    if text in by_label:
        return by_label[text]
    raise ChecklistError(
        "checklist.answer_choice",
        question=question.id,
        question_text=question.text,
        value=value,
        choices="、".join(label for _, label in question.choices),
    )


def _check_answers(bundle: Bundle, answers: Mapping[str, object]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for qid, value in answers.items():
        q = bundle.question(qid)
        if q is None:
            raise ChecklistError(
                "checklist.unknown_question",
                bundle=bundle.id,
                question=qid,
                bundle_name=bundle.name,
            )
        out[qid] = coerce_answer(q, value)
    return out


def evaluate(
    bundle: Bundle,
    chosen: Sequence[str] | None = None,
    answers: Mapping[str, object] | None = None,
    marks: Mapping[str, str] | None = None,
    *,
    catalog: Catalog,
    jurisdiction: str | None = None,
    strict: bool = True,
    agent: bool = False,
) -> Checklist:
    """Merge the chosen items' materials and judge completeness.

    chosen: item ids the applicant wants; None means the bundle's default choice (every
    non-optional item offered in the jurisdiction). strict: a mark on a material that is not in
    the list is an error (CLI, service on finish); lenient mode (the live screen, where a changed
    answer may drop a material the clerk already marked) reports it in `ignored_marks` instead.
    A material every needing item says another chosen, active item issues (`produced_by`) is
    免提交 and takes no mark; one needed per person is one line per person (id
    "<material>.<person>"). agent: a 代办人 acts for the applicant (帮办代办), so the
    power of attorney and the agent's ID card are needed once, whatever the items say.
    """
    chosen_items = _chosen_items(bundle, chosen, jurisdiction)
    typed_answers = _check_answers(bundle, answers or {})
    needs = _Needs(bundle, typed_answers)
    for item in chosen_items:
        needs.add_item(item)
    needs.merge_guardians()
    if agent:
        needs.add_agent(catalog)
    produced = needs.produced()
    marks = dict(marks or {})
    ignored = _check_marks(marks, needs.uses, produced, catalog, strict)
    lines = [
        _material_line(mid, uses, catalog, marks, produced.get(mid))
        for mid, uses in needs.uses.items()  # insertion order: first item first, stable
    ]
    missing = tuple(m.id for m in lines if m.state == "missing")
    tolerated = tuple(m.id for m in lines if m.state == "tolerated")
    if missing or needs.unanswered:
        verdict: Verdict = "incomplete"
    elif tolerated:
        verdict = "complete_with_tolerance"
    else:
        verdict = "complete"
    merged = sum(1 for m in lines if m.state != "exempt")
    return Checklist(
        bundle_id=bundle.id,
        items=tuple(needs.item_lines),
        materials=tuple(lines),
        verdict=verdict,
        missing=missing,
        tolerated=tolerated,
        unanswered=tuple(q.id for q in bundle.questions if q.id in needs.unanswered),
        questions=tuple(q for q in bundle.questions if q.id in needs.relevant),
        reduction=Reduction(separate=needs.separate, merged=merged),
        ignored_marks=tuple(ignored),
    )


def _chosen_items(
    bundle: Bundle, chosen: Sequence[str] | None, jurisdiction: str | None
) -> list[Item]:
    """The items asked for, checked against the bundle and the jurisdiction's offer."""
    offered = bundle.items_in(jurisdiction)
    offered_ids = {i.id for i in offered}
    if chosen is None:
        chosen_items = [i for i in offered if not i.optional]
    else:
        chosen_items = []
        for iid in dict.fromkeys(chosen):  # keep order, drop repeats
            item = bundle.item(iid)
            if item is None:
                raise ChecklistError(
                    "checklist.unknown_item", bundle=bundle.id, item=iid, bundle_name=bundle.name
                )
            if iid not in offered_ids:
                raise ChecklistError(
                    "checklist.item_not_offered",
                    bundle=bundle.id,
                    item=iid,
                    item_name=item.name,
                    bundle_name=bundle.name,
                )
            chosen_items.append(item)
    if not chosen_items:
        raise ChecklistError("checklist.no_items", bundle=bundle.id, bundle_name=bundle.name)
    return chosen_items


class _Needs:
    """Every chosen item's need for each line, with the items' states and the questions met."""

    def __init__(self, bundle: Bundle, answers: Mapping[str, Answer]) -> None:
        self.answers = answers
        self.qtext = {q.id: q.text for q in bundle.questions}
        self.item_lines: list[ItemLine] = []
        self.relevant: set[str] = set()
        self.unanswered: set[str] = set()
        self.uses: dict[str, list[_Use]] = {}  # line id → every item's need for it
        self.separate = 0  # material entries as the items list them one by one

    def _switch(self, when: cond_mod.Condition) -> tuple[bool | None, str]:
        """A condition's value on the answers (None: unanswered) and its text."""
        self.relevant |= cond_mod.questions_of(when)
        on = cond_mod.evaluate(when, self.answers)
        if on is None:
            self.unanswered |= {q for q in cond_mod.questions_of(when) if q not in self.answers}
        return on, cond_mod.describe(when, self.qtext)

    def add_item(self, item: Item) -> None:
        cond_text = ""
        if item.when is not None:
            on, cond_text = self._switch(item.when)
            if on is None or not on:
                state: ItemState = "undetermined" if on is None else "not_applicable"
                self.item_lines.append(ItemLine(item, state, item.reason, cond_text))
                return
        self.item_lines.append(ItemLine(item, "active", item.reason, cond_text))
        for ref in item.materials:
            m_cond = ""
            if ref.when is not None:
                on, m_cond = self._switch(ref.when)
                if not on:
                    continue
            req = Requirement(item.id, item.name, ref.reason, m_cond, ref.note)
            for key in [f"{ref.id}{PERSON_KEY_SEP}{p}" for p in ref.persons] or [ref.id]:
                self.separate += 1
                self.uses.setdefault(key, []).append(
                    (item, req, ref.copies, ref.form, ref.tolerable, ref.produced_by)
                )

    def merge_guardians(self) -> None:
        """A guardian's copy is one of the parents' when the list already asks for theirs."""
        for key in [k for k in self.uses if k.endswith(f"{PERSON_KEY_SEP}guardian")]:
            mid = split_line_id(key)[0]
            parents = [f"{mid}{PERSON_KEY_SEP}{p}" for p in GUARDIAN_IS_ONE_OF]
            if any(p in self.uses for p in parents):
                uses = self.uses.pop(key)
                for p in parents:
                    if p in self.uses:
                        self.uses[p].extend(uses)

    def add_agent(self, catalog: Catalog) -> None:
        """帮办代办: the agent's papers, needed once for the intake (on its first active item)."""
        active = [line.item for line in self.item_lines if line.state == "active"]
        if not active:
            return
        item = active[0]
        req = Requirement(item.id, item.name, AGENT_REASON)
        for mid in AGENT_MATERIALS:
            if mid in catalog.materials and mid not in self.uses:
                self.separate += 1
                self.uses[mid] = [(item, req, None, None, None, None)]

    def produced(self) -> dict[str, Item]:
        """Lines every needing item gets from a chosen, active item of the bundle (免提交)."""
        active = {line.item.id: line.item for line in self.item_lines if line.state == "active"}
        out: dict[str, Item] = {}
        for key, uses in self.uses.items():
            producers = [p for *_, p in uses]
            if all(p is not None and p in active for p in producers):
                out[key] = active[str(producers[0])]
        return out


def _check_marks(
    marks: Mapping[str, str],
    needs: Mapping[str, list[_Use]],
    produced: Mapping[str, Item],
    catalog: Catalog,
    strict: bool,
) -> list[str]:
    """Refuse a bad mark; in lenient mode return the marks on lines no longer to be marked."""
    ignored: list[str] = []
    for mid, given in marks.items():
        if given not in MARKS:
            raise ChecklistError("checklist.bad_mark", material=mid, given=given)
        if mid not in needs:
            if strict:
                raise ChecklistError(
                    "checklist.mark_not_in_list",
                    material=mid,
                    material_name=line_name(catalog, mid),
                )
            ignored.append(mid)
        elif mid in produced:
            if strict:
                raise ChecklistError(
                    "checklist.produced_in_bundle",
                    material=mid,
                    material_name=line_name(catalog, mid),
                    producer_name=produced[mid].name,
                )
            ignored.append(mid)
    return ignored


def _material_line(
    mid: str,
    uses: list[_Use],
    catalog: Catalog,
    marks: Mapping[str, str],
    producer: Item | None,
) -> MaterialLine:
    """One merged line: the strictest form, the most copies, 容缺 only if every item allows it."""
    material_id, person = split_line_id(mid)
    material = catalog.materials[material_id]
    copies = max((c if c is not None else material.copies) for _, _, c, _, _, _ in uses)
    form = max((f or material.form for _, _, _, f, _, _ in uses), key=_FORM_RANK.__getitem__)
    tolerable = material.tolerable and all(t is not False for _, _, _, _, t, _ in uses)
    exemptable = bool(material.exempt_via)
    mark = None if producer is not None else marks.get(mid)
    if mark == "exempt" and not exemptable:
        raise ChecklistError(
            "checklist.not_exemptable", material=mid, material_name=material.name_for(person)
        )
    if mark == "tolerated" and not tolerable:
        raise ChecklistError(
            "checklist.not_tolerable", material=mid, material_name=material.name_for(person)
        )
    state: MaterialState = mark if mark is not None else "missing"  # type: ignore[assignment]
    if producer is not None:
        state = "exempt"
    return MaterialLine(
        material=material,
        state=state,
        required_by=tuple(r for _, r, _, _, _, _ in uses),
        form=form,
        copies=copies,
        tolerable=tolerable and producer is None,
        exemptable=exemptable,
        person=person,
        produced_by=producer,
    )
