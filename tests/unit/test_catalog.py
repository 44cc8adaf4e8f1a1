import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.catalog import BUNDLED_CATALOG
from app.catalog_files import _check_schema, read_packed
from app.catalog_load import CatalogProvider, build_catalog, load_catalog
from app.errors import CatalogError

# Every 一件事 named in the seeds' annexes (000 附件1, 003 附件, 004 附件1 and 附件2), as written there.
XINXIANG = [
    "企业信息变更",
    "开办运输企业",
    "开办餐饮店",
    "水电气网联合报装",
    "信用修复",
    "企业上市合法合规信息核查",
    "企业破产信息核查",
    "企业注销登记",
    "新生儿出生",
    "教育入学",
    "社会保障卡居民服务",
    "残疾人服务",
    "退休",
    "企业迁移登记",
    "企业数据填报",
    "大件运输",
    "就医费用报销",
    "住房公积金个人住房贷款购房",
    "申请公租房",
    "退役军人服务",
    "留学服务",
]
MEIXIAN = XINXIANG[:13]
SANMENXIA_ENTERPRISE = [
    "*企业开办",
    "#个体工商户登记",
    "*开饭店(餐饮店)",
    "#开食品小经营店",
    "#开酒吧",
    "#开宾馆(酒店)",
    "#开超市(便利店)",
    "#开洗浴中心",
    "#开健身中心",
    "#开书店",
    "#开印刷店(厂)",
    "#开洗车店",
    "#开货运公司",
    "#开宠物医院",
    "#开种子经营店",
    "#开饲料加工厂",
    "#开畜禽养殖厂",
    "#开水产养殖厂",
    "#开游戏娱乐厅",
    "开月子中心",
    "#开理发店",
    "#开美容会所(非医疗类)",
    "#开药店",
    "*员工录用",
    "*涉企不动产登记",
    "*企业简易注销",
    "开烟酒店",
    "互联网上网场所开办",
    "医疗机构开办",
    "养老机构开办",
    "水电气暖讯联合报装",
]
SANMENXIA_PERSONAL = [
    "*新生儿出生",
    "#收养",
    "#幼儿入园",
    "#儿童入学",
    "#变更民族成份",
    "#高校毕业生就业",
    "#自主创业",
    "*灵活就业",
    "#高层次人才认定",
    "#高校毕业生落户",
    "*公民婚育",
    "*扶残助困",
    "*军人退役",
    "#申请公租房",
    "#个人公积金贷款",
    "#新房缴契税",
    "*二手房转移登记及水电气暖联动过户",
    "#失业登记",
    "*企业职工退休",
    "*公民身后",
    "出租车(网约车)从业资格",
    "水电气暖联合报装",
]
MERGED = {  # the same 一件事 under several names → one bundle
    ("新生儿出生", "*新生儿出生"),
    ("开办餐饮店", "*开饭店(餐饮店)"),
    ("企业注销登记", "*企业简易注销"),
    ("退休", "*企业职工退休"),
    ("申请公租房", "#申请公租房"),
    ("教育入学", "#儿童入学"),
}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_counts_match_the_annexes():
    assert len(XINXIANG) == 21 and len(MEIXIAN) == 13
    assert len(SANMENXIA_ENTERPRISE) == 31 and len(SANMENXIA_PERSONAL) == 22


@pytest.mark.parametrize("name", XINXIANG + SANMENXIA_ENTERPRISE + SANMENXIA_PERSONAL)
def test_every_seed_bundle_is_in_the_catalog(catalog, name):
    bundle = catalog.bundle(name)
    assert bundle is not None, name
    assert bundle.items and all(i.materials for i in bundle.items)


def test_kind_follows_the_annex(catalog):
    for name in SANMENXIA_PERSONAL:
        if name != "水电气暖联合报装":
            assert catalog.bundle(name).kind == "personal", name
    for name in SANMENXIA_ENTERPRISE:
        assert catalog.bundle(name).kind == "enterprise", name


@pytest.mark.parametrize("a,b", sorted(MERGED))
def test_same_bundle_across_jurisdictions_is_merged(catalog, a, b):
    assert catalog.bundle(a).id == catalog.bundle(b).id


def test_jurisdictions_recorded(catalog):
    for name in MEIXIAN:
        assert {"xinxiang", "meixian"} <= set(catalog.bundle(name).jurisdictions), name
    assert "sanmenxia" in catalog.bundle("新生儿出生").jurisdictions


