"""Reading catalog files: a catalog directory or one packed file, size- and shape-limited and
checked against ``resources/catalog/schema/catalog.schema.json``.

What comes out is the packed form (``{"header", "materials", "bundles"}``) of plain JSON;
`app.catalog_load` checks what a schema cannot and builds the model. Any problem raises
`CatalogError` naming the file, the bundle and the field.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import CatalogError
from app.paths import resources_dir

if TYPE_CHECKING:
    import jsonschema

log = logging.getLogger("intake.catalog")

SCHEMA_PATH = resources_dir() / "catalog" / "schema" / "catalog.schema.json"


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
        file=filename,
        bundle=bundle,
        field=_path_text(path),
        detail=best.message[:300],
        where=where,
        problem=_schema_message(best),
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
        value = json.dumps(err.instance, ensure_ascii=False)[:60]
        return f"取值 {value} 不在允许范围 {err.validator_value}"
    if v == "pattern":
        return f"格式不符（{json.dumps(err.instance, ensure_ascii=False)[:60]}）"
    if v in ("minimum", "maximum", "minItems", "minLength", "uniqueItems"):
        return f"取值不符合限制 {v}={err.validator_value}"
    if v == "dependentRequired":
        return "设置了 when 条件时必须同时写明 reason（如“营业面积200平米以上需办理”）"
    if v == "oneOf":
        return "条件格式不符：应为 {q, op, value} 或 all / any / not"
    return str(err.message)[:200]


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
                file=display,
                bundle=bundle,
                field=_short_path(path),
                where=where,
                problem=problem,
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
            file=display,
            bytes=size,
            size_mb=size // (1024 * 1024),
            max_mb=MAX_FILE_BYTES // (1024 * 1024),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogError("catalog.missing_file", file=display) from exc
    except UnicodeDecodeError as exc:
        raise CatalogError("catalog.encoding", file=display) from exc
    except OSError as exc:
        raise CatalogError("catalog.unreadable", file=display) from exc
    try:
        doc = json.loads(text)
    except RecursionError:
        raise CatalogError("catalog.too_deep", variant=2, file=display) from None
    except json.JSONDecodeError as exc:
        # detail: the parser's English, for the log and programs only (not in the text)
        raise CatalogError(
            "catalog.json", file=display, line=exc.lineno, column=exc.colno, detail=exc.msg
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
                        file=name,
                        material=m["id"],
                        sources_m_id=sources[m["id"]],
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
                raise CatalogError("catalog.file_name", file=name, bundle=doc["id"])
            bundles.append(doc)
        if not bundles:
            raise CatalogError("catalog.empty", file=str(path.name))
        return {"header": header, "materials": materials, "bundles": bundles}
    doc = _read_json(path, path.name)
    if check:
        _check_schema(doc, "packed", path.name, bundles_key="bundles")
    return doc  # type: ignore[no-any-return]


def packed_bytes(packed: Mapping[str, Any]) -> bytes:
    return json.dumps(packed, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
