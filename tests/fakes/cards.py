"""Recorded sample text blocks, one per card type a reader returns (synthetic persons).

Each block is written out field by field at the offsets of the card type's layout (UCS-2 LE,
space padded), independently of app.capture.cardtypes, with the values a test expects back.
Numbers carry correct check digits (GB 11643 MOD 11-2, worked out by hand for these bodies).
"""

from __future__ import annotations


def _f(text: str, width: int) -> bytes:
    raw = text.encode("utf-16-le")
    assert len(raw) <= width, (text, width)
    return raw + b" \x00" * ((width - len(raw)) // 2)


# 居民身份证: no marker (the last 36 bytes are blank).
RESIDENT_BLOCK = b"".join([
    _f("陈晓燕", 30), _f("2", 2), _f("01", 4), _f("19860315", 16),
    _f("北京市朝阳区建国路88号院3号楼2单元501", 70), _f("110105198603151529", 36),
    _f("北京市公安局朝阳分局", 30), _f("20160520", 16), _f("20360520", 16), _f("", 36),
])  # fmt: skip

# 港澳台居民居住证 (marker "J"): 民族 blank; 通行证号码 and 签发次数 after the validity.
HMT_BLOCK = b"".join([
    _f("李家明", 30), _f("1", 2), _f("", 4), _f("19900101", 16),
    _f("广东省深圳市福田区福华路1号", 70), _f("810000199001011230", 36),
    _f("深圳市公安局福田分局", 30), _f("20220301", 16), _f("20270301", 16),
    _f("H12345678", 18), _f("01", 4), _f("", 6), _f("J", 2), _f("", 6),
])  # fmt: skip

# 外国人永久居留身份证 2017 (marker "I"): English name first, 15-character number.
FOREIGN_2017_BLOCK = b"".join([
    _f("SMITH, JOHN ALEXANDER", 120), _f("1", 2), _f("USA118507040012", 30), _f("USA", 6),
    _f("史密斯", 30), _f("20180601", 16), _f("20280601", 16), _f("19850704", 16),
    _f("01", 4), _f("1100", 8), _f("I", 2), _f("", 6),
])  # fmt: skip

# 外国人永久居留身份证 2023 (marker "Y"): 18-digit number starting with 9.
FOREIGN_2023_BLOCK = b"".join([
    _f("史密斯", 30), _f("1", 2), _f("01", 4), _f("19850704", 16),
    _f("SMITH, JOHN ALEXANDER", 70), _f("911840198507040017", 36),
    _f("USA118507040012", 30), _f("20240115", 16), _f("20340115", 16), _f("USA", 6),
    _f("", 22), _f("Y", 2), _f("", 6),
])  # fmt: skip

assert all(
    len(b) == 256 for b in (RESIDENT_BLOCK, HMT_BLOCK, FOREIGN_2017_BLOCK, FOREIGN_2023_BLOCK)
)

EXPECTED = {
    "resident": {
        "card_type": "resident", "name": "陈晓燕", "gender": "女", "ethnicity": "汉",
        "birth_date": "1986-03-15", "resident_id": "110105198603151529",
        "issuer": "北京市公安局朝阳分局", "valid_to": "2036-05-20", "id_valid": True,
    },
    "hmt_residence": {
        "card_type": "hmt_residence", "card_type_name": "港澳台居民居住证", "name": "李家明",
        "gender": "男", "ethnicity": "", "birth_date": "1990-01-01",
        "resident_id": "810000199001011230", "pass_number": "H12345678", "issue_count": "01",
        "issuer": "深圳市公安局福田分局", "id_valid": True,
    },
    "foreign_2017": {
        "card_type": "foreign_2017", "card_type_name": "外国人永久居留身份证",
        "name": "史密斯", "name_en": "SMITH, JOHN ALEXANDER", "gender": "男",
        "nationality_code": "USA", "nationality": "美国", "birth_date": "1985-07-04",
        "resident_id": "USA118507040012", "valid_to": "2028-06-01", "id_valid": True,
        "address": "",
    },
    "foreign_2023": {
        "card_type": "foreign_2023", "card_type_name": "外国人永久居留身份证",
        "name": "史密斯", "name_en": "SMITH, JOHN ALEXANDER", "gender": "男",
        "nationality_code": "USA", "birth_date": "1985-07-04",
        "resident_id": "911840198507040017", "previous_number": "USA118507040012",
        "issue_count": "01", "valid_to": "2034-01-15", "id_valid": True,
    },
}  # fmt: skip

BLOCKS = {
    "resident": RESIDENT_BLOCK,
    "hmt_residence": HMT_BLOCK,
    "foreign_2017": FOREIGN_2017_BLOCK,
    "foreign_2023": FOREIGN_2023_BLOCK,
}
