"""China's working-day calendar: weekends, public holidays and the adjusted working days (调休).

One calendar for every deadline counted in working days (容缺 补交期限, the next working day after
日结, departments' 1-working-day acceptance). The State Council's table comes from the
`chinesecalendar` library (its data ends with the last year it shipped); the catalog may carry a
newer or corrected table per year (`calendar` in catalog.json), installed here whenever the
catalog in use changes, and it overrides the library for that year. A year neither knows falls
back to Monday-Friday, and `known_year` says so (the supervisor's screen shows it).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

log = logging.getLogger("intake.workdays")


@dataclass(frozen=True)
class YearTable:
    """One year's exceptions to Monday-Friday: days off on weekdays and working weekend days."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()


@dataclass
class WorkCalendar:
    overrides: Mapping[int, YearTable] = field(default_factory=dict)

    def known_year(self, year: int) -> bool:
        return year in self.overrides or _library_knows(year)

    def is_workday(self, day: dt.date) -> bool:
        table = self.overrides.get(day.year)
        if table is not None:
            if day in table.workdays:
                return True
            if day in table.holidays:
                return False
            return day.weekday() < 5
        if _library_knows(day.year):
            import chinese_calendar

            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def add(self, start: dt.date, days: int) -> dt.date:
        """The DAYS-th working day after START (START itself not counted)."""
        d = start
        added = 0
        while added < days:
            d += dt.timedelta(days=1)
            if self.is_workday(d):
                added += 1
        return d


def _library_knows(year: int) -> bool:
    return year in _library_years()


@functools.cache
def _library_years() -> frozenset[int]:
    try:
        import chinese_calendar
    except ImportError:  # the client extra not installed: weekends only
        return frozenset()
    return frozenset(d.year for d in chinese_calendar.constants.holidays)


def parse_tables(raw: Mapping[str, Mapping[str, list[str]]]) -> dict[int, YearTable]:
    """The catalog's `calendar` object ({"2027": {"holidays": [...], "workdays": [...]}}),
    already schema-checked; a date outside its year is refused by the catalog loader."""
    out: dict[int, YearTable] = {}
    for year, table in raw.items():
        out[int(year)] = YearTable(
            holidays=frozenset(dt.date.fromisoformat(d) for d in table.get("holidays", [])),
            workdays=frozenset(dt.date.fromisoformat(d) for d in table.get("workdays", [])),
        )
    return out


_lock = threading.Lock()
_current = WorkCalendar()


def install(overrides: Mapping[int, YearTable]) -> None:
    """Use the catalog's tables from now on (called when the catalog in use changes)."""
    global _current
    with _lock:
        _current = WorkCalendar(dict(overrides))
    if overrides:
        log.info("working-day tables from the catalog: %s", sorted(overrides))


def current() -> WorkCalendar:
    return _current
