import pytest

from app import conditions as c

QUESTIONS = {
    "area": {"type": "number"},
    "ktv": {"type": "bool"},
    "venue": {
        "type": "choice",
        "choices": [{"value": "own", "label": "自有"}, {"value": "rented", "label": "租赁"}],
    },
}


def test_comparisons():
    gt = c.parse({"q": "area", "op": "gt", "value": 200})
    assert c.evaluate(gt, {"area": 250}) is True
    assert c.evaluate(gt, {"area": 200}) is False
    assert c.evaluate(c.parse({"q": "area", "op": "ge", "value": 200}), {"area": 200}) is True
    assert (
        c.evaluate(c.parse({"q": "venue", "op": "in", "value": ["own"]}), {"venue": "own"}) is True
    )
    assert (
        c.evaluate(c.parse({"q": "venue", "op": "not_in", "value": ["own"]}), {"venue": "own"})
        is False
    )


def test_unanswered_is_unknown_and_kleene_logic_short_circuits():
    cond = c.parse(
        {"all": [{"q": "ktv", "op": "eq", "value": True}, {"q": "area", "op": "gt", "value": 200}]}
    )
    assert c.evaluate(cond, {}) is None
    assert c.evaluate(cond, {"ktv": False}) is False  # decided without the area
    anyc = c.parse(
        {"any": [{"q": "ktv", "op": "eq", "value": True}, {"q": "area", "op": "gt", "value": 200}]}
    )
    assert c.evaluate(anyc, {"ktv": True}) is True
    assert c.evaluate(c.parse({"not": {"q": "ktv", "op": "eq", "value": True}}), {}) is None
    assert (
        c.evaluate(c.parse({"not": {"q": "ktv", "op": "eq", "value": True}}), {"ktv": False})
        is True
    )


def test_questions_of_and_description():
    cond = c.parse(
        {"any": [{"q": "ktv", "op": "eq", "value": True}, {"q": "area", "op": "gt", "value": 200}]}
    )
    assert c.questions_of(cond) == {"ktv", "area"}
    text = c.describe(cond, {"ktv": "是否兼营KTV", "area": "营业面积"})
    assert "是否兼营KTV：是" in text and "营业面积 大于 200" in text and "或" in text


@pytest.mark.parametrize(
    "raw,needle",
    [
        ({"q": "nope", "op": "eq", "value": 1}, "未定义"),
        ({"q": "ktv", "op": "gt", "value": True}, "eq/ne"),
        ({"q": "ktv", "op": "eq", "value": "yes"}, "eq/ne"),
        ({"q": "area", "op": "gt", "value": "200"}, "数字"),
        ({"q": "venue", "op": "eq", "value": "leased"}, "没有选项"),
        ({"q": "venue", "op": "in", "value": "own"}, "列表"),
    ],
)
def test_type_problems_are_found_statically(raw, needle):
    problems = c.type_problems(c.parse(raw), QUESTIONS)
    assert problems and needle in problems[0]


def test_no_eval_anywhere():
    import inspect

    source = inspect.getsource(c)
    assert "eval(" not in source.replace("evaluate(", "") and "exec(" not in source


# ----------------------------------------------------------------------------- whole tables
# Each operator on the values below, the results written by hand.
@pytest.mark.parametrize(
    "op, value, answer, expected",
    [
        ("eq", 200, 200, True),
        ("eq", 200, 201, False),
        ("ne", 200, 200, False),
        ("ne", 200, 199, True),
        ("gt", 200, 200, False),
        ("gt", 200, 200.5, True),
        ("ge", 200, 199.9, False),
        ("ge", 200, 200, True),
        ("lt", 200, 200, False),
        ("lt", 200, 199, True),
        ("le", 200, 200, True),
        ("le", 200, 200.1, False),
        ("in", [100, 200], 200, True),
        ("in", [100, 200], 300, False),
        ("not_in", [100, 200], 300, True),
        ("not_in", [100, 200], 100, False),
    ],
)
def test_every_operator(op, value, answer, expected):
    assert c.evaluate(c.parse({"q": "area", "op": op, "value": value}), {"area": answer}) is (
        expected
    )


T, F, U = (
    {"q": "t", "op": "eq", "value": True},  # answered yes below
    {"q": "f", "op": "eq", "value": True},  # answered no below
    {"q": "u", "op": "eq", "value": True},  # never answered
)
KNOWN = {"t": True, "f": False}


@pytest.mark.parametrize(
    "a, b, all_, any_",
    [  # Kleene's strong three-valued logic, by hand
        (T, T, True, True),
        (T, F, False, True),
        (F, T, False, True),
        (F, F, False, False),
        (T, U, None, True),
        (U, T, None, True),
        (F, U, False, None),
        (U, F, False, None),
        (U, U, None, None),
    ],
)
def test_all_and_any_follow_kleene(a, b, all_, any_):
    assert c.evaluate(c.parse({"all": [a, b]}), KNOWN) is all_
    assert c.evaluate(c.parse({"any": [a, b]}), KNOWN) is any_


