import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.validators import (
    USCC_CHARSET,
    check_any_id,
    check_mobile,
    check_resident_id,
    check_uscc,
    mask_resident_id,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
)

TODAY = dt.date(2026, 11, 21)


# -- GB 11643 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,gender,birth",
    [("11010519491231002X", "female", dt.date(1949, 12, 31)), ("440524188001010014", "male", None)],
)
def test_standard_examples_pass(value, gender, birth):
    r = check_resident_id(value, TODAY)
    assert r.valid and r.normalized == value and r.gender == gender and r.message is None
    if birth:
        assert r.birth_date == birth


def test_documented_failure_names_the_check_digit():
    r = check_resident_id("320102198001010013", TODAY)
    assert not r.valid and r.code == "id.check_digit"
    assert "校验位" in r.message


def test_lower_case_x_is_normalised():
    r = check_resident_id("11010519491231002x", TODAY)
    assert r.valid and r.normalized == "11010519491231002X"


def test_fifteen_digit_number_is_converted():
    r = check_resident_id("110105491231002", TODAY)
    assert (
        r.valid and r.normalized == "11010519491231002X" and r.extra == {"converted_from_15": "1"}
    )


@pytest.mark.parametrize(
    "value,code",
    [
        ("", "id.empty"),
        ("1101051949123100", "id.length"),
        ("11010519491231002Y", "id.charset"),
        ("110105194902300020", "id.birth_date"),  # 30 February
    ],
)
def test_bad_numbers_get_a_code_and_chinese_message(value, code):
    r = check_resident_id(value, TODAY)
    assert (
        not r.valid
        and r.code == code
        and r.message
        and any("\u4e00" <= c <= "\u9fff" for c in r.message)
    )


def test_future_birth_date_is_refused():
    body = "11010520301231002"
    r = check_resident_id(body + resident_id_check_char(body), TODAY)
    assert not r.valid and r.code == "id.birth_future"


ids = st.builds(
    lambda region, days, seq: (region, TODAY - dt.timedelta(days=days), seq),
    st.integers(110000, 659999).map(str),
    st.integers(0, 120 * 365),
    st.integers(0, 999),
)


@given(ids)
def test_any_generated_number_with_its_check_char_is_valid(parts):
    region, birth, seq = parts
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    r = check_resident_id(body + resident_id_check_char(body), TODAY)
    assert r.valid and r.birth_date == birth
    assert r.gender == ("male" if seq % 2 else "female")


