"""The catalog of 一件事: bundles, their items and the materials each item needs.

This module is the model: frozen dataclasses, searched by name, alias and pinyin. On disk a
catalog is a directory (``catalog.json`` header, ``materials/*.json``, ``bundles/*.json``) or one
packed JSON file (what sync delivers): `app.catalog_files` reads and schema-checks those,
`app.catalog_load` checks the rest and builds a `Catalog`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from app import conditions as cond_mod
from app.errors import ChecklistError
from app.paths import resources_dir
from app.workdays import YearTable

BUNDLED_CATALOG = resources_dir() / "catalog"

Form = Literal["original", "copy", "original_and_copy", "electronic"]
_FORM_RANK = {"electronic": 0, "copy": 1, "original": 2, "original_and_copy": 3}

# Whose copy of a material an item asks for, when it is needed once per person (the parents' two
# ID cards are two materials, not one). Keep in step with material_ref.persons in the schema.
PERSON_LABELS: Mapping[str, str] = {
    "applicant": "申请人",
    "father": "父亲",
    "mother": "母亲",
    "man": "男方",
    "woman": "女方",
    "spouse": "配偶",
    "guardian": "监护人",
}
# Materials the window prints itself that are not paper to capture. None: the forms it generates
# (一件事联办申请表, 个人信息查询核验授权书: app.forms) come back signed by the applicant, paper
# like any other; a catalog may not mark a material generated_at_window unless it is listed here.
WINDOW_GENERATED: frozenset[str] = frozenset()
PERSON_KEY_SEP = "."  # a per-person line's id: "<material id>.<person>" (ids never hold a dot)


def split_line_id(line_id: str) -> tuple[str, str | None]:
    """A checklist line id → (material id, person or None)."""
    mid, sep, person = line_id.partition(PERSON_KEY_SEP)
    return mid, (person if sep else None)


@dataclass(frozen=True)
class Jurisdiction:
    id: str
    name: str
    region_code: str = ""


FORM_SOURCES = ("id_card", "applicant", "licence", "manual")  # plus answer:<q> and shared:<m>
FormRole = Literal["application", "authorization"]


@dataclass(frozen=True)
class FormField:
    """One field of an application form: where its value comes from, or "manual" for a field
    the applicant writes by hand. Sources: id_card / applicant / licence (the applicant record's
    field KEY), answer:<question id>, shared:<material id> (fetched by data sharing when that
    material is 免提交), manual."""

    key: str
    label: str
    source: str
    required: bool = True


@dataclass(frozen=True)
class Material:
    id: str
    name: str
    form: Form
    copies: int
    source: str
    acceptance_standard: str
    paper_size: str = "A4"
    pages: int = 1
    issuer: str = ""
    how_to_obtain: str = ""
    exempt_via: str | None = None
    tolerable: bool = False
    tolerance_days: int | None = None
    sensitive: bool = False
    notes: str = ""
    person_name: str = ""  # name of one person's copy, e.g. "{person}居民身份证"
    # 一人一档: a captured copy may serve a later intake of the same person (with consent) while
    # younger than max_age_days (None: the station's reuse_max_age_days option)
    reusable: bool = False
    max_age_days: int | None = None
    generated_at_window: bool = (
        False  # printed by this app (WINDOW_GENERATED), not paper to capture
    )
    # A form (申请表/申请书/授权书): its fields, merged into the window's 一件事联办申请表 or
    # 个人信息查询核验授权书 (app.forms).
    form_fields: tuple[FormField, ...] = ()
    form_role: FormRole = "application"

    def name_for(self, person: str | None) -> str:
        if person is None:
            return self.name
        return self.person_name.format(person=PERSON_LABELS[person])


@dataclass(frozen=True)
class MaterialRef:
    """A material as one item lists it, with the item's own overrides."""

    id: str
    form: Form | None = None
    copies: int | None = None
    tolerable: bool | None = None
    note: str = ""
    when: cond_mod.Condition | None = None
    reason: str = ""
    persons: tuple[str, ...] = ()  # one line per person (PERSON_LABELS); empty: one line
    produced_by: str | None = None  # id of the bundle's item whose result this material is


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: Literal["bool", "number", "choice"]
    help: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)

    def choice_label(self, value: str) -> str:
        return dict(self.choices).get(value, value)


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    department: str
    levels: tuple[str, ...]
    time_limit_days: int
    materials: tuple[MaterialRef, ...]
    time_limit_unit: Literal["working", "calendar"] = "working"
    statutory_limit_days: int | None = None
    department_variants: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""
    optional: bool = False
    jurisdictions: tuple[str, ...] = ()  # empty: offered wherever the bundle is
    when: cond_mod.Condition | None = None
    reason: str = ""

    def department_in(self, jurisdiction: str | None) -> str:
        return self.department_variants.get(jurisdiction or "", self.department)

    @property
    def time_limit_text(self) -> str:
        if self.time_limit_days == 0:
            return "即办"
        unit = "个工作日" if self.time_limit_unit == "working" else "日"
        return f"{self.time_limit_days}{unit}"