def test_shared_materials_have_one_id(catalog):
    counts: dict[str, int] = {}
    for b in catalog.bundles:
        for i in b.items:
            for r in i.materials:
                counts[r.id] = counts.get(r.id, 0) + 1
    # 身份证, 营业执照, 户口簿 are listed by many items and merge under one id each.
    assert (
        counts["resident_id_card"] > 20
        and counts["business_license"] > 10
        and counts["household_register"] > 5
    )
    names = [m.name for m in catalog.materials.values()]
    assert len(names) == len(set(names)), "two material ids with the same name would not merge"


def test_notes_become_conditions(catalog):
    reasons = {i.reason for b in catalog.bundles for i in b.items if i.when is not None}
    reasons |= {
        r.reason
        for b in catalog.bundles
        for i in b.items
        for r in i.materials
        if r.when is not None
    }
    text = " ".join(reasons)
    for phrase in ("200", "KTV", "住宿", "取水", "随迁子女"):
        assert phrase in text, phrase


def test_pinyin_initials_find_bundles(catalog):
    assert catalog.bundle("新生儿出生") in catalog.search("xsecs")
    assert catalog.bundle("开办餐饮店") in catalog.search("kbcyd")


def test_polyphones_match_in_every_reading(catalog):
    # 烟酒商行: 行 is hang here, but a clerk may type either reading.
    shop = catalog.bundle("tobacco_liquor_shop_opening")
    for query in ("yjshkb", "yjsxkb", "yanjiushanghang"):
        assert shop in catalog.search(query), query
    assert shop not in catalog.search("yjsqkb")


