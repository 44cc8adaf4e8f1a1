"""The intake file of `intake submit`: read, checked and turned into an IntakeRequest; every
refusal a SubmitError naming the field in Chinese.

The intake file (JSON, `-` for standard input):

    {"clerk": "wangfang",
     "applicant": {"card": {...}} | {"kind": "personal", "name": …, "resident_id": …, …},
     "bundle": "新生儿出生", "items": ["…"], "answers": {"question": value},
     "marks": {"material": "collected" | "exempt" | "tolerated" | "missing"},
     "pages": {"material": ["scan-1.jpg", …]},
     "reuse": "all" | {"fields": ["address", "phone"], "materials": ["household_register"]},
     "agent": {"name": …, "resident_id": …, "phone": …, "relation": "child" | "子女" | …},
     "priority": "elderly" | "disabled" | "auto" | "none"}

`card` is a card reading as `intake idcard read --json` prints it (the object or its "card");
typed fields beside it (the phone, always) are added as typed. Materials without a mark are
missing, as in the window. `pages` are JPEG or PNG files (paths relative to the intake file),
attached after finishing as the document camera does. `reuse` (一人一档) takes applicant fields
and materials from the person's earlier intake before finishing, as the window's offer does:
only with the applicant's consent in force ("applicant": {"consent_reuse": true} gives it), and
only what is offered ("all": everything offered). `agent` is the 代办人 acting for the applicant
(帮办代办: checked like the applicant, printed on the documents, and the power of attorney joins
the checklist); `priority` marks 优先办 ("auto": elderly when the applicant is 60 or older).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.agent import RELATIONS, AgentInput
from app.views import APPLICANT_FIELDS, ApplicantInput
from local_db.errors import DomainError

# Marks as the clerk says them (1 已收 · 2 免提交 · 3 容缺 · 0 缺) or as the engine names them.
MARKS = {
    "collected": "collected",
    "已收": "collected",
    "exempt": "exempt",
    "免提交": "exempt",
    "tolerated": "tolerated",
    "容缺": "tolerated",
    "missing": None,
    "缺": None,
}
TOP_FIELDS = (
    "clerk",
    "applicant",
    "bundle",
    "items",
    "answers",
    "marks",
    "pages",
    "reuse",
    "agent",
    "priority",
)
AGENT_KEYS = ("name", "resident_id", "phone", "relation", "document_type")
PRIORITY_WORDS = {
    "elderly": "elderly",
    "老年人": "elderly",
    "disabled": "disabled",
    "残疾人": "disabled",
    "auto": "auto",
    "none": "",
    "": "",
}
REUSE_KEYS = ("fields", "materials")
# Captured pages the file may bring, by their first bytes (what the document camera stores).
PAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
TYPED_FIELDS = ("kind", *APPLICANT_FIELDS)
APPLICANT_KEYS = (*TYPED_FIELDS, "card", "consent_reuse")
CARD_FIELDS = ("name", "resident_id", "gender", "birth_date", "address")


class SubmitError(DomainError):
    """The intake file or the command's arguments cannot be used (said in Chinese, with a code)."""


@dataclass(frozen=True)
class IntakeRequest:
    clerk: str
    applicant: ApplicantInput
    bundle: str
    items: tuple[str, ...] | None
    answers: Mapping[str, object]
    marks: Mapping[str, str | None]
    warnings: tuple[str, ...] = field(default=())
    pages: tuple[tuple[str, bytes, str], ...] = ()  # (line id, image bytes, mime), in order
    # 一人一档: None nothing; "all" everything offered; else (fields, materials) to take
    reuse: Literal["all"] | tuple[tuple[str, ...], tuple[str, ...]] | None = None
    agent: AgentInput | None = None  # 帮办代办
    priority: str = ""  # 优先办: elderly | disabled | auto | ""


# ----------------------------------------------------------------------------- the file


