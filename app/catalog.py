"""The catalog of 一件事: bundles, their items and the materials each item needs.

On disk a catalog is a directory (``catalog.json`` header, ``materials/*.json``, ``bundles/*.json``)
or one packed JSON file (what sync delivers). Loading validates every file against
``resources/catalog/schema/catalog.schema.json`` and then checks what a schema cannot
(references, duplicates, condition types); any problem raises `CatalogError` naming the file,
the bundle and the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app import conditions as cond_mod
from app.errors import CatalogError, ChecklistError
from app.paths import resources_dir

if TYPE_CHECKING:
    import jsonschema

log = logging.getLogger("intake.catalog")

SCHEMA_PATH = resources_dir() / "catalog" / "schema" / "catalog.schema.json"
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
# Materials the window prints itself from the intake's data. None yet: 一件事联办申请表,
# 个人信息查询核验授权书 … are handed out blank and filled in and signed by the applicant, so a
# catalog may not mark a material generated_at_window until its generator is listed here.
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
    generated_at_window: bool = (
        False  # printed by this app (WINDOW_GENERATED), not paper to capture
    )

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
            raise ChecklistError(
                f"{code_prefix}.unknown_bundle", f"目录中没有一件事“{query}”。", bundle=query
            )
        names = "、".join(f"{b.name}（{b.id}）" for b in found[:10]) + (
            "等" if len(found) > 10 else ""
        )
        raise ChecklistError(
            f"{code_prefix}.ambiguous_bundle",
            f"“{query}”对应{len(found)}个一件事，请写得更具体：{names}。",
            bundle=query,
            candidates=[b.id for b in found],
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


# ----------------------------------------------------------------------------- loading


def _schema() -> dict[str, Any]:
    global _SCHEMA_CACHE
    if _SCHEMA_CACHE is None:
        _SCHEMA_CACHE = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return _SCHEMA_CACHE


_SCHEMA_CACHE: dict[str, Any] | None = None
_VALIDATORS: dict[str, jsonschema.protocols.Validator] = {}


def _validator(defname: str) -> jsonschema.protocols.Validator:
    import jsonschema  # ~50 ms: only when a catalog is actually checked (see read_packed)

    if defname not in _VALIDATORS:
        schema = dict(_schema())
        schema["$ref"] = f"#/$defs/{defname}"
        cls = jsonschema.validators.validator_for(schema)
        _VALIDATORS[defname] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return _VALIDATORS[defname]


def _path_text(path: Iterable[object]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "（顶层）"


def _bundle_at(doc: Any, path: list[object], bundles_key: str | None) -> str | None:
    """The bundle id an error path points into, for the message."""
    if bundles_key is None:
        return doc.get("id") if isinstance(doc, dict) else None
    if len(path) >= 2 and path[0] == bundles_key and isinstance(path[1], int):
        try:
            return str(doc[bundles_key][path[1]].get("id"))
        except (IndexError, AttributeError, KeyError):
            return None
    return None


def _check_schema(doc: Any, defname: str, filename: str, bundles_key: str | None = None) -> None:
    import jsonschema

    errors = sorted(_validator(defname).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    err = min(errors, key=lambda e: len(e.absolute_path))
    best = jsonschema.exceptions.best_match(errors) or err
    path = list(best.absolute_path)
    bundle = _bundle_at(doc, path, bundles_key) if defname in ("bundle", "packed") else None
    where = f"目录文件 {filename}" + (f"，一件事 {bundle}" if bundle else "")
    raise CatalogError(
        "catalog.schema",
        f"{where}，字段 {_path_text(path)}：{_schema_message(best)}",
        file=filename,
        bundle=bundle,
        field=_path_text(path),
        detail=best.message[:300],
    )


def _schema_message(err: jsonschema.ValidationError) -> str:
    v = err.validator
    if v == "required":
        missing = [
            r
            for r in err.validator_value
            if isinstance(err.instance, dict) and r not in err.instance
        ]
        return f"缺少必填字段 {', '.join(missing)}"
    if v == "additionalProperties":
        return f"有不认识的字段（{err.message[:120]}）"
    if v == "type":
        return f"类型应为 {err.validator_value}"
    if v in ("enum", "const"):
        return f"取值 {json.dumps(err.instance, ensure_ascii=False)[:60]} 不在允许范围 {err.validator_value}"
    if v == "pattern":
        return f"格式不符（{json.dumps(err.instance, ensure_ascii=False)[:60]}）"
    if v in ("minimum", "maximum", "minItems", "minLength", "uniqueItems"):
        return f"取值不符合限制 {v}={err.validator_value}"
    if v == "dependentRequired":
        return "设置了 when 条件时必须同时写明 reason（如“营业面积200平米以上需办理”）"
    if v == "oneOf":
        return "条件格式不符：应为 {q, op, value} 或 all / any / not"
    return err.message[:200]


# Catalogs arrive from the hub: bounds on what a file may hold, checked before the schema (whose
# validator recurses once per level and would end in RecursionError on a deep enough file).
MAX_FILE_BYTES = 16 * 1024 * 1024  # the whole bundled catalog packs to under 1 MB
MAX_JSON_DEPTH = 32  # the bundled catalog's deepest file nests 10 levels
MAX_CONDITION_DEPTH = 8  # all / any / not inside one another


def _short_path(path: list[object]) -> str:
    if len(path) > 10:
        return _path_text(path[:8]) + f"…（共 {len(path)} 层）"
    return _path_text(path)


def _check_shape(doc: Any, display: str) -> None:
    """Nesting limits, walked without recursion; the error names file, bundle and field."""
    stack: list[tuple[Any, list[object], int]] = [(doc, [], 0)]
    while stack:
        node, path, cond_depth = stack.pop()
        problem = None
        if len(path) >= MAX_JSON_DEPTH:
            problem = f"嵌套超过 {MAX_JSON_DEPTH} 层"
        elif cond_depth > MAX_CONDITION_DEPTH:
            problem = f"条件（all / any / not）嵌套超过 {MAX_CONDITION_DEPTH} 层"
        if problem:
            packed = isinstance(doc, dict) and "header" in doc and "bundles" in doc
            bundle = (
                _bundle_at(doc, path, "bundles")
                if packed
                else (_bundle_at(doc, path, None) if display.startswith("bundles/") else None)
            )
            where = f"目录文件 {display}" + (f"，一件事 {bundle}" if bundle else "")
            raise CatalogError(
                "catalog.too_deep",
                f"{where}，字段 {_short_path(path)}：{problem}，拒绝载入。",
                file=display,
                bundle=bundle,
                field=_short_path(path),
            )
        if isinstance(node, dict):
            for k, v in node.items():
                stack.append((v, [*path, k], cond_depth + (k in ("all", "any", "not"))))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, [*path, i], cond_depth))


def _read_json(path: Path, display: str) -> Any:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # missing or unreadable: named below
    if size > MAX_FILE_BYTES:
        raise CatalogError(
            "catalog.too_large",
            f"目录文件 {display} 有 {size // (1024 * 1024)} MB，超过上限 {MAX_FILE_BYTES // (1024 * 1024)} MB，拒绝载入。",
            file=display,
            bytes=size,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogError(
            "catalog.missing_file", f"找不到目录文件 {display}", file=display
        ) from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(
            "catalog.encoding", f"目录文件 {display} 不是 UTF-8 编码", file=display
        ) from exc
    except OSError as exc:
        raise CatalogError(
            "catalog.unreadable", f"无法读取目录文件 {display}", file=display
        ) from exc
    try:
        doc = json.loads(text)
    except RecursionError:
        raise CatalogError(
            "catalog.too_deep", f"目录文件 {display}：嵌套层数过多，拒绝载入。", file=display
        ) from None
    except json.JSONDecodeError as exc:
        raise CatalogError(
            "catalog.json",
            f"目录文件 {display} 第{exc.lineno}行第{exc.colno}列 JSON 格式错误（括号、引号或逗号不匹配）。",
            file=display,
            line=exc.lineno,
            detail=exc.msg,  # the parser's English, for the log and programs only
        ) from exc
    _check_shape(doc, display)
    return doc


def _content_digest(path: Path, only_bundles: set[str] | None) -> str | None:
    """SHA-256 over the schema and every file read_packed would read (None: unreadable)."""
    h = hashlib.sha256()
    try:
        h.update(SCHEMA_PATH.read_bytes())
        if path.is_dir():
            files = [path / "catalog.json", *sorted((path / "materials").glob("*.json"))]
            files += [
                f
                for f in sorted((path / "bundles").glob("*.json"))
                if only_bundles is None or f.stem in only_bundles
            ]
        else:
            files = [path]
        for f in files:
            data = f.read_bytes()
            h.update(f"{f.name}\0{len(data)}\0".encode())
            h.update(data)
    except OSError:
        return None  # read_packed names the problem
    return h.hexdigest()


def read_packed(
    path: Path, only_bundles: set[str] | None = None, *, checked_dir: Path | None = None
) -> dict[str, Any]:
    """Read a catalog directory or a packed file into the packed form, schema-checked.

    `only_bundles` (file stems) restricts a directory read to some bundle files: used by catalog
    authors to check one file while others are being edited.
    `checked_dir` remembers the digests of contents that passed the schema check: the same bytes
    under the same schema are not checked again (the check costs ~0.8 s of every start; the
    semantic checks in build_catalog still run each time).
    """
    path = Path(path)
    digest = _content_digest(path, only_bundles) if checked_dir is not None else None
    marker = checked_dir / digest if checked_dir is not None and digest else None
    check = marker is None or not marker.exists()
    packed = _read_packed(path, only_bundles, check)
    if check and marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            log.warning("cannot remember the checked catalog in %s", checked_dir)
    return packed


def _read_packed(path: Path, only_bundles: set[str] | None, check: bool) -> dict[str, Any]:
    if path.is_dir():
        header = _read_json(path / "catalog.json", "catalog.json")
        if check:
            _check_schema(header, "header", "catalog.json")
        materials: list[Any] = []
        sources: dict[str, str] = {}
        for f in sorted((path / "materials").glob("*.json")):
            name = f"materials/{f.name}"
            doc = _read_json(f, name)
            if check:
                _check_schema(doc, "materials_file", name)
            for m in doc["materials"]:
                if m["id"] in sources:
                    raise CatalogError(
                        "catalog.duplicate_material",
                        f"目录文件 {name}，材料 {m['id']} 与 {sources[m['id']]} 中的定义重复",
                        file=name,
                        material=m["id"],
                    )
                sources[m["id"]] = name
                materials.append(m)
        bundles = []
        for f in sorted((path / "bundles").glob("*.json")):
            if only_bundles is not None and f.stem not in only_bundles:
                continue
            name = f"bundles/{f.name}"
            doc = _read_json(f, name)
            if check:
                _check_schema(doc, "bundle", name)
            if f.stem != doc["id"]:
                raise CatalogError(
                    "catalog.file_name",
                    f"目录文件 {name}，一件事 {doc['id']}：文件名应为 {doc['id']}.json",
                    file=name,
                    bundle=doc["id"],
                )
            bundles.append(doc)
        if not bundles:
            raise CatalogError(
                "catalog.empty", f"目录 {path.name} 中没有任何一件事", file=str(path.name)
            )
        return {"header": header, "materials": materials, "bundles": bundles}
    doc = _read_json(path, path.name)
    if check:
        _check_schema(doc, "packed", path.name, bundles_key="bundles")
    return doc  # type: ignore[no-any-return]


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load and fully validate a catalog; the bundled one when no path is given."""
    path = Path(path) if path is not None else BUNDLED_CATALOG
    packed = read_packed(path)
    display = path.name
    return build_catalog(packed, display)