@given(ids, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(parts, pos, delta):
    region, birth, seq = parts
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    good = body + resident_id_check_char(body)
    bad = good[:pos] + str((int(good[pos]) + delta) % 10) + good[pos + 1 :]
    assert not check_resident_id(bad, TODAY).valid


@given(ids, st.integers(0, 15))
def test_adjacent_transposition_is_caught(parts, pos):
    region, birth, seq = parts
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    assume(body[pos] != body[pos + 1])
    good = body + resident_id_check_char(body)
    swapped = good[:pos] + good[pos + 1] + good[pos] + good[pos + 2 :]
    r = check_resident_id(swapped, TODAY)
    # A swap inside the date may also make the date impossible; either way it must fail.
    assert not r.valid


@given(st.text(max_size=40))
def test_never_raises_on_arbitrary_text(text):
    r = check_resident_id(text, TODAY)
    assert r.valid in (True, False)
    if not r.valid:
        assert r.code and r.message


# -- GB 32100 -----------------------------------------------------------------------------


def test_uscc_example_passes():
    r = check_uscc("91350100M000100Y43")
    assert r.valid and r.kind == "uscc" and r.normalized == "91350100M000100Y43"


@pytest.mark.parametrize(
    "value,code",
    [
        ("91350100M000100Y44", "uscc.check_char"),
        ("91350100M000100Y4", "uscc.length"),
        ("91350100M0001O0Y43", "uscc.charset"),  # letter O is not allowed
        ("Z1350100M000100Y43", "uscc.charset"),
    ],
)
def test_uscc_failures(value, code):
    r = check_uscc(value)
    assert not r.valid and r.code == code and r.message


usccs = st.builds(
    lambda dept, typ, region, org: (dept, typ, region, org),
    st.sampled_from("1579"),
    st.sampled_from("123"),
    st.integers(110000, 659999).map(str),
    st.text(alphabet=USCC_CHARSET, min_size=8, max_size=8),
)


def _make_uscc(parts):
    dept, typ, region, org = parts
    org += org_code_check_char(org)
    body = dept + typ + region + org
    return body + uscc_check_char(body)


@given(usccs)
def test_generated_uscc_is_valid(parts):
    code = _make_uscc(parts)
    assert check_uscc(code).valid
    assert check_uscc(code.lower()).normalized == code


@given(usccs, st.integers(0, 17), st.integers(1, 30))
def test_uscc_single_substitution_is_caught(parts, pos, delta):
    code = _make_uscc(parts)
    new = USCC_CHARSET[(USCC_CHARSET.index(code[pos]) + delta) % 31]
    assert not check_uscc(code[:pos] + new + code[pos + 1 :]).valid


# -- mobile, dispatch, masking ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value,ok",
    [
        ("13812345678", True),
        ("+86 138 1234 5678", True),
        ("12812345678", False),
        ("1381234567", False),
        ("1381234567a", False),
    ],
)
def test_mobile(value, ok):
    r = check_mobile(value)
    assert r.valid is ok
    if ok:
        assert r.normalized == "13812345678"
    else:
        assert r.message


def test_any_id_tells_kinds_apart():
    assert check_any_id("11010519491231002X").kind == "resident_id"
    assert check_any_id("91350100M000100Y43").kind == "uscc"
    r = check_any_id("12345")
    assert not r.valid and r.kind is None and r.code == "id.unknown_kind"


def test_mask_keeps_first_six_and_last_four():
    assert mask_resident_id("410721199001011234") == "410721********1234"


# GB 11714 values written by hand from the standard (0-9 -> 0-9, A-Z -> 10-35), not by the code.
@pytest.mark.parametrize(
    "org8, check",
    [
        ("D2143569", "X"),  # the standard's own example D2143569-X
        ("MA01G0FB", "0"),  # 91110108MA01G0FB09
        ("MA1FW1BX", "X"),  # 91310000MA1FW1BXX2
    ],
)
def test_gb11714_letters_on_full_alphabet(org8, check):
    assert org_code_check_char(org8) == check


@pytest.mark.parametrize("code", ["91110108MA01G0FB09", "91310000MA1FW1BXX2"])
def test_public_ma_credit_codes_are_accepted(code):
    r = check_uscc(code)
    assert r.valid, r.message


# One organisation code per letter, the letter at a different place each time. Check characters
# from GB 11714 by hand: value 0-9 for digits and A=10 … Z=35, weights 3 7 9 10 5 8 4 2,
# c = 11 - (sum mod 11), 10 → X, 11 → 0. Worked: J0531467 → 19·3+0·7+5·9+3·10+1·5+4·8+6·4+7·2
# = 207, 207 mod 11 = 9, c = 2; 2Z531467 → 401, 401 mod 11 = 5, c = 6; 2053146H → 176 = 16·11,
# c = 11 → 0; 60003734 (python-stdnum's example 91110000600037341L) → 109, c = 1.
ORG_CODES = [
    "A0531467-7", "2B531467-9", "20C31467-1", "205D1467-8", "2053E467-X", "20531F67-9",
    "205314G7-2", "2053146H-0", "I0531467-5", "2J531467-8", "20K31467-6", "205L1467-5",
    "2053M467-3", "20531N67-0", "205314O7-3", "2053146P-6", "Q0531467-3", "2R531467-7",
    "20S31467-0", "205T1467-2", "2053U467-7", "20531V67-2", "205314W7-4", "2053146X-1",
    "Y0531467-1", "2Z531467-6", "J0531467-2", "60003734-1",
]  # fmt: skip


