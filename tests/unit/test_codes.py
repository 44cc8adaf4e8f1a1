"""Barcode decoding from images and what payloads mean (receipt, licence, ID number, unknown)."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from app.capture.codes import (
    CodeMeaning,
    classify_payload,
    decode_codes,
    decode_payload,
    display_text,
)
from app.numbering import encode_receipt_payload, format_intake_number
from app.validators import org_code_check_char, uscc_check_char
from tests import synthetic as syn

USCC = syn.VALID_USCC  # 91350100M000100Y43, the standard's example


def _make_uscc(first16: str) -> str:
    """A valid USCC from its first 16 characters (department, type, region, 8-char org body)."""
    body = first16[:8] + first16[8:16] + org_code_check_char(first16[8:16])
    return body + uscc_check_char(body)


OTHER_USCC = _make_uscc("9111010810001774")
INVALID_USCC = USCC[:-1] + ("4" if USCC[-1] != "4" else "5")  # last check character wrong


def _number(seq: int = 73) -> str:
    return format_intake_number("XX01", dt.date(2024, 12, 2), seq)


def _on_white(code: np.ndarray, pad: int = 60) -> np.ndarray:
    return np.pad(code, pad, constant_values=255)


# ---------------------------------------------------------------------------------------------
# classification


@pytest.mark.parametrize(
    "payload",
    [
        f"https://www.gsxt.gov.cn/index.html?uniscid={USCC}",
        f"http://www.gsxt.gov.cn/corp-query-entprise-info.html?creditCode={USCC}&from=qr",
        f"http://gsxt.fjaic.gov.cn/notice/query?regno={USCC}",
        f"https://www.gsxt.gov.cn/{USCC}.html",
        f"https://sh.gsxt.gov.cn/#/detail?uniscid={USCC.lower()}",
        f"www.gsxt.gov.cn/index.html?uniscid={USCC}",
    ],
)
def test_licence_urls_yield_the_uscc(payload: str) -> None:
    meaning = classify_payload(payload)
    assert meaning.kind == "licence"
    assert meaning.uscc == USCC
    assert meaning.payload == payload


def test_licence_plain_text_yields_the_uscc() -> None:
    text = f"名称：某某餐饮有限公司\n统一社会信用代码：{USCC}\n类型：有限责任公司"
    meaning = classify_payload(text)
    assert meaning.kind == "licence"
    assert meaning.uscc == USCC


def test_opaque_licence_url_is_shown_not_guessed() -> None:
    payload = "http://www.gsxt.gov.cn/%7B8C1A5E3B0F7D4A2E9B6C1D0E3F2A4B5C%7D"
    meaning = classify_payload(payload)
    assert meaning.kind == "licence_opaque"
    assert meaning.uscc is None
    assert meaning.payload == payload
    assert meaning.label.startswith("营业执照")


@pytest.mark.parametrize(
    ("host", "licence"),
    [
        ("www.gsxt.gov.cn", True),
        ("sh.gsxt.gov.cn", True),
        ("qyxy.baic.gov.cn", True),
        ("gsxt.fjaic.gov.cn", True),
        ("scjgj.zz.gov.cn", True),
        ("www.mosaic.com", False),
        ("gsxt.example.com", False),
        ("www.gov.cn", False),
    ],
)
def test_only_regulator_hosts_make_an_unreadable_url_a_licence(host: str, licence: bool) -> None:
    meaning = classify_payload(f"https://{host}/q?id=ABCDEF0123456789ABCDEF")
    assert meaning.kind == ("licence_opaque" if licence else "unknown")


def test_invalid_uscc_in_a_licence_url_is_rejected() -> None:
    meaning = classify_payload(f"https://www.gsxt.gov.cn/index.html?uniscid={INVALID_USCC}")
    assert meaning.kind == "licence_opaque"
    assert meaning.uscc is None
    assert meaning.uscc_candidates == ()


def test_invalid_uscc_in_text_is_rejected() -> None:
    meaning = classify_payload(f"统一社会信用代码：{INVALID_USCC}")
    assert meaning.kind == "unknown"
    assert meaning.uscc is None


def test_two_different_valid_codes_are_not_guessed_between() -> None:
    meaning = classify_payload(f"甲方 {USCC} 乙方 {OTHER_USCC}")
    assert meaning.kind == "unknown"
    assert meaning.uscc is None
    assert set(meaning.uscc_candidates) == {USCC, OTHER_USCC}


def test_receipt_qr_payload_gives_the_intake_number_and_fields() -> None:
    payload = encode_receipt_payload(_number(), t="20241202T0931")
    meaning = classify_payload(payload)
    assert meaning.kind == "receipt"
    assert meaning.intake_number == _number()
    assert dict(meaning.fields) == {"t": "20241202T0931"}


def test_bare_intake_number_from_code128_is_a_receipt() -> None:
    meaning = classify_payload(_number(5))
    assert meaning.kind == "receipt"
    assert meaning.intake_number == _number(5)


def test_intake_number_with_wrong_check_is_not_a_receipt() -> None:
    good = _number(5)
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert classify_payload(bad).kind == "unknown"


def test_bare_resident_id_is_recognised_and_normalised() -> None:
    meaning = classify_payload("11010519491231002x")
    assert meaning.kind == "resident_id"
    assert meaning.resident_id == "11010519491231002X"


def test_resident_id_with_wrong_check_digit_is_unknown() -> None:
    assert classify_payload("320102198001010013").kind == "unknown"


@pytest.mark.parametrize("payload", ["hello world", "https://example.com/page?id=42", "", "   "])
def test_anything_else_is_unknown_with_the_raw_payload(payload: str) -> None:
    meaning = classify_payload(payload)
    assert meaning == CodeMeaning("unknown", payload)


def test_display_escapes_control_characters_and_caps_length() -> None:
    assert display_text("abc\x00\x1bdef") == "abc\\x00\\x1bdef"
    assert display_text("x" * 600).endswith("…")
    assert len(display_text("x" * 600)) == 501


def test_payload_bytes_decode_utf8_then_gbk() -> None:
    text = "名称：测试有限公司"
    assert decode_payload(text.encode("utf-8")) == text
    assert decode_payload(text.encode("gbk")) == text
    assert decode_payload(b"\xef\xbb\xbfabc") == "abc"
    assert decode_payload(bytes([0x80, 0xFF, 0x00])) == "\x80\xff\x00"  # never raises


# ---------------------------------------------------------------------------------------------
# decoding images


def test_licence_qr_is_decoded_and_classified() -> None:
    [code] = decode_codes(_on_white(syn.render_qr(syn.LICENCE_URL, 5)))
    assert code.symbology == "QRCODE"
    assert code.kind == "licence"
    assert code.meaning.uscc == USCC
    assert len(code.polygon) >= 4


def test_receipt_qr_and_code128_are_both_found() -> None:
    qr = _on_white(syn.render_qr(encode_receipt_payload(_number()), 5))
    bar = syn.render_code128(_number(), 3)
    canvas = np.full(
        (qr.shape[0] + bar.shape[0] + 40, max(qr.shape[1], bar.shape[1]) + 40), 255, np.uint8
    )
    canvas[20 : 20 + qr.shape[0], 20 : 20 + qr.shape[1]] = qr
    canvas[qr.shape[0] + 20 : qr.shape[0] + 20 + bar.shape[0], 20 : 20 + bar.shape[1]] = bar
    codes = decode_codes(canvas)
    assert sorted(c.symbology for c in codes) == ["CODE128", "QRCODE"]
    assert {c.kind for c in codes} == {"receipt"}
    assert {c.meaning.intake_number for c in codes} == {_number()}


def test_gbk_qr_payload_comes_back_as_the_right_chinese_text() -> None:
    text = f"名称：测试有限公司 统一社会信用代码：{USCC}"
    [code] = decode_codes(_on_white(syn.render_qr(text.encode("gbk"), 5)))
    assert code.payload == text
    assert code.kind == "licence"


def test_utf8_qr_payload_comes_back_unchanged() -> None:
    text = "受理回执 一件事一次办"
    [code] = decode_codes(_on_white(syn.render_qr(text.encode("utf-8"), 5)))
    assert code.payload == text
    assert code.kind == "unknown"


def test_qr_in_a_1080p_frame_is_found() -> None:
    frame = syn.make_scene("perspective", (1920, 1080), qr_mm=45).frame
    codes = decode_codes(frame)
    assert [c.payload for c in codes] == [syn.LICENCE_URL]


def test_code_at_the_very_edge_of_a_frame_is_found_by_the_fast_pass() -> None:
    frame = np.full((1080, 1920), 90, np.uint8)  # a flat grey desk
    qr = syn.render_qr(syn.LICENCE_URL, 4, quiet_modules=4)
    frame[: qr.shape[0], -qr.shape[1] :] = qr  # quiet zone flush with the frame's corner
    [code] = decode_codes(frame, try_harder=False)
    assert code.payload == syn.LICENCE_URL


def test_region_limits_the_search_and_polygons_stay_in_frame_pixels() -> None:
    qr = _on_white(syn.render_qr(syn.LICENCE_URL, 4))
    frame = np.full((800, 1200), 255, np.uint8)
    frame[400 : 400 + qr.shape[0], 700 : 700 + qr.shape[1]] = qr
    [code] = decode_codes(frame, region=(650, 350, 500, 440))
    xs = [p[0] for p in code.polygon]
    ys = [p[1] for p in code.polygon]
    assert min(xs) >= 700 and max(xs) <= 700 + qr.shape[1]
    assert min(ys) >= 400 and max(ys) <= 400 + qr.shape[0]
    assert decode_codes(frame, region=(0, 0, 500, 300)) == []


def test_low_contrast_shadowed_qr_needs_and_gets_the_binarised_pass() -> None:
    qr = _on_white(syn.render_qr(syn.LICENCE_URL, 4), 40).astype(np.float32)
    w = qr.shape[1]
    # faded print (a quarter of full contrast) with a hard-edged shadow across the code:
    # no single threshold fits both halves, a local one does
    light = np.where(np.arange(w)[None, :] < w * 0.55, 1.0, 0.5)
    img = np.clip((qr * 0.25 + 153) * light, 0, 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (3, 3), 0)
    assert decode_codes(img, try_harder=False) == []
    [code] = decode_codes(img)
    assert code.variant == "binarised"
    assert code.payload == syn.LICENCE_URL


@pytest.mark.parametrize(
    "bad", [None, "text", np.zeros((0, 0), np.uint8), np.zeros((10, 10), np.float32)]
)
def test_decode_codes_returns_nothing_for_non_images(bad: object) -> None:
    assert decode_codes(bad) == []  # type: ignore[arg-type]


def test_blank_image_has_no_codes() -> None:
    assert decode_codes(np.full((600, 800, 3), 255, np.uint8)) == []
