import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.numbering import (
    IntakeNumber,
    ReceiptRef,
    encode_receipt_payload,
    format_intake_number,
    number_fragment,
    parse_intake_number,
    parse_receipt_payload,
    receipt_query_url,
    token_of,
    valid_station_code,
)
from app.validators import USCC_CHARSET

codes = st.text(alphabet=USCC_CHARSET, min_size=2, max_size=8)
days = st.dates(dt.date(2020, 1, 1), dt.date(2060, 12, 31))


@given(codes, days, st.integers(1, 99999))
def test_round_trip(code, day, seq):
    n = format_intake_number(code, day, seq)
    parsed = parse_intake_number(n)
    assert parsed is not None and (parsed.station_code, parsed.day, parsed.sequence) == (
        code,
        day,
        seq,
    )


@given(codes, days, st.integers(1, 9999), st.data())
def test_one_wrong_character_is_refused(code, day, seq, data):
    n = format_intake_number(code, day, seq)
    positions = [i for i, c in enumerate(n) if c != "-"]
    pos = data.draw(st.sampled_from(positions))
    alphabet = "0123456789" if n[pos].isdigit() and pos > len(code) else USCC_CHARSET
    new = data.draw(st.sampled_from([c for c in alphabet if c != n[pos]]))
    assert parse_intake_number(n[:pos] + new + n[pos + 1 :]) is None


def test_numbers_differ_across_stations_on_the_same_day():
    day = dt.date(2024, 12, 2)
    assert format_intake_number("XX01", day, 1) != format_intake_number("XX02", day, 1)


def test_receipt_payload_round_trip_and_bare_number():
    n = format_intake_number("XX01", dt.date(2024, 12, 2), 7)
    ref = parse_receipt_payload(encode_receipt_payload(n, t="202412020930"))
    assert ref is not None and ref.number == n and ref.fields == {"t": "202412020930"}
    assert parse_receipt_payload(n).number == n
    assert parse_receipt_payload("http://www.gsxt.gov.cn/abc") is None
    assert parse_receipt_payload("YJS1|R|XX01-241202-0007-0") is None  # wrong check


# ----------------------------------------------------------------------------- by hand
# Check characters computed by hand: values are indices in 0-9 A-H J-N P-R T U W-Y, weights
# 3^i mod 31 (1 3 9 27 19 26 16 17 20 29 25 13 8 24 …), check = set[(31 - sum mod 31) mod 31].
# XX01 241202 0007: 29·1+29·3+0·9+1·27+2·19+4·26+1·16+2·17+0·20+2·29+0·25+0·13+0·8+7·24 = 561,
# 561 mod 31 = 3, 31 - 3 = 28 → W.


def test_a_number_and_its_check_character_written_by_hand():
    assert format_intake_number("XX01", dt.date(2024, 12, 2), 7) == "XX01-241202-0007-W"
    assert format_intake_number("HB01", dt.date(2026, 12, 7), 123456) == "HB01-261207-123456-5"
    parsed = parse_intake_number(" xx01-241202-0007-w ")
    assert parsed == IntakeNumber("XX01", dt.date(2024, 12, 2), 7, "XX01-241202-0007-W")
    assert parse_intake_number("XX01 - 241202 - 0007 - W").text == "XX01-241202-0007-W"
    assert parse_intake_number("XX01-240229-0001-7").day == dt.date(2024, 2, 29)  # leap day


def test_a_number_with_no_such_day_is_refused_though_its_check_fits():
    assert parse_intake_number("XX01-241332-0001-2") is None  # month 13
    assert parse_intake_number("XX01-230229-0001-2") is None  # 2023 had no 29 February
    assert parse_intake_number("") is None and parse_intake_number(None) is None


@pytest.mark.parametrize("code", ["X", "I1", "XO01", "ABCDEFGHJ", "xx01", "", None])
def test_bad_station_codes_are_refused(code):
    assert not valid_station_code(code)
    with pytest.raises(ValueError):
        format_intake_number(code, dt.date(2024, 12, 2), 1)


def test_station_codes_of_two_to_eight_characters():
    assert valid_station_code("XX") and valid_station_code("ABCDEFGH")


def test_sequence_range():
    day = dt.date(2024, 12, 2)
    for bad in (0, -1, 1_000_000):
        with pytest.raises(ValueError):
            format_intake_number("XX01", day, bad)
    assert format_intake_number("XX01", day, 1).split("-")[2] == "0001"
    assert format_intake_number("XX01", day, 999_999).split("-")[2] == "999999"


@pytest.mark.parametrize(
    "typed, fragment",
    [
        ("0002-d", "0002D"),
        (" 241202 - 0002 ", "2412020002"),
        ("1 2 3", "123"),
        ("12", None),  # too short: would match nearly every number
        ("abc", None),  # no digit
        ("x@1", None),
        ("张三1", None),
        ("", None),
        (None, None),
    ],
)
def test_number_fragment(typed, fragment):
    assert number_fragment(typed) == fragment


def test_receipt_payload_fields_and_refusals():
    n = "XX01-241202-0007-W"
    assert encode_receipt_payload(n, t="1", s="ab") == "YJS1|R|XX01-241202-0007-W|t=1|s=ab"
    ref = parse_receipt_payload("YJS1|R|XX01-241202-0007-W|s=ab=c|junk|t=")
    assert ref == ReceiptRef(n, {"s": "ab=c", "t": ""})
    assert parse_receipt_payload("YJS1|R") is None
    assert parse_receipt_payload("YJS1|Q|XX01-241202-0007-W") is None
    assert parse_receipt_payload("YJS1|R|XX01-241202-0007-3") is None
    assert parse_receipt_payload("YJS1|R|XX01-241202-0007-W").fields == {}
    assert parse_receipt_payload(n).fields == {}
    assert parse_receipt_payload("") is None


def test_receipt_query_url_carries_the_token_escaped():
    token = "YJS1|R|XX01-241202-0007-W|s=AB+/="
    assert (
        receipt_query_url("https://q.example.cn/r", token)
        == "https://q.example.cn/r?t=YJS1%7CR%7CXX01-241202-0007-W%7Cs=AB%2B%2F="
    )
    assert receipt_query_url("https://q.example.cn/r?c=410721", "YJS1|R|N") == (
        "https://q.example.cn/r?c=410721&t=YJS1%7CR%7CN"
    )


def test_token_of_a_scanned_code():
    token = "YJS1|R|XX01-241202-0007-W|s=AB+/="
    url = "https://q.example.cn/r?c=1&t=YJS1%7CR%7CXX01-241202-0007-W%7Cs=AB%2B%2F="
    assert token_of(url) == token
    assert token_of(url.replace("https://", "HTTP://")) == token
    assert token_of("  " + token + "\n") == token  # a bare token (older receipts)
    other = "https://q.example.cn/r?t=abc&x=YJS1%7CR"
    assert token_of(other) == other  # not our parameter with our prefix: the text as it is
    assert token_of("https://q.example.cn/r?t=") == "https://q.example.cn/r?t="
    assert token_of(None) == ""
    assert parse_receipt_payload(url) == ReceiptRef("XX01-241202-0007-W", {"s": "AB+/="})


def test_programming_errors_say_what_is_wrong():
    day = dt.date(2024, 12, 2)
    with pytest.raises(ValueError, match=r"^sequence out of range$"):
        format_intake_number("XX01", day, 0)
    with pytest.raises(
        ValueError, match=r"^station code must be 2-8 characters of 0-9 A-Y without I/O/S/V/Z$"
    ):
        format_intake_number("X", day, 1)
