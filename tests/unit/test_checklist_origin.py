"""Materials produced within the bundle, materials needed per person, and window forms that
nothing generates (issue 11 items 6 and 7)."""

import copy
import json
import re

import pytest

from app import catalog as catalog_mod
from app import catalog_files
from app import checklist as engine
from app.catalog_load import build_catalog, load_catalog
from app.errors import CatalogError, ChecklistError


def mat(id, name, **kw):
    d = {
        "id": id,
        "name": name,
        "form": "copy",
        "copies": 1,
        "source": "applicant",
        "acceptance_standard": "清晰完整",
    }
    d.update(kw)
    return d


PACKED = {
    "header": {
        "format": 1,
        "version": "2024.01.01-1",
        "effective_date": "2024-01-01",
        "jurisdictions": [{"id": "north", "name": "北县"}],
    },
    "materials": [
        mat("cert", "出生证", form="original_and_copy"),
        mat("card", "申请人身份证", person_name="{person}身份证", exempt_via="电子身份证"),
        mat("form", "联办申请表", form="original", source="window"),
        mat("book", "户口簿"),
    ],
    "bundles": [
        {
            "id": "birth",
            "name": "出生",
            "kind": "personal",
            "lead_department": "卫健",
            "jurisdictions": ["north"],
            "sources": ["test"],
            "questions": [{"id": "issued_here", "text": "是否在本窗口签发出生证", "type": "bool"}],
            "items": [
                {
                    "id": "issue",
                    "name": "出生证签发",
                    "department": "卫健",
                    "levels": ["县级"],
                    "time_limit_days": 0,
                    "when": {"q": "issued_here", "op": "eq", "value": True},
                    "reason": "在本窗口签发的需办理",
                    "materials": [{"id": "form"}, {"id": "card", "persons": ["father", "mother"]}],
                },
                {
                    "id": "hukou",
                    "name": "出生登记",
                    "department": "公安",
                    "levels": ["县级"],
                    "time_limit_days": 1,
                    "materials": [
                        {"id": "cert", "produced_by": "issue"},
                        {"id": "book"},
                        {"id": "card", "persons": ["father", "mother"]},
                    ],
                },
                {
                    "id": "vaccine",
                    "name": "接种证",
                    "department": "卫健",
                    "levels": ["县级"],
                    "time_limit_days": 0,
                    "materials": [
                        {"id": "cert", "produced_by": "issue"},
                        {"id": "card", "persons": ["guardian"]},
                    ],
                },
            ],
        }
    ],
}
CAT = build_catalog(PACKED)
BIRTH = CAT.bundle("birth")


def ev(chosen=None, answers=None, marks=None, **kw):
    return engine.evaluate(BIRTH, chosen, answers or {}, marks or {}, catalog=CAT, **kw)


# ----------------------------------------------------------------------------- produced_by


def test_material_issued_by_a_chosen_item_is_not_demanded_from_the_applicant():
    r = ev(None, {"issued_here": True})
    cert = r.line("cert")
    assert cert is not None and cert.state == "exempt"
    assert cert.produced_by is not None and cert.produced_by.id == "issue"
    assert "cert" not in r.missing
    assert cert.exempt_basis == "由本件事中“出生证签发”办理产生，无需申请人提交"
    assert [q.item_id for q in cert.required_by] == ["hukou", "vaccine"]  # still explained
    assert (
        r.to_json()["materials"][[m.id for m in r.materials].index("cert")]["produced_by"]
        == "issue"
    )


def test_material_is_demanded_when_its_producing_item_is_not_chosen_or_switched_off():
    not_chosen = ev(["hukou", "vaccine"], {"issued_here": True})
    assert (
        not_chosen.line("cert").state == "missing" and not_chosen.line("cert").produced_by is None
    )
    switched_off = ev(None, {"issued_here": False})
    assert next(i.state for i in switched_off.items) == "not_applicable"
    assert switched_off.line("cert").state == "missing" and "cert" in switched_off.missing
    unanswered = ev(None, {})
    assert unanswered.line("cert").state == "missing"


def test_produced_material_cannot_be_marked():
    with pytest.raises(ChecklistError) as exc:
        ev(None, {"issued_here": True}, {"cert": "collected"}, strict=True)
    assert exc.value.code == "checklist.produced_in_bundle" and "出生证签发" in exc.value.message
    lenient = ev(None, {"issued_here": True}, {"cert": "collected"}, strict=False)
    assert lenient.line("cert").state == "exempt" and lenient.ignored_marks == ("cert",)
    # the same mark is honoured once the producing item is off
    off = ev(None, {"issued_here": False}, {"cert": "collected"}, strict=True)
    assert off.line("cert").state == "collected"


