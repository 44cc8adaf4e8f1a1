import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import checklist as engine
from app.catalog_load import build_catalog, load_catalog
from app.errors import ChecklistError


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
        "jurisdictions": [{"id": "north", "name": "北县"}, {"id": "south", "name": "南县"}],
    },
    "materials": [
        mat("id_card", "身份证", form="original_and_copy", exempt_via="电子身份证"),
        mat("licence", "营业执照", exempt_via="电子营业执照"),
        mat("form_a", "申请表A", form="original"),
        mat("floor_plan", "平面图", tolerable=True, tolerance_days=5),
        mat("fire_doc", "消防材料", tolerable=True),
        mat("ktv_plan", "歌舞娱乐场所方案"),
        mat("lease", "租赁合同", tolerable=True),
    ],
    "bundles": [
        {
            "id": "shop",
            "name": "开店",
            "aliases": ["开个店"],
            "kind": "enterprise",
            "lead_department": "市场监管部门",
            "jurisdictions": ["north", "south"],
            "sources": ["test"],
            "questions": [
                {
                    "id": "area",
                    "text": "营业面积",
                    "type": "number",
                    "unit": "平方米",
                    "min": 0,
                    "max": 100000,
                },
                {"id": "ktv", "text": "是否兼营KTV", "type": "bool"},
                {
                    "id": "venue",
                    "text": "场地",
                    "type": "choice",
                    "choices": [
                        {"value": "own", "label": "自有"},
                        {"value": "rented", "label": "租赁"},
                    ],
                },
            ],
            "items": [
                {
                    "id": "a",
                    "name": "事项A",
                    "department": "甲局",
                    "levels": ["县级"],
                    "time_limit_days": 5,
                    "materials": [{"id": "id_card"}, {"id": "form_a"}, {"id": "licence"}],
                },
                {
                    "id": "b",
                    "name": "事项B",
                    "department": "乙局",
                    "department_variants": {"south": "南县乙局"},
                    "levels": ["县级"],
                    "time_limit_days": 3,
                    "materials": [
                        {"id": "id_card", "copies": 2},
                        {"id": "licence"},
                        {
                            "id": "fire_doc",
                            "when": {"q": "area", "op": "gt", "value": 200},
                            "reason": "营业面积200平米以上需办理",
                        },
                        {"id": "floor_plan", "tolerable": False},
                        {
                            "id": "lease",
                            "when": {"q": "venue", "op": "eq", "value": "rented"},
                            "reason": "租赁场地需提供",
                        },
                    ],
                },
                {
                    "id": "c",
                    "name": "事项C",
                    "department": "丙局",
                    "levels": ["县级"],
                    "time_limit_days": 10,
                    "when": {"q": "ktv", "op": "eq", "value": True},
                    "reason": "兼营KTV的需办理",
                    "materials": [{"id": "ktv_plan"}, {"id": "floor_plan"}],
                },
                {
                    "id": "d",
                    "name": "事项D",
                    "department": "丁局",
                    "levels": ["市级", "县级"],
                    "time_limit_days": 0,
                    "optional": True,
                    "jurisdictions": ["south"],
                    "materials": [{"id": "id_card"}],
                },
            ],
        }
    ],
}
CAT = build_catalog(PACKED)
SHOP = CAT.bundle("shop")


def ev(chosen=None, answers=None, marks=None, **kw):
    return engine.evaluate(SHOP, chosen, answers or {}, marks or {}, catalog=CAT, **kw)


def test_shared_material_is_listed_once_with_every_item_that_needs_it():
    r = ev(["a", "b"], {"area": 100, "venue": "own"})
    ids = [m.id for m in r.materials]
    assert ids.count("id_card") == 1 and ids.count("licence") == 1
    idc = r.line("id_card")
    assert [q.item_id for q in idc.required_by] == ["a", "b"]
    assert idc.copies == 2  # the most any item asks for
    assert idc.form == "original_and_copy"


def test_reduction_counts_separate_entries_vs_merged_after_exemption():
    r = ev(["a", "b"], {"area": 100, "venue": "own"}, {"licence": "exempt"})
    # a: id_card, form_a, licence; b: id_card, licence, floor_plan → 6 entries; merged 4; licence exempt → 3
    assert (r.reduction.separate, r.reduction.merged) == (6, 3)
    assert r.reduction.percent == 50.0