def packed_bytes(packed: Mapping[str, Any]) -> bytes:
    return json.dumps(packed, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def build_catalog(packed: Mapping[str, Any], display: str = "catalog") -> Catalog:
    """Semantic checks a schema cannot express, then the frozen model."""
    header = packed["header"]
    jurisdictions = tuple(
        Jurisdiction(j["id"], j["name"], j.get("region_code", "")) for j in header["jurisdictions"]
    )
    jids = {j.id for j in jurisdictions}
    materials: dict[str, Material] = {}
    for m in packed["materials"]:
        if m["id"] in materials:
            raise CatalogError(
                "catalog.duplicate_material",
                f"{display}：材料 {m['id']} 重复定义",
                material=m["id"],
            )
        if m.get("generated_at_window") and m["id"] not in WINDOW_GENERATED:
            raise CatalogError(
                "catalog.no_generator",
                f"{display}：材料 {m['id']} 标记为窗口生成，但本程序没有生成该文书的功能",
                material=m["id"],
            )
        if m.get("tolerance_days") and not m.get("tolerable"):
            raise CatalogError(
                "catalog.tolerance",
                f"{display}：材料 {m['id']} 设置了容缺期限但未标记可容缺",
                material=m["id"],
            )
        materials[m["id"]] = Material(
            id=m["id"],
            name=m["name"],
            form=m["form"],
            copies=m["copies"],
            source=m["source"],
            acceptance_standard=m["acceptance_standard"],
            paper_size=m.get("paper_size", "A4"),
            pages=m.get("pages", 1),
            issuer=m.get("issuer", ""),
            how_to_obtain=m.get("how_to_obtain", ""),
            exempt_via=m.get("exempt_via"),
            tolerable=m.get("tolerable", False),
            tolerance_days=m.get("tolerance_days"),
            sensitive=m.get("sensitive", False),
            notes=m.get("notes", ""),
            person_name=m.get("person_name", ""),
            generated_at_window=m.get("generated_at_window", False),
        )
    bundles: list[Bundle] = []
    seen_names: dict[str, str] = {}
    for b in packed["bundles"]:
        bundles.append(_build_bundle(b, materials, jids, display))
        for label in (b["name"], *b.get("aliases", [])):
            if label in seen_names and seen_names[label] != b["id"]:
                raise CatalogError(
                    "catalog.duplicate_name",
                    f"{display}，一件事 {b['id']}：名称或别名“{label}”与 {seen_names[label]} 重复",
                    bundle=b["id"],
                )
            seen_names[label] = b["id"]
    ids = [b.id for b in bundles]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise CatalogError(
            "catalog.duplicate_bundle",
            f"{display}：一件事 {sorted(dup)[0]} 重复定义",
            bundle=sorted(dup)[0],
        )
    try:
        effective = dt.date.fromisoformat(header["effective_date"])
    except ValueError as exc:
        raise CatalogError(
            "catalog.schema",
            "目录文件 catalog.json，字段 effective_date：日期无效",
            file="catalog.json",
            field="effective_date",
        ) from exc
    return Catalog(
        version=header["version"],
        effective_date=effective,
        title=header.get("title", ""),
        jurisdictions=jurisdictions,
        materials=materials,
        bundles=tuple(sorted(bundles, key=lambda b: (b.kind != "personal", b.id))),
        digest=hashlib.sha256(packed_bytes(packed)).hexdigest(),
    )


def _build_bundle(
    b: Mapping[str, Any], materials: Mapping[str, Material], jids: set[str], display: str
) -> Bundle:
    bid = b["id"]
    fname = f"bundles/{bid}.json" if display != bid else display

    def fail(code: str, field_path: str, msg: str) -> CatalogError:
        return CatalogError(
            code,
            f"目录文件 {fname}，一件事 {bid}，字段 {field_path}：{msg}",
            file=fname,
            bundle=bid,
            field=field_path,
        )

    for key in ("lead_department_variants",):
        for j in b.get(key, {}):
            if j not in jids:
                raise fail("catalog.jurisdiction", f"{key}.{j}", f"未定义的辖区“{j}”")
    for i, j in enumerate(b["jurisdictions"]):
        if j not in jids:
            raise fail("catalog.jurisdiction", f"jurisdictions[{i}]", f"未定义的辖区“{j}”")
    questions_raw = {q["id"]: q for q in b.get("questions", [])}
    if len(questions_raw) != len(b.get("questions", [])):
        raise fail("catalog.duplicate_question", "questions", "情形问题 id 重复")
    questions = tuple(
        Question(
            id=q["id"],
            text=q["text"],
            type=q["type"],
            help=q.get("help", ""),
            unit=q.get("unit", ""),
            min=q.get("min"),
            max=q.get("max"),
            choices=tuple((c["value"], c["label"]) for c in q.get("choices", [])),
        )
        for q in b.get("questions", [])
    )
    used_questions: set[str] = set()

    def build_cond(raw: Any, field_path: str) -> cond_mod.Condition | None:
        if raw is None:
            return None
        c = cond_mod.parse(raw)
        problems = cond_mod.type_problems(c, questions_raw)
        if problems:
            raise fail("catalog.condition", field_path, problems[0])
        used_questions.update(cond_mod.questions_of(c))
        return c

    items: list[Item] = []
    item_ids: set[str] = set()
    all_item_ids = {it["id"] for it in b["items"]}
    produced: list[tuple[str, str, str]] = []  # (field path, material id, producing item id)
    for ii, it in enumerate(b["items"]):
        if it["id"] in item_ids:
            raise fail("catalog.duplicate_item", f"items[{ii}].id", f"事项 id“{it['id']}”重复")
        item_ids.add(it["id"])
        for j in [*it.get("jurisdictions", []), *it.get("department_variants", {})]:
            if j not in jids:
                raise fail("catalog.jurisdiction", f"items[{ii}]", f"未定义的辖区“{j}”")
        refs: list[MaterialRef] = []
        seen_refs: set[str] = set()
        for mi, mr in enumerate(it["materials"]):
            fp = f"items[{ii}].materials[{mi}]"
            mat = materials.get(mr["id"])
            if mat is None:
                raise fail("catalog.unknown_material", f"{fp}.id", f"未定义的材料“{mr['id']}”")
            if mr["id"] in seen_refs:
                raise fail("catalog.duplicate_ref", f"{fp}.id", f"同一事项重复列出材料“{mr['id']}”")
            seen_refs.add(mr["id"])
            if mr.get("tolerable") and not mat.tolerable:
                raise fail(
                    "catalog.tolerance",
                    f"{fp}.tolerable",
                    f"材料“{mat.id}”本身不可容缺，事项不能放宽",
                )
            persons = tuple(mr.get("persons", ()))
            for person in persons:
                if person not in PERSON_LABELS:
                    raise fail("catalog.person", f"{fp}.persons", f"未定义的人员“{person}”")
            if persons and "{person}" not in mat.person_name:
                raise fail(
                    "catalog.person_name",
                    f"{fp}.persons",
                    f"材料“{mat.id}”按人列出时须在材料中定义 person_name（如“{{person}}居民身份证”）",
                )
            producer = mr.get("produced_by")
            if producer is not None:
                if producer not in all_item_ids:
                    raise fail(
                        "catalog.produced_by",
                        f"{fp}.produced_by",
                        f"本一件事中没有事项“{producer}”",
                    )
                if producer == it["id"]:
                    raise fail(
                        "catalog.produced_by", f"{fp}.produced_by", "事项不能需要它自己产生的材料"
                    )
                if persons:
                    raise fail(
                        "catalog.produced_by", f"{fp}.produced_by", "本件产生的材料不能再按人列出"
                    )
                produced.append((f"{fp}.produced_by", mr["id"], producer))
            refs.append(
                MaterialRef(
                    id=mr["id"],
                    form=mr.get("form"),
                    copies=mr.get("copies"),
                    tolerable=mr.get("tolerable"),
                    note=mr.get("note", ""),
                    when=build_cond(mr.get("when"), f"{fp}.when"),
                    reason=mr.get("reason", ""),
                    persons=persons,
                    produced_by=producer,
                )
            )
        items.append(
            Item(
                id=it["id"],
                name=it["name"],
                department=it["department"],
                levels=tuple(it["levels"]),
                time_limit_days=it["time_limit_days"],
                time_limit_unit=it.get("time_limit_unit", "working"),
                statutory_limit_days=it.get("statutory_limit_days"),
                materials=tuple(refs),
                department_variants=dict(it.get("department_variants", {})),
                notes=it.get("notes", ""),
                optional=it.get("optional", False),
                jurisdictions=tuple(it.get("jurisdictions", [])),
                when=build_cond(it.get("when"), f"items[{ii}].when"),
                reason=it.get("reason", ""),
            )
        )
    by_id = {i.id: i for i in items}
    for fp, mid, producer in produced:
        if any(r.id == mid for r in by_id[producer].materials):
            raise fail(
                "catalog.produced_by",
                fp,
                f"事项“{producer}”自己也要求提交材料“{mid}”，不能同时是它的产生者",
            )
    unused = set(questions_raw) - used_questions
    if unused:
        raise fail(
            "catalog.unused_question",
            "questions",
            f"情形问题“{sorted(unused)[0]}”没有被任何条件使用",
        )
    return Bundle(
        id=bid,
        name=b["name"],
        kind=b["kind"],
        lead_department=b["lead_department"],
        jurisdictions=tuple(b["jurisdictions"]),
        sources=tuple(b["sources"]),
        items=tuple(items),
        aliases=tuple(b.get("aliases", [])),
        lead_department_variants=dict(b.get("lead_department_variants", {})),
        description=b.get("description", ""),
        questions=questions,
    )


def pack_directory(src: Path, dest: Path) -> Path:
    """Write a catalog directory as one packed file (what the hub serves to stations)."""
    packed = read_packed(src)
    build_catalog(packed, src.name)  # refuse to pack a catalog that would not load
    dest.write_bytes(packed_bytes(packed))
    return dest


def main_check(argv: list[str] | None = None) -> int:
    """`python -m app.catalog [BUNDLE_ID ...]`: validate the bundled catalog (or some bundles)."""
    import sys

    ids = set(argv if argv is not None else sys.argv[1:]) or None
    try:
        packed = read_packed(BUNDLED_CATALOG, only_bundles=ids)
        cat = build_catalog(packed, "catalog")
    except CatalogError as exc:
        print(f"INVALID [{exc.code}] {exc.message}")
        return 1
    print(f"OK {cat.version}: {len(cat.bundles)} bundles, {len(cat.materials)} materials")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_check())


