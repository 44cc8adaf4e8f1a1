"""Loading a catalog: the checks a schema cannot express (references, duplicates, condition
types, who produces what), the frozen model built from the packed form, and the versions in use.

`app.catalog_files` reads and schema-checks the files; any problem here raises `CatalogError`
naming the file, the bundle and the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app import conditions as cond_mod
from app import workdays
from app.catalog import (
    BUNDLED_CATALOG,
    PERSON_LABELS,
    WINDOW_GENERATED,
    Bundle,
    Catalog,
    Item,
    Jurisdiction,
    Material,
    MaterialRef,
    Question,
)
from app.catalog_files import packed_bytes, read_packed
from app.catalog_forms import field_sets, form_fields
from app.errors import CatalogError
from app.workdays import YearTable

log = logging.getLogger("intake.catalog")


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load and fully validate a catalog; the bundled one when no path is given."""
    path = Path(path) if path is not None else BUNDLED_CATALOG
    packed = read_packed(path)
    display = path.name
    return build_catalog(packed, display)


def build_catalog(packed: Mapping[str, Any], display: str = "catalog") -> Catalog:
    """Semantic checks a schema cannot express, then the frozen model."""
    header = packed["header"]
    jurisdictions = tuple(
        Jurisdiction(j["id"], j["name"], j.get("region_code", "")) for j in header["jurisdictions"]
    )
    jids = {j.id for j in jurisdictions}
    materials: dict[str, Material] = {}
    sets = field_sets(header, display)
    material_ids = {m["id"] for m in packed["materials"]}
    for m in packed["materials"]:
        if m["id"] in materials:
            raise CatalogError(
                "catalog.duplicate_material", variant=2, material=m["id"], display=display
            )
        materials[m["id"]] = dataclasses.replace(
            _material(m, display),
            form_fields=form_fields(m, sets, material_ids, display),
            form_role=m.get("form_role", "application"),
        )
    bundles: list[Bundle] = []
    seen_names: dict[str, str] = {}
    for b in packed["bundles"]:
        bundles.append(_BundleReader(b, materials, jids, display).build())
        _check_names(b, seen_names, display)
    ids = [b.id for b in bundles]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise CatalogError("catalog.duplicate_bundle", bundle=sorted(dup)[0], display=display)
    try:
        effective = dt.date.fromisoformat(header["effective_date"])
    except ValueError as exc:
        raise CatalogError(
            "catalog.schema", variant=2, file="catalog.json", field="effective_date"
        ) from exc
    return Catalog(
        version=header["version"],
        effective_date=effective,
        title=header.get("title", ""),
        jurisdictions=jurisdictions,
        materials=materials,
        bundles=tuple(sorted(bundles, key=lambda b: (b.kind != "personal", b.id))),
        digest=hashlib.sha256(packed_bytes(packed)).hexdigest(),
        calendar=_calendar(header.get("calendar", {})),
        form_field_sets=sets,
    )


def _calendar(raw: Mapping[str, Any]) -> dict[int, YearTable]:
    """The optional per-year working-day tables: each date a real date in its year, and no day
    both off and worked."""
    for year, table in raw.items():
        for kind in ("holidays", "workdays"):
            for i, text in enumerate(table.get(kind, [])):
                try:
                    day = dt.date.fromisoformat(text)
                except ValueError:
                    day = None
                if day is None or str(day.year) != year:
                    raise CatalogError(
                        "catalog.calendar", field=f"calendar.{year}.{kind}[{i}]", day=text
                    )
        both = set(table["holidays"]) & set(table["workdays"])
        if both:
            raise CatalogError(
                "catalog.calendar", variant=2, field=f"calendar.{year}", day=sorted(both)[0]
            )
    return workdays.parse_tables(raw)


def _material(m: Mapping[str, Any], display: str) -> Material:
    if m.get("generated_at_window") and m["id"] not in WINDOW_GENERATED:
        raise CatalogError("catalog.no_generator", material=m["id"], display=display)
    if m.get("tolerance_days") and not m.get("tolerable"):
        raise CatalogError("catalog.tolerance", material=m["id"], display=display)
    if m.get("max_age_days") and not m.get("reusable"):
        raise CatalogError("catalog.max_age", material=m["id"], display=display)
    return Material(
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
        reusable=m.get("reusable", False),
        max_age_days=m.get("max_age_days"),
    )