def test_condition_switches_material_on_and_explains_why():
    small = ev(["b"], {"area": 150, "venue": "own"})
    big = ev(["b"], {"area": 250, "venue": "own"})
    assert small.line("fire_doc") is None
    req = big.line("fire_doc").required_by[0]
    assert req.reason == "营业面积200平米以上需办理" and "营业面积 大于 200" in req.condition


def test_item_condition_switches_the_whole_item():
    off = ev(["a", "c"], {"ktv": False})
    on = ev(["a", "c"], {"ktv": True})
    assert {i.item.id: i.state for i in off.items}["c"] == "not_applicable"
    assert off.line("ktv_plan") is None
    assert on.line("ktv_plan") is not None and [i.id for i in on.active_items] == ["a", "c"]


def test_unanswered_question_is_reported_and_blocks_completeness():
    marks = {
        "id_card": "collected",
        "form_a": "collected",
        "licence": "collected",
        "floor_plan": "collected",
    }
    r = ev(["a", "b"], {}, marks)
    assert set(r.unanswered) == {"area", "venue"} and r.verdict == "incomplete" and not r.missing
    done = ev(["a", "b"], {"area": 10, "venue": "own"}, marks)
    assert done.verdict == "complete" and not done.unanswered


def test_only_questions_that_matter_for_the_choice():
    assert {q.id for q in ev(["a"]).questions} == set()
    assert {q.id for q in ev(["a", "c"]).questions} == {"ktv"}
    # c's material questions do not matter while c itself is undetermined or off
    assert {q.id for q in ev(["b", "c"], {"ktv": False}).questions} == {"ktv", "area", "venue"}


def test_verdicts():
    base = {"id_card": "collected", "form_a": "collected", "licence": "exempt"}
    assert ev(["a"], {}, base).verdict == "complete"
    r = ev(["a", "b"], {"area": 10, "venue": "rented"}, {**base, "lease": "tolerated"})
    assert r.verdict == "incomplete" and r.missing == ("floor_plan",)
    r = ev(
        ["a", "b"],
        {"area": 10, "venue": "rented"},
        {**base, "lease": "tolerated", "floor_plan": "collected"},
    )
    assert r.verdict == "complete_with_tolerance" and r.tolerated == ("lease",)


def test_missing_lists_every_missing_material():
    r = ev(["a", "b", "c"], {"area": 300, "venue": "rented", "ktv": True})
    assert set(r.missing) == {m.id for m in r.materials} and len(r.missing) == 7


def test_exempt_only_where_a_source_exists():
    with pytest.raises(ChecklistError) as exc:
        ev(["a"], {}, {"form_a": "exempt"})
    assert exc.value.code == "checklist.not_exemptable" and "申请表A" in exc.value.message


def test_tolerance_only_where_the_catalog_allows_it():
    with pytest.raises(ChecklistError) as exc:
        ev(["a"], {}, {"form_a": "tolerated"})
    assert exc.value.code == "checklist.not_tolerable"
    # floor_plan is tolerable in itself, but item b narrows it: once b needs it, no tolerance
    assert ev(["c"], {"ktv": True}, {"floor_plan": "tolerated"}).line("floor_plan").tolerable
    with pytest.raises(ChecklistError):
        ev(["b", "c"], {"ktv": True, "area": 1, "venue": "own"}, {"floor_plan": "tolerated"})


def test_mark_on_material_not_in_the_list():
    with pytest.raises(ChecklistError) as exc:
        ev(["a"], {}, {"ktv_plan": "collected"})
    assert exc.value.code == "checklist.mark_not_in_list"
    lenient = ev(["a"], {}, {"ktv_plan": "collected"}, strict=False)
    assert lenient.ignored_marks == ("ktv_plan",)


def test_bad_mark_value():
    with pytest.raises(ChecklistError) as exc:
        ev(["a"], {}, {"id_card": "lost"})
    assert exc.value.code == "checklist.bad_mark"


