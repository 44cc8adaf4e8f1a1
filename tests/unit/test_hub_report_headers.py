"""The optional report headers a station sends (sync.protocol.REPORT_HEADERS): what the hub keeps,
and what it ignores rather than refusing the station's upload."""

import pytest

from sync.hub.ops import parse_report


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {
                "Intake-Client-Version": "0.1.0",
                "Intake-Catalog-Version": "2026.12.06-1",
                "Intake-Backlog": "42",
            },
            ("0.1.0", "2026.12.06-1", 42),
        ),
        ({}, (None, None, None)),
        ({"Intake-Backlog": "²"}, (None, None, None)),  # a digit to Python, not to int()
        ({"Intake-Backlog": "-3"}, (None, None, None)),
        ({"Intake-Backlog": "1234567890"}, (None, None, None)),  # beyond any real outbox
        ({"Intake-Client-Version": "x y"}, (None, None, None)),
        ({"Intake-Client-Version": "张三"}, (None, None, None)),  # never free text in a listing
        ({"Intake-Catalog-Version": "v" * 33}, (None, None, None)),
    ],
)
def test_report_headers(headers, expected):
    assert parse_report(headers) == expected
