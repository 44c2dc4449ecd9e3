"""The end of a ticket: callback (回访), close (办结), reopen (重办) and terminate (终止)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from hotline.choices import (
    AssignmentRole,
    AssignmentStatus,
    CallbackChannel,
    ClockKind,
    EventKind,
    RequestKind,
    RequestStatus,
    Role,
    Satisfaction,
    TicketStatus,
)
from hotline.errors import Conflict, IllegalTransition, InvalidInput, NotAllowed
from hotline.models import Callback, Clock, Ticket, TicketRequest, User
from hotline.phones import is_mobile
from hotline.services.base import (
    callback_recorded,
    live_lead,
    request_decide,
    request_pending,
    require,
    require_reason,
    ticket_lock,
    unit_assignment,
)
from hotline.services.clocks import clock_start, clocks_stop
from hotline.services.events import event_record
from hotline.services.sms import sms_enqueue
from hotline.tasks import refresh_rollups_soon
from hotline.text import clean_text
from hotline.workflow import Action, check


def level5(*, resolved: bool | None, satisfaction: str) -> int | None:
    """The three answers on the national 好差评 scale (国办发〔2019〕51号): 5 非常满意 … 1 非常不满意."""
    if satisfaction == Satisfaction.SATISFIED:
        return 5 if resolved else 4
    if satisfaction == Satisfaction.BASIC:
        return 3
    if satisfaction == Satisfaction.DISSATISFIED:
        return 2 if resolved else 1
    return None


def _close(ticket: Ticket, *, now: dt.datetime, reason: str) -> None:
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.close_reason = reason[:200]
    clocks_stop(Clock.objects.filter(ticket=ticket), at=now)
    merged_callers_notify(ticket, now=now)


def merged_callers_notify(master: Ticket, *, now: dt.datetime) -> int:
    """Repeat callers whose tickets were merged into this one hear its outcome too (by SMS, through
    the outbox). One message per number: the master's own caller already got the rating link."""
    lead = live_lead(master)
    outcome = lead.get_reply_result_display() if lead is not None and lead.reply_result else "已办结"
    told = {master.caller_phone}
    sent = 0
    for child in Ticket.objects.filter(master=master).order_by("id"):
        if child.caller_phone in told or not is_mobile(child.caller_phone):
            continue
        told.add(child.caller_phone)
        sms_enqueue(
            phone=child.caller_phone,
            template="merged_outcome",
            params={"number": child.number, "master": master.number, "outcome": outcome},
            # Per closure: a master reopened and closed again sends its new outcome.
            dedupe_key=f"merged:{child.pk}:{now:%Y%m%d%H%M%S%f}",
            ticket=child,
        )
        sent += 1
    return sent


@transaction.atomic
def ticket_record_callback(
    *,
    ticket: Ticket,
    actor: User | None,
    contacted: bool | None,
    resolved: bool | None,
    satisfaction: str,
    comment: str = "",
    channel: str = CallbackChannel.PHONE,
    valid: bool = True,
    now: dt.datetime | None = None,
) -> Callback:
    """回访: the resident's three answers. A bad verdict sends the ticket to supervisor review.

    ``actor`` is None when the resident rates through the SMS link.
    """
    ticket = ticket_lock(ticket)
    if actor is not None:
        require(Action.CALLBACK, ticket=ticket, actor=actor)
    check(Action.CALLBACK, status=ticket.status)
    if callback_recorded(ticket):
        raise Conflict("该工单已完成回访，不能重复登记。", code="already_rated")
    if valid:
        errors: dict[str, list[str]] = {}
        if contacted is None:
            errors["contacted"] = ["请选择承办单位是否联系过您（是/否）。"]
        if resolved is None:
            errors["resolved"] = ["请选择问题是否解决（已解决/未解决）。"]
        if satisfaction not in Satisfaction.values:
            errors["satisfaction"] = ["请选择满意程度（满意/基本满意/不满意）。"]
        if errors:
            raise InvalidInput("回访信息不完整。", fields=errors)
    comment = clean_text(comment)
    if len(comment) > 1000:
        raise InvalidInput.field("comment", "评价意见不能超过1000字。")
    now = now or timezone.now()
    callback = Callback.objects.create(
        created_at=now,
        ticket=ticket,
        channel=channel,
        contacted=contacted,
        resolved=resolved,
        satisfaction=satisfaction if valid else "",
        level5=level5(resolved=resolved, satisfaction=satisfaction) if valid else None,
        comment=comment,
        valid=valid,
        recorded_by=actor,
    )
    before = ticket.status
    if callback.is_bad:
        ticket.status = TicketStatus.REVIEW
    elif ticket.status == TicketStatus.REPLIED:
        _close(ticket, now=now, reason="回访满意" if valid else "无效回访")
    ticket.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
    event_record(
        at=now,
        ticket=ticket,
        kind=EventKind.CALLBACK,
        actor=actor,
        # The rating counts for the lead unit whose reply it judges (the unit's 三率).
        unit=ticket.lead_unit,
        from_status=before,
        to_status=ticket.status,
        reason=comment,
        payload={
            "channel": channel,
            "contacted": contacted,
            "resolved": resolved,
            "satisfaction": satisfaction,
            "valid": valid,
        },
    )
    # The unit's score page should show the verdict within seconds, not at the next beat.
    transaction.on_commit(refresh_rollups_soon)
    return callback