@dataclass(frozen=True)
class Bundle:
    id: str
    name: str
    kind: Literal["enterprise", "personal"]
    lead_department: str
    jurisdictions: tuple[str, ...]
    sources: tuple[str, ...]
    items: tuple[Item, ...]
    aliases: tuple[str, ...] = ()
    lead_department_variants: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    questions: tuple[Question, ...] = ()

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def lead_department_in(self, jurisdiction: str | None) -> str:
        return self.lead_department_variants.get(jurisdiction or "", self.lead_department)

    def items_in(self, jurisdiction: str | None) -> tuple[Item, ...]:
        """The items offered where the station is (all of them when the station has none set)."""
        if not jurisdiction:
            return self.items
        return tuple(
            i for i in self.items if not i.jurisdictions or jurisdiction in i.jurisdictions
        )

    @cached_property
    def search_keys(self) -> tuple[str, ...]:
        """Lower-case keys a clerk may type: names, aliases, their pinyin and its initials."""
        keys: list[str] = []
        for text in (self.name, *self.aliases):
            keys.append(text.lower())
            hanzi = re.sub(r"[^\u4e00-\u9fff]", "", text)
            if hanzi:
                keys.extend(pinyin_keys(hanzi))
        return tuple(dict.fromkeys(keys))

    def matches(self, query: str) -> bool:
        q = query.strip().lower()
        return bool(q) and any(q in key for key in self.search_keys)

    def offered_in(self, jurisdiction: str | None) -> bool:
        """Offered where the station is (everywhere when either has none set)."""
        return not jurisdiction or not self.jurisdictions or jurisdiction in self.jurisdictions


