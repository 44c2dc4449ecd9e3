"""Dispatch (派单), sub-dispatch (下派) and returns (退单)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from hotline.choices import (
    ACTIVE_ASSIGNMENT_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    ClockKind,
    EventKind,
    RequestKind,
    TicketStatus,
    UnitKind,
)
from hotline.errors import Conflict, InvalidInput
from hotline.models import Assignment, Clock, Ticket, TicketRequest, Unit, User
from hotline.services.base import (
    check_unit_action,
    request_decide,
    request_pending,
    require,
    require_reason,
    ticket_lock,
)
from hotline.services.clocks import (
    clock_start,
    clocks_build_for_assignment,
    clocks_finish,
    clocks_start_for_assignment,
    clocks_stop,
)
from hotline.services.events import event_record
from hotline.text import clean_text
from hotline.workflow import Action, check

# 直派: a ticket sent straight to a street or township gives its district a supervising copy.
_DIRECT_KINDS = frozenset({UnitKind.STREET, UnitKind.TOWNSHIP})


def _check_dispatchable(unit: Unit, field: str) -> None:
    if not unit.is_active:
        raise InvalidInput.field(field, f"“{unit}”已停用，不能派单。")
    if unit.kind in (UnitKind.HUB, UnitKind.COMMUNITY):
        raise InvalidInput.field(field, f"不能直接派给“{unit}”：社区由街道下派，热线中心不承办。")


def _assignment(
    *,
    ticket: Ticket,
    unit: Unit,
    role: str,
    actor: User,
    now: dt.datetime,
    note: str = "",
    parent: Assignment | None = None,
) -> Assignment:
    return Assignment(
        ticket=ticket,
        unit=unit,
        role=role,
        parent=parent,
        dispatched_by=actor,
        dispatched_at=now,
        note=note,
    )


def _assign(
    *,
    ticket: Ticket,
    unit: Unit,
    role: str,
    actor: User,
    now: dt.datetime,
    note: str = "",
    parent: Assignment | None = None,
) -> Assignment:
    assignment = _assignment(ticket=ticket, unit=unit, role=role, actor=actor, now=now, note=note, parent=parent)
    assignment.save(force_insert=True)
    clocks_start_for_assignment(assignment)
    return assignment


def assignments_save(assignments: list[Assignment]) -> list[Clock]:
    """Insert new assignments and their clocks: one statement for the parts, one for all the clocks."""
    Assignment.objects.bulk_create(assignments)
    clocks = [clock for a in assignments for clock in clocks_build_for_assignment(a)]
    return Clock.objects.bulk_create(clocks) if clocks else []


@dataclass
class DispatchPlan:
    """What a dispatch will write, decided (and checked) before anything is written."""

    assignments: list[Assignment]  # unsaved, in order: the lead, new assisting units, the district's copy
    promoted: Assignment | None  # the assisting part the new lead unit held, to be ended
    payload: dict


def dispatch_plan(
    *,
    ticket: Ticket,
    actor: User,
    lead_unit: Unit,
    assist_units: list[Unit],
    note: str,
    now: dt.datetime,
    live: dict[int, Assignment],
) -> DispatchPlan:
    """The parts a dispatch creates. ``live`` maps unit id → the ticket's parts still at work."""
    _check_dispatchable(lead_unit, "lead_unit")
    for unit in assist_units:
        _check_dispatchable(unit, "assist_units")
    if lead_unit in assist_units:
        raise InvalidInput.field("assist_units", "主办单位不能同时是协办单位。")
    if len(set(assist_units)) != len(assist_units):
        raise InvalidInput.field("assist_units", "协办单位有重复。")
    # A unit holds one live part at a time: an assisting unit made lead ends its assisting part; one
    # named to assist again keeps the part (and clocks) it has.
    parts = [_assignment(ticket=ticket, unit=lead_unit, role=AssignmentRole.LEAD, actor=actor, now=now, note=note)]
    for unit in assist_units:
        if unit.pk not in live:
            parts.append(
                _assignment(ticket=ticket, unit=unit, role=AssignmentRole.ASSIST, actor=actor, now=now, note=note)
            )
    copy = None
    if (
        lead_unit.kind in _DIRECT_KINDS
        and lead_unit.parent_id
        and lead_unit.parent not in assist_units
        and lead_unit.parent_id not in live
    ):
        copy = lead_unit.parent
        parts.append(_assignment(ticket=ticket, unit=copy, role=AssignmentRole.COPY, actor=actor, now=now, note=note))
    payload = {"lead": lead_unit.code, "assist": [u.code for u in assist_units], "copy": copy.code if copy else None}
    return DispatchPlan(parts, live.get(lead_unit.pk), payload)


