"""China's working-day calendar behind add_working_days: holidays and 调休 working weekends.

Expected dates are written by hand from the State Council's notices (国办发明电〔2025〕7号 for
2026): 春节 2026-02-15…02-23 off, Saturdays 02-14 and 02-28 worked; 国庆/中秋 2026-10-01…10-07
off, Sunday 09-20 and Saturday 10-10 worked.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app import workdays
from app.catalog import BUNDLED_CATALOG
from app.catalog_files import read_packed
from app.catalog_load import CatalogProvider, build_catalog
from app.clock import add_working_days
from app.errors import CatalogError
from app.workdays import WorkCalendar, YearTable

D = dt.date


@pytest.fixture(autouse=True)
def _library_calendar():
    workdays.install({})
    yield
    workdays.install({})


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (D(2026, 9, 30), 1, D(2026, 10, 8)),  # Wednesday before 国庆: the holiday is skipped
        (D(2026, 10, 3), 1, D(2026, 10, 8)),  # asked during the holiday
        (D(2026, 10, 9), 1, D(2026, 10, 10)),  # Friday -> the 调休 Saturday is worked
        (D(2026, 10, 10), 1, D(2026, 10, 12)),  # the 调休 Saturday -> Monday
        (D(2026, 9, 19), 1, D(2026, 9, 20)),  # Saturday -> the 调休 Sunday 09-20
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Friday -> 调休 Saturday before 春节
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # across 春节
        (D(2026, 2, 14), 5, D(2026, 2, 28)),  # 02-24..02-27 and the 调休 Saturday 02-28
        (D(2026, 12, 4), 1, D(2026, 12, 7)),  # an ordinary weekend
        # No table for 2027 in the library: Mon-Fri, so 元旦 (Friday 2027-01-01) is not known
        # until a catalog brings the year's table (test below).
        (D(2026, 12, 31), 1, D(2027, 1, 1)),
    ],
)
def test_add_working_days_follows_the_holiday_notice(start, days, expected):
    assert add_working_days(start, days) == expected


def test_a_year_outside_every_table_is_counted_monday_to_friday_and_said_so():
    cal = workdays.current()
    assert cal.known_year(2026)
    assert not cal.known_year(2031)
    assert add_working_days(D(2031, 10, 1), 1) == D(2031, 10, 2)  # a Wednesday: no table


def test_a_catalog_table_overrides_the_library_for_its_year():
    # A made-up correction: 2026-10-08 also off, Saturday 2026-10-17 worked.
    workdays.install(
        {
            2026: YearTable(
                holidays=frozenset({D(2026, 10, 1), D(2026, 10, 8)}),
                workdays=frozenset({D(2026, 10, 17)}),
            )
        }
    )
    assert add_working_days(D(2026, 10, 7), 1) == D(2026, 10, 9)
    # The table is the whole year's exceptions: 10-02 is no holiday in it, 10-10 no workday.
    assert add_working_days(D(2026, 10, 1), 1) == D(2026, 10, 2)
    assert add_working_days(D(2026, 10, 9), 1) == D(2026, 10, 12)
    assert add_working_days(D(2026, 10, 16), 1) == D(2026, 10, 17)


def test_the_calendar_answers_single_days():
    cal = WorkCalendar()
    assert cal.is_workday(D(2026, 10, 10)) and not cal.is_workday(D(2026, 10, 5))
    assert not cal.is_workday(D(2026, 10, 11))


def _packed_with(calendar):
    packed = read_packed(BUNDLED_CATALOG)
    packed["header"] = {**packed["header"], "calendar": calendar}
    return packed


TABLE_2027 = {  # a year the library does not cover: its table arrives with the catalog
    "2027": {
        "holidays": ["2027-01-01", "2027-02-08", "2027-02-09"],
        "workdays": ["2027-02-06"],
        "source": "国务院办公厅关于2027年部分节假日安排的通知（示例）",
    }
}


def test_the_catalog_carries_a_years_table_and_installing_the_catalog_uses_it(tmp_path):
    packed = read_packed(BUNDLED_CATALOG)
    provider = CatalogProvider(build_catalog(packed), packed)
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 8)  # no table: Mon-Fri
    new_packed = _packed_with(TABLE_2027)
    new_packed["header"]["version"] = "2099.01.01"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(new_packed, ensure_ascii=False), encoding="utf-8")
    provider.replace(read_packed(path))  # as catalog sync installs it (schema-checked read)
    assert provider.current.calendar[2027].workdays == frozenset({D(2027, 2, 6)})
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 6)  # the 调休 Saturday
    assert add_working_days(D(2027, 2, 6), 1) == D(2027, 2, 10)  # 02-08, 02-09 off
    assert workdays.current().known_year(2027)


@pytest.mark.parametrize(
    ("table", "code_field"),
    [
        ({"2027": {"holidays": ["2026-10-01"], "workdays": []}}, "calendar.2027.holidays[0]"),
        ({"2027": {"holidays": ["2027-02-30"], "workdays": []}}, "calendar.2027.holidays[0]"),
        ({"2027": {"holidays": ["2027-02-06"], "workdays": ["2027-02-06"]}}, "calendar.2027"),
    ],
)
def test_a_wrong_table_is_refused_naming_the_field(table, code_field):
    with pytest.raises(CatalogError) as err:
        build_catalog(_packed_with(table))
    assert err.value.code == "catalog.calendar"
    assert code_field in err.value.message


def test_the_schema_refuses_a_table_of_the_wrong_shape(tmp_path):
    path = tmp_path / "catalog.json"
    bad = _packed_with({"2027": {"holidays": "2027-01-01", "workdays": []}})
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        read_packed(path)
    assert err.value.code == "catalog.schema"
    assert "calendar" in err.value.message
