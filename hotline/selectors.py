"""Reads: what a user may see, the work queues, search with keyset pagination."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from hotline.choices import (
    ACTIVE_ASSIGNMENT_STATUSES,
    LIVE_CLOCK_STATES,
    AssignmentRole,
    AssignmentStatus,
    ClockKind,
    RequestStatus,
    Role,
    TicketStatus,
)
from hotline.errors import NotFound
from hotline.models import Assignment, Clock, Ticket, TicketRequest, User
from hotline.services.base import callback_recorded, visible_to
from hotline.workflow import TRANSITIONS, Action


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    """Hub roles see every ticket; a unit sees only tickets it holds a live part in."""
    qs = Ticket.objects.all()
    if user.is_hub:
        return qs
    if not user.is_unit_staff or user.unit_id is None:
        return qs.none()
    return qs.filter(
        Exists(
            Assignment.objects.filter(
                ticket=OuterRef("pk"), unit_id=user.unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES
            )
        )
    )


def ticket_get(user: User, pk: int | str) -> Ticket:
    """One ticket, or NotFound — the same answer whether it does not exist or is another unit's."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    ticket = (
        tickets_visible_to(user)
        .select_related("category__parent", "district", "street", "community", "lead_unit", "master", "created_by")
        .filter(pk=pk)
        .first()
    )
    if ticket is None:
        raise NotFound()
    return ticket


def ticket_get_by_number(user: User, number: str) -> Ticket:
    ticket = tickets_visible_to(user).filter(number=number.strip()).first()
    if ticket is None:
        raise NotFound()
    return ticket


def ticket_detail_related(ticket: Ticket):
    """Assignments (with clocks), requests and events for the ticket page, in a few queries."""
    assignments = (
        ticket.assignments.select_related("unit", "signed_by", "replied_by", "parent__unit")
        .prefetch_related(Prefetch("clocks", queryset=Clock.objects.order_by("kind", "id")))
        .order_by("id")
    )
    requests = ticket.requests.select_related(
        "assignment__unit", "requested_by", "decided_by", "suggested_unit"
    ).order_by("-id")
    events = ticket.events.select_related("actor", "actor_unit", "unit").order_by("id")
    return assignments, requests, events


def ticket_allowed_actions(ticket: Ticket, user: User) -> list[str]:
    """Actions this user could take now; the page offers exactly these."""
    if not visible_to(ticket, user):
        return []
    allowed: list[str] = []
    own = None
    if user.is_unit_staff:
        own = (
            ticket.assignments.filter(unit_id=user.unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES)
            .exclude(role=AssignmentRole.COPY)
            .first()
        )
    pending = set(ticket.requests.filter(status=RequestStatus.PENDING).values_list("kind", flat=True))
    for action, rule in TRANSITIONS.items():
        if user.role not in rule.roles:
            continue
        if rule.assignment_sources and user.is_unit_staff:
            if own is None or own.status not in rule.assignment_sources:
                continue
            sources = rule.sources if own.role == AssignmentRole.LEAD else (rule.assist_sources or rule.sources)
            if own.role == AssignmentRole.SUB and action not in (Action.SIGN, Action.CONTACT, Action.REPLY):
                continue
            if action == Action.CONTACT and own.contacted_at:
                continue
            if action == Action.REQUEST_TERMINATION and own.role != AssignmentRole.LEAD:
                continue
            if action == Action.SUBDISPATCH and not user.unit.children.filter(is_active=True).exists():
                continue
        else:
            sources = rule.sources
        if ticket.status not in sources:
            continue
        if action in (Action.APPROVE_RETURN, Action.REJECT_RETURN) and "return" not in pending:
            continue
        if action in (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION) and "extension" not in pending:
            continue
        if action == Action.REQUEST_EXTENSION and "extension" in pending:
            continue
        if action == Action.CALLBACK and callback_recorded(ticket):
            continue
        if (
            action == Action.CLOSE
            and ticket.status == TicketStatus.REVIEW
            and user.role not in (Role.SUPERVISOR, Role.ADMIN)
        ):
            continue
        allowed.append(action)
    return allowed


# --- queues ---------------------------------------------------------------------------------


def dispatcher_queue() -> QuerySet[Ticket]:
    """Tickets waiting for the hub: new ones and those whose unit asked to return them."""
    return (
        Ticket.objects.filter(status__in=[TicketStatus.RECEIVED, TicketStatus.RETURN_REQUESTED])
        .select_related("category__parent", "district", "street", "lead_unit")
        .annotate(
            dispatch_due=Subquery(
                Clock.objects.filter(ticket=OuterRef("pk"), kind=ClockKind.DISPATCH, state__in=LIVE_CLOCK_STATES)
                .order_by("-id")
                .values("due_at")[:1]
            )
        )
        .order_by("id")
    )


WORKBENCH_TABS = {
    "to_sign": "待签收",
    "in_hand": "办理中",
    "due_soon": "即将到期",
    "overdue": "已超期",
    "replied": "已反馈",
}