def mark_dispatched(ticket: Ticket, lead_unit: Unit, now: dt.datetime) -> None:
    ticket.status = TicketStatus.DISPATCHED
    ticket.lead_unit = lead_unit
    ticket.dispatched_at = now
    ticket.signed_at = None


def _dispatch_units(
    *, ticket: Ticket, actor: User, lead_unit: Unit, assist_units: list[Unit], note: str, now: dt.datetime
) -> dict:
    # Units still at work on the ticket (assisting units outlive a return of the lead).
    live = {a.unit_id: a for a in ticket.assignments.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES)}
    plan = dispatch_plan(
        ticket=ticket, actor=actor, lead_unit=lead_unit, assist_units=assist_units, note=note, now=now, live=live
    )
    if plan.promoted is not None:
        Assignment.objects.filter(pk=plan.promoted.pk).update(status=AssignmentStatus.WITHDRAWN, ended_at=now)
        clocks_stop(Clock.objects.filter(assignment=plan.promoted), at=now)
    assignments_save(plan.assignments)
    mark_dispatched(ticket, lead_unit, now)
    return plan.payload


@transaction.atomic
def ticket_dispatch(
    *,
    ticket: Ticket,
    actor: User,
    lead_unit: Unit,
    assist_units: Iterable[Unit] = (),
    note: str = "",
    now: dt.datetime | None = None,
) -> Ticket:
    """派单: one lead unit, any assisting units, each with its own clocks from this moment."""
    ticket = ticket_lock(ticket)
    require(Action.DISPATCH, ticket=ticket, actor=actor)
    check(Action.DISPATCH, status=ticket.status)
    now = now or timezone.now()
    before = ticket.status
    payload = _dispatch_units(
        ticket=ticket, actor=actor, lead_unit=lead_unit, assist_units=list(assist_units), note=clean_text(note), now=now
    )
    ticket.save(update_fields=["status", "lead_unit", "dispatched_at", "signed_at", "updated_at"])
    clocks_finish(ticket.clocks.filter(kind=ClockKind.DISPATCH), at=now)
    event_record(
        at=now,
        ticket=ticket,
        kind=EventKind.DISPATCHED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        unit=lead_unit,
        reason=clean_text(note),
        payload=payload,
    )
    return ticket


@transaction.atomic
def ticket_subdispatch(*, ticket: Ticket, actor: User, unit: Unit, note: str = "") -> Assignment:
    """下派: a unit manager hands the work to a child unit (street → community) and stays accountable."""
    ticket = ticket_lock(ticket)
    own = check_unit_action(Action.SUBDISPATCH, ticket=ticket, actor=actor)
    if unit.parent_id != actor.unit_id:
        raise InvalidInput.field("unit", f"只能下派给本单位的下级单位，“{unit}”不是。")
    if not unit.is_active:
        raise InvalidInput.field("unit", f"“{unit}”已停用。")
    if ticket.assignments.filter(
        unit=unit, status__in=[AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED, AssignmentStatus.REPLIED]
    ).exists():
        raise Conflict(f"已下派给“{unit}”，无需重复下派。")
    assignment = _assign(
        ticket=ticket,
        unit=unit,
        role=AssignmentRole.SUB,
        actor=actor,
        now=timezone.now(),
        note=clean_text(note),
        parent=own,
    )
    event_record(
        ticket=ticket,
        kind=EventKind.SUBDISPATCHED,
        actor=actor,
        from_status=ticket.status,
        unit=unit,
        reason=clean_text(note),
        payload={"from": own.unit.code, "to": unit.code},
    )
    return assignment


