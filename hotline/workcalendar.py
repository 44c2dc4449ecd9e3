"""China's working-day calendar: statutory holidays and 调休 from chinese-calendar, local overrides on top.

Working time is counted as whole working days (24 h each, Asia/Shanghai): "7 working days from
Friday 10:00" ends on the 7th following working day at 10:00, and a clock started on a
holiday starts counting at 00:00 of the next working day. With that definition
``working_seconds_between(a, add_working_seconds(a, s)) == s`` holds exactly, which the
property tests rely on.

Holiday data for a year is published each November–December; a date outside the package's
years and without overrides falls back to the weekends-only rule and reports ``estimated``.
It never raises.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar

DAY = 86400
_TZ = ZoneInfo("Asia/Shanghai")
_OVERRIDE_TTL = 60.0  # seconds a process trusts its copy of the override table


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    estimated: bool  # True when a day on the way had no official data (weekends-only rule)


class WorkCalendar:
    """Answers "is this a working day", "add N working days" and "working time between two moments"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._overrides: dict[dt.date, bool] = {}
        self._loaded_at = -_OVERRIDE_TTL
        self._known_years = self._package_years()

    @staticmethod
    def _package_years() -> frozenset[int]:
        years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
        return frozenset(years)

    # -- overrides ---------------------------------------------------------------
    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._loaded_at < _OVERRIDE_TTL:
            return
        with self._lock:
            if now - self._loaded_at < _OVERRIDE_TTL:
                return
            self._overrides = self._load_overrides()
            self._loaded_at = now

    @staticmethod
    def _load_overrides() -> dict[dt.date, bool]:
        from django.db import DatabaseError

        from hotline.models import CalendarDay

        try:
            return dict(CalendarDay.objects.values_list("date", "is_workday"))
        except DatabaseError:
            # Before migrations (or with the database briefly down) the package data still works.
            return {}

    def invalidate(self) -> None:
        """Forget cached overrides; called after an administrator edits the table."""
        self._loaded_at = -_OVERRIDE_TTL

    # -- days ----------------------------------------------------------------------
    def day_info(self, day: dt.date) -> tuple[bool, bool]:
        """(is_workday, estimated) for one date."""
        self._refresh()
        if day in self._overrides:
            return self._overrides[day], False
        if day.year in self._known_years:
            return chinese_calendar.is_workday(day), False
        return day.weekday() < 5, True

    def is_workday(self, day: dt.date) -> bool:
        return self.day_info(day)[0]

    def has_data_for(self, year: int) -> bool:
        self._refresh()
        return year in self._known_years or any(d.year == year for d in self._overrides)

    # -- arithmetic ----------------------------------------------------------------
    def add_working_seconds(self, start: dt.datetime, seconds: float) -> Deadline:
        """The moment at which ``seconds`` of working time have passed since ``start``."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        cursor = start.astimezone(_TZ)
        remaining = dt.timedelta(seconds=seconds)
        estimated = False
        for _ in range(3660):  # ten years of days: far beyond any limit we allow
            day = cursor.date()
            workday, guessed = self.day_info(day)
            estimated |= guessed
            next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), _TZ)
            if workday:
                available = next_midnight - cursor
                if remaining <= available:
                    return Deadline(cursor + remaining, estimated)
                remaining -= available
            cursor = next_midnight
        raise ValueError("working-time span too large")

    def add_working_days(self, start: dt.datetime, days: float) -> Deadline:
        return self.add_working_seconds(start, days * DAY)

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working time in seconds from ``start`` to ``end`` (negative if end is earlier)."""
        if end < start:
            return -self.working_seconds_between(end, start)
        cursor = start.astimezone(_TZ)
        end = end.astimezone(_TZ)
        total = dt.timedelta()
        while cursor < end:
            day = cursor.date()
            next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), _TZ)
            stop = min(next_midnight, end)
            if self.is_workday(day):
                total += stop - cursor
            cursor = stop
        return total.total_seconds()


calendar = WorkCalendar()
