"""Every outcome of the identity checks as the clerk sees it: the whole `Check` (kind, code,
Chinese message, date of birth, gender) written by hand for each path, so a changed code, a
reworded or mangled message, or a lost field fails here. Check characters used below were worked
by hand (GB 11643 weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, mod 11 → 1 0 X 9 8 7 6 5 4 3 2);
the all-digit credit code's last character was confirmed with python-stdnum."""

import datetime as dt

import pytest

from app.validators import (
    Check,
    check_any_id,
    check_mobile,
    check_resident_id,
    check_uscc,
    mask_name,
    mask_phone,
    mask_resident_id,
    org_code_check_char,
    resident_id_check_char,
    resident_id_conflicts,
    uscc_check_char,
)

TODAY = dt.date(2026, 11, 21)


def fail(kind, code, message):
    return Check(valid=False, kind=kind, code=code, message=message)


RID = "resident_id"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", fail(RID, "id.empty", "请输入公民身份号码。")),
        (None, fail(RID, "id.empty", "请输入公民身份号码。")),
        (
            "110105甲94912310乙X",
            fail(RID, "id.charset", "身份证号码含有不允许的字符“乙甲”：只能是数字和X。"),
        ),
        ("11010549123100X", fail(RID, "id.charset", "15位身份证号码只能由数字组成。")),
        (
            "1101051949123100",
            fail(RID, "id.length", "身份证号码应为18位（或旧版15位），当前为16位。"),
        ),
        (
            "1101051949123100221",
            fail(RID, "id.length", "身份证号码应为18位（或旧版15位），当前为19位。"),
        ),
        (
            "11010519491231002Y",
            fail(RID, "id.charset", "身份证号码前17位必须是数字，最后一位是数字或X。"),
        ),
        (
            "1101051949123100AX",
            fail(RID, "id.charset", "身份证号码前17位必须是数字，最后一位是数字或X。"),
        ),
        ("110105194902300020", fail(RID, "id.birth_date", "出生日期“19490230”不是有效日期。")),
        ("110105184912310020", fail(RID, "id.birth_date", "出生日期“18491231”不合理。")),
        ("110105202611220010", fail(RID, "id.birth_future", "出生日期晚于今天，号码有误。")),
        (
            "320102198001010013",
            fail(RID, "id.check_digit", "校验位不符：请核对号码是否录错（常见为数字颠倒或漏输）。"),
        ),
        (
            "11010519491231002x",
            Check(
                valid=True,
                kind=RID,
                normalized="11010519491231002X",
                birth_date=dt.date(1949, 12, 31),
                gender="female",
            ),
        ),
        (  # the earliest year accepted; 17th digit 1: a man
            "110105185001010013",
            Check(
                valid=True,
                kind=RID,
                normalized="110105185001010013",
                birth_date=dt.date(1850, 1, 1),
                gender="male",
            ),
        ),
        (  # born today
            "110105202611210014",
            Check(
                valid=True,
                kind=RID,
                normalized="110105202611210014",
                birth_date=TODAY,
                gender="male",
            ),
        ),
        (  # GB 11643-1989: 19 inserted, check character added
            "110105491231002",
            Check(
                valid=True,
                kind=RID,
                normalized="11010519491231002X",
                birth_date=dt.date(1949, 12, 31),
                gender="female",
                extra={"converted_from_15": "1"},
            ),
        ),
    ],
)
def test_resident_id_outcomes(value, expected):
    assert check_resident_id(value, TODAY) == expected


def test_resident_id_today_defaults_to_the_real_date():
    # born 2099: in the future whatever day the test runs
    assert check_resident_id("110105209901010010").code == "id.birth_future"