@transaction.atomic
def ticket_request_return(
    *, ticket: Ticket, actor: User, reason: str, suggested_unit: Unit | None = None
) -> TicketRequest:
    """退单申请: the unit believes the ticket is not its job. Its clocks keep running meanwhile."""
    ticket = ticket_lock(ticket)
    assignment = check_unit_action(Action.REQUEST_RETURN, ticket=ticket, actor=actor)
    reason = require_reason(reason, what="退单理由")
    if suggested_unit is not None and suggested_unit.pk == assignment.unit_id:
        raise InvalidInput.field("suggested_unit", "建议承办单位不能是本单位。")
    request = TicketRequest.objects.create(
        ticket=ticket,
        assignment=assignment,
        kind=RequestKind.RETURN,
        reason=reason,
        from_status=ticket.status,
        suggested_unit=suggested_unit,
        requested_by=actor,
    )
    assignment.status = AssignmentStatus.RETURN_REQUESTED
    assignment.save(update_fields=["status"])
    before = ticket.status
    if assignment.role == AssignmentRole.LEAD:
        ticket.status = TicketStatus.RETURN_REQUESTED
        ticket.save(update_fields=["status", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.RETURN_REQUESTED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        unit=assignment.unit,
        reason=reason,
        payload={"request": request.pk, "suggested_unit": getattr(suggested_unit, "code", None)},
    )
    return request


@transaction.atomic
def ticket_approve_return(
    *,
    ticket: Ticket,
    actor: User,
    reason: str,
    new_unit: Unit | None = None,
    assist_units: Iterable[Unit] = (),
    request_id: int | None = None,
) -> Ticket:
    """Approve a return: the old unit's part ends; the new unit (if named) starts with fresh clocks."""
    ticket = ticket_lock(ticket)
    require(Action.APPROVE_RETURN, ticket=ticket, actor=actor)
    check(Action.APPROVE_RETURN, status=ticket.status)
    request = request_pending(ticket, RequestKind.RETURN, request_id)
    reason = require_reason(reason, what="审核意见")
    old = request.assignment
    if new_unit is not None and new_unit.pk == old.unit_id:
        raise InvalidInput.field("new_unit", "改派单位不能是申请退单的单位。")
    now = timezone.now()
    request_decide(request, actor=actor, approved=True, reason=reason, now=now)
    old.status = AssignmentStatus.RETURNED
    old.ended_at = now
    old.save(update_fields=["status", "ended_at"])
    clocks_stop(Clock.objects.filter(assignment=old), at=now)
    old.sub_assignments.filter(
        status__in=[AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED, AssignmentStatus.REPLIED]
    ).update(status=AssignmentStatus.WITHDRAWN, ended_at=now)
    before = ticket.status
    payload: dict = {"request": request.pk, "returned_by": old.unit.code}
    if old.role == AssignmentRole.LEAD:
        ticket.assignments.filter(role=AssignmentRole.COPY, ended_at__isnull=True).update(
            status=AssignmentStatus.WITHDRAWN, ended_at=now
        )
        if new_unit is not None:
            payload |= _dispatch_units(
                ticket=ticket, actor=actor, lead_unit=new_unit, assist_units=list(assist_units), note=reason, now=now
            )
        else:
            ticket.status = TicketStatus.RECEIVED
            ticket.lead_unit = None
            ticket.signed_at = None
            clock_start(ticket=ticket, kind=ClockKind.DISPATCH, start=now)
        ticket.save(update_fields=["status", "lead_unit", "dispatched_at", "signed_at", "updated_at"])
    elif new_unit is not None:
        _check_dispatchable(new_unit, "new_unit")
        if ticket.assignments.filter(unit=new_unit, status__in=ACTIVE_ASSIGNMENT_STATUSES).exists():
            raise InvalidInput.field("new_unit", f"“{new_unit}”已在承办该工单，请选择其他单位。")
        _assign(ticket=ticket, unit=new_unit, role=AssignmentRole.ASSIST, actor=actor, now=now, note=reason)
        payload["assist"] = [new_unit.code]
    event_record(
        ticket=ticket,
        kind=EventKind.RETURN_APPROVED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        unit=old.unit,
        reason=reason,
        payload=payload,
    )
    return ticket


@transaction.atomic
def ticket_reject_return(*, ticket: Ticket, actor: User, reason: str, request_id: int | None = None) -> Ticket:
    """Reject a return: the ticket goes back to the unit; its clocks never stopped."""
    ticket = ticket_lock(ticket)
    require(Action.REJECT_RETURN, ticket=ticket, actor=actor)
    check(Action.REJECT_RETURN, status=ticket.status)
    request = request_pending(ticket, RequestKind.RETURN, request_id)
    reason = require_reason(reason, what="驳回理由")
    now = timezone.now()
    request_decide(request, actor=actor, approved=False, reason=reason, now=now)
    assignment = request.assignment
    assignment.status = AssignmentStatus.SIGNED if assignment.signed_at else AssignmentStatus.DISPATCHED
    assignment.save(update_fields=["status"])
    before = ticket.status
    if assignment.role == AssignmentRole.LEAD and request.from_status:
        ticket.status = request.from_status
        ticket.save(update_fields=["status", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.RETURN_REJECTED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        unit=assignment.unit,
        reason=reason,
        payload={"request": request.pk},
    )
    return ticket