def _text(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SubmitError("submit.field_type", field=where)
    return value.strip()


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SubmitError("submit.field_type", variant=2, field=where)
    return value


def _known(obj: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    # A misspelt key would otherwise be dropped silently (e.g. "mark" for "marks").
    for key in obj:
        if key not in allowed:
            raise SubmitError(
                "submit.unknown_field", field=key, where=where, join_allowed="、".join(allowed)
            )


def _date(text: str, where: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SubmitError("submit.date", field=where, text=text) from None


def _applicant(raw: object) -> tuple[ApplicantInput, list[str]]:
    spec = _object(raw, "applicant")
    _known(spec, APPLICANT_KEYS, "申请人")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    document_type = "resident"
    if spec.get("card") is not None:
        card = _object(spec["card"], "applicant.card")
        if isinstance(card.get("card"), dict):  # the whole `intake idcard read --json` answer
            card = card["card"]
        document_type = _text(card.get("card_type"), "applicant.card.card_type") or "resident"
        for name in CARD_FIELDS:
            text = _text(card.get(name), f"applicant.card.{name}")
            if not text and name == "address" and document_type.startswith("foreign"):
                continue  # a foreigner's card records no address
            if not text:
                raise SubmitError("submit.card_field", field=f"card.{name}", name=name)
            values[name] = text
            sources[name] = "card"
        if card.get("expired"):
            warnings.append("该身份证已过有效期，请申请人提供有效证件。")
    for name in TYPED_FIELDS:
        text = _text(spec.get(name), f"applicant.{name}")
        if text and values.get(name) != text:
            values[name] = text
            sources[name] = "typed"  # typed over a card field: no longer verified, as in the window
    kind = values.pop(
        "kind", "enterprise" if values.get("uscc") and "card" not in spec else "personal"
    )
    sources.pop("kind", None)
    if kind not in ("personal", "enterprise"):
        raise SubmitError("submit.applicant_kind", field="kind", kind=kind)
    consent = spec.get("consent_reuse", False)
    if not isinstance(consent, bool):
        raise SubmitError("submit.field_type", variant=3, field="consent_reuse")
    birth = _date(values.pop("birth_date", ""), "applicant.birth_date")
    return ApplicantInput(
        kind=kind,
        birth_date=birth,
        sources=sources,  # type: ignore[arg-type]
        consent_reuse=consent,
        document_type=document_type if kind == "personal" else "resident",
        **{k: values.get(k, "") for k in TYPED_FIELDS if k not in ("kind", "birth_date")},
    ), warnings


def _agent(raw: object) -> AgentInput | None:
    if raw is None:
        return None
    spec = _object(raw, "agent")
    _known(spec, AGENT_KEYS, "代办人")
    relation = _text(spec.get("relation"), "agent.relation")
    by_label = {v: k for k, v in RELATIONS.items()}
    return AgentInput(  # checked by the service (the same rules as at the window)
        name=_text(spec.get("name"), "agent.name"),
        resident_id=_text(spec.get("resident_id"), "agent.resident_id"),
        phone=_text(spec.get("phone"), "agent.phone"),
        relation=by_label.get(relation, relation),
        document_type=_text(spec.get("document_type"), "agent.document_type") or "resident",
    )


def _priority(raw: object) -> str:
    word = _text(raw, "priority")
    if word not in PRIORITY_WORDS:
        raise SubmitError(
            "submit.unknown_field",
            field=word,
            where="priority",
            join_allowed="、".join(PRIORITY_WORDS),
        )
    return PRIORITY_WORDS[word]


def _pages(raw: object, base: Path) -> tuple[tuple[str, bytes, str], ...]:
    """`"pages": {"<line id>": ["scan-1.jpg", …]}`: image files (paths relative to the intake
    file), attached after finishing as the document camera would."""
    out: list[tuple[str, bytes, str]] = []
    for line_id, files in _object(raw, "pages").items():
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise SubmitError(
                "submit.field_type", variant=5, field=f"pages.{line_id}", line_id=line_id
            )
        for name in files:
            path = base / name
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SubmitError(
                    "submit.page_file", file=name, reason=exc.strerror or exc
                ) from exc
            mime = next((m for magic, m in PAGE_TYPES.items() if data.startswith(magic)), None)
            if mime is None:
                raise SubmitError("submit.page_type", file=name)
            out.append((line_id, data, mime))
    return tuple(out)


def parse_request(data: object, base: Path | None = None) -> IntakeRequest:
    """The intake file's content as a request, or SubmitError saying what is wrong with it.
    BASE: the folder page paths are relative to (the intake file's)."""
    spec = _object(data, "（文件顶层）")
    _known(spec, TOP_FIELDS, "受理文件")
    for key in ("clerk", "applicant", "bundle"):
        if spec.get(key) in (None, ""):
            raise SubmitError("submit.missing_field", field=key)
    applicant, warnings = _applicant(spec["applicant"])
    items = spec.get("items")
    if items is not None and (
        not isinstance(items, list) or not all(isinstance(i, str) for i in items)
    ):
        raise SubmitError("submit.field_type", variant=4, field="items")
    answers = _object(spec.get("answers") or {}, "answers")
    marks: dict[str, str | None] = {}
    for material, mark in _object(spec.get("marks") or {}, "marks").items():
        if not isinstance(mark, str) or mark.strip() not in MARKS:
            raise SubmitError("submit.bad_mark", material=material, mark=mark)
        marks[material] = MARKS[mark.strip()]
    return IntakeRequest(
        clerk=_text(spec["clerk"], "clerk"),
        applicant=applicant,
        bundle=_text(spec["bundle"], "bundle"),
        items=tuple(items) if items is not None else None,
        answers=answers,
        marks=marks,
        warnings=tuple(warnings),
        pages=_pages(spec.get("pages") or {}, base or Path.cwd()),
        reuse=_reuse(spec.get("reuse")),
        agent=_agent(spec.get("agent")),
        priority=_priority(spec.get("priority")),
    )


def _reuse(raw: object) -> Literal["all"] | tuple[tuple[str, ...], tuple[str, ...]] | None:
    if raw is None or raw == "all":
        return raw
    spec = _object(raw, "reuse")
    _known(spec, REUSE_KEYS, "reuse")
    lists = []
    for key in REUSE_KEYS:
        value = spec.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SubmitError("submit.field_type", variant=6, field=f"reuse.{key}")
        lists.append(tuple(value))
    return lists[0], lists[1]


def read_request(path: str) -> IntakeRequest:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SubmitError("submit.file", file=path, reason=exc.strerror or exc) from exc
    except UnicodeDecodeError:
        raise SubmitError("submit.encoding", file=path) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", "?")
        col = getattr(exc, "colno", "?")
        raise SubmitError("submit.json", file=path, line=line, col=col) from None
    return parse_request(data, Path.cwd() if path == "-" else Path(path).resolve().parent)
