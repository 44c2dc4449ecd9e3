"""China's working-day calendar: statutory holidays and 调休 from chinese-calendar, local overrides on top.

Working time is counted as whole working days (24 h each, Asia/Shanghai): "7 working days from
Friday 10:00" ends on the 7th following working day at 10:00, and a clock started on a
holiday starts counting at 00:00 of the next working day. With that definition
``working_seconds_between(a, add_working_seconds(a, s)) == s`` holds exactly, which the
property tests rely on.

Holiday data for a year is published each November–December; a date outside the package's
years and without overrides falls back to the weekends-only rule and reports ``estimated``.
It never raises.

Speed: every clock start and every extension asks this, so the days are kept as one sorted
array of working-day ordinals (built per year, overrides applied) and answers come from
``bisect`` instead of walking day by day (~1 µs instead of ~300 µs per call).
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar

DAY = 86400
_TZ = ZoneInfo("Asia/Shanghai")
_OVERRIDE_TTL = 60.0  # seconds a process trusts its copy of the override table
_MIN_YEAR, _MAX_YEAR = 1990, 2200  # any deadline beyond this is a bug upstream, not a calendar question


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    estimated: bool  # True when a day on the way had no official data (weekends-only rule)


def _local_midnight(ordinal: int) -> dt.datetime:
    # China has had no daylight saving since 1991, so a fixed-offset midnight is exact.
    return dt.datetime.fromordinal(ordinal).replace(tzinfo=_TZ)


class WorkCalendar:
    """Answers "is this a working day", "add N working days" and "working time between two moments"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known_years = frozenset(
            {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
        )
        self._reset({})

    # -- the day table -------------------------------------------------------------
    def _reset(self, overrides: dict[dt.date, bool], complete_years: frozenset[int] = frozenset()) -> None:
        self._overrides = overrides
        self._complete_years = complete_years
        self._years: set[int] = set()
        self._workdays: list[int] = []  # sorted ordinals of working days in the loaded years
        self._first_year = self._last_year = None
        self._loaded_at = time.monotonic()

    def _year_workdays(self, year: int) -> list[int]:
        first = dt.date(year, 1, 1).toordinal()
        last = dt.date(year, 12, 31).toordinal()
        known = year in self._known_years
        out = []
        for ordinal in range(first, last + 1):
            day = dt.date.fromordinal(ordinal)
            if day in self._overrides:
                work = self._overrides[day]
            elif known:
                work = chinese_calendar.is_workday(day)
            else:
                work = day.weekday() < 5
            if work:
                out.append(ordinal)
        return out

    def _ensure_years(self, first: int, last: int) -> None:
        """Load a contiguous span of years covering [first, last] (lazily, under a lock)."""
        first, last = max(first, _MIN_YEAR), min(last, _MAX_YEAR)
        if self._first_year is not None and self._first_year <= first and last <= self._last_year:
            return
        with self._lock:
            lo = first if self._first_year is None else min(first, self._first_year)
            hi = last if self._last_year is None else max(last, self._last_year)
            days: list[int] = []
            for year in range(lo, hi + 1):
                days.extend(self._year_workdays(year))
            self._workdays = days
            self._first_year, self._last_year = lo, hi

    def _refresh(self) -> None:
        if time.monotonic() - self._loaded_at < _OVERRIDE_TTL:
            return
        overrides, complete = self._load_overrides()
        with self._lock:
            span = (self._first_year, self._last_year)
            self._reset(overrides, complete)
        if span[0] is not None:
            self._ensure_years(*span)

    @staticmethod
    def _load_overrides() -> tuple[dict[dt.date, bool], frozenset[int]]:
        from django.db import DatabaseError, transaction

        from hotline.models import CalendarDay, CalendarYear

        try:
            # A savepoint: a failed read must not poison the caller's transaction (a dispatch, say).
            with transaction.atomic():
                days = dict(CalendarDay.objects.values_list("date", "is_workday"))
                years = frozenset(CalendarYear.objects.filter(complete=True).values_list("year", flat=True))
            return days, years
        except DatabaseError:
            # Before migrations (or with the database briefly down) the package data still works.
            return {}, frozenset()

    def invalidate(self) -> None:
        """Forget cached overrides; called after an administrator edits the table."""
        self._loaded_at = -_OVERRIDE_TTL

    def _year_known(self, year: int) -> bool:
        return year in self._known_years or year in self._complete_years

    def _estimated(self, first_ordinal: int, last_ordinal: int) -> bool:
        """True if any day in the span came from the weekends-only rule (no data, no override)."""
        first_year = dt.date.fromordinal(first_ordinal).year
        last_year = dt.date.fromordinal(last_ordinal).year
        for year in range(first_year, last_year + 1):
            if self._year_known(year):
                continue
            lo = max(first_ordinal, dt.date(year, 1, 1).toordinal())
            hi = min(last_ordinal, dt.date(year, 12, 31).toordinal())
            overridden = sum(1 for d in self._overrides if d.year == year and lo <= d.toordinal() <= hi)
            if overridden < hi - lo + 1:
                return True
        return False

    # -- days ----------------------------------------------------------------------
    def day_info(self, day: dt.date) -> tuple[bool, bool]:
        """(is_workday, estimated) for one date."""
        self._refresh()
        self._ensure_years(day.year, day.year)
        ordinal = day.toordinal()
        i = bisect.bisect_left(self._workdays, ordinal)
        work = i < len(self._workdays) and self._workdays[i] == ordinal
        estimated = day not in self._overrides and not self._year_known(day.year)
        return work, estimated

    def is_workday(self, day: dt.date) -> bool:
        return self.day_info(day)[0]

    def has_data_for(self, year: int) -> bool:
        """The package covers the year, or an administrator has marked its schedule complete."""
        self._refresh()
        return self._year_known(year)

    # -- arithmetic ----------------------------------------------------------------
    def _nth_workday_after(self, ordinal: int, n: int) -> int:
        """The n-th working day strictly after ``ordinal`` (n >= 1), loading more years as needed."""
        year = dt.date.fromordinal(ordinal).year
        # Even a long holiday leaves >200 working days a year: n/200 + 1 spare years always suffice.
        self._ensure_years(year, year + n // 200 + 1)
        i = bisect.bisect_right(self._workdays, ordinal)
        return self._workdays[i + n - 1]

    def add_working_seconds(self, start: dt.datetime, seconds: float) -> Deadline:
        """The moment at which ``seconds`` of working time have passed since ``start``."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._refresh()
        local = start.astimezone(_TZ)
        d0 = local.toordinal()
        into_day = dt.timedelta(
            hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
        )
        remaining = dt.timedelta(seconds=seconds)
        workday0, _ = self.day_info(local.date())
        if workday0:
            available = dt.timedelta(days=1) - into_day
            if remaining <= available:
                return Deadline(local + remaining, self._estimated(d0, d0))
            remaining -= available
        full_days, rest = divmod(remaining, dt.timedelta(days=1))
        if not remaining:
            # Nothing to count from a rest day: time starts (and ends) at the next working day's 00:00.
            target = self._nth_workday_after(d0, 1)
            at = _local_midnight(target)
        elif rest:
            target = self._nth_workday_after(d0, full_days + 1)
            at = _local_midnight(target) + rest
        else:
            # Exactly used up at the end of a working day: that day's midnight, as the day walk gives.
            target = self._nth_workday_after(d0, full_days)
            at = _local_midnight(target + 1)
        return Deadline(at, self._estimated(d0, target))

    def add_working_days(self, start: dt.datetime, days: float) -> Deadline:
        return self.add_working_seconds(start, days * DAY)

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working time in seconds from ``start`` to ``end`` (negative if end is earlier)."""
        if end < start:
            return -self.working_seconds_between(end, start)
        self._refresh()
        a, b = start.astimezone(_TZ), end.astimezone(_TZ)
        da, db = a.toordinal(), b.toordinal()
        self._ensure_years(a.year, b.year)
        if da == db:
            return (b - a).total_seconds() if self.day_info(a.date())[0] else 0.0
        total = dt.timedelta()
        if self.day_info(a.date())[0]:
            total += _local_midnight(da + 1) - a
        if self.day_info(b.date())[0]:
            total += b - _local_midnight(db)
        # Whole working days strictly between the two dates.
        between = bisect.bisect_left(self._workdays, db) - bisect.bisect_right(self._workdays, da)
        return total.total_seconds() + between * DAY


calendar = WorkCalendar()