@transaction.atomic
def ticket_close(*, ticket: Ticket, actor: User, reason: str = "") -> Ticket:
    """办结. Closing a ticket under review means the supervisor accepts the outcome, with a reason."""
    ticket = ticket_lock(ticket)
    require(Action.CLOSE, ticket=ticket, actor=actor)
    check(Action.CLOSE, status=ticket.status)
    if ticket.status == TicketStatus.REVIEW:
        if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise NotAllowed("差评复核中的工单只能由督办员决定办结或重办。")
        reason = require_reason(reason, what="认可办理结果的理由")
    reason = clean_text(reason) or "回访后办结"
    before = ticket.status
    _close(ticket, now=timezone.now(), reason=reason)
    ticket.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
    event_record(
        ticket=ticket, kind=EventKind.CLOSED, actor=actor, from_status=before, to_status=ticket.status, reason=reason
    )
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, actor: User, reason: str) -> Ticket:
    """重办: back to the same lead unit with a new reply clock (or to dispatch, if none handled it)."""
    ticket = ticket_lock(ticket)
    require(Action.REOPEN, ticket=ticket, actor=actor)
    check(Action.REOPEN, status=ticket.status)
    reason = require_reason(reason, what="重办理由")
    now = timezone.now()
    before = ticket.status
    lead = live_lead(ticket)
    payload: dict = {}
    if lead is not None:
        lead.status = AssignmentStatus.SIGNED
        lead.save(update_fields=["status"])
        clock_start(ticket=ticket, kind=ClockKind.REPLY, assignment=lead, start=now)
        ticket.status = TicketStatus.HANDLING
        payload["unit"] = lead.unit.code
    else:
        ticket.status = TicketStatus.RECEIVED
        clock_start(ticket=ticket, kind=ClockKind.DISPATCH, start=now)
    ticket.replied_at = None
    ticket.closed_at = None
    ticket.close_reason = ""
    ticket.save(update_fields=["status", "replied_at", "closed_at", "close_reason", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.REOPENED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        unit=lead.unit if lead else None,
        reason=reason,
        payload=payload,
    )
    return ticket


@transaction.atomic
def ticket_request_termination(*, ticket: Ticket, actor: User, reason: str) -> TicketRequest:
    """申请终止: unlawful requests, or a resident who refuses information the handling needs."""
    ticket = ticket_lock(ticket)
    require(Action.REQUEST_TERMINATION, ticket=ticket, actor=actor)
    check(Action.REQUEST_TERMINATION, status=ticket.status)
    assignment = None
    if actor.is_unit_staff:
        assignment = unit_assignment(ticket, actor)
        if assignment.role != AssignmentRole.LEAD:
            raise NotAllowed("只有主办单位可以申请终止。")
        check(Action.REQUEST_TERMINATION, status=ticket.status, assignment_status=assignment.status)
    reason = require_reason(reason, what="终止理由")
    request = TicketRequest.objects.create(
        ticket=ticket,
        assignment=assignment,
        kind=RequestKind.TERMINATION,
        reason=reason,
        from_status=ticket.status,
        requested_by=actor,
    )
    before = ticket.status
    ticket.status = TicketStatus.TERMINATION_REQUESTED
    ticket.save(update_fields=["status", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.TERMINATION_REQUESTED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        reason=reason,
        payload={"request": request.pk},
    )
    return request


@transaction.atomic
def ticket_decide_termination(*, ticket: Ticket, actor: User, approve: bool, reason: str) -> Ticket:
    ticket = ticket_lock(ticket)
    action = Action.APPROVE_TERMINATION if approve else Action.REJECT_TERMINATION
    require(action, ticket=ticket, actor=actor)
    check(action, status=ticket.status)
    request = request_pending(ticket, RequestKind.TERMINATION, None)
    reason = require_reason(reason, what="审核意见")
    now = timezone.now()
    request_decide(request, actor=actor, approved=approve, reason=reason, now=now)
    before = ticket.status
    if approve:
        ticket.status = TicketStatus.TERMINATED
        ticket.closed_at = now
        ticket.close_reason = reason[:200]
        clocks_stop(Clock.objects.filter(ticket=ticket), at=now)
        # Pending returns and extensions die with the ticket.
        ticket.requests.filter(status=RequestStatus.PENDING).update(
            status=RequestStatus.CANCELLED, decided_at=now, decision_reason="工单已终止"
        )
    else:
        if not request.from_status:
            raise IllegalTransition("无法恢复终止申请前的状态。")
        ticket.status = request.from_status
    ticket.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.TERMINATION_APPROVED if approve else EventKind.TERMINATION_REJECTED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        reason=reason,
        payload={"request": request.pk},
    )
    return ticket


def ticket_approve_termination(*, ticket: Ticket, actor: User, reason: str) -> Ticket:
    return ticket_decide_termination(ticket=ticket, actor=actor, approve=True, reason=reason)


def ticket_reject_termination(*, ticket: Ticket, actor: User, reason: str) -> Ticket:
    return ticket_decide_termination(ticket=ticket, actor=actor, approve=False, reason=reason)
