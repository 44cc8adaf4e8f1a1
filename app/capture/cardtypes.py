"""What an ID card reader returns, for every card type it reads.

A reader (GA 467 serial or a vendor SDK) gives a 256-byte UCS-2 text block; byte 248-249 (the
character at index 124) is the card type marker:

- blank: 居民身份证 (resident ID card, GA 467);
- "J": 港澳台居民居住证 (residence permit for Hong Kong, Macao and Taiwan residents): the
  resident layout, 民族 left empty, plus 通行证号码 and 签发次数;
- "I": 外国人永久居留身份证, 2017 layout: English name first, 15-character number
  (3 letters + 12 digits), nationality code, Chinese name, version, authority code;
- "Y": 外国人永久居留身份证, 2023 layout: the resident layout's places hold the Chinese name,
  the English name (in 住址) and the 18-digit number starting with 9; 换证次数 and the number
  of the previous card (既往版本证件号码) in the 民族 and 签发机关 places.

The card type decides which fields exist and how the number is checked (`check_document`).
The "J" and "I" layouts match the vendor SDKs' published field tables; the "Y" (2023) layout is
the one described for readers updated for the new card and should be confirmed against a physical
2023 card when a county has one (tests/fakes/cards.py holds the recorded sample of each).
`IdCardData` is the one value every reader returns.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from app.errors import DeviceError
from app.validators import Check, check_resident_id, mask_name, mask_resident_id

TEXT_BLOCK_LENGTH = 256
PHOTO_LENGTH = 1024  # WLT bytes
PHOTO_WIDTH = 102
PHOTO_HEIGHT = 126

GENDERS: dict[str, str] = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

ETHNICITIES: dict[str, str] = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝",
    "08": "壮", "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白",
    "15": "土家", "16": "哈尼", "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤",
    "22": "畲", "23": "高山", "24": "拉祜", "25": "水", "26": "东乡", "27": "纳西", "28": "景颇",
    "29": "柯尔克孜", "30": "土", "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗",
    "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米",
    "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂",
    "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春",
    "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他",
    "98": "外国血统中国籍人士",
}  # fmt: skip

# ISO 3166-1 alpha-3 codes as printed on 外国人永久居留身份证; others are shown as the code.
NATIONALITIES: dict[str, str] = {
    "USA": "美国", "GBR": "英国", "CAN": "加拿大", "AUS": "澳大利亚", "NZL": "新西兰",
    "DEU": "德国", "FRA": "法国", "ITA": "意大利", "ESP": "西班牙", "NLD": "荷兰",
    "RUS": "俄罗斯", "JPN": "日本", "KOR": "韩国", "SGP": "新加坡", "MYS": "马来西亚",
    "THA": "泰国", "VNM": "越南", "IND": "印度", "PAK": "巴基斯坦", "BRA": "巴西",
}  # fmt: skip

LONG_TERM = "长期"

PHOTO_DECODER_MISSING_MESSAGE = "照片解码库未配置，无法显示证件照片"

RESIDENT = "resident"
HMT_RESIDENCE = "hmt_residence"
FOREIGN_2017 = "foreign_2017"
FOREIGN_2023 = "foreign_2023"

CARD_TYPE_NAMES: dict[str, str] = {
    RESIDENT: "居民身份证",
    HMT_RESIDENCE: "港澳台居民居住证",
    FOREIGN_2017: "外国人永久居留身份证",
    FOREIGN_2023: "外国人永久居留身份证",
}
# The marker at text index 124; what a CVR-style SDK's GetCertType returns.
TYPE_MARKERS: dict[str, str] = {
    "": RESIDENT, "J": HMT_RESIDENCE, "I": FOREIGN_2017, "Y": FOREIGN_2023,
}  # fmt: skip
MARKER_OF_TYPE = {v: k for k, v in TYPE_MARKERS.items()}
HMT_PREFIXES = {"810000": "香港", "820000": "澳门", "830000": "台湾"}


@dataclass(frozen=True)
class DecodedPhoto:
    width: int
    height: int
    pixels: bytes = field(repr=False)  # width*height*3, B G R per pixel, rows top down


@dataclass(frozen=True, repr=False)
class IdCardData:
    """What a card carries, for every card type. Built by `parse_card_block` or `create`.

    `resident_id` holds the card's number whatever the type (the applicant's 证件号码).
    Fields a card type lacks stay empty (no 民族 on a foreigner's card, no 住址 on 2017's).
    """

    name: str
    gender_code: str
    gender: str
    ethnicity_code: str
    ethnicity: str
    birth_date: dt.date
    address: str
    resident_id: str
    issuer: str
    valid_from: dt.date
    valid_to: dt.date | None  # None means 长期 (no expiry)
    photo_wlt: bytes = b""
    id_valid: bool = False
    id_error: str | None = None
    photo_available: bool = False
    card_type: str = RESIDENT
    name_en: str = ""
    nationality_code: str = ""
    pass_number: str = ""  # 港澳台居民居住证: 通行证号码
    issue_count: str = ""  # 签发次数 (J) / 换证次数 (Y)
    previous_number: str = ""  # 2023 foreign card: the 2017 card's number
    card_version: str = ""  # 2017 foreign card: 证件版本号
    authority_code: str = ""  # 2017 foreign card: 当次申请受理机关代码
    photo: DecodedPhoto | None = None  # decoded in the reader's thread; never stored, never printed
    photo_error: str = ""  # why a configured decoder gave no photo

    @classmethod
    def create(
        cls,
        *,
        name: str,
        gender_code: str,
        ethnicity_code: str,
        birth_date: dt.date,
        address: str,
        resident_id: str,
        issuer: str,
        valid_from: dt.date,
        valid_to: dt.date | None,
        photo_wlt: bytes = b"",
        photo_available: bool = False,
        today: dt.date | None = None,
        card_type: str = RESIDENT,
        **extra: Any,
    ) -> IdCardData:
        """Fill the labels and the number check from the codes; unknown codes raise ValueError."""
        if gender_code not in GENDERS:
            raise ValueError(f"unknown gender code {gender_code!r}")
        if card_type not in CARD_TYPE_NAMES:
            raise ValueError(f"unknown card type {card_type!r}")
        if card_type == RESIDENT and ethnicity_code not in ETHNICITIES:
            raise ValueError(f"unknown ethnicity code {ethnicity_code!r}")
        check = check_document(card_type, resident_id, today, birth_date)
        return cls(
            name=name,
            gender_code=gender_code,
            gender=GENDERS[gender_code],
            ethnicity_code=ethnicity_code if card_type == RESIDENT else "",
            ethnicity=ETHNICITIES[ethnicity_code] if card_type == RESIDENT else "",
            birth_date=birth_date,
            address=address,
            resident_id=check.normalized if check.valid and check.normalized else resident_id,
            issuer=issuer,
            valid_from=valid_from,
            valid_to=valid_to,
            photo_wlt=photo_wlt,
            id_valid=check.valid,
            id_error=check.message,
            photo_available=photo_available,
            card_type=card_type,
            **extra,
        )

    @property
    def card_type_name(self) -> str:
        return CARD_TYPE_NAMES[self.card_type]

    @property
    def nationality(self) -> str:
        return NATIONALITIES.get(self.nationality_code, self.nationality_code)

    @property
    def is_foreign(self) -> bool:
        return self.card_type in (FOREIGN_2017, FOREIGN_2023)

    def expired(self, today: dt.date) -> bool:
        """True after the last valid day; a 长期 card never expires."""
        return self.valid_to is not None and today > self.valid_to

    @property
    def valid_to_text(self) -> str:
        return LONG_TERM if self.valid_to is None else self.valid_to.isoformat()

    @property
    def photo_message(self) -> str | None:
        """Why the photo cannot be shown, or None when it can."""
        if self.photo_available:
            return None
        return self.photo_error or PHOTO_DECODER_MISSING_MESSAGE

    def to_json(self, today: dt.date | None = None) -> dict[str, object]:
        """Plain values for the CLI; the photo is given by its length only."""
        today = today or dt.date.today()
        return {
            "card_type": self.card_type,
            "card_type_name": self.card_type_name,
            "name": self.name,
            "name_en": self.name_en,
            "gender_code": self.gender_code,
            "gender": self.gender,
            "ethnicity_code": self.ethnicity_code,
            "ethnicity": self.ethnicity,
            "nationality_code": self.nationality_code,
            "nationality": self.nationality,
            "birth_date": self.birth_date.isoformat(),
            "address": self.address,
            "resident_id": self.resident_id,
            "id_valid": self.id_valid,
            "id_error": self.id_error,
            "issuer": self.issuer,
            "pass_number": self.pass_number,
            "issue_count": self.issue_count,
            "previous_number": self.previous_number,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "valid_to_text": self.valid_to_text,
            "expired": self.expired(today),
            "photo_wlt_length": len(self.photo_wlt),
            "photo_available": self.photo_available,
            "photo_message": self.photo_message,
        }

    def __repr__(self) -> str:
        # Masked: a repr ends up in tracebacks and test output.
        return (
            f"IdCardData(card_type={self.card_type!r}, name={mask_name(self.name)!r}, "
            f"resident_id={mask_resident_id(self.resident_id)!r}, id_valid={self.id_valid}, "
            f"photo_wlt=<{len(self.photo_wlt)} bytes>)"
        )


# --------------------------------------------------------------------------------------------
# Number checks per card type

_FOREIGN_2017_RE = re.compile(r"^[A-Z]{3}\d{12}$")


def check_document(
    card_type: str, number: str, today: dt.date | None = None, birth_date: dt.date | None = None
) -> Check:
    """CARD_TYPE's number format, as a `Check` (code and Chinese message when it fails).

    居民身份证, 港澳台居民居住证 and the 2023 外国人永久居留身份证 are 18 characters with the
    GB 11643 check digit and the birth date at 7-14 (居住证: prefix 810000/820000/830000;
    2023 foreign card: first digit 9). The 2017 foreign card: 3 letters (nationality) and 12
    digits with the birth date as YYMMDD at 6-11. BIRTH_DATE, when given (read from the card),
    must agree with the number.
    """
    raw = (number or "").strip().upper()
    if card_type == FOREIGN_2017:
        if not _FOREIGN_2017_RE.match(raw):
            return _doc_fail(
                "document.format",
                "外国人永久居留身份证号码（2017版）应为3位字母加12位数字，共15位。",
            )
        if birth_date is not None and raw[5:11] != birth_date.strftime("%y%m%d"):
            return _doc_fail("document.birth_mismatch", _BIRTH_MISMATCH)
        return Check(valid=True, kind=None, normalized=raw)
    check = check_resident_id(raw, today)
    if not check.valid or not check.normalized:
        return check
    normalized = check.normalized
    if card_type == HMT_RESIDENCE and normalized[:6] not in HMT_PREFIXES:
        return _doc_fail(
            "document.hmt_prefix", "港澳台居民居住证号码应以810000、820000或830000开头。"
        )
    if card_type == FOREIGN_2023 and not normalized.startswith("9"):
        return _doc_fail("document.foreign_prefix", "外国人永久居留身份证号码（2023版）应以9开头。")
    if card_type == RESIDENT and normalized[0] == "9":
        return _doc_fail(
            "document.foreign_number",
            "以9开头的号码是外国人永久居留身份证号码，不是居民身份证号码。",
        )
    if birth_date is not None and check.birth_date not in (None, birth_date):
        return _doc_fail("document.birth_mismatch", _BIRTH_MISMATCH)
    return check


_BIRTH_MISMATCH = "证件号码中的出生日期与证件记载的出生日期不一致。"


def _doc_fail(code: str, message: str) -> Check:
    return Check(valid=False, kind=None, code=code, message=message)


def document_type_name(card_type: str | None) -> str:
    """What documents call a non-resident card; "" for the resident ID card (the default)."""
    if not card_type or card_type == RESIDENT:
        return ""
    return CARD_TYPE_NAMES.get(card_type, "")


# --------------------------------------------------------------------------------------------
# Text blocks: UCS-2 LE, space padded. Rare characters outside the BMP (e.g. 𠮷 U+20BB7) are
# carried as UTF-16 surrogate pairs, two code units of the field, which is what readers return
# in practice; decoding is therefore strict UTF-16-LE and a lone surrogate is a bad block.

Layout = tuple[tuple[str, int], ...]

LAYOUTS: dict[str, Layout] = {
    RESIDENT: (
        ("name", 30), ("gender", 2), ("ethnicity", 4), ("birth_date", 16), ("address", 70),
        ("resident_id", 36), ("issuer", 30), ("valid_from", 16), ("valid_to", 16),
        ("reserved", 36),
    ),
    HMT_RESIDENCE: (
        ("name", 30), ("gender", 2), ("reserved1", 4), ("birth_date", 16), ("address", 70),
        ("resident_id", 36), ("issuer", 30), ("valid_from", 16), ("valid_to", 16),
        ("pass_number", 18), ("issue_count", 4), ("reserved2", 6), ("marker", 2),
        ("reserved3", 6),
    ),
    FOREIGN_2017: (
        ("name_en", 120), ("gender", 2), ("resident_id", 30), ("nationality_code", 6),
        ("name", 30), ("valid_from", 16), ("valid_to", 16), ("birth_date", 16),
        ("card_version", 4), ("authority_code", 8), ("marker", 2), ("reserved", 6),
    ),
    FOREIGN_2023: (
        ("name", 30), ("gender", 2), ("issue_count", 4), ("birth_date", 16), ("name_en", 70),
        ("resident_id", 36), ("previous_number", 30), ("valid_from", 16), ("valid_to", 16),
        ("nationality_code", 6), ("reserved", 22), ("marker", 2), ("reserved2", 6),
    ),
}  # fmt: skip
for _layout in LAYOUTS.values():
    assert sum(n for _, n in _layout) == TEXT_BLOCK_LENGTH
MARKER_OFFSET = 248
_EXTRA_FIELDS = (
    "name_en", "nationality_code", "pass_number", "issue_count", "previous_number",
    "card_version", "authority_code",
)  # fmt: skip

_BAD_TEXT_MESSAGE = "身份证信息格式异常，无法解析：请重新读卡；若反复出现，请人工核验证件。"


def bad_text(field_name: str, reason: str) -> DeviceError:
    return DeviceError("idcard.bad_text", field=field_name, reason=reason)


def card_type_of_block(block: bytes) -> str:
    """The card type from the marker; an unknown marker is a bad block."""
    if len(block) != TEXT_BLOCK_LENGTH:
        raise bad_text("block", f"length {len(block)}")
    try:
        marker = block[MARKER_OFFSET : MARKER_OFFSET + 2].decode("utf-16-le").strip(" \x00")
    except UnicodeDecodeError:
        raise bad_text("marker", "undecodable") from None
    if marker not in TYPE_MARKERS:
        raise bad_text("marker", "unknown card type")
    return TYPE_MARKERS[marker]


def _split(block: bytes, layout: Layout) -> dict[str, str]:
    fields: dict[str, str] = {}
    offset = 0
    for name, width in layout:
        raw = block[offset : offset + width]
        offset += width
        try:
            text = raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise bad_text(name, "undecodable") from None
        fields[name] = text.strip(" \x00")
    return fields


def parse_date(value: str, field_name: str) -> dt.date:
    digits = value.replace("-", "").replace(".", "").replace("/", "")
    if len(digits) != 8 or not digits.isdigit():
        raise bad_text(field_name, "not YYYYMMDD")
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise bad_text(field_name, "no such date") from None


def card_from_fields(
    card_type: str,
    f: dict[str, str],
    photo_wlt: bytes = b"",
    *,
    photo_available: bool = False,
    today: dt.date | None = None,
) -> IdCardData:
    """Check and convert the text fields of CARD_TYPE (from a block or an SDK's getters)."""
    if f.get("gender") not in GENDERS:
        raise bad_text("gender", "unknown code")
    if card_type == RESIDENT and f.get("ethnicity") not in ETHNICITIES:
        raise bad_text("ethnicity", "unknown code")
    if not f.get("name") and not f.get("name_en"):
        raise bad_text("name", "empty")
    if not f.get("resident_id"):
        raise bad_text("resident_id", "empty")
    birth = parse_date(f.get("birth_date", ""), "birth_date")
    valid_from = parse_date(f.get("valid_from", ""), "valid_from")
    valid_to_text = f.get("valid_to", "")
    valid_to = None if valid_to_text == LONG_TERM else parse_date(valid_to_text, "valid_to")
    if valid_to is not None and valid_to < valid_from:
        raise bad_text("valid_to", "before valid_from")
    issuer = f.get("issuer", "")
    if card_type in (FOREIGN_2017, FOREIGN_2023) and not issuer:
        issuer = "国家移民管理局"  # printed on the card; the chip has no issuer field
    return IdCardData.create(
        name=f.get("name") or f.get("name_en", ""),
        gender_code=f["gender"],
        ethnicity_code=f.get("ethnicity", ""),
        birth_date=birth,
        address=f.get("address", ""),
        resident_id=f["resident_id"],
        issuer=issuer,
        valid_from=valid_from,
        valid_to=valid_to,
        photo_wlt=photo_wlt,
        photo_available=photo_available,
        today=today,
        card_type=card_type,
        **{k: f[k] for k in _EXTRA_FIELDS if f.get(k)},
    )


def parse_card_block(
    block: bytes,
    photo_wlt: bytes = b"",
    *,
    photo_available: bool = False,
    today: dt.date | None = None,
) -> IdCardData:
    """Decode a 256-byte text block of any card type; a bad block raises idcard.bad_text."""
    card_type = card_type_of_block(block)
    fields = _split(block, LAYOUTS[card_type])
    return card_from_fields(
        card_type, fields, photo_wlt, photo_available=photo_available, today=today
    )


def _encode_field(name: str, value: str, width: int) -> bytes:
    raw = value.encode("utf-16-le")  # surrogate pairs for characters beyond the BMP
    if len(raw) > width:
        raise ValueError(f"text field {name} takes {len(raw)} bytes, at most {width}")
    return raw + " ".encode("utf-16-le") * ((width - len(raw)) // 2)


def build_card_block(card_type: str, values: dict[str, str]) -> bytes:
    """Inverse of `parse_card_block` (for simulators, fakes and tests); too long raises."""
    values = {**values, "marker": MARKER_OF_TYPE[card_type]}
    return b"".join(_encode_field(n, values.get(n, ""), w) for n, w in LAYOUTS[card_type])


def build_text_block(
    *,
    name: str,
    gender_code: str,
    ethnicity_code: str,
    birth_date: dt.date,
    address: str,
    resident_id: str,
    issuer: str,
    valid_from: dt.date,
    valid_to: dt.date | None,
    reserved: str = "",
) -> bytes:
    """A resident card's block (for the simulator and tests); too-long fields raise."""
    return build_card_block(
        RESIDENT,
        {
            "name": name,
            "gender": gender_code,
            "ethnicity": ethnicity_code,
            "birth_date": birth_date.strftime("%Y%m%d"),
            "address": address,
            "resident_id": resident_id,
            "issuer": issuer,
            "valid_from": valid_from.strftime("%Y%m%d"),
            "valid_to": LONG_TERM if valid_to is None else valid_to.strftime("%Y%m%d"),
            "reserved": reserved,
        },
    )


def card_text_block(card: IdCardData) -> bytes:
    """The block a reader would return for CARD (any type)."""
    values = {
        "name": card.name,
        "gender": card.gender_code,
        "ethnicity": card.ethnicity_code,
        "birth_date": card.birth_date.strftime("%Y%m%d"),
        "address": card.address,
        "resident_id": card.resident_id,
        "issuer": "" if card.is_foreign else card.issuer,
        "valid_from": card.valid_from.strftime("%Y%m%d"),
        "valid_to": LONG_TERM if card.valid_to is None else card.valid_to.strftime("%Y%m%d"),
        **{k: getattr(card, k) for k in _EXTRA_FIELDS},
    }
    return build_card_block(card.card_type, values)