class CatalogProvider:
    """The catalog in use, replaceable at run time, plus every earlier version a stored
    submission was checked against (kept by digest in ARCHIVE so its checklist and receipt can
    be rebuilt years later)."""

    def __init__(
        self, current: Catalog, packed: Mapping[str, Any], archive: Path | None = None
    ) -> None:
        self._by_digest: dict[str, Catalog] = {current.digest: current}
        self._current = current
        self._archive = Path(archive) if archive else None
        if self._archive:
            self._archive.mkdir(parents=True, exist_ok=True)
            self._keep(current.digest, packed)

    @classmethod
    def from_path(
        cls, path: Path | str | None = None, archive: Path | None = None
    ) -> CatalogProvider:
        src = Path(path) if path is not None else BUNDLED_CATALOG
        checked = Path(archive) / "checked" if archive else None
        packed = read_packed(src, checked_dir=checked)
        return cls(build_catalog(packed, src.name), packed, archive)

    @property
    def current(self) -> Catalog:
        return self._current

    def _keep(self, digest: str, packed: Mapping[str, Any]) -> None:
        assert self._archive is not None
        target = self._archive / f"{digest}.json"
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(packed_bytes(packed))
            tmp.replace(target)

    def replace(self, packed: Mapping[str, Any]) -> Catalog:
        """Install a newer catalog (from sync); refuses a broken or older one."""
        new = build_catalog(packed, "新目录")
        if new.version < self._current.version:
            raise CatalogError(
                "catalog.older",
                f"收到的目录版本 {new.version} 早于正在使用的 {self._current.version}，未替换。",
            )
        if self._archive:
            self._keep(new.digest, packed)
        self._by_digest[new.digest] = new
        self._current = new
        log.info("catalog replaced: %s", new.version)
        return new

    def get(self, digest: str) -> Catalog:
        if digest in self._by_digest:
            return self._by_digest[digest]
        if self._archive and (self._archive / f"{digest}.json").exists():
            cat = load_catalog(self._archive / f"{digest}.json")
            self._by_digest[digest] = cat
            return cat
        raise CatalogError(
            "catalog.version_unavailable",
            "本条受理记录所用的目录版本在本机不存在，无法重现其材料清单。",
            digest=digest,
        )
