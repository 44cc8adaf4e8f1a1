"""Vendor-SDK readers against the fake vendor library compiled from tests/fakes/*.c."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import struct
from argparse import Namespace

import pytest

from app.capture.cardtypes import PHOTO_DECODER_MISSING_MESSAGE
from app.capture.idcard import (
    CardWatcher,
    IdCardReader,
)
from app.capture.idcard_sdk import CvrReader, SdtReader, decode_bmp, make_sdk_reader
from app.capture.photo import (
    load_photo_decoder,
)
from app.cli.idcard import run_read
from app.errors import DeviceError
from tests.expected_logs import IDCARD_PROBLEM
from tests.fakes.cards import BLOCKS, EXPECTED

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = IDCARD_PROBLEM

TODAY = dt.date(2026, 11, 21)
WLT = bytes((i * 7 + 3) % 256 for i in range(1024))


def _expected_pixel(x: int, y: int) -> bytes:
    """What the fake decoder draws (see fake_wlt.c): B from the WLT bytes, G = x, R = y."""
    return bytes([WLT[(y * 102 + x) % 1024], x, y])


@pytest.fixture()
def sdt(fake_vendor_libs, fake_reader):
    reader = SdtReader(fake_vendor_libs.reader, 1001, timeout=2.0)
    reader.open()
    yield reader
    reader.close()


# ------------------------------------------------------------------------------- SDT family


def test_sdt_reader_is_an_id_card_reader(fake_vendor_libs) -> None:
    assert isinstance(SdtReader(fake_vendor_libs.reader), IdCardReader)
    assert isinstance(CvrReader(fake_vendor_libs.reader), IdCardReader)


@pytest.mark.parametrize("card_type", sorted(BLOCKS))
def test_sdt_reads_every_card_type(sdt: SdtReader, fake_reader, card_type: str) -> None:
    fake_reader.place(BLOCKS[card_type], WLT)
    assert sdt.wait_for_card(1.0) is True
    card = sdt.read()
    doc = card.to_json(TODAY)
    for key, value in EXPECTED[card_type].items():
        assert doc[key] == value, key
    assert card.photo_wlt == WLT
    assert card.photo is None and card.photo_message == PHOTO_DECODER_MISSING_MESSAGE
    assert fake_reader.calls()[-3:] == [
        "SDT_StartFindIDCard", "SDT_SelectIDCard", "SDT_ReadBaseMsg",
    ]  # fmt: skip


def test_sdt_photo_is_decoded_through_the_configured_wlt_library(
    fake_vendor_libs, fake_reader
) -> None:
    fake_reader.place(BLOCKS["resident"], WLT)
    reader = make_sdk_reader(
        "sdt", fake_vendor_libs.reader, 1001, wlt_library=fake_vendor_libs.wlt, timeout=2.0
    )
    with reader:
        card = reader.read()
    assert card.photo_available is True and card.photo_message is None
    photo = card.photo
    assert photo is not None and (photo.width, photo.height) == (102, 126)
    for x, y in ((0, 0), (1, 0), (101, 0), (0, 1), (50, 60), (101, 125)):
        offset = (y * 102 + x) * 3
        assert photo.pixels[offset : offset + 3] == _expected_pixel(x, y), (x, y)


def test_sdt_corrupt_photo_still_reads_the_card(fake_vendor_libs, fake_reader) -> None:
    fake_reader.place(BLOCKS["resident"], b"BAD!" + WLT[4:])
    reader = make_sdk_reader("sdt", fake_vendor_libs.reader, wlt_library=fake_vendor_libs.wlt)
    with reader:
        card = reader.read()
    assert card.resident_id == "110105198603151529"
    assert card.photo is None and card.photo_available is False
    assert card.photo_message == "证件照片解码失败：请人工核验证件照片。"


def test_sdt_no_card(sdt: SdtReader, fake_reader) -> None:
    assert sdt.wait_for_card(0.0) is False
    with pytest.raises(DeviceError) as info:
        sdt.read()
    assert info.value.code == "idcard.no_card"
    assert info.value.message.startswith("未检测到身份证")


@pytest.mark.parametrize(
    ("entry", "rc", "code"),
    [
        ("SDT_SelectIDCard", 0x81, "idcard.removed"),
        ("SDT_ReadBaseMsg", 0x41, "idcard.removed"),
        ("SDT_StartFindIDCard", 0x60, "idcard.sam_failed"),
        ("SDT_ReadBaseMsg", 0x02, "idcard.timeout"),
        ("SDT_ReadBaseMsg", 0x77, "idcard.status"),
    ],
)
def test_sdt_status_codes_become_chinese_device_errors(
    sdt: SdtReader, fake_reader, entry: str, rc: int, code: str
) -> None:
    fake_reader.place(BLOCKS["resident"], WLT)
    fake_reader.set(**{f"rc.{entry}": rc})
    with pytest.raises(DeviceError) as info:
        sdt.read()
    assert info.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in info.value.message)


def test_sdt_port_that_does_not_open(fake_vendor_libs, fake_reader) -> None:
    fake_reader.set(**{"rc.SDT_OpenPort": 0x01})
    reader = SdtReader(fake_vendor_libs.reader, 1001)
    with pytest.raises(DeviceError) as info:
        reader.open()
    assert info.value.code == "idcard.port_unavailable"
    assert reader.is_open is False


def test_sdt_garbled_text_block_is_bad_text(sdt: SdtReader, fake_reader) -> None:
    block = bytearray(BLOCKS["resident"])
    block[30:32] = "7".encode("utf-16-le")  # no such gender code
    fake_reader.place(bytes(block), WLT)
    with pytest.raises(DeviceError) as info:
        sdt.read()
    assert info.value.code == "idcard.bad_text"


def test_hung_library_call_times_out_and_the_reader_recovers(fake_vendor_libs, fake_reader) -> None:
    fake_reader.place(BLOCKS["resident"], WLT)
    fake_reader.set(**{"delay.SDT_ReadBaseMsg": 1500})
    reader = SdtReader(fake_vendor_libs.reader, 1001, timeout=0.3)
    reader.open()
    with pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == "idcard.timeout"
    assert reader.is_open is False  # abandoned: the next poll reopens
    fake_reader.unset("delay.SDT_ReadBaseMsg")
    reader.timeout = 3.0
    reader.open()
    assert reader.read().name == "陈晓燕"
    reader.close()


def test_missing_library_and_missing_entry_point(fake_vendor_libs, tmp_path) -> None:
    with pytest.raises(DeviceError) as info:
        SdtReader(tmp_path / "libsdtapi.so").open()
    assert info.value.code == "idcard.sdk_library"
    assert "找不到读卡器动态库" in info.value.message
    with pytest.raises(DeviceError) as info:
        SdtReader(fake_vendor_libs.wlt).open()  # a real library, but not a reader's
    assert info.value.code == "idcard.sdk_library"
    assert info.value.details["symbol"] == "SDT_OpenPort"


def test_unknown_family_is_refused(fake_vendor_libs) -> None:
    with pytest.raises(DeviceError) as info:
        make_sdk_reader("xyz", fake_vendor_libs.reader)
    assert info.value.code == "idcard.sdk_family"


def test_missing_wlt_library_is_named(fake_vendor_libs, tmp_path) -> None:
    with pytest.raises(DeviceError) as info:
        load_photo_decoder(tmp_path / "libwlt.so")
    assert info.value.code == "idcard.photo_decoder"


def test_watcher_reads_on_placement_once(sdt: SdtReader, fake_reader) -> None:
    watcher = CardWatcher(sdt, absent_polls=1)
    assert watcher.poll() is None
    fake_reader.place(BLOCKS["hmt_residence"], WLT)
    card = watcher.poll()
    assert card is not None and card.card_type == "hmt_residence"
    assert watcher.poll() is None  # still on the reader: not read again
    fake_reader.remove()
    assert watcher.poll() is None
    fake_reader.place(BLOCKS["foreign_2023"], WLT)
    again = watcher.poll()
    assert again is not None and again.card_type == "foreign_2023"


def test_nothing_personal_is_logged(fake_vendor_libs, fake_reader, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="intake")
    fake_reader.place(BLOCKS["foreign_2017"], WLT)
    with make_sdk_reader("sdt", fake_vendor_libs.reader, wlt_library=fake_vendor_libs.wlt) as r:
        r.read()
    text = caplog.text
    assert caplog.records
    for secret in ("史密斯", "SMITH", "USA118507040012", "19850704"):
        assert secret not in text


# ------------------------------------------------------------------------------- CVR family


def _gb(text: str) -> bytes:
    return text.encode("gb18030")


def _bmp(width: int, height: int) -> bytes:
    """A bottom-up 24-bit BMP whose pixel (x, y) is (x, y, 7) in B, G, R."""
    stride = (width * 3 + 3) & ~3
    rows = []
    for y in reversed(range(height)):
        row = b"".join(bytes([x % 256, y % 256, 7]) for x in range(width))
        rows.append(row + b"\0" * (stride - width * 3))
    pixels = b"".join(rows)
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 0, 0, 0, 0)
    return header + info + pixels


RESIDENT_GETTERS = {
    "GetPeopleName": _gb("陈晓燕"),
    "GetPeopleSex": _gb("女"),
    "GetPeopleNation": _gb("汉"),
    "GetPeopleBirthday": _gb("19860315"),
    "GetPeopleAddress": _gb("北京市朝阳区建国路88号院3号楼2单元501"),
    "GetPeopleIDCode": _gb("110105198603151529"),
    "GetDepartment": _gb("北京市公安局朝阳分局"),
    "GetStartDate": _gb("20160520"),
    "GetEndDate": _gb("长期"),
}


def test_cvr_reads_a_resident_card_from_the_getters(fake_vendor_libs, fake_reader) -> None:
    fake_reader.place_cvr(RESIDENT_GETTERS, bmp=_bmp(102, 126))
    with CvrReader(fake_vendor_libs.reader, 1001) as reader:
        assert reader.wait_for_card(1.0)
        card = reader.read()
    assert (card.name, card.gender, card.ethnicity, card.ethnicity_code) == (
        "陈晓燕", "女", "汉", "01",
    )  # fmt: skip
    assert card.birth_date == dt.date(1986, 3, 15)
    assert card.valid_to is None and card.valid_to_text == "长期"
    assert card.id_valid is True and card.card_type == "resident"
    assert card.photo is not None and (card.photo.width, card.photo.height) == (102, 126)
    # top-left pixel of a bottom-up BMP is its last stored row: (x=0, y=0, 7)
    assert card.photo.pixels[:3] == bytes([0, 0, 7])
    assert card.photo.pixels[(125 * 102 + 101) * 3 :][:3] == bytes([101, 125, 7])
    calls = fake_reader.calls()
    assert calls[0] == "CVR_InitComm" and calls[-1] == "CVR_CloseComm"


def test_cvr_reads_a_foreign_card(fake_vendor_libs, fake_reader) -> None:
    getters = {
        "GetCertType": b"I",
        "GetPeopleName": _gb("SMITH, JOHN ALEXANDER"),
        "GetPeopleChineseName": _gb("史密斯"),
        "GetPeopleSex": _gb("男"),
        "GetPeopleNation": _gb("美国"),
        "GetNationCode": b"USA",
        "GetPeopleBirthday": b"19850704",
        "GetPeopleIDCode": b"USA118507040012",
        "GetStartDate": b"20180601",
        "GetEndDate": b"20280601",
    }
    fake_reader.place_cvr(getters)
    with CvrReader(fake_vendor_libs.reader) as reader:
        card = reader.read()
    assert card.card_type == "foreign_2017"
    assert (card.name, card.name_en, card.nationality) == (
        "史密斯",
        "SMITH, JOHN ALEXANDER",
        "美国",
    )
    assert card.id_valid is True and card.photo is None


def test_cvr_no_card(fake_vendor_libs, fake_reader) -> None:
    with CvrReader(fake_vendor_libs.reader) as reader:
        assert reader.wait_for_card(0.0) is False
        with pytest.raises(DeviceError) as info:
            reader.read()
    assert info.value.code == "idcard.no_card"


def test_cvr_read_failure_is_removed(fake_vendor_libs, fake_reader) -> None:
    fake_reader.place_cvr(RESIDENT_GETTERS)
    fake_reader.set(**{"rc.CVR_Read_FPContent": 0})
    with CvrReader(fake_vendor_libs.reader) as reader, pytest.raises(DeviceError) as info:
        reader.read()
    assert info.value.code == "idcard.removed"


def test_decode_bmp_refuses_other_formats() -> None:
    with pytest.raises(ValueError):
        decode_bmp(b"GIF89a" + b"\0" * 100)
    with pytest.raises(ValueError):
        decode_bmp(_bmp(4, 4)[:60])  # truncated


# ------------------------------------------------------------------------------- CLI


def _args(**kw: object) -> Namespace:
    base = {"port": None, "baudrate": 115200, "timeout": 0.5, "json": True}
    return Namespace(**{**base, **kw})


def test_cli_reads_through_the_sdk(fake_vendor_libs, fake_reader) -> None:
    fake_reader.place(BLOCKS["foreign_2023"], WLT)
    out = io.StringIO()
    code = run_read(
        _args(sdk="sdt", lib=str(fake_vendor_libs.reader), wlt=str(fake_vendor_libs.wlt)),
        out=out,
        today=TODAY,
    )
    doc = json.loads(out.getvalue())
    assert code == 0 and doc["ok"] is True
    assert doc["card"]["card_type_name"] == "外国人永久居留身份证"
    assert doc["card"]["resident_id"] == "911840198507040017"
    assert doc["card"]["photo_available"] is True


def test_cli_sdk_text_output_names_the_card_type(fake_vendor_libs, fake_reader) -> None:
    fake_reader.place(BLOCKS["hmt_residence"], WLT)
    out = io.StringIO()
    code = run_read(
        _args(sdk="sdt", lib=str(fake_vendor_libs.reader), wlt=None, json=False),
        out=out,
        today=TODAY,
    )
    text = out.getvalue()
    assert code == 0
    assert "证件类型：港澳台居民居住证" in text
    assert "通行证号码：H12345678" in text
    assert "810000199001011230" not in text  # masked


def test_cli_missing_library_is_exit_2(tmp_path) -> None:
    out = io.StringIO()
    code = run_read(_args(sdk="cvr", lib=str(tmp_path / "termb.so"), wlt=None), out=out)
    doc = json.loads(out.getvalue())
    assert code == 2 and doc["error"]["code"] == "idcard.sdk_library"