def test_partial_choice_and_default_choice():
    assert [i.item.id for i in ev(None).items] == [
        "a",
        "b",
        "c",
    ]  # optional d is not chosen by default
    assert [i.item.id for i in ev(["b"], {"area": 1, "venue": "own"}).items] == ["b"]


def test_jurisdiction_limits_items():
    with pytest.raises(ChecklistError) as exc:
        ev(["a", "d"], jurisdiction="north")
    assert exc.value.code == "checklist.item_not_offered"
    assert "d" in [i.item.id for i in ev(["a", "d"], jurisdiction="south").items]
    assert (
        SHOP.item("b").department_in("south") == "南县乙局"
        and SHOP.item("b").department_in("north") == "乙局"
    )


@pytest.mark.parametrize(
    "chosen,answers,code",
    [
        (["zz"], {}, "checklist.unknown_item"),
        ([], {}, "checklist.no_items"),
        (["a"], {"nope": 1}, "checklist.unknown_question"),
        (["b"], {"area": "很大"}, "checklist.answer_type"),
        (["b"], {"area": -5}, "checklist.answer_range"),
        (["c"], {"ktv": "maybe"}, "checklist.answer_type"),
        (["b"], {"venue": "leased"}, "checklist.answer_choice"),
    ],
)
def test_bad_input_is_refused_with_a_code(chosen, answers, code):
    with pytest.raises(ChecklistError) as exc:
        ev(chosen, answers)
    assert exc.value.code == code and exc.value.message


def test_answers_coerced_from_text():
    r = ev(["b", "c"], {"area": "250", "ktv": "是", "venue": "租赁"})
    assert r.line("fire_doc") and r.line("lease") and r.line("ktv_plan")


marks_strategy = st.dictionaries(
    st.sampled_from(
        ["id_card", "form_a", "licence", "floor_plan", "lease", "fire_doc", "ktv_plan"]
    ),
    st.sampled_from(["collected", "exempt", "tolerated"]),
)


@given(
    st.lists(st.sampled_from("abc"), min_size=1, unique=True),
    st.integers(0, 500),
    st.booleans(),
    st.sampled_from(["own", "rented"]),
    marks_strategy,
)
def test_engine_invariants(chosen, area, ktv, venue, marks):
    answers = {"area": area, "ktv": ktv, "venue": venue}
    try:
        r = ev(chosen, answers, marks, strict=False)
    except ChecklistError as exc:
        assert exc.code in ("checklist.not_exemptable", "checklist.not_tolerable")
        return
    again = ev(chosen, answers, marks, strict=False)
    assert r == again  # deterministic
    ids = [m.id for m in r.materials]
    assert len(ids) == len(set(ids))
    assert set(r.missing) == {m.id for m in r.materials if m.state == "missing"}
    assert r.reduction.merged <= len(r.materials) <= r.reduction.separate
    expected = (
        "incomplete" if r.missing else ("complete_with_tolerance" if r.tolerated else "complete")
    )
    assert r.verdict == expected


def test_json_shape():
    data = ev(["a"], {}, {"id_card": "collected"}).to_json()
    assert data["verdict"] == "incomplete"
    assert data["materials"][0] == {
        "id": "id_card",
        "name": "身份证",
        "state": "collected",
        "required_by": ["a"],
        "reasons": [],
        "form": "original_and_copy",
        "copies": 1,
        "tolerable": False,
        "exempt_via": "电子身份证",
        "person": None,
        "produced_by": None,
    }
    assert data["missing"] == ["form_a", "licence"]
    assert data["reduction"] == {"separate": 3, "merged": 3, "percent": 0.0}


def test_real_catalog_newborn_merges():
    cat = load_catalog()
    b = cat.bundle("新生儿出生")
    r = engine.evaluate(
        b,
        None,
        {"parents_married": True, "applied_by_agent": False, "parents_local_insured": False},
        {},
        catalog=cat,
        jurisdiction="xinxiang",
    )
    assert (
        r.line("resident_id_card.mother") is not None
        and len(r.line("resident_id_card.mother").required_by) >= 3
    )
    assert r.reduction.merged < r.reduction.separate
