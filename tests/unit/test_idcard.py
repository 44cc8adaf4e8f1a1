"""GA 467 ID card reader: frames, text block, code tables, reader logic, watcher."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.capture import idcard
from app.capture.cardtypes import (
    ETHNICITIES,
    GENDERS,
    PHOTO_DECODER_MISSING_MESSAGE,
    DecodedPhoto,
    IdCardData,
    build_text_block,
    card_text_block,
    parse_card_block,
)
from app.capture.idcard import (
    PREAMBLE,
    BadFrame,
    CardWatcher,
    Frame,
    FrameReader,
    Ga467Reader,
    IdCardReader,
    Response,
    build_command,
    build_frame,
    build_read_data,
    build_response,
    device_error,
    xor_check,
)
from app.capture.idcard_sim import (
    DEMO_CARD,
    DEMO_CARD_EXPIRED,
    DEMO_CARD_LONG_TERM,
    DEMO_CARD_RARE_CHAR,
    DEMO_CARDS,
    SimulatedReader,
)
from app.capture.photo import (
    load_photo_decoder,
)
from app.errors import DeviceError
from app.validators import check_resident_id
from tests.expected_logs import IDCARD_PROBLEM, IDCARD_WATCHER_CRASHED

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = [
    IDCARD_PROBLEM,
    IDCARD_WATCHER_CRASHED,
]

TODAY = dt.date(2026, 11, 21)

# ---------------------------------------------------------------------------------- frames


def test_find_card_command_matches_domain_facts_example() -> None:
    assert build_command(0x20, 0x01) == bytes.fromhex("AA AA AA 96 69 00 03 20 01 22")


def test_select_card_command_matches_domain_facts_example() -> None:
    assert build_command(0x20, 0x02) == bytes.fromhex("AA AA AA 96 69 00 03 20 02 21")


def test_read_command_matches_domain_facts_example() -> None:
    assert build_command(0x30, 0x01) == bytes.fromhex("AA AA AA 96 69 00 03 30 01 32")


def test_sam_status_command_layout() -> None:
    # length 3 (cmd, param, check); check = 00 ^ 03 ^ 11 ^ FF = ED
    assert build_command(0x11, 0xFF) == bytes.fromhex("AA AA AA 96 69 00 03 11 FF ED")


def test_response_frame_layout() -> None:
    # SAM OK answer: length 4 (SW1 SW2 SW3 check); check = 00 ^ 04 ^ 00 ^ 00 ^ 90 = 94
    assert build_response(0, 0, 0x90) == bytes.fromhex("AA AA AA 96 69 00 04 00 00 90 94")


def test_response_length_counts_data_and_check() -> None:
    frame = build_response(0, 0, 0x9F, b"\x00" * 4)
    assert frame[5:7] == (3 + 4 + 1).to_bytes(2, "big")
    assert len(frame) == 5 + 2 + 8


def test_xor_check_covers_length_and_payload() -> None:
    assert xor_check(bytes.fromhex("00 03 20 01")) == 0x22
    frame = build_command(0x30, 0x01, b"\x12\x34")
    assert frame[-1] == xor_check(frame[5:-1])


def test_full_read_response_length_field() -> None:
    data = build_read_data(b" " * 256, b"\x00" * 1024)
    frame = build_response(0, 0, 0x90, data)
    # 3 status bytes + 4 length bytes + 256 + 1024 + check = 1288 = 0x0508
    assert frame[5:7] == bytes.fromhex("0508")
    assert data[:4] == bytes.fromhex("0100 0400")


def test_frame_reader_parses_one_frame() -> None:
    reader = FrameReader()
    assert reader.feed(build_response(0, 0, 0x9F, b"\x01\x02")) == [Frame(b"\x00\x00\x9f\x01\x02")]
    assert reader.pending == 0


def test_frame_reader_skips_garbage_before_preamble() -> None:
    reader = FrameReader()
    items = reader.feed(b"\x00\x13\xff\xaa" + build_command(0x20, 0x01))
    assert items == [Frame(b"\x20\x01")]
    assert reader.skipped == 4


def test_frame_reader_finds_preamble_after_extra_aa_bytes() -> None:
    reader = FrameReader()
    assert reader.feed(b"\xaa\xaa" + build_command(0x20, 0x02)) == [Frame(b"\x20\x02")]


def test_frame_reader_keeps_partial_preamble_across_chunks() -> None:
    reader = FrameReader()
    frame = build_command(0x30, 0x01)
    assert reader.feed(b"\x55" + frame[:3]) == []
    assert reader.pending == 3  # AA AA AA held: it may start a preamble
    assert reader.feed(frame[3:]) == [Frame(b"\x30\x01")]


def test_frame_reader_reports_checksum_error_and_continues() -> None:
    bad = bytearray(build_response(0, 0, 0x90, b"abc"))
    bad[-1] ^= 0xFF
    good = build_response(0, 0, 0x9F)
    items = FrameReader().feed(bytes(bad) + good)
    assert isinstance(items[0], BadFrame)
    assert items[0].reason == "checksum"
    assert items[0].expected == xor_check(bytes(bad[5:-1]))
    assert items[1] == Frame(b"\x00\x00\x9f")


def test_frame_reader_reports_impossible_length_and_resyncs() -> None:
    good = build_command(0x20, 0x01)
    items = FrameReader(max_length=0x100).feed(PREAMBLE + b"\xff\xff" + good)
    assert items == [BadFrame("length", 0xFFFF), Frame(b"\x20\x01")]


def test_frame_reader_waits_for_incomplete_frame() -> None:
    frame = build_response(0, 0, 0x90, b"x" * 20)
    reader = FrameReader()
    assert reader.feed(frame[:-1]) == []
    assert reader.feed(frame[-1:]) == [Frame(b"\x00\x00\x90" + b"x" * 20)]


# Noise that cannot contain a preamble: 0x69 never occurs in it.
_noise = st.binary(max_size=20).map(lambda b: b.replace(b"\x69", b"\x68"))
_payloads = st.binary(min_size=2, max_size=300)


@given(
    parts=st.lists(st.tuples(_noise, _payloads), min_size=1, max_size=5),
    tail=_noise,
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
)
def test_frame_reader_is_independent_of_chunking(
    parts: list[tuple[bytes, bytes]], tail: bytes, cuts: list[int]
) -> None:
    stream = b"".join(noise + build_frame(payload) for noise, payload in parts) + tail
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    reader = FrameReader(min_length=2)
    items: list[Frame | BadFrame] = []
    for a, b in itertools.pairwise(bounds):
        items += reader.feed(stream[a:b])
    assert items == [Frame(payload) for _, payload in parts]


@given(payload=_payloads, flip=st.integers(min_value=1, max_value=255), split=st.integers(0, 400))
def test_frame_reader_flags_any_corrupted_check_byte(payload: bytes, flip: int, split: int) -> None:
    frame = bytearray(build_frame(payload))
    frame[-1] ^= flip
    reader = FrameReader(min_length=2)
    cut = split % (len(frame) + 1)
    items = reader.feed(bytes(frame[:cut])) + reader.feed(bytes(frame[cut:]))
    assert len(items) == 1
    assert isinstance(items[0], BadFrame) and items[0].reason == "checksum"


def test_response_from_too_short_frame_is_none() -> None:
    assert Response.from_frame(Frame(b"\x20\x01")) is None


# ---------------------------------------------------------------------------------- text block

_FIELDS = {
    "name": "张三",
    "gender_code": "1",
    "ethnicity_code": "01",
    "birth_date": dt.date(1949, 12, 31),
    "address": "北京市西城区某某胡同1号",
    "resident_id": "11010519491231002X",
    "issuer": "北京市公安局西城分局",
    "valid_from": dt.date(2010, 1, 1),
    "valid_to": None,
}


def _block(**overrides: object) -> bytes:
    return build_text_block(**{**_FIELDS, **overrides})  # type: ignore[arg-type]


def test_text_block_layout_offsets() -> None:
    block = _block()
    assert len(block) == 256
    assert block[0:4] == "张三".encode("utf-16-le")
    assert block[4:30] == b" \x00" * 13  # space padded
    assert block[30:32] == "1".encode("utf-16-le")
    assert block[32:36] == "01".encode("utf-16-le")
    assert block[36:52] == "19491231".encode("utf-16-le")
    assert block[122:158] == "11010519491231002X".encode("utf-16-le")
    assert block[188:204] == "20100101".encode("utf-16-le")
    assert block[204:208] == "长期".encode("utf-16-le")
    assert block[220:256] == b" \x00" * 18


def test_text_block_round_trip() -> None:
    card = parse_card_block(_block(), today=TODAY)
    assert card.name == "张三"
    assert (card.gender_code, card.gender) == ("1", "男")
    assert (card.ethnicity_code, card.ethnicity) == ("01", "汉")
    assert card.birth_date == dt.date(1949, 12, 31)
    assert card.address == "北京市西城区某某胡同1号"
    assert card.resident_id == "11010519491231002X"
    assert card.issuer == "北京市公安局西城分局"
    assert card.valid_from == dt.date(2010, 1, 1)
    assert card.valid_to is None
    assert card.id_valid and card.id_error is None


@pytest.mark.parametrize(
    "card", DEMO_CARDS, ids=lambda c: c.ethnicity_code + c.birth_date.isoformat()
)
def test_demo_cards_round_trip_through_text_block(card: IdCardData) -> None:
    parsed = parse_card_block(card_text_block(card), card.photo_wlt)
    assert parsed == card


def test_rare_character_outside_bmp_is_a_surrogate_pair() -> None:
    block = card_text_block(DEMO_CARD_RARE_CHAR)
    # U+20BB7 = D842 DFB7 in UTF-16, little-endian bytes
    assert block[0:4] == b"\x42\xd8\xb7\xdf"
    assert parse_card_block(block).name == DEMO_CARD_RARE_CHAR.name
    assert DEMO_CARD_RARE_CHAR.name.startswith("\U00020bb7")


def test_ext_a_character_takes_one_code_unit() -> None:
    assert "䶮" in DEMO_CARD_EXPIRED.name
    block = card_text_block(DEMO_CARD_EXPIRED)
    assert block[0:4] == "王䶮".encode("utf-16-le") and block[2:4] == b"\xae\x4d"


def test_name_of_fifteen_code_units_with_surrogates_fits_exactly() -> None:
    name = "\U00020bb7" * 7 + "李"  # 7 pairs + 1 = 15 code units = 30 bytes
    block = _block(name=name)
    assert parse_card_block(block).name == name


def test_too_long_field_is_refused_by_builder() -> None:
    with pytest.raises(ValueError, match="name"):
        _block(name="\U00020bb7" * 8)


@given(
    name=st.text(
        alphabet=st.characters(
            categories=("L", "M", "N", "P", "S", "Zs"), exclude_characters=" \x00"
        ),
        min_size=1,
        max_size=15,
    ).filter(lambda s: len(s.encode("utf-16-le")) <= 30)
)
def test_any_name_round_trips(name: str) -> None:
    block = _block(name=name)
    assert parse_card_block(block, today=TODAY).name == name


def _replace(block: bytes, offset: int, raw: bytes) -> bytes:
    return block[:offset] + raw + block[offset + len(raw) :]


def _bad_text_field(block: bytes) -> object:
    with pytest.raises(DeviceError) as info:
        parse_card_block(block)
    assert info.value.code == "idcard.bad_text"
    return info.value.details["field"]


def test_lone_surrogate_is_bad_text() -> None:
    block = _block()
    assert _bad_text_field(_replace(block, 0, b"\x42\xd8")) == "name"


def test_surrogate_pair_split_across_fields_is_bad_text() -> None:
    block = _block()
    # high surrogate in the last unit of the name, low surrogate as the gender
    block = _replace(block, 28, b"\x42\xd8\xb7\xdf")
    assert _bad_text_field(block) == "name"


def test_wrong_block_length_is_bad_text() -> None:
    assert _bad_text_field(b" \x00" * 127) == "block"


def test_impossible_birth_date_is_bad_text() -> None:
    block = _block()
    assert _bad_text_field(_replace(block, 36, "19490231".encode("utf-16-le"))) == "birth_date"


def test_non_numeric_valid_to_is_bad_text() -> None:
    block = _block()
    assert _bad_text_field(_replace(block, 204, "永久有效".encode("utf-16-le"))) == "valid_to"


def test_unknown_gender_code_is_bad_text() -> None:
    block = _block()
    assert _bad_text_field(_replace(block, 30, "3".encode("utf-16-le"))) == "gender"


def test_unknown_ethnicity_code_is_bad_text() -> None:
    block = _block()
    assert _bad_text_field(_replace(block, 32, "57".encode("utf-16-le"))) == "ethnicity"


def test_nul_padding_is_accepted_like_spaces() -> None:
    block = _block()
    block = _replace(block, 4, b"\x00" * 26)
    assert parse_card_block(block).name == "张三"


def test_invalid_id_number_is_reported_not_raised() -> None:
    card = parse_card_block(_block(resident_id="320102198001010013"), today=TODAY)  # check: 6
    assert card.id_valid is False
    assert card.resident_id == "320102198001010013"
    assert card.id_error == check_resident_id("320102198001010013").message
    assert card.id_error and "校验位" in card.id_error


def test_lower_case_x_is_normalized() -> None:
    card = parse_card_block(_block(resident_id="11010519491231002x"))
    assert card.resident_id == "11010519491231002X" and card.id_valid


# ---------------------------------------------------------------------------------- code tables

# Transcribed from DOMAIN-FACTS (GB 3304) independently of the module's table.
_GB3304 = (
    "01 汉 02 蒙古 03 回 04 藏 05 维吾尔 06 苗 07 彝 08 壮 09 布依 10 朝鲜 11 满 12 侗 13 瑶 14 白 "
    "15 土家 16 哈尼 17 哈萨克 18 傣 19 黎 20 傈僳 21 佤 22 畲 23 高山 24 拉祜 25 水 26 东乡 "
    "27 纳西 28 景颇 29 柯尔克孜 30 土 31 达斡尔 32 仫佬 33 羌 34 布朗 35 撒拉 36 毛南 37 仡佬 "
    "38 锡伯 39 阿昌 40 普米 41 塔吉克 42 怒 43 乌孜别克 44 俄罗斯 45 鄂温克 46 德昂 47 保安 "
    "48 裕固 49 京 50 塔塔尔 51 独龙 52 鄂伦春 53 赫哲 54 门巴 55 珞巴 56 基诺 97 其他 "
    "98 外国血统中国籍人士"
)


def test_ethnicity_table_is_gb3304() -> None:
    tokens = _GB3304.split()
    expected = dict(zip(tokens[0::2], tokens[1::2], strict=True))
    assert len(expected) == 58
    assert expected == ETHNICITIES
    assert sorted(ETHNICITIES) == [f"{i:02d}" for i in range(1, 57)] + ["97", "98"]


def test_gender_table_is_gb2261() -> None:
    assert GENDERS == {"0": "未知", "1": "男", "2": "女", "9": "未说明"}


@pytest.mark.parametrize("code", sorted(ETHNICITIES))
def test_every_ethnicity_code_parses_to_its_label(code: str) -> None:
    card = parse_card_block(_block(ethnicity_code=code))
    assert (card.ethnicity_code, card.ethnicity) == (code, ETHNICITIES[code])


@pytest.mark.parametrize("code", sorted(GENDERS))
def test_every_gender_code_parses_to_its_label(code: str) -> None:
    card = parse_card_block(_block(gender_code=code))
    assert (card.gender_code, card.gender) == (code, GENDERS[code])


# ---------------------------------------------------------------------------------- card data


def test_expiry_is_after_the_last_valid_day() -> None:
    card = DEMO_CARD_EXPIRED
    assert card.valid_to == dt.date(2022, 6, 1)
    assert not card.expired(dt.date(2022, 6, 1))
    assert card.expired(dt.date(2022, 6, 2))


def test_long_term_card_never_expires() -> None:
    assert DEMO_CARD_LONG_TERM.valid_to is None
    assert not DEMO_CARD_LONG_TERM.expired(dt.date(2999, 1, 1))
    assert DEMO_CARD_LONG_TERM.valid_to_text == "长期"


def test_demo_cards_have_valid_numbers_matching_their_fields() -> None:
    for card in DEMO_CARDS:
        check = check_resident_id(card.resident_id, TODAY)
        assert check.valid and card.id_valid
        assert check.birth_date == card.birth_date
        assert check.gender == {"1": "male", "2": "female"}[card.gender_code]
        assert len(card.photo_wlt) == 1024


def test_to_json_omits_photo_bytes() -> None:
    doc = DEMO_CARD.to_json(TODAY)
    assert "photo_wlt" not in doc
    assert doc["photo_wlt_length"] == 1024
    assert doc["resident_id"] == DEMO_CARD.resident_id
    assert doc["valid_to"] == "2036-05-20" and doc["expired"] is False
    json.dumps(doc)  # plain values only


def test_to_json_marks_expired_and_long_term() -> None:
    assert DEMO_CARD_EXPIRED.to_json(TODAY)["expired"] is True
    doc = DEMO_CARD_LONG_TERM.to_json(TODAY)
    assert doc["valid_to"] is None and doc["valid_to_text"] == "长期"


def test_repr_masks_personal_data() -> None:
    text = repr(DEMO_CARD)
    assert DEMO_CARD.resident_id not in text
    assert DEMO_CARD.name not in text
    assert DEMO_CARD.address not in text


def test_photo_not_available_without_decoder() -> None:
    assert DEMO_CARD.photo_available is False
    assert (
        DEMO_CARD.photo_message
        == PHOTO_DECODER_MISSING_MESSAGE
        == "照片解码库未配置，无法显示证件照片"
    )


def test_no_decoder_configured_gives_none() -> None:
    assert load_photo_decoder(None) is None
    assert load_photo_decoder("") is None


def test_configured_but_missing_decoder_library_is_device_error() -> None:
    with pytest.raises(DeviceError) as info:
        load_photo_decoder("/nonexistent/libwlt.so")
    assert info.value.code == "idcard.photo_decoder"


# ---------------------------------------------------------------------------------- reader logic
# A scripted serial port: each write of a command gets the next scripted answer for it.


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.01  # every look at the clock costs time, so deadlines pass
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedSerial:
    def __init__(self, script: dict[bytes, list[bytes]]) -> None:
        self.script = script
        self.written: list[bytes] = []
        self._rx = b""
        self.closed = False

    @property
    def in_waiting(self) -> int:
        return len(self._rx)

    def read(self, size: int = 1) -> bytes:
        out, self._rx = self._rx[:size], self._rx[size:]
        return out

    def write(self, data: bytes) -> int:
        self.written.append(data)
        answers = self.script.get(data[7:9], [])
        self._rx += answers.pop(0) if answers else b""
        return len(data)

    def reset_input_buffer(self) -> None:
        self._rx = b""

    def close(self) -> None:
        self.closed = True


FIND, SELECT, READ, SAM = b"\x20\x01", b"\x20\x02", b"\x30\x01", b"\x11\xff"
OK = build_response(0, 0, 0x90)
FOUND = build_response(0, 0, 0x9F, b"\x00" * 4)
READ_OK = build_response(
    0, 0, 0x90, build_read_data(card_text_block(DEMO_CARD), DEMO_CARD.photo_wlt)
)


def _corrupt(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 1])


def _reader(script: dict[bytes, list[bytes]], **kw: object) -> tuple[Ga467Reader, ScriptedSerial]:
    port = ScriptedSerial({SAM: [OK], **script})
    clock = FakeClock()
    reader = Ga467Reader(
        "fake",
        timeout=0.5,
        serial_factory=lambda *a, **k: port,
        clock=clock,
        sleep=clock.sleep,
        **kw,  # type: ignore[arg-type]
    )
    reader.open()
    return reader, port


def _commands(port: ScriptedSerial) -> list[bytes]:
    return [w[7:9] for w in port.written]


def test_reader_reads_card_with_find_select_read() -> None:
    reader, port = _reader({FIND: [FOUND], SELECT: [OK], READ: [READ_OK]})
    assert reader.read() == DEMO_CARD
    assert _commands(port) == [SAM, FIND, SELECT, READ]


def test_reader_skips_second_find_after_wait_for_card() -> None:
    reader, port = _reader({FIND: [FOUND], SELECT: [OK], READ: [READ_OK]})
    assert reader.wait_for_card(0)
    reader.read()
    assert _commands(port) == [SAM, FIND, SELECT, READ]


def test_reader_finds_again_when_last_find_failed() -> None:
    no = build_response(0, 0, 0x80)
    reader, port = _reader({FIND: [FOUND, no, FOUND], SELECT: [OK], READ: [READ_OK]})
    assert reader.wait_for_card(0) is True
    assert reader.wait_for_card(0) is False
    assert reader.read() == DEMO_CARD
    assert _commands(port) == [SAM, FIND, FIND, FIND, SELECT, READ]


def test_reader_resends_after_checksum_error() -> None:
    reader, port = _reader({FIND: [FOUND], SELECT: [OK], READ: [_corrupt(READ_OK), READ_OK]})
    assert reader.read() == DEMO_CARD
    assert _commands(port) == [SAM, FIND, SELECT, READ, READ]


def test_reader_resends_when_reader_reports_our_frame_damaged() -> None:
    damaged = build_response(0, 0, 0x10)
    reader, port = _reader({FIND: [damaged, FOUND], SELECT: [OK], READ: [READ_OK]})
    assert reader.read() == DEMO_CARD
    assert _commands(port).count(FIND) == 2


def test_reader_gives_up_after_bounded_retries() -> None:
    reader, port = _reader({FIND: [FOUND], SELECT: [OK], READ: [_corrupt(READ_OK)] * 10}, retries=3)
    with pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == "idcard.checksum"
    assert _commands(port).count(READ) == 4


def test_reader_timeout_without_any_answer() -> None:
    reader, _ = _reader({FIND: []})
    with pytest.raises(DeviceError) as info:
        reader.wait_for_card(0)
    assert info.value.code == "idcard.timeout"


def test_reader_garbage_instead_of_answer() -> None:
    reader, port = _reader({FIND: [b"\x01\x02\x03"] * 5}, retries=1)
    with pytest.raises(DeviceError) as info:
        reader.wait_for_card(0)
    assert info.value.code == "idcard.garbage"
    assert _commands(port).count(FIND) == 2


def test_wait_for_card_polls_until_timeout() -> None:
    no = build_response(0, 0, 0x80)
    reader, port = _reader({FIND: [no] * 100})
    assert reader.wait_for_card(1.0) is False
    assert 2 <= _commands(port).count(FIND) < 100


def test_wait_for_card_returns_true_when_card_appears() -> None:
    no = build_response(0, 0, 0x80)
    reader, _ = _reader({FIND: [no, no, FOUND]})
    assert reader.wait_for_card(5.0) is True


@pytest.mark.parametrize(
    ("script", "code"),
    [
        ({FIND: [build_response(0, 0, 0x80)]}, "idcard.no_card"),
        ({FIND: [FOUND], SELECT: [build_response(0, 0, 0x81)]}, "idcard.removed"),
        ({FIND: [FOUND], SELECT: [OK], READ: [build_response(0, 0, 0x41)]}, "idcard.removed"),
        ({FIND: [build_response(0, 0, 0x60)]}, "idcard.sam_failed"),
        ({FIND: [build_response(0, 0, 0x21)]}, "idcard.bad_command"),
        ({FIND: [build_response(0, 0, 0x33)]}, "idcard.status"),
    ],
)
def test_reader_maps_status_codes(script: dict[bytes, list[bytes]], code: str) -> None:
    reader, _ = _reader(script)
    with pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == code
    assert info.value.message  # Chinese text for the clerk


def test_reader_inconsistent_read_lengths_is_garbage() -> None:
    body = build_read_data(card_text_block(DEMO_CARD), DEMO_CARD.photo_wlt)[:-10]
    bad = build_response(0, 0, 0x90, body)
    reader, _ = _reader({FIND: [FOUND], SELECT: [OK], READ: [bad]})
    with pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == "idcard.garbage"


def test_reader_decodes_the_photo_with_the_configured_decoder() -> None:
    seen: list[bytes] = []

    class StubDecoder:
        def decode(self, wlt: bytes) -> DecodedPhoto:
            seen.append(wlt)
            return DecodedPhoto(102, 126, b"\x01\x02\x03" * (102 * 126))

    reader, _ = _reader({FIND: [FOUND], SELECT: [OK], READ: [READ_OK]}, photo_decoder=StubDecoder())
    card = reader.read()
    assert seen == [DEMO_CARD.photo_wlt]
    assert card.photo_available is True and card.photo_message is None
    assert card.photo is not None and card.photo.pixels[:3] == b"\x01\x02\x03"


def test_reader_photo_decode_failure_still_gives_the_card() -> None:
    class FailingDecoder:
        def decode(self, wlt: bytes) -> DecodedPhoto:
            raise DeviceError("idcard.photo_decode_failed")

    reader, _ = _reader(
        {FIND: [FOUND], SELECT: [OK], READ: [READ_OK]}, photo_decoder=FailingDecoder()
    )
    card = reader.read()
    assert card.resident_id == DEMO_CARD.resident_id
    assert card.photo is None and card.photo_available is False
    assert (
        card.photo_message == "证件照片解码失败：请人工核验证件照片。"
    )  # the decoder's reason, not "未配置"


def test_reader_sam_failure_on_open_closes_port() -> None:
    port = ScriptedSerial({SAM: [build_response(0, 0, 0x60)]})
    reader = Ga467Reader("fake", serial_factory=lambda *a, **k: port)
    with pytest.raises(DeviceError) as info:
        reader.open()
    assert info.value.code == "idcard.sam_failed"
    assert port.closed and not reader.is_open


def test_reader_command_before_open_is_device_error() -> None:
    with pytest.raises(DeviceError) as info:
        Ga467Reader("fake").read()
    assert info.value.code == "idcard.not_open"


def test_reader_open_failure_is_port_unavailable() -> None:
    def refuse(*args: object, **kwargs: object) -> ScriptedSerial:
        raise OSError(2, "No such file or directory")

    with pytest.raises(DeviceError) as info:
        Ga467Reader("COM9", serial_factory=refuse).open()
    assert info.value.code == "idcard.port_unavailable"
    assert "COM9" in info.value.message and "连接线" in info.value.message


def test_reader_io_error_mid_read_is_disconnected() -> None:
    reader, port = _reader({FIND: [FOUND], SELECT: [OK]})

    def vanish(size: int = 1) -> bytes:
        raise OSError(5, "Input/output error")

    port.read = vanish  # type: ignore[method-assign]
    with pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == "idcard.disconnected"
    assert "连接线" in info.value.message
    assert not reader.is_open and port.closed


def test_ga467_reader_satisfies_protocol() -> None:
    assert isinstance(Ga467Reader("x"), IdCardReader)
    assert isinstance(SimulatedReader(), IdCardReader)


# ---------------------------------------------------------------------------------- watcher


class ScriptedReader:
    """Each poll consumes one step: True/False (card on reader?) or an exception to raise."""

    def __init__(self, steps: list[bool | BaseException], cards: Iterator[IdCardData]) -> None:
        self.steps = steps
        self.cards = cards
        self.reads = 0
        self.opens = 0
        self.closes = 0
        self.fail_read: DeviceError | None = None

    def open(self) -> None:
        self.opens += 1

    def close(self) -> None:
        self.closes += 1

    def wait_for_card(self, timeout: float) -> bool:
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    def read(self) -> IdCardData:
        self.reads += 1
        if self.fail_read is not None:
            error, self.fail_read = self.fail_read, None
            raise error
        return next(self.cards)


def _run(watcher: CardWatcher, polls: int) -> list[IdCardData | None]:
    return [watcher.poll() for _ in range(polls)]


def test_watcher_returns_card_once_while_it_stays() -> None:
    reader = ScriptedReader([False, True, True, True, True], iter(DEMO_CARDS))
    results = _run(CardWatcher(reader), 5)
    assert results == [None, DEMO_CARDS[0], None, None, None]
    assert reader.reads == 1


def test_watcher_returns_card_again_after_removal_and_replacement() -> None:
    steps: list[bool | BaseException] = [True, True, False, False, True, True]
    reader = ScriptedReader(steps, iter([DEMO_CARD, DEMO_CARD]))
    results = _run(CardWatcher(reader, absent_polls=2), 6)
    assert results == [DEMO_CARD, None, None, None, DEMO_CARD, None]


def test_watcher_ignores_a_single_flicker() -> None:
    reader = ScriptedReader([True, False, True, True], iter([DEMO_CARD, DEMO_CARD]))
    results = _run(CardWatcher(reader, absent_polls=2), 4)
    assert results == [DEMO_CARD, None, None, None]
    assert reader.reads == 1


def test_watcher_reports_read_error_and_retries_next_poll() -> None:
    reader = ScriptedReader([True, True, True], iter([DEMO_CARD]))
    reader.fail_read = device_error("idcard.checksum")
    watcher = CardWatcher(reader)
    assert watcher.poll() is None
    assert watcher.last_error is not None and watcher.last_error.code == "idcard.checksum"
    assert watcher.poll() == DEMO_CARD
    assert watcher.last_error is None
    assert watcher.poll() is None


def test_watcher_does_not_reread_an_unreadable_card_until_removed() -> None:
    steps: list[bool | BaseException] = [True, True, False, False, True]
    reader = ScriptedReader(steps, iter([DEMO_CARD]))
    reader.fail_read = device_error("idcard.bad_text")
    watcher = CardWatcher(reader)
    assert _run(watcher, 5) == [None, None, None, None, DEMO_CARD]
    assert reader.reads == 2


def test_watcher_survives_port_loss_and_reopens() -> None:
    steps: list[bool | BaseException] = [device_error("idcard.disconnected"), True]
    reader = ScriptedReader(steps, iter([DEMO_CARD]))
    watcher = CardWatcher(reader)
    assert watcher.poll() is None
    assert watcher.last_error is not None and watcher.last_error.code == "idcard.disconnected"
    assert reader.closes == 1
    assert watcher.poll() == DEMO_CARD
    assert reader.opens == 2


def test_watcher_converts_unexpected_exceptions() -> None:
    reader = ScriptedReader([RuntimeError("driver bug"), False], iter([]))
    watcher = CardWatcher(reader)
    assert watcher.poll() is None
    assert watcher.last_error is not None and watcher.last_error.code == "idcard.internal"
    assert watcher.poll() is None and watcher.last_error is None


def test_watcher_open_failure_is_retried_on_next_poll() -> None:
    class FailingOpen(ScriptedReader):
        def open(self) -> None:
            super().open()
            if self.opens == 1:
                raise device_error("idcard.port_unavailable", port="COM3")

    reader = FailingOpen([True], iter([DEMO_CARD]))
    watcher = CardWatcher(reader)
    assert watcher.poll() is None
    assert watcher.last_error is not None and watcher.last_error.code == "idcard.port_unavailable"
    assert watcher.poll() == DEMO_CARD


# ---------------------------------------------------------------------------------- demo reader


def test_simulated_reader_presents_queued_cards_in_turn() -> None:
    reader = SimulatedReader(DEMO_CARDS[:2])
    reader.open()
    assert reader.wait_for_card(0) is False
    assert reader.present() == DEMO_CARDS[0]
    assert reader.wait_for_card(0) is True
    assert reader.read() == DEMO_CARDS[0]
    reader.remove()
    with pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == "idcard.no_card"
    assert reader.present() == DEMO_CARDS[1]
    assert reader.present() == DEMO_CARDS[0]  # the queue cycles


def test_simulated_reader_injected_failure_is_raised_once() -> None:
    reader = SimulatedReader()
    reader.open()
    reader.present()
    reader.fail_next(device_error("idcard.removed"))
    with pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == "idcard.removed"
    assert reader.read() == DEMO_CARDS[0]


def test_simulated_reader_with_watcher_debounces() -> None:
    reader = SimulatedReader()
    watcher = CardWatcher(reader, absent_polls=1)
    assert watcher.poll() is None
    reader.present()
    assert watcher.poll() == DEMO_CARDS[0]
    assert watcher.poll() is None
    reader.remove()
    assert watcher.poll() is None
    reader.present()
    assert watcher.poll() == DEMO_CARDS[1]


def test_module_has_no_qt_import() -> None:
    import app.capture.idcard_sim as sim
    import app.cli.idcard as cli

    for module in (idcard, sim, cli):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert "PySide6" not in source and "PyQt" not in source
