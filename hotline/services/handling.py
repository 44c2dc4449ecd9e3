"""A unit's own work: sign for (签收), contact the resident, reply (反馈) and ask for more time (延期)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hotline.choices import (
    LIVE_CLOCK_STATES,
    AssignmentRole,
    AssignmentStatus,
    ClockKind,
    ClockState,
    EventKind,
    HandlingResult,
    RequestKind,
    RequestStatus,
    TicketStatus,
)
from hotline.errors import Conflict, IllegalTransition, InvalidInput
from hotline.models import Assignment, Clock, Ticket, TicketRequest, User
from hotline.services.base import (
    check_unit_action,
    request_decide,
    request_pending,
    require,
    require_reason,
    ticket_lock,
    unit_assignment,
)
from hotline.services.clocks import clock_move_due, clocks_finish
from hotline.services.events import event_record
from hotline.services.rating import rating_invite
from hotline.text import clean_text
from hotline.workcalendar import calendar
from hotline.workflow import Action, check


@transaction.atomic
def ticket_sign(*, ticket: Ticket, actor: User, now: dt.datetime | None = None) -> Assignment:
    """签收. Two handlers clicking at once: the row lock makes one win; the other is told who did."""
    ticket = ticket_lock(ticket)
    require(Action.SIGN, ticket=ticket, actor=actor)
    assignment = unit_assignment(ticket, actor)
    if assignment.status == AssignmentStatus.SIGNED and assignment.signed_by_id:
        when = timezone.localtime(assignment.signed_at).strftime("%H:%M")
        raise Conflict(f"该工单已由{assignment.signed_by}于{when}签收，无需重复签收。", code="already_signed")
    assignment = check_unit_action(Action.SIGN, ticket=ticket, actor=actor)
    now = now or timezone.now()
    assignment.status = AssignmentStatus.SIGNED
    assignment.signed_by = actor
    assignment.signed_at = now
    assignment.save(update_fields=["status", "signed_by", "signed_at"])
    clocks_finish(assignment.clocks.filter(kind=ClockKind.SIGN), at=now)
    before = ticket.status
    if assignment.role == AssignmentRole.LEAD:
        ticket.status = TicketStatus.HANDLING
        ticket.signed_at = now
        ticket.save(update_fields=["status", "signed_at", "updated_at"])
    event_record(
        at=now,
        ticket=ticket,
        kind=EventKind.SIGNED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        unit=assignment.unit,
        payload={"role": assignment.role},
    )
    return assignment


@transaction.atomic
def ticket_contact(*, ticket: Ticket, actor: User, note: str = "", now: dt.datetime | None = None) -> Assignment:
    """The handler has reached the resident (首次联系); stops the contact clock."""
    ticket = ticket_lock(ticket)
    assignment = check_unit_action(Action.CONTACT, ticket=ticket, actor=actor)
    if assignment.contacted_at:
        raise Conflict("已登记过联系诉求人。", code="already_contacted")
    now = now or timezone.now()
    assignment.contacted_at = now
    assignment.save(update_fields=["contacted_at"])
    clocks_finish(assignment.clocks.filter(kind=ClockKind.CONTACT), at=now)
    event_record(
        at=now,
        ticket=ticket,
        kind=EventKind.CONTACTED,
        actor=actor,
        from_status=ticket.status,
        unit=assignment.unit,
        reason=clean_text(note),
    )
    return assignment


@transaction.atomic
def ticket_reply(
    *, ticket: Ticket, actor: User, result: str, text: str, contacted: bool, now: dt.datetime | None = None
) -> Assignment:
    """反馈: the handling result and the text read to the resident. The lead's reply ends the unit work."""
    ticket = ticket_lock(ticket)
    assignment = check_unit_action(Action.REPLY, ticket=ticket, actor=actor)
    errors: dict[str, list[str]] = {}
    if result not in HandlingResult.values:
        errors["result"] = ["请选择办理结果（已解决/部分解决/已解释说明/无法解决）。"]
    text = clean_text(text)
    limit = settings.HOTLINE["TICKET_TEXT_MAX"]
    if len(text) < 5:
        errors["text"] = ["请填写答复内容（至少5个字），它将告知诉求人。"]
    elif len(text) > limit:
        errors["text"] = [f"答复内容不能超过{limit}字。"]
    if errors:
        raise InvalidInput("反馈信息有误，请按提示修改。", fields=errors)
    now = now or timezone.now()
    assignment.status = AssignmentStatus.REPLIED
    assignment.replied_by = actor
    assignment.replied_at = now
    assignment.reply_result = result
    assignment.reply_text = text
    assignment.reply_contacted = bool(contacted)
    if contacted and not assignment.contacted_at:
        assignment.contacted_at = now
    assignment.save(
        update_fields=[
            "status",
            "replied_by",
            "replied_at",
            "reply_result",
            "reply_text",
            "reply_contacted",
            "contacted_at",
        ]
    )
    # 按时办结率 counts replies made before the reply clock ran out (a breached clock stays breached).
    reply_clock = assignment.clocks.filter(kind=ClockKind.REPLY).order_by("-id").first()
    on_time = reply_clock is None or (
        reply_clock.state not in (ClockState.BREACHED, ClockState.LATE) and now <= reply_clock.due_at
    )
    clocks_finish(assignment.clocks.filter(kind=ClockKind.REPLY), at=now)
    if contacted:
        clocks_finish(assignment.clocks.filter(kind=ClockKind.CONTACT), at=now)
    # A reply makes a pending extension moot.
    assignment.requests.filter(kind=RequestKind.EXTENSION, status=RequestStatus.PENDING).update(
        status=RequestStatus.CANCELLED, decided_at=now, decision_reason="已反馈，申请自动撤销"
    )
    before = ticket.status
    if assignment.role == AssignmentRole.LEAD:
        ticket.status = TicketStatus.REPLIED
        ticket.replied_at = now
        ticket.save(update_fields=["status", "replied_at", "updated_at"])
        # The resident, not the unit, says whether it is solved: an SMS link goes out after commit.
        rating_invite(ticket=ticket, now=now)
    event_record(
        at=now,
        ticket=ticket,
        kind=EventKind.REPLIED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        unit=assignment.unit,
        reason=text,
        payload={"result": result, "contacted": bool(contacted), "role": assignment.role, "on_time": on_time},
    )
    return assignment