def test_produced_material_complete_verdict_without_it():
    marks = {
        "form": "collected",
        "card.father": "collected",
        "card.mother": "exempt",
        "book": "collected",
    }
    r = ev(None, {"issued_here": True}, marks, strict=True)
    assert r.verdict == "complete" and r.missing == ()
    # what the applicant hands in: form, two cards (one exempt) and the book; cert is not among it
    assert r.reduction.merged == 3


# ----------------------------------------------------------------------------- persons


def test_per_person_material_is_one_line_per_person_named_for_them():
    r = ev(None, {"issued_here": True})
    ids = [m.id for m in r.materials]
    assert "card" not in ids and ids.count("card.father") == ids.count("card.mother") == 1
    father, mother = r.line("card.father"), r.line("card.mother")
    assert (father.name, mother.name) == ("父亲身份证", "母亲身份证")
    assert (father.person, father.person_label) == ("father", "父亲")
    # both merge across the items that need them; the guardian's copy is one of the parents'
    assert [q.item_id for q in father.required_by] == ["issue", "hukou", "vaccine"]
    assert r.line("card.guardian") is None
    assert set(r.missing) >= {"card.father", "card.mother"}


def test_each_persons_copy_is_marked_on_its_own():
    r = ev(
        None,
        {"issued_here": True},
        {"card.father": "collected", "form": "collected", "book": "collected"},
    )
    assert r.line("card.father").state == "collected" and r.line("card.mother").state == "missing"
    assert r.missing == ("card.mother",) and r.verdict == "incomplete"
    with pytest.raises(ChecklistError) as exc:
        ev(None, {"issued_here": True}, {"card": "collected"}, strict=True)
    assert exc.value.code == "checklist.mark_not_in_list"
    with pytest.raises(ChecklistError) as exc:
        ev(None, {"issued_here": True}, {"card.father": "tolerated"}, strict=True)
    assert exc.value.code == "checklist.not_tolerable" and "父亲身份证" in exc.value.message


def test_guardian_line_stands_alone_when_no_parent_copy_is_listed():
    r = ev(["vaccine"])
    assert [m.id for m in r.materials] == ["cert", "card.guardian"]
    assert r.line("card.guardian").name == "监护人身份证"


# ----------------------------------------------------------------------------- validation


def _bundle_with(change):
    packed = copy.deepcopy(PACKED)
    change(packed)
    return packed


@pytest.mark.parametrize(
    "change,code,field",
    [
        (
            lambda p: p["bundles"][0]["items"][1]["materials"][0].update(produced_by="nope"),
            "catalog.produced_by",
            "items[1].materials[0].produced_by",
        ),
        (
            lambda p: p["bundles"][0]["items"][1]["materials"][0].update(produced_by="hukou"),
            "catalog.produced_by",
            "items[1].materials[0].produced_by",
        ),
        (
            lambda p: p["bundles"][0]["items"][0]["materials"].append({"id": "cert"}),
            "catalog.produced_by",
            "items[1].materials[0].produced_by",
        ),
        (
            lambda p: p["bundles"][0]["items"][1]["materials"][1].update(persons=["father"]),
            "catalog.person_name",
            "items[1].materials[1].persons",
        ),
        (
            lambda p: p["bundles"][0]["items"][1]["materials"][2].update(persons=["uncle"]),
            "catalog.person",
            "items[1].materials[2].persons",
        ),
        (
            lambda p: p["bundles"][0]["items"][1]["materials"][0].update(persons=["father"]),
            "catalog.person_name",
            "items[1].materials[0].persons",
        ),
    ],
)
def test_loader_checks_the_new_fields(change, code, field):
    with pytest.raises(CatalogError) as exc:
        build_catalog(_bundle_with(change))
    assert exc.value.code == code
    assert exc.value.details["field"] == field and exc.value.details["bundle"] == "birth"


