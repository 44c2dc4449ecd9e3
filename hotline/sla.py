"""Deadline terms (时限): which limits apply to a clock, and when it warns and falls due.

Terms come from the SlaPolicy table (admin-editable, versioned by ``effective_from``); the
defaults of domain.md §4 are seeded into it by a migration and also kept here as the last
resort, so a clock always gets a deadline even with an empty table. Clocks store their
computed due and warning times when they start: a later policy change never moves them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.choices import ClockKind, Priority
from hotline.refcache import ReferenceCache
from hotline.workcalendar import DAY, calendar

WARN_FRACTION = 0.75  # yellow warning at 75% of a clock's time unless a policy says otherwise


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

    @classmethod
    def of(cls, value: int, unit: str) -> Limit:
        return cls(value * 60, "minutes") if unit == "hours" else cls(value, unit)


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
class Terms:
    limit: Limit
    warn_fraction: float
    policy_id: int | None


@dataclass(frozen=True)
class Schedule:
    warn_at: dt.datetime
    due_at: dt.datetime
    estimated: bool


class PolicyBook(ReferenceCache):
    """Active policies, cached per process (a policy edit is rare; clock starts are not) and reloaded
    when any reference row changes (hotline.refcache)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list = []

    def _load(self) -> None:
        from hotline.models import SlaPolicy

        # Matching needs the category's id only (``match`` compares ids), so no join.
        self._rows = list(SlaPolicy.objects.filter(is_active=True))

    def rows(self) -> list:
        return self.ready()._rows

    def match(self, *, priority: str, at: dt.datetime, category=None, unit_kind: str = ""):
        """The most specific policy in force at ``at``: exact category > its parent > any; unit kind > any."""
        cat_id = getattr(category, "pk", None)
        parent_id = getattr(category, "parent_id", None)
        best, best_key = None, None
        for p in self.rows():
            if p.priority != priority or p.effective_from > at:
                continue
            if p.category_id is None:
                cat_rank = 0
            elif p.category_id == cat_id:
                cat_rank = 2
            elif parent_id is not None and p.category_id == parent_id:
                cat_rank = 1
            else:
                continue
            if p.unit_kind and p.unit_kind != unit_kind:
                continue
            key = (cat_rank, 1 if p.unit_kind else 0, p.effective_from, p.pk)
            if best_key is None or key > best_key:
                best, best_key = p, key
        return best


policies = PolicyBook()


def terms_for(*, priority: str, kind: str, at: dt.datetime, category=None, unit_kind: str = "") -> Terms:
    policy = policies.match(priority=priority, at=at, category=category, unit_kind=unit_kind)
    if policy is None:
        return Terms(DEFAULT_TERMS[priority][kind], WARN_FRACTION, None)
    limit = Limit.of(getattr(policy, f"{kind}_value"), getattr(policy, f"{kind}_unit"))
    return Terms(limit, policy.warn_percent / 100, policy.pk)


def schedule(start: dt.datetime, limit: Limit, warn_fraction: float = WARN_FRACTION) -> Schedule:
    """Due and warning times for a clock of ``limit`` started at ``start``."""
    if limit.unit == "workdays":
        due = calendar.add_working_days(start, limit.value)
        warn = calendar.add_working_seconds(start, limit.value * DAY * warn_fraction)
        return Schedule(warn_at=warn.at, due_at=due.at, estimated=due.estimated or warn.estimated)
    span = dt.timedelta(minutes=limit.value)
    return Schedule(warn_at=start + span * warn_fraction, due_at=start + span, estimated=False)