def _check_names(b: Mapping[str, Any], seen_names: dict[str, str], display: str) -> None:
    """A clerk finds a bundle by name or alias: two bundles may not share one."""
    for label in (b["name"], *b.get("aliases", [])):
        if label in seen_names and seen_names[label] != b["id"]:
            raise CatalogError(
                "catalog.duplicate_name",
                bundle=b["id"],
                display=display,
                label=label,
                other=seen_names[label],
            )
        seen_names[label] = b["id"]


class _BundleReader:
    """One bundle's raw JSON checked against the catalog's materials and jurisdictions."""

    def __init__(
        self, b: Mapping[str, Any], materials: Mapping[str, Material], jids: set[str], display: str
    ) -> None:
        self.b = b
        self.bid = b["id"]
        self.fname = f"bundles/{self.bid}.json" if display != self.bid else display
        self.materials = materials
        self.jids = jids
        self.questions_raw = {q["id"]: q for q in b.get("questions", [])}
        self.used_questions: set[str] = set()
        self.all_item_ids = {it["id"] for it in b["items"]}
        self.produced: list[tuple[str, str, str]] = []  # (field path, material, producing item)

    def fail(
        self, code: str, field_path: str, *, variant: int = 0, **params: object
    ) -> CatalogError:
        """CODE's error at FIELD_PATH of this bundle; its text names the file, bundle and field."""
        return CatalogError(
            code, variant=variant, file=self.fname, bundle=self.bid, field=field_path, **params
        )

    def cond(self, raw: Any, field_path: str) -> cond_mod.Condition | None:
        if raw is None:
            return None
        c = cond_mod.parse(raw)
        problems = cond_mod.type_problems(c, self.questions_raw)
        if problems:
            raise self.fail("catalog.condition", field_path, problem=problems[0])
        self.used_questions.update(cond_mod.questions_of(c))
        return c

    def build(self) -> Bundle:
        b = self.b
        for j in b.get("lead_department_variants", {}):
            if j not in self.jids:
                raise self.fail("catalog.jurisdiction", f"lead_department_variants.{j}", j=j)
        for i, j in enumerate(b["jurisdictions"]):
            if j not in self.jids:
                raise self.fail("catalog.jurisdiction", f"jurisdictions[{i}]", j=j)
        if len(self.questions_raw) != len(b.get("questions", [])):
            raise self.fail("catalog.duplicate_question", "questions")
        items: list[Item] = []
        for ii, it in enumerate(b["items"]):
            if any(i.id == it["id"] for i in items):
                raise self.fail("catalog.duplicate_item", f"items[{ii}].id", it_id=it["id"])
            items.append(self.item(ii, it))
        by_id = {i.id: i for i in items}
        for fp, mid, producer in self.produced:
            if any(r.id == mid for r in by_id[producer].materials):
                raise self.fail("catalog.produced_by", fp, producer=producer, mid=mid)
        unused = set(self.questions_raw) - self.used_questions
        if unused:
            raise self.fail("catalog.unused_question", "questions", question_id=sorted(unused)[0])
        return Bundle(
            id=self.bid,
            name=b["name"],
            kind=b["kind"],
            lead_department=b["lead_department"],
            jurisdictions=tuple(b["jurisdictions"]),
            sources=tuple(b["sources"]),
            items=tuple(items),
            aliases=tuple(b.get("aliases", [])),
            lead_department_variants=dict(b.get("lead_department_variants", {})),
            description=b.get("description", ""),
            questions=tuple(_question(q) for q in b.get("questions", [])),
        )

    def item(self, ii: int, it: Mapping[str, Any]) -> Item:
        for j in [*it.get("jurisdictions", []), *it.get("department_variants", {})]:
            if j not in self.jids:
                raise self.fail("catalog.jurisdiction", f"items[{ii}]", j=j)
        refs: list[MaterialRef] = []
        for mi, mr in enumerate(it["materials"]):
            fp = f"items[{ii}].materials[{mi}]"
            if any(r.id == mr["id"] for r in refs):
                raise self.fail("catalog.duplicate_ref", f"{fp}.id", mr_id=mr["id"])
            refs.append(self.material_ref(fp, it["id"], mr))
        return Item(
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
            when=self.cond(it.get("when"), f"items[{ii}].when"),
            reason=it.get("reason", ""),
        )

    def material_ref(self, fp: str, item_id: str, mr: Mapping[str, Any]) -> MaterialRef:
        mat = self.materials.get(mr["id"])
        if mat is None:
            raise self.fail("catalog.unknown_material", f"{fp}.id", mr_id=mr["id"])
        if mr.get("tolerable") and not mat.tolerable:
            raise self.fail("catalog.tolerance", f"{fp}.tolerable", variant=2, mat_id=mat.id)
        persons = tuple(mr.get("persons", ()))
        for person in persons:
            if person not in PERSON_LABELS:
                raise self.fail("catalog.person", f"{fp}.persons", person=person)
        if persons and "{person}" not in mat.person_name:
            raise self.fail("catalog.person_name", f"{fp}.persons", mat_id=mat.id)
        producer = mr.get("produced_by")
        if producer is not None:
            where = f"{fp}.produced_by"
            if producer not in self.all_item_ids:
                raise self.fail("catalog.produced_by", where, variant=4, producer=producer)
            if producer == item_id:
                raise self.fail("catalog.produced_by", where, variant=2)
            if persons:
                raise self.fail("catalog.produced_by", where, variant=3)
            self.produced.append((f"{fp}.produced_by", mr["id"], producer))
        return MaterialRef(
            id=mr["id"],
            form=mr.get("form"),
            copies=mr.get("copies"),
            tolerable=mr.get("tolerable"),
            note=mr.get("note", ""),
            when=self.cond(mr.get("when"), f"{fp}.when"),
            reason=mr.get("reason", ""),
            persons=persons,
            produced_by=producer,
        )


