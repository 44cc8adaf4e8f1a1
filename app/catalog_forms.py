"""The catalog's form declarations: named field sets in the header and each form material's
fields ("@set" pulls a set in), checked and expanded once at load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.catalog import FORM_SOURCES, FormField
from app.errors import CatalogError
from app.views import APPLICANT_FIELDS

# Sources whose value is the applicant record's field of the same key.
RECORD_SOURCES = ("id_card", "applicant", "licence")


def field_sets(header: Mapping[str, Any], display: str) -> dict[str, tuple[FormField, ...]]:
    sets: dict[str, tuple[FormField, ...]] = {}
    for name, raw in header.get("form_field_sets", {}).items():
        sets[name] = tuple(_field(f, f"form_field_sets.{name}", display) for f in raw)
    return sets


def form_fields(
    m: Mapping[str, Any],
    sets: Mapping[str, tuple[FormField, ...]],
    material_ids: set[str],
    display: str,
) -> tuple[FormField, ...]:
    """A material's fields, sets expanded, each key once (the first declaration wins)."""
    out: dict[str, FormField] = {}
    where = f"{m['id']}.form_fields"
    for raw in m.get("form_fields", ()):
        if isinstance(raw, str):
            found = sets.get(raw.removeprefix("@"))
            if found is None:
                raise CatalogError("catalog.form_field", display=display, where=where, value=raw)
            fields: tuple[FormField, ...] = found
        else:
            fields = (_field(raw, where, display),)
        for f in fields:
            if f.source.startswith("shared:") and f.source[7:] not in material_ids:
                raise CatalogError(
                    "catalog.form_field", display=display, where=where, value=f.source
                )
            out.setdefault(f.key, f)
    return tuple(out.values())


def _field(raw: Mapping[str, Any], where: str, display: str) -> FormField:
    source = raw["source"]
    kind, _, ref = source.partition(":")
    ok = (
        source in FORM_SOURCES and (source not in RECORD_SOURCES or raw["key"] in APPLICANT_FIELDS)
    ) or (kind in ("answer", "shared") and bool(ref))
    if not ok:
        raise CatalogError(
            "catalog.form_field", display=display, where=f"{where}.{raw['key']}", value=source
        )
    return FormField(raw["key"], raw["label"], source, raw.get("required", True))
