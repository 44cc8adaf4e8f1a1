"""The small declarative condition language of the catalog (never `eval`).

A condition is JSON: ``{"q": QUESTION, "op": OP, "value": V}`` with OP one of eq ne gt ge lt le in
not_in, or ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": ...}``. Evaluation is three-valued:
a comparison on an unanswered question is *unknown* (None), so the engine can tell "not needed"
from "needs an answer first".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Answer = bool | float | int | str

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "not_in")
_ORDERED = ("gt", "ge", "lt", "le")
_OP_TEXT = {
    "eq": "为",
    "ne": "不为",
    "gt": "大于",
    "ge": "不小于",
    "lt": "小于",
    "le": "不大于",
    "in": "为以下之一：",
    "not_in": "不为以下任一：",
}


@dataclass(frozen=True)
class Compare:
    question: str
    op: str
    value: object


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | AllOf | AnyOf | Not


def parse(raw: Mapping[str, object]) -> Condition:
    """Build a condition from its (schema-validated) JSON form."""
    if "all" in raw:
        return AllOf(tuple(parse(p) for p in raw["all"]))  # type: ignore[attr-defined]
    if "any" in raw:
        return AnyOf(tuple(parse(p) for p in raw["any"]))  # type: ignore[attr-defined]
    if "not" in raw:
        return Not(parse(raw["not"]))  # type: ignore[arg-type]
    return Compare(str(raw["q"]), str(raw["op"]), raw.get("value"))


def questions_of(cond: Condition) -> set[str]:
    if isinstance(cond, Compare):
        return {cond.question}
    if isinstance(cond, Not):
        return questions_of(cond.part)
    out: set[str] = set()
    for p in cond.parts:
        out |= questions_of(p)
    return out


def evaluate(cond: Condition, answers: Mapping[str, Answer]) -> bool | None:
    """True / False, or None when an unanswered question decides the result (Kleene logic)."""
    if isinstance(cond, Compare):
        if cond.question not in answers:
            return None
        return _compare(answers[cond.question], cond.op, cond.value)
    if isinstance(cond, Not):
        inner = evaluate(cond.part, answers)
        return None if inner is None else not inner
    results = [evaluate(p, answers) for p in cond.parts]
    if isinstance(cond, AllOf):
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def _compare(answer: Answer, op: str, value: object) -> bool:
    if op == "eq":
        return answer == value
    if op == "ne":
        return answer != value
    if op == "in":
        return answer in value  # type: ignore[operator]
    if op == "not_in":
        return answer not in value  # type: ignore[operator]
    a, b = float(answer), float(value)  # type: ignore[arg-type]
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


def describe(cond: Condition, question_text: Mapping[str, str]) -> str:
    """A Chinese rendering for the explanation pane, e.g. "营业面积 大于 200"."""
    if isinstance(cond, Compare):
        q = question_text.get(cond.question, cond.question)
        v = cond.value
        if isinstance(v, bool):
            return (
                f"{q}：{'是' if v else '否'}" if cond.op == "eq" else f"{q}：{'否' if v else '是'}"
            )
        if isinstance(v, list):
            v = "、".join(str(x) for x in v)
        return f"{q} {_OP_TEXT[cond.op]} {v}"
    if isinstance(cond, Not):
        return f"并非（{describe(cond.part, question_text)}）"
    joiner = "且" if isinstance(cond, AllOf) else "或"
    return joiner.join(f"（{describe(p, question_text)}）" for p in cond.parts)


def type_problems(cond: Condition, questions: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Static checks against the bundle's questions: unknown question, op or value of wrong type."""
    problems: list[str] = []
    if isinstance(cond, Not):
        return type_problems(cond.part, questions)
    if isinstance(cond, (AllOf, AnyOf)):
        for p in cond.parts:
            problems += type_problems(p, questions)
        return problems
    q = questions.get(cond.question)
    if q is None:
        return [f"条件引用了未定义的情形问题“{cond.question}”"]
    qtype = q["type"]
    values = cond.value if cond.op in ("in", "not_in") else [cond.value]
    if cond.op in ("in", "not_in") and not isinstance(cond.value, list):
        return [f"条件“{cond.question}”的运算 {cond.op} 需要列表值"]
    for v in values:  # type: ignore[attr-defined]
        if qtype == "bool" and (not isinstance(v, bool) or cond.op in _ORDERED):
            problems.append(f"是/否问题“{cond.question}”只能用 eq/ne 比较 true/false")
        elif qtype == "number" and (isinstance(v, bool) or not isinstance(v, (int, float))):
            problems.append(f"数值问题“{cond.question}”的比较值必须是数字")
        elif qtype == "choice":
            allowed = {c["value"] for c in q.get("choices", [])}  # type: ignore[attr-defined]
            if cond.op in _ORDERED:
                problems.append(f"选择问题“{cond.question}”不能做大小比较")
            elif v not in allowed:
                problems.append(f"选择问题“{cond.question}”没有选项“{v}”")
    return problems