def _question(q: Mapping[str, Any]) -> Question:
    return Question(
        id=q["id"],
        text=q["text"],
        type=q["type"],
        help=q.get("help", ""),
        unit=q.get("unit", ""),
        min=q.get("min"),
        max=q.get("max"),
        choices=tuple((c["value"], c["label"]) for c in q.get("choices", [])),
    )


def pack_directory(src: Path, dest: Path) -> Path:
    """Write a catalog directory as one packed file (what the hub serves to stations)."""
    packed = read_packed(src)
    build_catalog(packed, src.name)  # refuse to pack a catalog that would not load
    dest.write_bytes(packed_bytes(packed))
    return dest


def main_check(argv: list[str] | None = None) -> int:
    """`python -m app.catalog_load [BUNDLE_ID ...]`: validate the bundled catalog (or some
    bundles)."""
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


class CatalogProvider:
    """The catalog in use, replaceable at run time, plus every earlier version a stored
    submission was checked against (kept by digest in ARCHIVE so its checklist and receipt can
    be rebuilt years later)."""

    def __init__(
        self, current: Catalog, packed: Mapping[str, Any], archive: Path | None = None
    ) -> None:
        self._by_digest: dict[str, Catalog] = {current.digest: current}
        self._current = current
        workdays.install(current.calendar)  # deadlines count on the catalog's calendar
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
                "catalog.older", new_version=new.version, current_version=self._current.version
            )
        if self._archive:
            self._keep(new.digest, packed)
        self._by_digest[new.digest] = new
        self._current = new
        workdays.install(new.calendar)
        log.info("catalog replaced: %s", new.version)
        return new

    def get(self, digest: str) -> Catalog:
        if digest in self._by_digest:
            return self._by_digest[digest]
        if self._archive and (self._archive / f"{digest}.json").exists():
            cat = load_catalog(self._archive / f"{digest}.json")
            self._by_digest[digest] = cat
            return cat
        raise CatalogError("catalog.version_unavailable", digest=digest)


if __name__ == "__main__":
    raise SystemExit(main_check())
