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
