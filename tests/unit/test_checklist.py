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


# ----------------------------------------------------------------------------- answers, by hand
AREA, KTV, VENUE = SHOP.question("area"), SHOP.question("ktv"), SHOP.question("venue")


@pytest.mark.parametrize(
    "question, given_, expected",
    [
        (KTV, True, True),
        (KTV, False, False),
        (KTV, " YES ", True),
        (KTV, "y", True),
        (KTV, "1", True),
        (KTV, "true", True),
        (KTV, "有", True),
        (KTV, "对", True),
        (KTV, "no", False),
        (KTV, "N", False),
        (KTV, "0", False),
        (KTV, "false", False),
        (KTV, "无", False),
        (KTV, "没有", False),
        (KTV, "否", False),
        (AREA, "250", 250),
        (AREA, " 12.5 ", 12.5),
        (AREA, 200.0, 200),
        (AREA, 0, 0),
        (AREA, "100000", 100000),
        (VENUE, "own", "own"),
        (VENUE, " rented ", "rented"),
        (VENUE, "自有", "own"),
    ],
)
def test_answers_coerced(question, given_, expected):
    got = engine.coerce_answer(question, given_)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    "question, given_, code, message",
    [
        (KTV, "maybe", "checklist.answer_type", "情形“是否兼营KTV”只能回答是或否（收到“maybe”）。"),
        (AREA, True, "checklist.answer_type", "情形“营业面积”需要填写数字。"),
        (AREA, "很大", "checklist.answer_type", "情形“营业面积”需要填写数字（收到“很大”）。"),
        (AREA, "nan", "checklist.answer_type", "情形“营业面积”需要填写有效数字。"),
        (AREA, float("inf"), "checklist.answer_type", "情形“营业面积”需要填写有效数字。"),
        (AREA, "-inf", "checklist.answer_type", "情形“营业面积”需要填写有效数字。"),
        (AREA, -0.5, "checklist.answer_range", "情形“营业面积”的取值应在 0～100000 之间。"),
        (AREA, 100000.5, "checklist.answer_range", "情形“营业面积”的取值应在 0～100000 之间。"),
        (
            VENUE, "leased", "checklist.answer_choice",
            "情形“场地”没有选项“leased”，可选：自有、租赁",
        ),
    ],
)  # fmt: skip
def test_bad_answers_are_named(question, given_, code, message):
    with pytest.raises(ChecklistError) as exc:
        engine.coerce_answer(question, given_)
    assert (exc.value.code, exc.value.message) == (code, message)
    assert exc.value.details["question"] == question.id


@pytest.mark.parametrize(
    "chosen, answers, marks, code, message",
    [
        (["zz"], {}, {}, "checklist.unknown_item", "一件事“开店”中没有事项“zz”。"),
        (["d"], {}, {}, "checklist.item_not_offered", "事项“事项D”不在本辖区的“开店”清单中。"),
        ([], {}, {}, "checklist.no_items", "请至少选择“开店”中的一个事项。"),
        (["a"], {"nope": 1}, {}, "checklist.unknown_question", "一件事“开店”没有情形问题“nope”。"),
        (
            ["a"], {}, {"form_a": "done"}, "checklist.bad_mark",
            "材料标记“done”无效，应为 已收/免提交/容缺（collected/exempt/tolerated）。",
        ),
        (
            ["a"], {}, {"ktv_plan": "collected"}, "checklist.mark_not_in_list",
            "材料“歌舞娱乐场所方案”不在本次材料清单中，不能标记。",
        ),
        (
            ["a"], {}, {"form_a": "exempt"}, "checklist.not_exemptable",
            "材料“申请表A”没有可共享的电子证照或数据来源，不能标记为免提交。",
        ),
        (
            ["b"], {"area": 1, "venue": "own"}, {"floor_plan": "tolerated"},
            "checklist.not_tolerable", "材料“平面图”不允许容缺受理，必须当场提交。",
        ),
    ],
)  # fmt: skip
def test_refusals_word_for_word(chosen, answers, marks, code, message):
    with pytest.raises(ChecklistError) as exc:
        ev(chosen, answers, marks, jurisdiction="north")
    assert (exc.value.code, exc.value.message) == (code, message)


def test_default_choice_and_explanations():
    r = ev(None, {"area": 300, "ktv": False, "venue": "rented"}, jurisdiction="south")
    # d is optional: not in the default choice even where it is offered
    assert [(i.item.id, i.state) for i in r.items] == [
        ("a", "active"),
        ("b", "active"),
        ("c", "not_applicable"),
    ]
    c_line = r.items[2]
    assert (c_line.reason, c_line.condition) == ("兼营KTV的需办理", "是否兼营KTV：是")
    fire = r.line("fire_doc")
    assert fire.required_by == (
        engine.Requirement("b", "事项B", "营业面积200平米以上需办理", "营业面积 大于 200", ""),
    )
    assert [q.id for q in r.questions] == ["area", "ktv", "venue"]
    assert r.unanswered == () and r.active_items == (SHOP.item("a"), SHOP.item("b"))
    assert r.line("nope") is None


def test_unanswered_questions_are_listed_in_the_bundles_order():
    r = ev(["b", "c"], {})
    assert r.unanswered == ("area", "ktv", "venue") and r.verdict == "incomplete"
    assert [(i.item.id, i.state) for i in r.items] == [("b", "active"), ("c", "undetermined")]
    r = ev(["b"], {"area": 1})  # the lease depends on the venue, still open
    assert r.unanswered == ("venue",)


def test_line_merging_rules():
    r = ev(["b", "c"], {"area": 1, "ktv": True, "venue": "own"})
    plan = r.line("floor_plan")
    # b refuses 容缺 for the floor plan, c allows it: the merged line is not tolerable
    assert plan.tolerable is False and [q.item_id for q in plan.required_by] == ["b", "c"]
    assert plan.copies == 1 and plan.form == "copy" and plan.exemptable is False
    only_c = ev(["c"], {"ktv": True}).line("floor_plan")
    assert only_c.tolerable is True
    assert ev(["a"]).line("id_card").exemptable is True


def test_reduction_and_states():
    r = ev(
        ["a", "b"],
        {"area": 1, "venue": "own"},
        {"id_card": "exempt", "licence": "collected", "form_a": "collected"},
    )
    # a lists 3, b lists 3 (id_card, licence, floor_plan): 6 entries; 4 lines, 1 exempt → 3
    assert (r.reduction.separate, r.reduction.merged, r.reduction.percent) == (6, 3, 50.0)
    assert engine.Reduction(3, 2).percent == 33.3 and engine.Reduction(0, 0).percent == 0.0
    assert r.missing == ("floor_plan",) and r.tolerated == ()
    assert [m.state for m in r.materials] == ["exempt", "collected", "collected", "missing"]


def test_line_name_of_unknown_and_per_person_ids():
    assert engine.line_name(CAT, "form_a") == "申请表A"
    assert engine.line_name(CAT, "nope") == "nope"
    assert engine.line_name(CAT, "form_a.father") == "form_a.father"  # no per-person name
    assert engine.line_name(CAT, "form_a.alien") == "form_a.alien"