def workbench(user: User, tab: str, *, now: dt.datetime | None = None) -> QuerySet[Assignment]:
    """A unit's assignments for one workbench tab, the most urgent first."""
    now = now or timezone.now()
    reply_due = Subquery(
        Clock.objects.filter(assignment=OuterRef("pk"), kind=ClockKind.REPLY).order_by("-id").values("due_at")[:1]
    )
    reply_state = Subquery(
        Clock.objects.filter(assignment=OuterRef("pk"), kind=ClockKind.REPLY).order_by("-id").values("state")[:1]
    )
    qs = (
        Assignment.objects.filter(unit_id=user.unit_id)
        .exclude(role=AssignmentRole.COPY)
        .select_related("ticket__category__parent", "ticket__street", "ticket__district")
        .annotate(reply_due=reply_due, reply_state=reply_state)
    )
    if tab == "to_sign":
        qs = qs.filter(status=AssignmentStatus.DISPATCHED)
    elif tab == "in_hand":
        qs = qs.filter(status__in=[AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED])
    elif tab == "due_soon":
        qs = qs.filter(
            status__in=[AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED],
            reply_due__gt=now,
            reply_due__lte=now + dt.timedelta(hours=24),
        )
    elif tab == "overdue":
        qs = qs.filter(
            status__in=[AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED],
            reply_due__lte=now,
        )
    elif tab == "replied":
        return qs.filter(status=AssignmentStatus.REPLIED).order_by("-replied_at")
    else:
        raise NotFound("没有这个工作台分页。")
    return qs.order_by("reply_due", "id")


def workbench_counts(user: User) -> dict[str, int]:
    return {tab: workbench(user, tab).count() for tab in WORKBENCH_TABS if tab != "replied"}


def pending_requests(kind: str | None = None) -> QuerySet[TicketRequest]:
    qs = TicketRequest.objects.filter(status=RequestStatus.PENDING).select_related(
        "ticket", "assignment__unit", "requested_by", "suggested_unit"
    )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("requested_at")


def caller_recent_tickets(user: User, phone: str, *, days: int = 30, limit: int = 10) -> QuerySet[Ticket]:
    since = timezone.now() - dt.timedelta(days=days)
    return (
        tickets_visible_to(user)
        .filter(caller_phone=phone, created_at__gte=since)
        .select_related("category", "lead_unit")
        .order_by("-created_at")[:limit]
    )


# --- search with keyset pagination ---------------------------------------------------------


@dataclass
class Page:
    items: list
    next_cursor: int | None


def tickets_search(
    user: User,
    *,
    q: str = "",
    number: str = "",
    phone: str = "",
    status: str = "",
    unit: int | None = None,
    category: int | None = None,
    district: int | None = None,
    street: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    before: int | None = None,
    size: int = 25,
) -> Page:
    """Newest first, keyed on id: the next page is WHERE id < last_id, so no COUNT(*) and no OFFSET."""
    qs = tickets_visible_to(user)
    if number:
        qs = qs.filter(number__startswith=number.strip())
    if phone:
        qs = qs.filter(caller_phone=phone)
        if not user.is_hub:
            # A unit must not learn which confidential tickets a number made (GB/T 33358).
            qs = qs.exclude(confidential=True)
    if status:
        qs = qs.filter(status=status)
    if unit:
        qs = qs.filter(
            Q(lead_unit_id=unit)
            | Exists(
                Assignment.objects.filter(ticket=OuterRef("pk"), unit_id=unit, status__in=ACTIVE_ASSIGNMENT_STATUSES)
            )
        )
    if category:
        qs = qs.filter(Q(category_id=category) | Q(category__parent_id=category))
    if district:
        qs = qs.filter(district_id=district)
    if street:
        qs = qs.filter(street_id=street)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(content__icontains=q) | Q(address__icontains=q))
    if before:
        qs = qs.filter(id__lt=before)
    rows = list(qs.select_related("category__parent", "district", "street", "lead_unit").order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=rows[-1].id if more and rows else None)


def callback_queue(*, now: dt.datetime | None = None, limit: int = 200) -> QuerySet[Ticket]:
    """Replied tickets the operators must phone: no SMS rating within the window, the rating SMS
    failed, or no mobile number to send it to. Oldest reply first."""
    from django.conf import settings

    from hotline.models import SmsMessage, SmsStatus

    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.HOTLINE["CALLBACK_AFTER_HOURS"])
    failed_sms = SmsMessage.objects.filter(ticket=OuterRef("pk"), template="rating_link", status=SmsStatus.FAILED)
    any_sms = SmsMessage.objects.filter(ticket=OuterRef("pk"), template="rating_link")
    return (
        Ticket.objects.filter(status=TicketStatus.REPLIED)
        .filter(Q(replied_at__lte=cutoff) | Exists(failed_sms) | ~Exists(any_sms))
        .select_related("lead_unit", "category__parent")
        .annotate(attempts=Count("callback_attempts"))
        .order_by("replied_at")[:limit]
    )
