"""Time as a dependency: services take a Clock so tests can hold time still or move it."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

from app import workdays

STATION_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock for tests and demo data: returns a set time, moved explicitly."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def set(self, at: dt.datetime) -> None:
        self._at = at

    def advance(self, **delta: float) -> None:
        self._at += dt.timedelta(**delta)


def local_day(at: dt.datetime, tz: dt.tzinfo = STATION_TZ) -> dt.date:
    return at.astimezone(tz).date()


def day_bounds(day: dt.date, tz: dt.tzinfo = STATION_TZ) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The DAYS-th working day after START on China's calendar (holidays and 调休 working
    weekends: app.workdays, with the catalog's table for a year overriding the library's)."""
    return workdays.current().add(start, days)
