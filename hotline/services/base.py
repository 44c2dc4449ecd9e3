"""Helpers every write path shares: lock the ticket, check who acts, find the acting unit's part."""

from __future__ import annotations

import datetime as dt

from hotline.choices import (
    ACTIVE_ASSIGNMENT_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    EventKind,
    RequestKind,
    RequestStatus,
)
from hotline.errors import Conflict, IllegalTransition, NotAllowed, NotFound
from hotline.models import Assignment, Ticket, TicketRequest, User
from hotline.workflow import TRANSITIONS, Action, check


def ticket_lock(ticket: Ticket | int) -> Ticket:
    """Re-read the ticket under a row lock (call inside transaction.atomic).

    Racing writers queue here; the second one then sees the first one's result and its
    transition check fails with a clear message instead of overwriting it.
    """
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    try:
        return Ticket.objects.select_for_update().get(pk=pk)
    except Ticket.DoesNotExist as exc:
        raise NotFound() from exc


def visible_to(ticket: Ticket, user: User) -> bool:
    if user.is_hub:
        return True
    if user.unit_id is None:
        return False
    return ticket.assignments.filter(unit_id=user.unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES).exists()


def require(action: str, *, ticket: Ticket, actor: User) -> None:
    """The actor may see the ticket (else 404) and holds a role allowed to take ``action`` (else 403)."""
    if not visible_to(ticket, actor):
        if actor.is_unit_staff:
            # A unit whose part just ended (returned, withdrawn) knows the ticket exists: tell it why
            # it lost the race instead of a 404. A unit that never held it still gets NotFound.
            unit_assignment(ticket, actor, lock=False)
        raise NotFound()
    if actor.role not in TRANSITIONS[action].roles:
        raise NotAllowed(f"您的角色（{actor.get_role_display()}）不能{Action(action).label}。")


def unit_assignment(ticket: Ticket, actor: User, *, lock: bool = True) -> Assignment:
    """The acting unit's live part in the ticket; a lost race gets a message, not a 500."""
    qs = Assignment.objects.filter(ticket=ticket, unit_id=actor.unit_id).exclude(role=AssignmentRole.COPY)
    if lock:
        qs = qs.select_for_update()
    live = qs.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES).order_by("-id").first()
    if live is not None:
        return live
    ended = qs.order_by("-id").first()
    if ended is not None and ended.status == AssignmentStatus.RETURNED:
        raise IllegalTransition("该工单已退回，本单位不再承办。")
    if ended is not None:
        raise IllegalTransition("本单位对该工单的承办已结束。")
    raise NotFound()


def check_unit_action(action: str, *, ticket: Ticket, actor: User) -> Assignment:
    require(action, ticket=ticket, actor=actor)
    assignment = unit_assignment(ticket, actor)
    if assignment.role == AssignmentRole.SUB and action not in (Action.SIGN, Action.CONTACT, Action.REPLY):
        raise NotAllowed("下派单位只能签收、联系和反馈；退单、延期请由上级承办单位申请。")
    check(
        action,
        status=ticket.status,
        assignment_status=assignment.status,
        as_assist=assignment.role != AssignmentRole.LEAD,
    )
    return assignment


def require_reason(reason: str, field: str = "reason", *, what: str = "理由") -> str:
    from hotline.errors import InvalidInput

    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.field(field, f"请填写{what}。")
    if len(reason) > 2000:
        raise InvalidInput.field(field, f"{what}不能超过2000字。")
    return reason


def live_lead(ticket: Ticket) -> Assignment | None:
    return (
        ticket.assignments.filter(role=AssignmentRole.LEAD, status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .select_related("unit")
        .first()
    )


def callback_recorded(ticket: Ticket) -> bool:
    """A valid callback already rates the current outcome. A reopen asks the resident again."""
    rated = ticket.callbacks.filter(valid=True)
    reopened_at = (
        ticket.events.filter(kind=EventKind.REOPENED).order_by("-id").values_list("created_at", flat=True).first()
    )
    if reopened_at is not None:
        rated = rated.filter(created_at__gt=reopened_at)
    return rated.exists()


def request_pending(ticket: Ticket, kind: str, request_id: int | None) -> TicketRequest:
    qs = TicketRequest.objects.select_for_update(of=("self",)).filter(ticket=ticket, kind=kind)
    if request_id is not None:
        qs = qs.filter(pk=request_id)
    request = qs.filter(status=RequestStatus.PENDING).select_related("assignment__unit").order_by("id").first()
    if request is None:
        decided = qs.exclude(status=RequestStatus.PENDING).order_by("-decided_at").first()
        if decided is not None and decided.decided_by_id:
            raise Conflict(
                f"该{RequestKind(kind).label}申请已由{decided.decided_by}处理（{decided.get_status_display()}）。"
            )
        raise IllegalTransition(f"该工单没有待审核的{RequestKind(kind).label}申请。")
    return request


def request_decide(request: TicketRequest, *, actor: User, approved: bool, reason: str, now: dt.datetime) -> None:
    request.status = RequestStatus.APPROVED if approved else RequestStatus.REJECTED
    request.decided_by = actor
    request.decided_at = now
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
