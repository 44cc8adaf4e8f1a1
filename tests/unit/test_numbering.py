import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.numbering import (
    encode_receipt_payload,
    format_intake_number,
    parse_intake_number,
    parse_receipt_payload,
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