def test_schema_checks_the_new_fields(tmp_path):
    schema_bad = [
        ("persons", ["uncle"]),
        ("persons", []),
        ("produced_by", "Not An Id"),
    ]
    for key, value in schema_bad:
        packed = copy.deepcopy(PACKED)
        packed["bundles"][0]["items"][1]["materials"][2][key] = value
        path = tmp_path / "packed.json"
        path.write_text(json.dumps(packed, ensure_ascii=False), encoding="utf-8")
        with pytest.raises(CatalogError) as exc:
            catalog_files.read_packed(path)
        assert exc.value.code == "catalog.schema", (key, value)
        assert (
            "persons" in exc.value.details["field"] or "produced_by" in exc.value.details["field"]
        )
    packed = copy.deepcopy(PACKED)
    packed["materials"][1]["person_name"] = "没有占位符的名称"
    path = tmp_path / "packed.json"
    path.write_text(json.dumps(packed, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        catalog_files.read_packed(path)
    assert exc.value.code == "catalog.schema" and "person_name" in exc.value.details["field"]


def test_schema_person_list_matches_the_labels():
    schema = json.loads(catalog_files.SCHEMA_PATH.read_text(encoding="utf-8"))
    enum = schema["$defs"]["material_ref"]["properties"]["persons"]["items"]["enum"]
    assert sorted(enum) == sorted(catalog_mod.PERSON_LABELS)


# ----------------------------------------------------------------------------- the bundled data

ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": False}


def test_newborn_birth_certificate_comes_from_its_first_item():
    cat = load_catalog()
    b = cat.bundle("新生儿出生")
    r = engine.evaluate(b, None, ANSWERS, {}, catalog=cat, jurisdiction="sanmenxia")
    cert = r.line("birth_medical_certificate")
    assert cert.state == "exempt" and cert.produced_by.id == "birth_medical_certificate_issue"
    assert "birth_medical_certificate" not in r.missing
    # without the first item the applicant brings the certificate
    later = [
        i.id
        for i in b.items_in("sanmenxia")
        if not i.optional and i.id != "birth_medical_certificate_issue"
    ]
    r2 = engine.evaluate(b, later, ANSWERS, {}, catalog=cat, jurisdiction="sanmenxia")
    assert r2.line("birth_medical_certificate").state == "missing"


def test_newborn_asks_for_both_parents_id_cards_by_name():
    cat = load_catalog()
    b = cat.bundle("新生儿出生")
    r = engine.evaluate(b, None, ANSWERS, {}, catalog=cat, jurisdiction="sanmenxia")
    names = [m.name for m in r.materials]
    assert "父亲居民身份证" in names and "母亲居民身份证" in names
    assert "申请人居民身份证" not in names and "监护人居民身份证" not in names
    reimbursement = engine.evaluate(
        b,
        ["birth_medical_expense_reimbursement"],
        ANSWERS,
        {},
        catalog=cat,
        jurisdiction="xinxiang",
    )
    assert [m.name for m in reimbursement.materials if m.material.id == "resident_id_card"] == [
        "母亲居民身份证"
    ]


def test_marriage_certificate_comes_from_the_marriage_registration():
    cat = load_catalog()
    b = cat.bundle("公民婚育")
    answers = {
        "register_by_residence": False,
        "move_hukou_to_spouse": True,
        "childbearing_registration": True,
    }
    r = engine.evaluate(b, None, answers, {}, catalog=cat, jurisdiction="sanmenxia")
    line = r.line("marriage_certificate")
    assert line.state == "exempt" and line.produced_by.id == "marriage_registration"
    names = [m.name for m in r.materials]
    assert "男方居民身份证" in names and "女方居民身份证" in names


# ----------------------------------------------------------------------------- window forms (item 7)

# "the window generates it" — the intake window, not a department's own system (税务窗口 prints
# the tax return from its own system).
_GENERATION_CLAIM = re.compile(r"(?<!税务)窗口(现场|根据[^，。；]*)生成")


def test_no_material_claims_the_window_generates_it():
    """Unless the window does: a material with a form declaration is printed by app.forms (一表申请,
    issue 15)."""
    cat = load_catalog()
    claims = [
        m.id
        for m in cat.materials.values()
        if not m.generated_at_window
        and not m.form_fields
        and _GENERATION_CLAIM.search(f"{m.acceptance_standard} {m.how_to_obtain}")
    ]
    assert claims == []


def test_a_material_marked_generated_needs_a_generator():
    packed = copy.deepcopy(PACKED)
    packed["materials"][2]["generated_at_window"] = True
    with pytest.raises(CatalogError) as exc:
        build_catalog(packed)
    assert exc.value.code == "catalog.no_generator" and exc.value.details["material"] == "form"


def test_signed_window_form_is_paper_to_capture_and_not_swept_by_alt_a():
    r = ev(None, {"issued_here": True}, {"form": "collected", "book": "collected"})
    form, book = r.line("form"), r.line("book")
    assert form.needs_pages and book.needs_pages
    missing = ev(None, {"issued_here": True})
    assert not missing.line("form").bulk_collectable
    assert missing.line("book").bulk_collectable and missing.line("card.father").bulk_collectable
    assert not missing.line("cert").bulk_collectable  # produced: nothing to collect


@pytest.mark.parametrize(
    "bundle_name,issuing_item,later_item",
    [
        ("企业开办", "enterprise_registration", "seal_engraving_filing"),
        ("个体工商户登记", "individual_business_registration", "invoice_application"),
    ],
)
def test_business_licence_comes_from_the_registration_item(bundle_name, issuing_item, later_item):
    cat = load_catalog()
    b = cat.bundle(bundle_name)
    both = engine.evaluate(b, [issuing_item, later_item], {}, {}, catalog=cat, strict=False)
    licence = both.line("business_license")
    assert licence.state == "exempt" and licence.produced_by.id == issuing_item
    alone = engine.evaluate(b, [later_item], {}, {}, catalog=cat, strict=False)
    assert alone.line("business_license").state == "missing"
