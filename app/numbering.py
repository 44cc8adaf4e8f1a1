"""Intake numbers: unique across stations without talking to each other, readable aloud.

Form: ``{station}-{YYMMDD}-{sequence:04d}-{check}``, e.g. ``XX01-241202-0007-W``. The station code
is assigned once at enrollment; the sequence restarts each day per station; the check character
(weighted mod 31 over the same 31-character set the USCC uses, which has no I/O/S/V/Z) catches a
mistyped or swapped character when a clerk reads a number over the phone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from app.validators import USCC_CHARSET

STATION_CODE_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2,8}$")
_NUMBER_RE = re.compile(r"^([0-9A-HJ-NPQRTUWXY]{2,8})-(\d{6})-(\d{4,6})-([0-9A-HJ-NPQRTUWXY])$")


def _check_char(payload: str) -> str:
    total = 0
    weight = 1
    for ch in payload:
        total += USCC_CHARSET.index(ch) * weight
        weight = weight * 3 % 31
    return USCC_CHARSET[(31 - total % 31) % 31]


def valid_station_code(code: str) -> bool:
    return bool(STATION_CODE_RE.match(code or ""))


def format_intake_number(station_code: str, day: dt.date, sequence: int) -> str:
    if not valid_station_code(station_code):
        raise ValueError("station code must be 2-8 characters of 0-9 A-Y without I/O/S/V/Z")
    if not 1 <= sequence <= 999_999:
        raise ValueError("sequence out of range")
    date_part = day.strftime("%y%m%d")
    seq_part = f"{sequence:04d}"
    return (
        f"{station_code}-{date_part}-{seq_part}-{_check_char(station_code + date_part + seq_part)}"
    )


@dataclass(frozen=True)
class IntakeNumber:
    station_code: str
    day: dt.date
    sequence: int
    text: str


def parse_intake_number(text: str) -> IntakeNumber | None:
    """Parse and verify a number as typed or scanned; None if malformed or its check fails."""
    cleaned = (text or "").strip().upper().replace(" ", "")
    m = _NUMBER_RE.match(cleaned)
    if not m:
        return None
    station, date_part, seq_part, check = m.groups()
    if _check_char(station + date_part + seq_part) != check:
        return None
    try:
        day = dt.datetime.strptime(date_part, "%y%m%d").date()
    except ValueError:
        return None
    return IntakeNumber(station, day, int(seq_part), cleaned)


_FRAGMENT_RE = re.compile(r"^[0-9A-Z-]+$")


def number_fragment(text: str) -> str | None:
    """A part of an intake number as typed at a search box (`0002-D`, `241202-0002`), with
    spaces and dashes taken out; None when it cannot be one: other characters, no digit, or
    fewer than 3 characters (which would match nearly every number)."""
    cleaned = (text or "").strip().upper().replace(" ", "")
    if not _FRAGMENT_RE.match(cleaned):
        return None
    compact = cleaned.replace("-", "")
    if len(compact) < 3 or not any(c.isdigit() for c in compact):
        return None
    return compact


# The receipt's QR/Code128 payload. Version 1 carries the number and optional key=value fields
# (issued time, manifest hash, signature are appended by later versions without breaking readers).
RECEIPT_PREFIX = "YJS1"


def encode_receipt_payload(number: str, **fields: str) -> str:
    parts = [RECEIPT_PREFIX, "R", number]
    parts += [f"{k}={v}" for k, v in fields.items()]
    return "|".join(parts)


@dataclass(frozen=True)
class ReceiptRef:
    number: str
    fields: dict[str, str]


RECEIPT_QUERY_PARAM = "t"


def receipt_query_url(base: str, token: str) -> str:
    """The receipt QR as a phone opens it: the county's query address carrying the signed token."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{RECEIPT_QUERY_PARAM}={quote(token, safe='=')}"


def token_of(text: str) -> str:
    """The signed token in a scanned receipt code: the `t` parameter of a query URL, else the
    text itself (older receipts carry the bare token)."""
    text = (text or "").strip()
    if text[:8].lower().startswith(("http://", "https://")):
        for key, value in parse_qsl(urlsplit(text).query, keep_blank_values=True):
            if key == RECEIPT_QUERY_PARAM and value.startswith(RECEIPT_PREFIX + "|"):
                return value.strip()
    return text


def parse_receipt_payload(text: str) -> ReceiptRef | None:
    """The intake a scanned receipt code points to, or None when it is not one of ours.

    Accepts the QR (the query URL or the bare signed token) and the bare number (what the
    Code128 under it carries).
    """
    text = token_of(text)
    if text.startswith(RECEIPT_PREFIX + "|"):
        parts = text.split("|")
        if len(parts) < 3 or parts[1] != "R":
            return None
        number = parse_intake_number(parts[2])
        if number is None:
            return None
        fields = dict(p.split("=", 1) for p in parts[3:] if "=" in p)
        return ReceiptRef(number.text, fields)
    number = parse_intake_number(text)
    return ReceiptRef(number.text, {}) if number else None
