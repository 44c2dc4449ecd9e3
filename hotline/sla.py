"""Deadline terms (时限) per priority: the defaults of domain.md §4.

Clocks store their computed due and warning times when they start, so a later change of
terms never moves a running clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.choices import ClockKind, Priority
from hotline.workcalendar import DAY, calendar

WARN_FRACTION = 0.75  # yellow warning at 75% of a clock's time


@dataclass(frozen=True)
class Limit:
    value: int
    unit: str  # "minutes" (clock time) or "workdays"

    def __str__(self) -> str:
        if self.unit == "workdays":
            return f"{self.value}个工作日"
        if self.value % 60 == 0:
            return f"{self.value // 60}小时"
        return f"{self.value}分钟"


def _h(hours: float) -> Limit:
    return Limit(int(hours * 60), "minutes")


def _wd(days: int) -> Limit:
    return Limit(days, "workdays")


DEFAULT_TERMS: dict[str, dict[str, Limit]] = {
    Priority.URGENT: {
        ClockKind.DISPATCH: _h(1),
        ClockKind.SIGN: _h(0.5),
        ClockKind.CONTACT: _h(1),
        ClockKind.REPLY: _h(2),
    },
    Priority.UTILITY: {
        ClockKind.DISPATCH: _h(2),
        ClockKind.SIGN: _h(1),
        ClockKind.CONTACT: _h(2),
        ClockKind.REPLY: _h(24),
    },
    Priority.GENERAL: {
        ClockKind.DISPATCH: _h(24),
        ClockKind.SIGN: _h(4),
        ClockKind.CONTACT: _h(24),
        ClockKind.REPLY: _wd(7),
    },
    Priority.COMPLEX: {
        ClockKind.DISPATCH: _h(24),
        ClockKind.SIGN: _h(4),
        ClockKind.CONTACT: _h(24),
        ClockKind.REPLY: _wd(15),
    },
}


@dataclass(frozen=True)
class Schedule:
    warn_at: dt.datetime
    due_at: dt.datetime
    estimated: bool


def limit_for(*, priority: str, kind: str) -> Limit:
    return DEFAULT_TERMS[priority][kind]


def schedule(start: dt.datetime, limit: Limit) -> Schedule:
    """Due and warning times for a clock of ``limit`` started at ``start``."""
    if limit.unit == "workdays":
        due = calendar.add_working_days(start, limit.value)
        warn = calendar.add_working_seconds(start, limit.value * DAY * WARN_FRACTION)
        return Schedule(warn_at=warn.at, due_at=due.at, estimated=due.estimated or warn.estimated)
    span = dt.timedelta(minutes=limit.value)
    return Schedule(warn_at=start + span * WARN_FRACTION, due_at=start + span, estimated=False)
