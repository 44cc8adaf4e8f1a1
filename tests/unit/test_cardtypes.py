"""Every card type a reader returns: recorded sample blocks, layouts and number checks."""

from __future__ import annotations

import datetime as dt

import pytest

from app.capture.cardtypes import (
    build_card_block,
    card_text_block,
    check_document,
    parse_card_block,
)
from app.errors import DeviceError
from tests.fakes.cards import BLOCKS, EXPECTED

TODAY = dt.date(2026, 11, 21)


@pytest.mark.parametrize("card_type", sorted(BLOCKS))
def test_recorded_block_parses_to_the_card_written_on_it(card_type: str) -> None:
    card = parse_card_block(BLOCKS[card_type], today=TODAY)
    doc = card.to_json(TODAY)
    for key, value in EXPECTED[card_type].items():
        assert doc[key] == value, key


@pytest.mark.parametrize("card_type", sorted(BLOCKS))
def test_card_block_round_trips(card_type: str) -> None:
    card = parse_card_block(BLOCKS[card_type], today=TODAY)
    again = parse_card_block(card_text_block(card), today=TODAY)
    assert again.to_json(TODAY) == card.to_json(TODAY)


def test_foreign_card_has_no_ethnicity_and_fixed_issuer() -> None:
    card = parse_card_block(BLOCKS["foreign_2017"], today=TODAY)
    assert card.ethnicity == "" and card.ethnicity_code == ""
    assert card.issuer == "国家移民管理局"
    assert card.card_version == "01" and card.authority_code == "1100"
    assert card.is_foreign


def test_unknown_type_marker_is_a_bad_block() -> None:
    block = bytearray(BLOCKS["hmt_residence"])
    block[248:250] = "Q".encode("utf-16-le")
    with pytest.raises(DeviceError) as info:
        parse_card_block(bytes(block))
    assert info.value.code == "idcard.bad_text"
    assert info.value.details["field"] == "marker"


def test_hmt_block_with_a_mainland_number_is_flagged_not_rejected() -> None:
    # A residence permit whose number lacks 810000/820000/830000: read, but marked invalid.
    block = bytearray(BLOCKS["hmt_residence"])
    block[122 : 122 + 36] = "110105199001011232".encode("utf-16-le")
    card = parse_card_block(bytes(block), today=TODAY)
    assert card.id_valid is False
    assert card.id_error == "港澳台居民居住证号码应以810000、820000或830000开头。"


@pytest.mark.parametrize(
    ("card_type", "number", "birth", "message"),
    [
        ("hmt_residence", "810000199001011231", None, "校验位不符"),
        ("hmt_residence", "840000199001011236", None, "810000、820000或830000"),
        ("foreign_2023", "111840198507040017", None, "校验位不符"),
        ("foreign_2017", "US1110850704001", None, "3位字母加12位数字"),
        ("foreign_2017", "USA11085070400", None, "3位字母加12位数字"),
        ("foreign_2017", "USA118507050012", dt.date(1985, 7, 4), "出生日期"),
        ("resident", "911840198507040017", None, "外国人永久居留身份证号码"),
        ("hmt_residence", "820000197512302462", dt.date(1975, 12, 31), "出生日期"),
    ],
)
def test_number_checks_per_card_type(
    card_type: str, number: str, birth: dt.date | None, message: str
) -> None:
    check = check_document(card_type, number, TODAY, birth)
    assert check.valid is False and check.code
    assert check.message is not None and message in check.message


@pytest.mark.parametrize(
    ("card_type", "number"),
    [
        ("hmt_residence", "810000199001011230"),  # 香港
        ("hmt_residence", "820000197512302462"),  # 澳门
        ("hmt_residence", "830000198808081351"),  # 台湾
        ("foreign_2023", "911840198507040017"),
        ("foreign_2017", "usa118507040012"),  # normalized to upper case
        ("resident", "110105198603151529"),
    ],
)
def test_valid_numbers_per_card_type(card_type: str, number: str) -> None:
    check = check_document(card_type, number, TODAY)
    assert (check.valid, check.message) == (True, None)
    assert check.normalized == number.upper()


def test_building_a_block_marks_its_type() -> None:
    block = build_card_block("foreign_2023", {"name": "史密斯"})
    assert block[248:250].decode("utf-16-le") == "Y"
    assert block[:6].decode("utf-16-le") == "史密斯"
