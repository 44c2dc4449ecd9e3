"""Starting, stopping and moving clocks. Due times are computed once, when a clock starts."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Value, When
from django.utils import timezone

from hotline import refcache
from hotline.choices import LIVE_CLOCK_STATES, AssignmentRole, ClockKind, ClockState, EventKind
from hotline.models import Assignment, Clock, Ticket, User
from hotline.services.events import event_record
from hotline.sla import WARN_FRACTION, Limit, Terms, schedule, terms_for
from hotline.workcalendar import calendar

UNIT_CLOCKS = (ClockKind.SIGN, ClockKind.CONTACT, ClockKind.REPLY)


def clock_build(
    *,
    ticket: Ticket,
    kind: str,
    assignment: Assignment | None = None,
    start: dt.datetime | None = None,
    limit: Limit | None = None,
) -> Clock:
    """An unsaved clock under the policy in force at ``start`` (callers save it, alone or in bulk)."""
    start = start or timezone.now()
    unit_kind = assignment.unit.kind if assignment is not None else ""
    terms = terms_for(
        priority=ticket.priority, kind=kind, at=start, category=refcache.category_of(ticket), unit_kind=unit_kind
    )
    if limit is not None:
        terms = Terms(limit, terms.warn_fraction, None)
    plan = schedule(start, terms.limit, terms.warn_fraction)
    return Clock(
        ticket=ticket,
        assignment=assignment,
        kind=kind,
        started_at=start,
        warn_at=plan.warn_at,
        due_at=plan.due_at,
        limit_value=terms.limit.value,
        limit_unit=terms.limit.unit,
        policy_id=terms.policy_id,
        calendar_estimated=plan.estimated,
    )


def clock_start(
    *,
    ticket: Ticket,
    kind: str,
    assignment: Assignment | None = None,
    start: dt.datetime | None = None,
    limit: Limit | None = None,
) -> Clock:
    """Start a clock under the policy in force now; its due and warning times never move on their own."""
    clock = clock_build(ticket=ticket, kind=kind, assignment=assignment, start=start, limit=limit)
    clock.save(force_insert=True)
    return clock


def clocks_build_for_assignment(assignment: Assignment, *, kinds=UNIT_CLOCKS) -> list[Clock]:
    """Lead and assisting units each run their own clocks; copies and sub-dispatches do not."""
    if assignment.role not in (AssignmentRole.LEAD, AssignmentRole.ASSIST):
        return []
    return [
        clock_build(ticket=assignment.ticket, kind=k, assignment=assignment, start=assignment.dispatched_at)
        for k in kinds
    ]


def clocks_start_for_assignment(assignment: Assignment, *, kinds=UNIT_CLOCKS) -> list[Clock]:
    clocks = clocks_build_for_assignment(assignment, kinds=kinds)
    return Clock.objects.bulk_create(clocks) if clocks else []


def clock_finish(clock: Clock, *, at: dt.datetime | None = None) -> None:
    """The work the clock measured is done: met if in time, late if after the due time."""
    at = at or timezone.now()
    clock.state = ClockState.MET if at <= clock.due_at else ClockState.LATE
    clock.stopped_at = at
    clock.save(update_fields=["state", "stopped_at"])


def clocks_finish(qs, *, at: dt.datetime | None = None) -> int:
    """``clock_finish`` for every live clock in ``qs``, in one UPDATE (met or late per row)."""
    at = at or timezone.now()
    return qs.filter(state__in=LIVE_CLOCK_STATES).update(
        state=Case(When(due_at__gte=at, then=Value(ClockState.MET)), default=Value(ClockState.LATE)),
        stopped_at=at,
    )


def clocks_stop(qs, *, at: dt.datetime | None = None) -> int:
    """Stop without a verdict (returned, merged, terminated): the clock no longer applies."""
    return qs.filter(state__in=LIVE_CLOCK_STATES).update(state=ClockState.STOPPED, stopped_at=at or timezone.now())


def clock_move_due(
    clock: Clock, *, due_at: dt.datetime, actor: User | None, reason: str, estimated: bool = False
) -> None:
    """Move a running clock's due time (approved extension) and say so on the ticket."""
    old_due = clock.due_at
    clock.due_at = due_at
    if clock.limit_unit == "workdays":
        # Same rule as sla.schedule: the warning sits at 75% of the clock's *working* time.
        span = calendar.working_seconds_between(clock.started_at, due_at)
        warn = calendar.add_working_seconds(clock.started_at, span * WARN_FRACTION)
        clock.warn_at = warn.at
        estimated = estimated or warn.estimated
    else:
        clock.warn_at = clock.started_at + (due_at - clock.started_at) * WARN_FRACTION
    clock.calendar_estimated = clock.calendar_estimated or estimated
    now = timezone.now()
    if clock.state in LIVE_CLOCK_STATES:
        clock.state = (
            ClockState.RUNNING if now < clock.warn_at else (ClockState.WARNED if now < due_at else ClockState.BREACHED)
        )
    clock.save(update_fields=["due_at", "warn_at", "state", "calendar_estimated"])
    event_record(
        ticket=clock.ticket,
        kind=EventKind.DUE_CHANGED,
        actor=actor,
        from_status=clock.ticket.status,
        unit=clock.assignment.unit if clock.assignment_id else None,
        reason=reason,
        payload={"clock": clock.kind, "from": old_due.isoformat(), "to": due_at.isoformat()},
    )
