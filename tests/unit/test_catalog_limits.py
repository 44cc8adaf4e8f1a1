"""Catalogs arrive from the hub: depth and size are bounded, and a file beyond them is refused
with its file, bundle and field named (issue 12, item 8; was 内部错误（RecursionError）)."""

import json
import shutil

import pytest

from app import catalog_files
from app.catalog import BUNDLED_CATALOG
from app.catalog_files import read_packed
from app.catalog_load import CatalogProvider, load_catalog
from app.cli import main
from app.errors import CatalogError


def nested(depth, leaf=None):
    cond = leaf or {"q": "parents_married", "op": "eq", "value": True}
    for _ in range(depth):
        cond = {"all": [cond]}
    return cond


def catalog_with_condition(root, cond):
    shutil.copytree(BUNDLED_CATALOG, root)
    f = root / "bundles" / "newborn_birth.json"
    bundle = json.loads(f.read_text(encoding="utf-8"))
    bundle["items"][0]["when"] = cond
    bundle["items"][0]["reason"] = "测试条件"
    f.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return root


def test_condition_nested_200_deep_is_refused_with_file_bundle_and_field(tmp_path):
    root = catalog_with_condition(tmp_path / "cat", nested(200))
    with pytest.raises(CatalogError) as exc:
        load_catalog(root)
    e = exc.value
    assert e.code == "catalog.too_deep"
    assert (
        e.details["file"] == "bundles/newborn_birth.json" and e.details["bundle"] == "newborn_birth"
    )
    assert str(e.details["field"]).startswith("items[0].when.all[0]")
    assert (
        "bundles/newborn_birth.json" in e.message
        and "newborn_birth" in e.message
        and "8 层" in e.message
    )


def test_cli_names_the_problem_and_exits_1(tmp_path, capsys):
    root = catalog_with_condition(tmp_path / "cat", nested(200))
    code = main(["catalog", "validate", str(root), "--json"])
    err = json.loads(capsys.readouterr().out)["error"]
    assert (
        code == 1 and err["code"] == "catalog.too_deep" and "RecursionError" not in err["message"]
    )


def test_eight_levels_load_nine_do_not(tmp_path):
    load_catalog(catalog_with_condition(tmp_path / "ok", nested(8)))
    with pytest.raises(CatalogError) as exc:
        load_catalog(catalog_with_condition(tmp_path / "bad", nested(9)))
    assert exc.value.code == "catalog.too_deep"


def test_packed_catalog_from_the_hub_names_the_bundle(tmp_path):
    root = catalog_with_condition(tmp_path / "cat", nested(200))
    doc = {
        "header": json.loads((BUNDLED_CATALOG / "catalog.json").read_text(encoding="utf-8")),
        "materials": [],
        "bundles": [json.loads((root / "bundles" / "newborn_birth.json").read_text("utf-8"))],
    }
    f = tmp_path / "catalog-from-hub.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    provider = CatalogProvider.from_path(BUNDLED_CATALOG)
    with pytest.raises(CatalogError) as exc:
        provider.replace(read_packed(f))
    assert exc.value.code == "catalog.too_deep"
    assert (
        exc.value.details["file"] == "catalog-from-hub.json"
        and exc.value.details["bundle"] == "newborn_birth"
    )


def test_json_nested_beyond_the_parser_is_refused(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        read_packed(f)
    assert exc.value.code == "catalog.too_deep" and exc.value.details["file"] == "deep.json"


def test_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"header": {}, "pad": "x" * 5000}), encoding="utf-8")
    monkeypatch.setattr(catalog_files, "MAX_FILE_BYTES", 4096)
    with pytest.raises(CatalogError) as exc:
        read_packed(f)
    assert exc.value.code == "catalog.too_large" and exc.value.details["file"] == "big.json"
