"""一表申请 declarations in the shipped catalog: every form a bundle asks for (申请表, 申请书,
授权书, 登记表 …) declares its fields, so the window's 联办申请表 covers it; a bad source is
refused on load."""

import json
import re
import shutil

import pytest

from app.catalog import BUNDLED_CATALOG
from app.catalog_load import load_catalog
from app.errors import CatalogError

FORM_NAME = re.compile("申请表|申请书|授权书|申报表|登记表|登记书|审核表|声明书|（授权）书|审批表")


def test_every_form_of_the_shipped_catalog_declares_its_fields():
    cat = load_catalog()
    used = {r.id for b in cat.bundles for i in b.items for r in i.materials}
    forms = [m for m in cat.materials.values() if m.id in used and FORM_NAME.search(m.name)]
    assert len(forms) > 60
    undeclared = [m.id for m in forms if not m.form_fields]
    assert undeclared == []
    assert cat.materials["info_verification_authorization"].form_role == "authorization"
    assert cat.materials["application_form"].form_role == "application"
    # the header's identity sets (the joint form's first section, by applicant kind)
    person = {f.key: f.source for f in cat.form_field_sets["applicant_personal"]}
    assert person["name"] == person["resident_id"] == "id_card" and person["phone"] == "applicant"
    firm = {f.key: f.source for f in cat.form_field_sets["applicant_enterprise"]}
    assert firm["uscc"] == firm["legal_representative"] == "licence"
    # a bundle's item form pulls a set in: expanded, each key once
    food = [f.key for f in cat.materials["food_business_license_application"].form_fields]
    assert food[:2] == ["name", "uscc"] and len(food) == len(set(food))
    assert [f.key for f in cat.materials["application_form"].form_fields] == [
        "delivery_choice",
        "other_notes",
    ]


def test_a_form_field_with_an_unknown_source_is_refused(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, root)
    path = root / "materials" / "personal_services.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    m = next(m for m in data["materials"] if m["id"] == "info_verification_authorization")
    m["form_fields"] = [
        "@authorization_personal",
        {"key": "xx_info", "label": "某项", "source": "shared:nope"},
    ]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(root)
    assert exc.value.code == "catalog.form_field"
    assert "shared:nope" in exc.value.message
