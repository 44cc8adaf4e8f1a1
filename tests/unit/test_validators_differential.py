"""The identity-number checks against an independent implementation (python-stdnum) on thousands
of generated valid and mutated numbers, and GB 11714 letter values across the whole alphabet.

Where stdnum checks more or less than the counter does, the difference is spelled out here:
- `stdnum.cn.ric` also requires a known GB/T 2260 region for the birth year; the counter does not
  (regions are renamed and merged, and old cards stay valid), so a number stdnum refuses only for
  its place counts as valid. The counter also refuses birth dates in the future or before 1850.
- `stdnum.cn.uscc` checks only the mod-31 character (and wants digits in the first 8); the counter
  also checks the embedded GB 11714 organisation code, for which `_org_check` below is a second
  implementation written from the standard, not from app.validators.
"""

import datetime as dt
import random

import pytest
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from app.validators import check_resident_id, check_uscc, org_code_check_char

TODAY = dt.date(2026, 11, 21)
N = 4000  # generated numbers per test

# GB 11714: 0-9 are worth 0-9 and A-Z 10-35 (the whole Latin alphabet, in order).
_GB11714_VALUES = {c: i for i, c in enumerate("0123456789")} | {
    c: 10 + i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 table 1 (no I, O, S, V, Z)


def _org_check(first8: str) -> str:
    c = (
        11
        - sum(_GB11714_VALUES[ch] * w for ch, w in zip(first8, _GB11714_WEIGHTS, strict=True)) % 11
    )
    return {10: "X", 11: "0"}.get(c, str(c))


# -- GB 11714 by hand -----------------------------------------------------------------------

# LETTER followed by seven zeros: the sum is 3 × value, check = 11 − (3v mod 11), 10 → X, 11 → 0.
# Worked out by hand: A = 10 → 30 mod 11 = 8 → 3;  B = 11 → 33 mod 11 = 0 → 0 (11);  …
_LEADING_LETTER = {
    "A": "3",
    "B": "0",
    "C": "8",
    "D": "5",
    "E": "2",
    "F": "X",
    "G": "7",
    "H": "4",
    "I": "1",
    "J": "9",
    "K": "6",
    "L": "3",
    "M": "0",
    "N": "8",
    "O": "5",
    "P": "2",
    "Q": "X",
    "R": "7",
    "S": "4",
    "T": "1",
    "U": "9",
    "V": "6",
    "W": "3",
    "X": "0",
    "Y": "8",
    "Z": "5",
}


@pytest.mark.parametrize("letter", sorted(_LEADING_LETTER))
def test_gb11714_every_letter_has_its_full_alphabet_value(letter):
    assert org_code_check_char(letter + "0000000") == _LEADING_LETTER[letter]


def test_gb11714_hand_table_agrees_with_the_reference():
    # guards the hand-written table above against a slip of the pen
    assert all(_org_check(k + "0000000") == v for k, v in _LEADING_LETTER.items())


def test_gb11714_generated_codes_across_the_alphabet():
    rnd = random.Random(11714)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(N):
        org = "".join(rnd.choice(alphabet) for _ in range(8))
        assert org_code_check_char(org) == _org_check(org), org


# -- GB 11643 against stdnum.cn.ric ---------------------------------------------------------


def _stdnum_ric_valid(number: str) -> bool:
    try:
        stdnum_ric.validate(number)
    except (stdnum_errors.InvalidComponent, KeyError):
        # Length, characters and check digit passed; the date or the region failed.
        try:
            birth = stdnum_ric.get_birth_date(number)
        except stdnum_errors.InvalidComponent:
            return False
        return birth.year >= 1850 and birth <= TODAY  # the region alone: valid at the counter
    except stdnum_errors.ValidationError:
        return False
    birth = stdnum_ric.get_birth_date(number)
    return birth.year >= 1850 and birth <= TODAY


def _random_id(rnd: random.Random) -> str:
    birth = TODAY - dt.timedelta(days=rnd.randrange(0, 110 * 365))
    body = f"{rnd.randrange(110000, 660000)}{birth:%Y%m%d}{rnd.randrange(1000):03d}"
    return body + stdnum_ric.calc_check_digit(body + "0")


def _mutate(rnd: random.Random, value: str, alphabet: str) -> str:
    pos = rnd.randrange(len(value))
    kind = rnd.randrange(4)
    if kind == 0:  # one character replaced
        return value[:pos] + rnd.choice(alphabet.replace(value[pos], "")) + value[pos + 1 :]
    if kind == 1 and pos < len(value) - 1:  # two neighbours swapped
        return value[:pos] + value[pos + 1] + value[pos] + value[pos + 2 :]
    if kind == 2:  # one character dropped
        return value[:pos] + value[pos + 1 :]
    return value[:pos] + rnd.choice(alphabet) + value[pos:]  # one character inserted


def test_generated_resident_ids_agree_with_stdnum():
    rnd = random.Random(11643)
    for _ in range(N):
        number = _random_id(rnd)
        assert _stdnum_ric_valid(number), number
        r = check_resident_id(number, TODAY)
        assert r.valid and r.normalized == number, number
        assert r.birth_date == stdnum_ric.get_birth_date(number)
        assert r.gender == ("male" if int(number[16]) % 2 else "female")


def test_mutated_resident_ids_agree_with_stdnum():
    rnd = random.Random(1999)
    refused = 0
    for _ in range(N):
        number = _mutate(rnd, _random_id(rnd), "0123456789X")
        expected = _stdnum_ric_valid(number)
        assert check_resident_id(number, TODAY).valid is expected, number
        refused += not expected
    assert refused > N * 0.8  # the mutations mostly break the number: the test has teeth


# -- GB 32100 against stdnum.cn.uscc --------------------------------------------------------


def _random_uscc(rnd: random.Random) -> str:
    # stdnum wants digits in the first 8: 登记管理部门 1-9, 机构类别 1-9, then the region.
    head = f"{rnd.randrange(1, 10)}{rnd.randrange(1, 10)}{rnd.randrange(110000, 660000)}"
    org = ("MA" if rnd.random() < 0.5 else "") + "".join(rnd.choice(_USCC_SET) for _ in range(8))
    org = org[:8]
    body = head + org + _org_check(org)
    return body + stdnum_uscc.calc_check_digit(body)


def _counter_uscc_valid(number: str) -> bool:
    """What the counter accepts: stdnum's mod-31 verdict and, in addition, the GB 11714 code."""
    if not stdnum_uscc.is_valid(number):
        return False
    return _org_check(number[8:16]) == number[16]


def test_generated_credit_codes_agree_with_stdnum():
    rnd = random.Random(32100)
    for _ in range(N):
        code = _random_uscc(rnd)
        assert stdnum_uscc.is_valid(code), code
        r = check_uscc(code)
        assert r.valid and r.normalized == code, (code, r.message)


def test_mutated_credit_codes_agree_with_stdnum():
    rnd = random.Random(2015)
    refused = 0
    for _ in range(N):
        code = _mutate(rnd, _random_uscc(rnd), _USCC_SET)
        expected = _counter_uscc_valid(code)
        assert check_uscc(code).valid is expected, code
        refused += not expected
    assert refused > N * 0.8


@pytest.mark.parametrize("code", ["91110108MA01G0FB09", "91310000MA1FW1BXX2", "91350100M000100Y43"])
def test_public_credit_codes_pass_both(code):
    assert stdnum_uscc.is_valid(code) and _counter_uscc_valid(code)
    assert check_uscc(code).valid
