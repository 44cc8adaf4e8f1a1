"""ID card OCR: parsing recorded OCR line lists into fields (no model needed), and one run of the
real engine on a drawn card (marker `ocr`; skipped with its reason when rapidocr is absent)."""

from __future__ import annotations

import datetime as dt
import os
import random

import pytest

from app.capture.ocr import OcrLine, ocr_available, parse_id_card

VALID_ID = "11010519491231002X"  # GB 11643's own example (female, born 1949-12-31)

# What rapidocr 3.10 returned for a clean synthetic card (text, box corners).
RECORDED_CLEAN = [
    ("姓名", [(47, 50), (103, 50), (103, 77), (47, 77)]),
    ("张秀英", [(121, 46), (223, 44), (224, 80), (122, 82)]),
    ("性别", [(48, 109), (107, 109), (107, 138), (48, 138)]),
    ("女", [(115, 105), (166, 105), (166, 142), (115, 142)]),
    ("民族汉", [(223, 103), (346, 103), (346, 144), (223, 144)]),
    ("出生", [(49, 170), (106, 170), (106, 197), (49, 197)]),
    ("1949年12月31日", [(123, 165), (350, 167), (350, 200), (123, 199)]),
    ("住址", [(49, 230), (106, 230), (106, 257), (49, 257)]),
    ("北京市朝阳区建国路", [(126, 227), (401, 227), (401, 260), (126, 260)]),
    ("88号院3号楼501", [(128, 272), (348, 272), (348, 305), (128, 305)]),
    ("公民身份号码", [(49, 421), (184, 421), (184, 446), (49, 446)]),
    ("11010519491231002X", [(228, 419), (529, 419), (529, 448), (228, 448)]),
]


def recorded(lines: list[tuple[str, list[tuple[int, int]]]]) -> list[OcrLine]:
    return [OcrLine(text, tuple((float(x), float(y)) for x, y in box)) for text, box in lines]


def test_recorded_engine_output_gives_every_field() -> None:
    reading = parse_id_card(recorded(RECORDED_CLEAN))
    assert reading.name == "张秀英"
    assert reading.resident_id == VALID_ID
    assert reading.gender == "女"
    assert reading.birth_date == dt.date(1949, 12, 31)
    assert reading.address == "北京市朝阳区建国路88号院3号楼501"
    assert reading.notes == ()
    assert set(reading.sources.values()) == {"ocr"}
    assert set(reading.fields) == {"name", "resident_id", "gender", "birth_date", "address"}


def test_boxes_in_any_order_are_put_back_into_rows() -> None:
    lines = recorded(RECORDED_CLEAN)
    random.Random(7).shuffle(lines)
    reading = parse_id_card(lines)
    assert (reading.name, reading.resident_id, reading.address) == (
        "张秀英",
        VALID_ID,
        "北京市朝阳区建国路88号院3号楼501",
    )


def test_label_and_value_in_one_line() -> None:
    reading = parse_id_card(
        [
            "姓名 买买提·艾力",
            "性别男 民族维吾尔",
            "出生 1990 年 1 月 5 日",
            "住址 新疆乌鲁木齐市天山区",
            "解放南路100号",
            "公民身份号码 650102199001050019",
        ]
    )
    assert reading.name == "买买提·艾力"
    assert reading.gender == "男"
    assert reading.birth_date == dt.date(1990, 1, 5)
    assert reading.address == "新疆乌鲁木齐市天山区解放南路100号"
    assert reading.resident_id == "650102199001050019"


def test_number_failing_gb11643_is_not_filled_and_is_reported() -> None:
    reading = parse_id_card(["姓名张秀英", "公民身份号码", "110105194912310021"])
    assert reading.resident_id == ""
    assert "resident_id" not in reading.fields
    assert reading.rejected_id == "110105194912310021"
    assert "校验位不符" in reading.rejected_reason
    assert any("未通过校验" in n for n in reading.notes)
    assert reading.name == "张秀英"


def test_letter_o_read_for_zero_is_corrected_only_when_the_check_digit_agrees() -> None:
    reading = parse_id_card(["公民身份号码 11O1O519491231OO2X"])
    assert reading.resident_id == VALID_ID


def test_birth_date_and_gender_come_from_the_number_when_unreadable() -> None:
    reading = parse_id_card(["姓名张秀英", "出生", "住址北京市", f"公民身份号码{VALID_ID}"])
    assert reading.birth_date == dt.date(1949, 12, 31) and reading.gender == "女"


def test_photo_date_contradicting_the_number_is_replaced_and_noted() -> None:
    reading = parse_id_card(["出生1949年12月30日", f"公民身份号码{VALID_ID}"])
    assert reading.birth_date == dt.date(1949, 12, 31)
    assert any("出生日期" in n for n in reading.notes)


def test_text_that_is_not_a_card_gives_nothing() -> None:
    reading = parse_id_card(["NOTICE OF ACCEPTANCE", "abc 123"])
    assert reading.empty and reading.notes == ()


# ------------------------------------------------------------------ the real engine (optional)


# Not installed (the `ocr` extra): a visible skip with the reason. CI installs the extra
# (requirements/ci.lock) and sets INTAKE_TEST_REQUIRE_OCR, so there a missing engine fails.
def _require_engine() -> None:
    if ocr_available():
        return
    reason = "rapidocr/onnxruntime 未安装（pip install .[ocr]）：真实 OCR 引擎的测试未运行"
    if os.environ.get("INTAKE_TEST_REQUIRE_OCR"):
        pytest.fail(reason + "，而本次运行要求它（INTAKE_TEST_REQUIRE_OCR）")
    pytest.skip(reason)


@pytest.mark.ocr
def test_real_engine_reads_a_drawn_card() -> None:
    _require_engine()
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from app.capture.ocr import read_id_card

    font_path = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    label = ImageFont.truetype(font_path, 22)
    value = ImageFont.truetype(font_path, 30)
    card = Image.new("RGB", (856, 540), (235, 238, 240))
    draw = ImageDraw.Draw(card)
    rows = [
        (50, "姓名", "张秀英"),
        (110, "性别", "女"),
        (170, "出生", "1949年12月31日"),
        (230, "住址", "北京市朝阳区建国路"),
        (275, "", "88号院3号楼501"),
    ]
    for y, key, text in rows:
        if key:
            draw.text((50, y), key, font=label, fill=(60, 100, 160))
        draw.text((130, y - 5), text, font=value, fill=(0, 0, 0))
    draw.text((230, 105), "民族", font=label, fill=(60, 100, 160))
    draw.text((310, 100), "汉", font=value, fill=(0, 0, 0))
    draw.text((50, 420), "公民身份号码", font=label, fill=(60, 100, 160))
    draw.text((230, 415), VALID_ID, font=value, fill=(0, 0, 0))
    bgr = np.ascontiguousarray(np.array(card)[:, :, ::-1])

    reading = read_id_card(bgr)

    assert reading.name == "张秀英"
    assert reading.resident_id == VALID_ID
    assert reading.gender == "女"
    assert reading.birth_date == dt.date(1949, 12, 31)
    assert reading.address.startswith("北京市朝阳区建国路")