def test_not_and_nesting():
    assert c.evaluate(c.parse({"not": T}), KNOWN) is False
    assert c.evaluate(c.parse({"not": F}), KNOWN) is True
    assert c.evaluate(c.parse({"not": {"any": [F, U]}}), KNOWN) is None
    assert c.evaluate(c.parse({"not": {"all": [F, U]}}), KNOWN) is True
    assert c.evaluate(c.parse({"all": [T]}), KNOWN) is True
    nested = c.parse({"all": [{"not": {"q": "a", "op": "eq", "value": 1}}, {"any": [U, T]}]})
    assert c.questions_of(nested) == {"a", "u", "t"}
    assert c.questions_of(c.parse({"not": U})) == {"u"}


def test_parse_builds_the_tree():
    assert c.parse({"q": "area", "op": "gt", "value": 200}) == c.Compare("area", "gt", 200)
    assert c.parse({"q": "area", "op": "eq"}) == c.Compare("area", "eq", None)
    assert c.parse({"not": {"any": [T, {"all": [F]}]}}) == c.Not(
        c.AnyOf((c.Compare("t", "eq", True), c.AllOf((c.Compare("f", "eq", True),))))
    )


@pytest.mark.parametrize(
    "raw, text",
    [
        ({"q": "area", "op": "eq", "value": 200}, "营业面积 为 200"),
        ({"q": "area", "op": "ne", "value": 200}, "营业面积 不为 200"),
        ({"q": "area", "op": "gt", "value": 200}, "营业面积 大于 200"),
        ({"q": "area", "op": "ge", "value": 200}, "营业面积 不小于 200"),
        ({"q": "area", "op": "lt", "value": 200}, "营业面积 小于 200"),
        ({"q": "area", "op": "le", "value": 200}, "营业面积 不大于 200"),
        ({"q": "venue", "op": "in", "value": ["own", "rented"]}, "场所 为以下之一： own、rented"),
        ({"q": "venue", "op": "not_in", "value": ["own"]}, "场所 不为以下任一： own"),
        ({"q": "ktv", "op": "eq", "value": True}, "兼营KTV：是"),
        ({"q": "ktv", "op": "eq", "value": False}, "兼营KTV：否"),
        ({"q": "ktv", "op": "ne", "value": True}, "兼营KTV：否"),
        ({"q": "ktv", "op": "ne", "value": False}, "兼营KTV：是"),
        ({"q": "other", "op": "eq", "value": 1}, "other 为 1"),  # no text: its id
        ({"not": {"q": "ktv", "op": "eq", "value": True}}, "并非（兼营KTV：是）"),
        (
            {
                "all": [
                    {"q": "ktv", "op": "eq", "value": True},
                    {"q": "area", "op": "gt", "value": 1},
                ]
            },
            "（兼营KTV：是）且（营业面积 大于 1）",
        ),
        (
            {
                "any": [
                    {"q": "ktv", "op": "eq", "value": True},
                    {"q": "area", "op": "gt", "value": 1},
                ]
            },
            "（兼营KTV：是）或（营业面积 大于 1）",
        ),
    ],
)
def test_descriptions(raw, text):
    names = {"area": "营业面积", "ktv": "兼营KTV", "venue": "场所"}
    assert c.describe(c.parse(raw), names) == text


@pytest.mark.parametrize(
    "raw",
    [
        {"q": "area", "op": "ge", "value": 200},
        {"q": "area", "op": "lt", "value": 2.5},
        {"q": "area", "op": "in", "value": [1, 2]},
        {"q": "ktv", "op": "eq", "value": True},
        {"q": "ktv", "op": "ne", "value": False},
        {"q": "venue", "op": "eq", "value": "own"},
        {"q": "venue", "op": "not_in", "value": ["own", "rented"]},
        {"not": {"all": [{"q": "ktv", "op": "eq", "value": True}]}},
    ],
)
def test_well_typed_conditions_have_no_problems(raw):
    assert c.type_problems(c.parse(raw), QUESTIONS) == []


@pytest.mark.parametrize(
    "raw, problems",
    [
        ({"q": "ktv", "op": "lt", "value": True}, ["是/否问题“ktv”只能用 eq/ne 比较 true/false"]),
        ({"q": "area", "op": "eq", "value": True}, ["数值问题“area”的比较值必须是数字"]),
        ({"q": "venue", "op": "ge", "value": "own"}, ["选择问题“venue”不能做大小比较"]),
        ({"q": "venue", "op": "in", "value": ["own", "x"]}, ["选择问题“venue”没有选项“x”"]),
        ({"q": "area", "op": "not_in", "value": 3}, ["条件“area”的运算 not_in 需要列表值"]),
        (
            {
                "any": [
                    {"q": "nope", "op": "eq", "value": 1},
                    {"not": {"q": "area", "op": "eq", "value": "1"}},
                ]
            },
            ["条件引用了未定义的情形问题“nope”", "数值问题“area”的比较值必须是数字"],
        ),
    ],
)  # fmt: skip
def test_type_problems_word_for_word(raw, problems):
    assert c.type_problems(c.parse(raw), QUESTIONS) == problems


def test_a_choice_question_without_options_accepts_no_value():
    cond = c.parse({"q": "venue", "op": "eq", "value": "own"})
    assert c.type_problems(cond, {"venue": {"type": "choice"}}) == ["选择问题“venue”没有选项“own”"]