def _reply_clock(assignment: Assignment) -> Clock | None:
    return (
        assignment.clocks.select_for_update()
        .filter(kind=ClockKind.REPLY, state__in=LIVE_CLOCK_STATES)
        .order_by("-id")
        .first()
    )


@transaction.atomic
def ticket_request_extension(*, ticket: Ticket, actor: User, days: int, reason: str) -> TicketRequest:
    """延期申请: asked before the reply deadline, with a reason and the working days wanted."""
    ticket = ticket_lock(ticket)
    assignment = check_unit_action(Action.REQUEST_EXTENSION, ticket=ticket, actor=actor)
    reason = require_reason(reason, what="延期理由")
    cap = settings.HOTLINE["EXTENSION_CAP_WORKING_DAYS"]
    left = cap - assignment.extended_days
    if not isinstance(days, int) or days < 1:
        raise InvalidInput.field("days", "延期天数应为正整数（工作日）。")
    if days > left:
        raise InvalidInput.field("days", f"累计延期不能超过{cap}个工作日，本单最多还可申请{left}个工作日。")
    clock = _reply_clock(assignment)
    if clock is None:
        raise IllegalTransition("该工单没有正在计时的办结时限，无需延期。")
    if timezone.now() >= clock.due_at:
        raise IllegalTransition("已超过办结时限，不能再申请延期；请尽快办理并反馈。")
    if assignment.requests.filter(kind=RequestKind.EXTENSION, status=RequestStatus.PENDING).exists():
        raise Conflict("已有待审核的延期申请，请等待审核结果。", code="pending_exists")
    request = TicketRequest.objects.create(
        ticket=ticket,
        assignment=assignment,
        kind=RequestKind.EXTENSION,
        reason=reason,
        from_status=ticket.status,
        requested_days=days,
        requested_by=actor,
    )
    event_record(
        ticket=ticket,
        kind=EventKind.EXTENSION_REQUESTED,
        actor=actor,
        from_status=ticket.status,
        unit=assignment.unit,
        reason=reason,
        payload={"request": request.pk, "days": days},
    )
    return request


@transaction.atomic
def ticket_approve_extension(
    *, ticket: Ticket, actor: User, reason: str, request_id: int | None = None, days: int | None = None
) -> Ticket:
    """Approve: the reply due time moves by working days, never past the total cap."""
    ticket = ticket_lock(ticket)
    require(Action.APPROVE_EXTENSION, ticket=ticket, actor=actor)
    check(Action.APPROVE_EXTENSION, status=ticket.status)
    request = request_pending(ticket, RequestKind.EXTENSION, request_id)
    reason = require_reason(reason, what="审核意见")
    granted = request.requested_days if days is None else days
    if not granted or granted < 1 or granted > (request.requested_days or 0):
        raise InvalidInput.field("days", f"批准天数应在1至{request.requested_days}个工作日之间。")
    assignment = request.assignment
    cap = settings.HOTLINE["EXTENSION_CAP_WORKING_DAYS"]
    if assignment.extended_days + granted > cap:
        raise InvalidInput.field("days", f"累计延期不能超过{cap}个工作日。")
    clock = _reply_clock(assignment)
    if clock is None:
        raise IllegalTransition("该承办单位没有正在计时的办结时限。")
    now = timezone.now()
    request_decide(request, actor=actor, approved=True, reason=reason, now=now)
    new_due = calendar.add_working_days(clock.due_at, granted)
    clock_move_due(
        clock,
        due_at=new_due.at,
        actor=actor,
        reason=f"批准延期{granted}个工作日：{reason}",
        estimated=new_due.estimated,
    )
    assignment.extended_days += granted
    assignment.save(update_fields=["extended_days"])
    event_record(
        ticket=ticket,
        kind=EventKind.EXTENSION_APPROVED,
        actor=actor,
        from_status=ticket.status,
        unit=assignment.unit,
        reason=reason,
        payload={"request": request.pk, "days": granted, "due_at": new_due.at.isoformat()},
    )
    return ticket


@transaction.atomic
def ticket_reject_extension(*, ticket: Ticket, actor: User, reason: str, request_id: int | None = None) -> Ticket:
    ticket = ticket_lock(ticket)
    require(Action.REJECT_EXTENSION, ticket=ticket, actor=actor)
    check(Action.REJECT_EXTENSION, status=ticket.status)
    request = request_pending(ticket, RequestKind.EXTENSION, request_id)
    reason = require_reason(reason, what="驳回理由")
    request_decide(request, actor=actor, approved=False, reason=reason, now=timezone.now())
    event_record(
        ticket=ticket,
        kind=EventKind.EXTENSION_REJECTED,
        actor=actor,
        from_status=ticket.status,
        unit=request.assignment.unit,
        reason=reason,
        payload={"request": request.pk},
    )
    return ticket