def test_pinyin_keys_leave_the_phrase_dictionary_unloaded():
    # The phrase dictionary costs ~45 MB resident in the window process (DESIGN §12 memory).
    code = (
        "import sys; from app.catalog_load import load_catalog; "
        "keys = [k for b in load_catalog().bundles for k in b.search_keys]; "
        "assert 'xsecs' in ' '.join(keys); "
        "print('pypinyin.phrases_dict' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "False"


def _bundle_files():
    return sorted((BUNDLED_CATALOG / "bundles").glob("*.json"))


@pytest.mark.parametrize("path", _bundle_files(), ids=lambda p: p.stem)
def test_each_bundle_file_against_the_schema(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    _check_schema(doc, "bundle", path.name)
    assert doc["id"] == path.stem


@pytest.mark.parametrize(
    "path", sorted((BUNDLED_CATALOG / "materials").glob("*.json")), ids=lambda p: p.stem
)
def test_each_materials_file_against_the_schema(path):
    _check_schema(json.loads(path.read_text(encoding="utf-8")), "materials_file", path.name)


# -- broken files get an error naming file, bundle and field --------------------------------


def _edit(root: Path, fn):
    path = root / "bundles" / "newborn_birth.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    fn(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _fails(root, code, *needles):
    with pytest.raises(CatalogError) as exc:
        load_catalog(root)
    assert exc.value.code == code, exc.value.message
    for n in needles:
        assert n in exc.value.message, exc.value.message
    return exc.value


def test_newborn_catalog_loads(newborn_catalog):
    assert load_catalog(newborn_catalog).bundle("newborn_birth")


def test_missing_field(newborn_catalog):
    _edit(newborn_catalog, lambda d: d["items"][2].pop("department"))
    err = _fails(
        newborn_catalog,
        "catalog.schema",
        "bundles/newborn_birth.json",
        "newborn_birth",
        "items[2]",
        "department",
    )
    assert err.details["field"] == "items[2]"


def test_wrong_type(newborn_catalog):
    _edit(newborn_catalog, lambda d: d["items"][0].__setitem__("time_limit_days", "五天"))
    _fails(newborn_catalog, "catalog.schema", "newborn_birth", "items[0].time_limit_days")


def test_unknown_material(newborn_catalog):
    _edit(newborn_catalog, lambda d: d["items"][1]["materials"].append({"id": "no_such_thing"}))
    _fails(
        newborn_catalog,
        "catalog.unknown_material",
        "newborn_birth",
        "items[1].materials[2]",
        "no_such_thing",
    )


def test_condition_on_unknown_question(newborn_catalog):
    def bad(d):
        d["items"][0]["materials"][3]["when"] = {"q": "ghost", "op": "eq", "value": True}

    _edit(newborn_catalog, bad)
    _fails(newborn_catalog, "catalog.condition", "items[0].materials[3].when", "ghost")


def test_condition_with_wrong_value_type(newborn_catalog):
    def bad(d):
        d["items"][0]["materials"][3]["when"] = {"q": "parents_married", "op": "gt", "value": 3}

    _edit(newborn_catalog, bad)
    _fails(newborn_catalog, "catalog.condition", "parents_married")


def test_condition_without_reason(newborn_catalog):
    _edit(newborn_catalog, lambda d: d["items"][0]["materials"][3].pop("reason"))
    _fails(newborn_catalog, "catalog.schema", "reason")


def test_bad_json_names_line(newborn_catalog):
    (newborn_catalog / "bundles" / "newborn_birth.json").write_text(
        '{"id": "newborn_birth",\n  oops}', encoding="utf-8"
    )
    _fails(newborn_catalog, "catalog.json", "bundles/newborn_birth.json", "第2行")


def test_duplicate_material_across_files(newborn_catalog):
    dup = {
        "materials": [
            json.loads((newborn_catalog / "materials" / "common.json").read_text())["materials"][0]
        ]
    }
    (newborn_catalog / "materials" / "zz.json").write_text(
        json.dumps(dup, ensure_ascii=False), encoding="utf-8"
    )
    _fails(newborn_catalog, "catalog.duplicate_material", "resident_id_card")


def test_tolerable_override_cannot_loosen(newborn_catalog):
    _edit(newborn_catalog, lambda d: d["items"][1]["materials"][1].__setitem__("tolerable", True))
    _fails(newborn_catalog, "catalog.tolerance", "resident_id_card")


def test_unknown_jurisdiction(newborn_catalog):
    _edit(newborn_catalog, lambda d: d["jurisdictions"].append("atlantis"))
    _fails(newborn_catalog, "catalog.jurisdiction", "atlantis")


def test_header_version_format(newborn_catalog):
    path = newborn_catalog / "catalog.json"
    doc = json.loads(path.read_text())
    doc["version"] = "latest"
    path.write_text(json.dumps(doc))
    _fails(newborn_catalog, "catalog.schema", "catalog.json", "version")


def test_packed_file_error_names_the_bundle(newborn_catalog, tmp_path):
    packed = read_packed(newborn_catalog)
    packed["bundles"][0]["kind"] = "alien"
    f = tmp_path / "packed.json"
    f.write_text(json.dumps(packed, ensure_ascii=False), encoding="utf-8")
    _fails(f, "catalog.schema", "packed.json", "newborn_birth", "kind")


def test_catalog_replaced_at_run_time(newborn_catalog, tmp_path):
    provider = CatalogProvider.from_path(newborn_catalog, archive=tmp_path / "archive")
    old = provider.current
    packed = read_packed(newborn_catalog)
    packed["header"]["version"] = "2027.06.01-1"
    packed["bundles"][0]["aliases"].append("新生儿一件事联办")
    new = provider.replace(packed)
    assert provider.current is new and new.version == "2027.06.01-1" and new.digest != old.digest
    assert provider.current.bundle("新生儿一件事联办") is not None
    # The old version stays available for submissions checked against it, also after a restart.
    again = CatalogProvider.from_path(newborn_catalog, archive=tmp_path / "archive")
    assert again.get(new.digest).version == "2027.06.01-1"
    packed["header"]["version"] = "2020.01.01-1"
    with pytest.raises(CatalogError) as exc:
        provider.replace(packed)
    assert exc.value.code == "catalog.older"


def test_broken_replacement_is_refused_and_current_kept(newborn_catalog):
    provider = CatalogProvider.from_path(newborn_catalog)
    packed = read_packed(newborn_catalog)
    packed["header"]["version"] = "2030.01.01-1"
    packed["bundles"][0]["items"][0]["materials"][0]["id"] = "nope"
    before = provider.current
    with pytest.raises(CatalogError):
        provider.replace(packed)
    assert provider.current is before


def test_build_is_deterministic(newborn_catalog):
    a = build_catalog(read_packed(newborn_catalog))
    b = build_catalog(read_packed(newborn_catalog))
    assert a.digest == b.digest


def test_a_checked_catalog_is_not_schema_checked_again_until_a_byte_changes(
    newborn_catalog, tmp_path, monkeypatch
):
    import app.catalog_files as catalog_mod

    calls = []
    real = catalog_mod._check_schema
    monkeypatch.setattr(
        catalog_mod, "_check_schema", lambda *a, **k: (calls.append(a[2]), real(*a, **k))[1]
    )
    checked = tmp_path / "checked"
    first = read_packed(newborn_catalog, checked_dir=checked)
    assert "catalog.json" in calls
    calls.clear()
    assert read_packed(newborn_catalog, checked_dir=checked) == first
    assert calls == []  # same bytes, same schema: not checked again
    bundle = next((newborn_catalog / "bundles").glob("*.json"))
    doc = json.loads(bundle.read_text(encoding="utf-8"))
    doc["surprise"] = 1  # the schema allows no unknown field
    bundle.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        read_packed(newborn_catalog, checked_dir=checked)
    assert err.value.code == "catalog.schema"