USCC = "uscc"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", fail(USCC, "uscc.empty", "请输入统一社会信用代码。")),
        (None, fail(USCC, "uscc.empty", "请输入统一社会信用代码。")),
        ("91350100M000100Y4", fail(USCC, "uscc.length", "统一社会信用代码应为18位，当前为17位。")),
        (
            "9135010OM000100Z43",
            fail(
                USCC, "uscc.charset",
                "统一社会信用代码含有不允许的字符“OZ”（不使用I、O、S、V、Z）。",
            ),
        ),
        ("01350100M000100Y43", fail(USCC, "uscc.department", "第1位登记管理部门代码“0”无效。")),
        ("H1350100M000100Y43", fail(USCC, "uscc.department", "第1位登记管理部门代码“H”无效。")),
        ("9135A100M000100Y43", fail(USCC, "uscc.region", "第3至8位应为6位数字行政区划码。")),
        (
            "91350100M000100X43",
            fail(USCC, "uscc.org_code", "第9至17位组织机构代码的校验位不符：请核对代码是否录错。"),
        ),
        ("91350100M000100Y44", fail(USCC, "uscc.check_char", "校验位不符：请核对代码是否录错。")),
        (
            " 91350100m000100y43 ",
            Check(valid=True, kind=USCC, normalized="91350100M000100Y43"),
        ),
    ],
)  # fmt: skip
def test_uscc_outcomes(value, expected):
    assert check_uscc(value) == expected


MOBILE = "mobile"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", fail(MOBILE, "mobile.empty", "请输入手机号码。")),
        (None, fail(MOBILE, "mobile.empty", "请输入手机号码。")),
        ("-", fail(MOBILE, "mobile.empty", "请输入手机号码。")),
        ("1381234567a", fail(MOBILE, "mobile.charset", "手机号码只能由数字组成。")),
        ("+86", fail(MOBILE, "mobile.charset", "手机号码只能由数字组成。")),
        ("1381234567", fail(MOBILE, "mobile.length", "手机号码应为11位，当前为10位。")),
        ("13812345678901", fail(MOBILE, "mobile.length", "手机号码应为11位，当前为14位。")),
        ("861381234567", fail(MOBILE, "mobile.length", "手机号码应为11位，当前为12位。")),
        ("12812345678", fail(MOBILE, "mobile.prefix", "手机号码应以13至19开头。")),
        ("10812345678", fail(MOBILE, "mobile.prefix", "手机号码应以13至19开头。")),
    ],
)
def test_mobile_failures(value, expected):
    assert check_mobile(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+8613812345678",
        "008613812345678",
        "8613812345678",
        "138-1234-5678",
        "+86 138 1234 5678",
    ],
)
def test_mobile_forms(value):
    assert check_mobile(value) == Check(valid=True, kind=MOBILE, normalized="13812345678")


def test_mobile_prefix_edges():
    assert check_mobile("19912345678").valid
    assert check_mobile("13012345678").valid


@pytest.mark.parametrize(
    "value, kind, valid, code",
    [
        ("11010519491231002X", RID, True, None),
        ("110105491231002", RID, True, None),
        ("91350100m000100y43", USCC, True, None),
        ("111100000000000359", USCC, True, None),  # all digits, not a person's number
        ("320102198001010013", RID, False, "id.check_digit"),  # neither: the person's error
        ("1101051949123100-X", USCC, False, "uscc.charset"),
    ],
)
def test_any_id_routes_by_shape(value, kind, valid, code):
    r = check_any_id(value, TODAY)
    assert (r.kind, r.valid, r.code) == (kind, valid, code)


def test_any_id_refusals():
    assert check_any_id("", TODAY) == fail(None, "id.empty", "请输入证件号码。")
    assert check_any_id(None, TODAY) == fail(None, "id.empty", "请输入证件号码。")
    assert check_any_id("12345", TODAY) == fail(
        None,
        "id.unknown_kind",
        "无法识别的证件号码（5位）：身份证号码为18位，统一社会信用代码为18位。",
    )
    # born 2026-11-22: tomorrow for TODAY; the day reaches the check
    assert check_any_id("110105202611220010", TODAY).code == "id.birth_future"


