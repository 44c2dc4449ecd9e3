"""The dispatcher queue (派单队列): new tickets and tickets whose lead unit asked to return them."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, Subquery, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hotline import selectors
from hotline.choices import ClockKind, RequestKind, RequestStatus, TicketStatus
from hotline.models import Ticket, TicketRequest
from hotline.views.helpers import DISPATCH_ROLES, percent, role_required, with_deadlines
from hotline.views.supervisor import request_item
from routing.models import RoutingDecision

# The queue never counts the whole table; it shows the oldest rows and links to search for more.
QUEUE_LIMIT = 100


def _annotated(qs):
    return with_deadlines(qs, kind=ClockKind.DISPATCH, ref="ticket", prefix="dispatch")


def _attach_returns(rows: list[Ticket]) -> None:
    pending = (
        TicketRequest.objects.filter(kind=RequestKind.RETURN, status=RequestStatus.PENDING)
        .select_related("assignment__unit", "suggested_unit", "requested_by")
        .order_by("id")
    )
    prefetch_related_objects(rows, Prefetch("requests", queryset=pending, to_attr="pending_returns"))


def _attach_decisions(rows: list[Ticket]) -> None:
    """Each waiting ticket's latest routing decision as ``t.routing``, in one query for the page.

    The latest id per ticket comes from a correlated subquery on routing_ticket_idx (ticket, -id);
    unlike DISTINCT ON it also works on the SQLite fallback. A ticket sent back by a unit keeps
    its old suggestion out of the way (that unit is the one returning it).
    """
    waiting = [t.pk for t in rows if t.status == TicketStatus.RECEIVED]
    newest = RoutingDecision.objects.filter(ticket_id=OuterRef("ticket_id")).order_by("-id").values("id")[:1]
    latest = (
        RoutingDecision.objects.filter(ticket_id__in=waiting, id=Subquery(newest)).defer("tokens") if waiting else []
    )
    by_ticket = {d.ticket_id: d for d in latest}
    for d in by_ticket.values():
        d.confident = d.confidence >= d.threshold  # type: ignore[attr-defined]
        d.confidence_pct, d.threshold_pct = percent(d.confidence), percent(d.threshold)  # type: ignore[attr-defined]
    for t in rows:
        t.routing = by_ticket.get(t.pk)  # type: ignore[attr-defined]  # like prefetch's to_attr


@role_required(*DISPATCH_ROLES)
def dispatch_queue(request: HttpRequest) -> HttpResponse:
    rows = list(_annotated(selectors.dispatcher_queue())[: QUEUE_LIMIT + 1])
    more = len(rows) > QUEUE_LIMIT
    rows = rows[:QUEUE_LIMIT]
    _attach_returns(rows)
    _attach_decisions(rows)
    # An assisting unit's return leaves the ticket's status alone, so it is not a queue row;
    # list it separately or nobody at the hub would ever see it.
    assist_returns = [
        request_item(r, request.user)
        for r in selectors.pending_requests(RequestKind.RETURN).exclude(ticket__status=TicketStatus.RETURN_REQUESTED)[
            :QUEUE_LIMIT
        ]
    ]
    return render(
        request,
        "dispatch/queue.html",
        {
            "rows": rows,
            "more": more,
            "limit": QUEUE_LIMIT,
            "assist_returns": assist_returns,
        },
    )


def render_queue_item(request: HttpRequest, ticket: Ticket, outcome) -> HttpResponse:
    """One queue row after an action: still waiting (with the form or its errors) or done."""
    row = _annotated(selectors.dispatcher_queue()).filter(pk=ticket.pk).first()
    if row is not None:
        _attach_returns([row])
        _attach_decisions([row])
    return render(
        request,
        "dispatch/_row.html",
        {
            "t": row,
            "ticket": ticket,
            "slug": outcome.slug,
            "form": None if outcome.ok or row is None else outcome.form,
            "notice": outcome.message if outcome.ok else "",
            "error": outcome.message if not outcome.ok and row is None else "",
        },
        status=outcome.status,
    )