@pytest.mark.parametrize("org", ORG_CODES)
def test_gb11714_check_for_every_letter(org):
    assert org_code_check_char(org[:8]) == org[9]


@pytest.mark.parametrize("org", [o for o in ORG_CODES if set(o[:8]) <= set(USCC_CHARSET)])
def test_credit_codes_built_on_each_letter_are_judged_by_their_org_code(org):
    from stdnum.cn import uscc as stdnum_uscc  # the final mod-31 character, independently

    body = "91410721" + org[:8] + org[9]
    code = body + stdnum_uscc.calc_check_digit(body)
    r = check_uscc(code)
    assert r.valid and r.normalized == code, r.message
    wrong = "0" if org[9] != "0" else "1"
    body = "91410721" + org[:8] + wrong
    r = check_uscc(body + stdnum_uscc.calc_check_digit(body))
    assert not r.valid and r.code == "uscc.org_code"


# -- digits from other scripts: one ASCII form, never an internal error -----------------------


@pytest.mark.parametrize(
    "typed",
    [
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits
        "۱۱۰۱۰۵۱۹۴۹۱۲۳۱۰۰۲X",  # Extended Arabic-Indic (Persian) digits
        "１１０１０５１９４９１２３１００２ｘ",  # full-width, from a Chinese IME
        "110105 19491231 002X",  # spaces
        "110105\u00a019491231\u3000002X",  # no-break and ideographic spaces
    ],
)
def test_digits_of_other_scripts_are_stored_as_ascii(typed):
    r = check_resident_id(typed, TODAY)
    assert r.valid and r.normalized == "11010519491231002X"


def test_superscript_digit_gets_a_message_not_an_exception():
    # '²'.isdigit() is True but int('²') raises: this was an internal error (exit 3)
    r = check_resident_id("²10105199003071239", TODAY)
    assert not r.valid and r.code == "id.check_digit" and "校验位" in r.message
    assert check_any_id("²10105199003071239").code == "id.check_digit"


def test_a_symbol_in_an_id_number_is_named():
    r = check_resident_id("11010519491231002✗", TODAY)
    assert not r.valid and r.code == "id.charset" and "✗" in r.message


def test_other_scripts_in_credit_codes_and_phones():
    assert check_uscc("９１３１００００ＭＡ１ＦＷ１ＢＸＸ２").normalized == "91310000MA1FW1BXX2"
    assert check_mobile("١٣٨١٢٣٤٥٦٧٨").normalized == "13812345678"
    assert check_mobile("¹3812345678").normalized == "13812345678"


@given(st.text(alphabet=st.characters(categories=("Nd", "No", "Nl")), min_size=15, max_size=18))
def test_any_unicode_digits_never_raise_and_valid_means_ascii(text):
    for r in (
        check_resident_id(text, TODAY),
        check_uscc(text),
        check_mobile(text),
        check_any_id(text, TODAY),
    ):
        assert r.valid in (True, False)
        if r.valid:
            assert r.normalized.isascii()
        else:
            assert r.code and r.message


def test_conflicts_with_the_id_number():
    from app.validators import resident_id_conflicts

    rid = "11010519491231002X"  # born 1949-12-31, female
    assert resident_id_conflicts(rid, dt.date(1949, 12, 31), "女", TODAY) == {}
    assert resident_id_conflicts(rid, None, "", TODAY) == {}
    assert resident_id_conflicts(rid, None, "未说明", TODAY) == {}  # not expressible in the number
    found = resident_id_conflicts(rid, dt.date(1949, 12, 30), "男", TODAY)
    assert (
        found["birth_date"].code == "id.birth_date_mismatch"
        and "1949-12-31" in found["birth_date"].message
    )
    assert found["gender"].code == "id.gender_mismatch" and "女" in found["gender"].message
    assert (
        resident_id_conflicts("320102198001010013", dt.date(2000, 1, 1), "男", TODAY) == {}
    )  # invalid number
