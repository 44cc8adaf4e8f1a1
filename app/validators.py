"""Checks for identity numbers typed or read at the counter.

Each check returns a `Check` value (never raises on bad input): the clerk-facing Chinese message
lives in `message`, the machine-readable reason in `code`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["resident_id", "uscc", "mobile"]

# GB 11643 / ISO 7064 MOD 11-2
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB 32100: value of a character is its index in this set (no I, O, S, V, Z)
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 organisation code check (characters 9..17 of a USCC)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC_DEPARTMENTS = set("123456789ABCDEFGNY")

_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


@dataclass(frozen=True)
class Check:
    valid: bool
    kind: Kind | None
    normalized: str | None = None
    code: str | None = None  # machine-readable error code, None when valid
    message: str | None = None  # Chinese message for the clerk, None when valid
    birth_date: dt.date | None = None
    gender: Literal["male", "female"] | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "valid": self.valid,
            "kind": self.kind,
            "normalized": self.normalized,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "gender": self.gender,
            "error": self.message,
            "code": self.code,
        }


def _fail(kind: Kind | None, code: str, message: str) -> Check:
    return Check(valid=False, kind=kind, code=code, message=message)


def resident_id_check_char(first17: str) -> str:
    """Check character for the first 17 digits of a 公民身份号码."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_number_text(value: str) -> str:
    """The ASCII form of a number as typed, pasted or read: NFKC (full-width and other
    compatibility forms), then any Unicode decimal digit (Arabic-Indic, Devanagari …) as its ASCII
    digit, without white space. Every check goes through here, so the stored number, its blind
    index and the duplicate checks all see the same characters."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(
        str(unicodedata.decimal(c))
        if not c.isascii() and unicodedata.decimal(c, None) is not None
        else c
        for c in text
        if not c.isspace()
    )


def _clean(value: str) -> str:
    return normalize_number_text(value)


def _digits(text: str) -> bool:
    # str.isdigit() is true for ², ³ and other scripts' digits, which int() then refuses.
    return bool(text) and text.isascii() and text.isdigit()


def _non_ascii(text: str) -> str:
    return "".join(sorted({c for c in text if not c.isascii()}))


def check_resident_id(value: str, today: dt.date | None = None) -> Check:
    """公民身份号码 per GB 11643-1999; 15-digit 1989 numbers are converted to 18."""
    today = today or dt.date.today()
    raw = _clean(value or "")
    if not raw:
        return _fail("resident_id", "id.empty", "请输入公民身份号码。")
    if _non_ascii(raw):
        return _fail(
            "resident_id",
            "id.charset",
            f"身份证号码含有不允许的字符“{_non_ascii(raw)}”：只能是数字和X。",
        )
    if len(raw) == 15:
        if not _digits(raw):
            return _fail("resident_id", "id.charset", "15位身份证号码只能由数字组成。")
        body = raw[:6] + "19" + raw[6:]
        raw = body + resident_id_check_char(body)
        converted = True
    else:
        converted = False
    if len(raw) != 18:
        return _fail(
            "resident_id", "id.length", f"身份证号码应为18位（或旧版15位），当前为{len(raw)}位。"
        )
    body, check = raw[:17], raw[17].upper()
    if not _digits(body) or not (_digits(check) or check == "X"):
        return _fail("resident_id", "id.charset", "身份证号码前17位必须是数字，最后一位是数字或X。")
    try:
        birth = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return _fail("resident_id", "id.birth_date", f"出生日期“{body[6:14]}”不是有效日期。")
    if birth > today:
        return _fail("resident_id", "id.birth_future", "出生日期晚于今天，号码有误。")
    if birth.year < 1850:
        return _fail("resident_id", "id.birth_date", f"出生日期“{body[6:14]}”不合理。")
    expected = resident_id_check_char(body)
    if check != expected:
        return _fail(
            "resident_id",
            "id.check_digit",
            "校验位不符：请核对号码是否录错（常见为数字颠倒或漏输）。",
        )
    normalized = body + check
    return Check(
        valid=True,
        kind="resident_id",
        normalized=normalized,
        birth_date=birth,
        gender="male" if int(body[16]) % 2 == 1 else "female",
        extra={"converted_from_15": "1"} if converted else {},
    )


_GENDER_WORDS = {
    "男": "male",
    "女": "female",
    "male": "male",
    "female": "female",
    "1": "male",
    "2": "female",
}


def resident_id_conflicts(
    resident_id: str, birth_date: dt.date | None, gender: str, today: dt.date | None = None
) -> dict[str, Check]:
    """Birth date and gender given beside a valid ID number that contradict it: field -> failed
    Check (code + Chinese message). The number carries both (GB 11643: digits 7-14, the 17th odd
    for men), so one of the two was mistyped; a gender the number cannot express (未说明) is no
    contradiction. An invalid number is reported by check_resident_id, not here."""
    check = check_resident_id(resident_id, today)
    if not check.valid:
        return {}
    out: dict[str, Check] = {}
    if birth_date is not None and check.birth_date is not None and birth_date != check.birth_date:
        out["birth_date"] = _fail(
            "resident_id",
            "id.birth_date_mismatch",
            f"出生日期与身份证号码不符：号码中的出生日期为{check.birth_date:%Y-%m-%d}，"
            "请核对号码或出生日期。",
        )
    typed = _GENDER_WORDS.get((gender or "").strip())
    if typed is not None and check.gender is not None and typed != check.gender:
        out["gender"] = _fail(
            "resident_id",
            "id.gender_mismatch",
            f"性别与身份证号码不符：号码第17位表示{'男' if check.gender == 'male' else '女'}性，"
            "请核对号码或性别。",
        )
    return out


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    # GB 11714 values characters on the full alphabet (0-9 -> 0-9, A-Z -> 10-35), not on the
    # 31-character USCC set: int(c, 36) is exactly that mapping.
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def check_uscc(value: str) -> Check:
    """统一社会信用代码 per GB 32100-2015."""
    raw = _clean(value or "").upper()
    if not raw:
        return _fail("uscc", "uscc.empty", "请输入统一社会信用代码。")
    if len(raw) != 18:
        return _fail("uscc", "uscc.length", f"统一社会信用代码应为18位，当前为{len(raw)}位。")
    bad = sorted({c for c in raw if c not in USCC_CHARSET})
    if bad:
        return _fail(
            "uscc",
            "uscc.charset",
            f"统一社会信用代码含有不允许的字符“{''.join(bad)}”（不使用I、O、S、V、Z）。",
        )
    if raw[0] not in _USCC_DEPARTMENTS:
        return _fail("uscc", "uscc.department", f"第1位登记管理部门代码“{raw[0]}”无效。")
    if not _digits(raw[2:8]):
        return _fail("uscc", "uscc.region", "第3至8位应为6位数字行政区划码。")
    if raw[16] != org_code_check_char(raw[8:16]):
        return _fail(
            "uscc", "uscc.org_code", "第9至17位组织机构代码的校验位不符：请核对代码是否录错。"
        )
    if raw[17] != uscc_check_char(raw[:17]):
        return _fail("uscc", "uscc.check_char", "校验位不符：请核对代码是否录错。")
    return Check(valid=True, kind="uscc", normalized=raw)


def check_mobile(value: str) -> Check:
    """Mainland mobile number: 11 digits starting 13–19; +86 / 0086 prefixes are accepted."""
    raw = _clean(value or "").replace("-", "")
    for prefix in ("+86", "0086", "86"):
        if raw.startswith(prefix) and len(raw) == 11 + len(prefix):
            raw = raw[len(prefix) :]
            break
    if not raw:
        return _fail("mobile", "mobile.empty", "请输入手机号码。")
    if not _digits(raw):
        return _fail("mobile", "mobile.charset", "手机号码只能由数字组成。")
    if len(raw) != 11:
        return _fail("mobile", "mobile.length", f"手机号码应为11位，当前为{len(raw)}位。")
    if not _MOBILE_RE.match(raw):
        return _fail("mobile", "mobile.prefix", "手机号码应以13至19开头。")
    return Check(valid=True, kind="mobile", normalized=raw)


def check_any_id(value: str, today: dt.date | None = None) -> Check:
    """Guess whether VALUE is a resident ID or a USCC and check it as that."""
    raw = _clean(value or "").upper()
    if len(raw) == 18 and any(c.isalpha() and c != "X" for c in raw[:17]):
        return check_uscc(raw)
    if len(raw) == 18 and not _digits(raw[:17]):
        return check_uscc(raw)
    if len(raw) in (15, 18) and _digits(raw[:17]):
        rid = check_resident_id(raw, today)
        if rid.valid:
            return rid
        # An all-digit 18-char string could still be a USCC (e.g. 1… 机构编制 codes).
        if len(raw) == 18 and check_uscc(raw).valid:
            return check_uscc(raw)
        return rid
    if not raw:
        return _fail(None, "id.empty", "请输入证件号码。")
    return _fail(
        None,
        "id.unknown_kind",
        f"无法识别的证件号码（{len(raw)}位）：身份证号码为18位，统一社会信用代码为18位。",
    )


def mask_resident_id(value: str) -> str:
    """Keep the first 6 and last 4 characters (DOMAIN-FACTS, personal data)."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    if not value or len(value) < 7:
        return "*" * len(value or "")
    return value[:3] + "****" + value[-4:]


def mask_name(value: str) -> str:
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else value