@dataclass(frozen=True)
class Catalog:
    version: str
    effective_date: dt.date
    title: str
    jurisdictions: tuple[Jurisdiction, ...]
    materials: Mapping[str, Material]
    bundles: tuple[Bundle, ...]
    digest: str  # SHA-256 over the packed form: identifies exactly this content
    # Per-year working-day tables carried by the catalog (app.workdays; override the library's).
    calendar: Mapping[int, YearTable] = field(default_factory=dict)
    # Named field sets of the header (applicant identity per kind …), "@name" in a form's fields.
    form_field_sets: Mapping[str, tuple[FormField, ...]] = field(default_factory=dict)

    def bundle(self, key: str) -> Bundle | None:
        """By id, Chinese name or alias (exact, ignoring full-/half-width brackets and the
        policy texts' */# list markers), as the CLI and scanner-driven paths need."""
        exact = self._by_key.get(key)
        if exact is not None:
            return exact
        key = _norm_name(key)
        found = self._by_key.get(key)
        if found is not None:
            return found
        # Tolerate the policy-text spelling with quotes and suffix: 新生儿出生“一件事”.
        bare = re.sub(r"[“”\"]?一件事[“”\"]?$", "", key).strip()
        if bare != key:
            return self.bundle(bare)
        return None

    @cached_property
    def _by_key(self) -> dict[str, Bundle]:
        keys: dict[str, Bundle] = {}
        for b in self.bundles:
            for label in (b.name, *b.aliases):
                keys[_norm_name(label)] = b
            keys[b.id] = b
        return keys

    def search(self, query: str) -> list[Bundle]:
        return [b for b in self.bundles if b.matches(query)]

    def find(self, query: str, jurisdiction: str | None = None) -> list[Bundle]:
        """The bundle search of the window and the CLI: the bundles offered in JURISDICTION whose
        name, alias, their pinyin or its initials contain QUERY, prefix matches first (`xs` puts
        新生儿出生 above 高校毕业生就业); every offered bundle for an empty query."""
        q = query.strip().lower()
        offered = [b for b in self.bundles if b.offered_in(jurisdiction)]
        if not q:
            return offered
        found = [b for b in offered if b.matches(q)]
        found.sort(key=lambda b: 0 if any(k.startswith(q) for k in b.search_keys) else 1)
        return found

    def resolve(
        self, query: str, jurisdiction: str | None = None
    ) -> tuple[Bundle | None, list[Bundle]]:
        """What a clerk typed, as one bundle: by id, name or alias, else the search's only match,
        else the only one whose whole name, alias, pinyin or initials it is. (None, candidates)
        when nothing or several match."""
        exact = self.bundle(query)
        if exact is not None:
            return exact, [exact]
        found = self.find(query, jurisdiction)
        if len(found) == 1:
            return found[0], found
        q = query.strip().lower()
        whole = [b for b in found if q in b.search_keys]
        if len(whole) == 1:
            return whole[0], found
        return None, found

    def resolve_one(self, query: str, jurisdiction: str | None, code_prefix: str) -> Bundle:
        """As resolve, for a command: the bundle, or ChecklistError `<prefix>.unknown_bundle` /
        `<prefix>.ambiguous_bundle` naming the candidates."""
        bundle, found = self.resolve(query, jurisdiction)
        if bundle is not None:
            return bundle
        if not found:
            raise ChecklistError(f"{code_prefix}.unknown_bundle", bundle=query)
        names = "、".join(f"{b.name}（{b.id}）" for b in found[:10]) + (
            "等" if len(found) > 10 else ""
        )
        raise ChecklistError(
            f"{code_prefix}.ambiguous_bundle",
            bundle=query,
            candidates=[b.id for b in found],
            count=len(found),
            names=names,
        )

    def material(self, material_id: str) -> Material:
        return self.materials[material_id]

    def jurisdiction(self, jid: str) -> Jurisdiction | None:
        return next((j for j in self.jurisdictions if j.id == jid), None)


_PINYIN_SPELLINGS = 16  # per name: enough for a few polyphones, bounded for long names


def pinyin_keys(hanzi: str) -> list[str]:
    """Full pinyin and initials of HANZI, in every reading of its polyphones (商行: shanghang
    and shangxing), so a clerk finds a bundle whichever reading they type."""
    # pypinyin's phrase dictionary costs ~45 MB of resident memory for the whole process; the
    # per-character readings (all of them) serve a handful of bundle names as well.
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    from pypinyin import Style, pinyin

    keys: list[str] = []
    for style in (Style.NORMAL, Style.FIRST_LETTER):
        readings = pinyin(hanzi, style=style, heteronym=True)
        keys.extend(
            "".join(p) for p in itertools.islice(itertools.product(*readings), _PINYIN_SPELLINGS)
        )
    return keys


def _norm_name(text: str) -> str:
    return text.strip().lstrip("*#＊").translate(_BRACKETS).replace(" ", "")


_BRACKETS = str.maketrans("（）", "()")
