"""The supervisor page (督办审核): pending requests, bad-callback reviews and overdue reply clocks."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from hotline import selectors
from hotline.choices import LIVE_CLOCK_STATES, ClockKind, RequestKind, TicketStatus
from hotline.models import Callback, Clock, Ticket, TicketRequest
from hotline.views.actions import build_form, button_of
from hotline.views.helpers import SUPERVISE_ROLES, role_required
from hotline.workflow import Action

REQUEST_LIMIT = 200
REVIEW_LIMIT = 100
OVERDUE_LIMIT = 200

# Inline forms per request kind; approving a return needs a unit list, so it loads on demand.
INLINE = {
    RequestKind.EXTENSION: (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION),
    RequestKind.RETURN: (Action.REJECT_RETURN,),
    RequestKind.TERMINATION: (Action.APPROVE_TERMINATION, Action.REJECT_TERMINATION),
}
ON_DEMAND = {RequestKind.RETURN: (Action.APPROVE_RETURN,)}


@dataclass
class Item:
    dom_id: str
    ticket: Ticket
    req: TicketRequest | None = None
    forms: list[dict] = field(default_factory=list)
    on_demand: list[dict] = field(default_factory=list)
    last_callback: Callback | None = None


def _form(slug, ticket, user, fixed, current) -> dict:
    key = f"r{fixed.pk}" if fixed is not None else f"t{ticket.pk}"
    form = (
        current.form
        if current is not None and current.slug == slug
        else build_form(slug, ticket=ticket, user=user, fixed_request=fixed, auto_id=f"id_supervise_{key}_{slug}_%s")
    )
    return {"slug": slug, "button": button_of(slug), "form": form, "danger": slug.startswith("reject")}


def request_item(req: TicketRequest, user, current=None) -> Item:
    item = Item(dom_id=f"req-{req.pk}", ticket=req.ticket, req=req)
    for slug in INLINE.get(req.kind, ()):
        item.forms.append(_form(slug, req.ticket, user, req, current))
    for slug in ON_DEMAND.get(req.kind, ()):
        if current is not None and current.slug == slug:
            item.forms.insert(0, _form(slug, req.ticket, user, req, current))
        else:
            item.on_demand.append({"slug": slug, "button": button_of(slug)})
    return item


def review_item(ticket: Ticket, user, current=None) -> Item:
    callbacks = getattr(ticket, "callback_list", None)
    if callbacks is None:
        callbacks = list(ticket.callbacks.order_by("id"))
    return Item(
        dom_id=f"review-{ticket.pk}",
        ticket=ticket,
        last_callback=callbacks[-1] if callbacks else None,
        forms=[_form(slug, ticket, user, None, current) for slug in (Action.REOPEN, Action.CLOSE)],
    )


@role_required(*SUPERVISE_ROLES)
def supervise(request: HttpRequest) -> HttpResponse:
    user = request.user
    reqs = list(selectors.pending_requests().select_related("ticket__lead_unit")[:REQUEST_LIMIT])
    items = [request_item(r, user) for r in reqs]
    groups = [
        {"kind": kind, "label": f"{kind.label}申请", "items": [i for i in items if i.req.kind == kind]}
        for kind in (RequestKind.EXTENSION, RequestKind.RETURN, RequestKind.TERMINATION)
    ]
    reviews = list(
        selectors.tickets_visible_to(user)
        .filter(status=TicketStatus.REVIEW)
        .select_related("lead_unit", "category__parent")
        .prefetch_related(Prefetch("callbacks", queryset=Callback.objects.order_by("id"), to_attr="callback_list"))
        .order_by("id")[:REVIEW_LIMIT]
    )
    overdue = list(
        Clock.objects.filter(kind=ClockKind.REPLY, state__in=LIVE_CLOCK_STATES, due_at__lte=timezone.now())
        .select_related("ticket", "assignment__unit")
        .order_by("assignment__unit__kind", "assignment__unit__code", "due_at")[:OVERDUE_LIMIT]
    )
    return render(
        request,
        "supervise/supervise.html",
        {
            "groups": groups,
            "request_count": len(reqs),
            "request_limit": REQUEST_LIMIT,
            "reviews": [review_item(t, user) for t in reviews],
            "review_limit": REVIEW_LIMIT,
            "overdue": overdue,
            "overdue_limit": OVERDUE_LIMIT,
        },
    )


def render_supervise_item(request: HttpRequest, ticket: Ticket, outcome) -> HttpResponse:
    """One request or review card after an action: done, or redrawn with the form and its errors."""
    fixed = outcome.form.fixed_request
    dom_id = f"req-{fixed.pk}" if fixed is not None else f"review-{ticket.pk}"
    if outcome.ok:
        return render(request, "supervise/_done.html", {"dom_id": dom_id, "message": outcome.message})
    if fixed is not None:
        req = selectors.pending_requests().filter(pk=fixed.pk).first()
        if req is None:  # decided meanwhile by someone else: say so instead of a dead form
            return render(
                request,
                "supervise/_done.html",
                {
                    "dom_id": dom_id,
                    "message": outcome.message or "该申请已处理。",
                    "error": True,
                },
                status=outcome.status if outcome.submitted else 409,
            )
        return render(
            request,
            "supervise/_request.html",
            {"item": request_item(req, request.user, outcome)},
            status=outcome.status,
        )
    return render(
        request, "supervise/_review.html", {"item": review_item(ticket, request.user, outcome)}, status=outcome.status
    )