def test_to_json():
    assert check_resident_id("11010519491231002X", TODAY).to_json() == {
        "valid": True,
        "kind": RID,
        "normalized": "11010519491231002X",
        "birth_date": "1949-12-31",
        "gender": "female",
        "error": None,
        "code": None,
    }
    assert check_mobile("").to_json() == {
        "valid": False,
        "kind": MOBILE,
        "normalized": None,
        "birth_date": None,
        "gender": None,
        "error": "请输入手机号码。",
        "code": "mobile.empty",
    }


FEMALE, MALE = "11010519491231002X", "440524188001010014"


def test_conflicts_word_for_word():
    assert resident_id_conflicts(FEMALE, dt.date(1949, 12, 30), "男", TODAY) == {
        "birth_date": fail(
            RID,
            "id.birth_date_mismatch",
            "出生日期与身份证号码不符：号码中的出生日期为1949-12-31，请核对号码或出生日期。",
        ),
        "gender": fail(
            RID,
            "id.gender_mismatch",
            "性别与身份证号码不符：号码第17位表示女性，请核对号码或性别。",
        ),
    }
    assert resident_id_conflicts(MALE, None, "female", TODAY)["gender"].message == (
        "性别与身份证号码不符：号码第17位表示男性，请核对号码或性别。"
    )


@pytest.mark.parametrize(
    "gender, conflict",
    [("女", False), ("2", False), ("female", False), ("男", True), ("1", True), ("male", True)],
)
def test_gender_words(gender, conflict):
    assert ("gender" in resident_id_conflicts(FEMALE, None, f" {gender} ", TODAY)) is conflict


@pytest.mark.parametrize("gender", ["", None, "未说明", "9", "0"])
def test_a_gender_the_number_cannot_express_is_no_conflict(gender):
    assert resident_id_conflicts(FEMALE, dt.date(1949, 12, 31), gender, TODAY) == {}


def test_conflicts_judge_validity_on_the_given_day():
    born_2027 = "110105202701010024"  # a woman born 2027-01-01, check character by hand
    assert resident_id_conflicts(born_2027, None, "男", dt.date(2026, 12, 1)) == {}  # not yet
    later = resident_id_conflicts(born_2027, None, "男", dt.date(2027, 6, 1))
    assert later["gender"].code == "id.gender_mismatch"
    assert resident_id_conflicts("320102198001010013", None, "女", TODAY) == {}  # invalid number


def test_check_characters_need_the_whole_body():
    with pytest.raises(ValueError):
        resident_id_check_char("1101051949123100")  # 16 digits
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100Y")  # 16 characters
    with pytest.raises(ValueError):
        org_code_check_char("D214356")  # 7 characters


def test_masks():
    assert mask_resident_id("") == "" and mask_resident_id(None) == ""
    assert mask_resident_id("1234567890") == "**********"
    assert mask_resident_id("12345678901") == "123456*8901"
    assert mask_resident_id("110105491231002") == "110105*****1002"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("1234567") == "123****4567"
    assert mask_phone("123456") == "******"
    assert mask_phone("") == "" and mask_phone(None) == ""
    assert mask_name("张三丰") == "张**" and mask_name("张") == "张" and mask_name("") == ""


def test_any_id_shapes_that_are_neither():
    # letters, but not 18 characters: not a credit code's length problem, an unknown kind
    for value in ("ABC12", "ABCDEFGHJK123456789"):
        assert check_any_id(value, TODAY).code == "id.unknown_kind"
    # 17 digits and a letter other than X at the end: a person's number with a bad last char
    r = check_any_id("11010519491231002Y", TODAY)
    assert (r.kind, r.code) == (RID, "id.charset")


def test_a_letter_in_the_region_code_is_named():
    # 91 A50100 M000100Y 4 + check: the letter is the region's first character
    assert check_uscc("91A50100M000100Y4" + "0").code == "uscc.region"
    assert mask_name("张三") == "张*"
