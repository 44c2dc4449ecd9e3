"""The unit workbench (工作台): a unit's assignments by tab, with the reply countdown."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from hotline import selectors
from hotline.models import Ticket
from hotline.views.helpers import reply_deadlines, unit_staff_required

ROW_LIMIT = 200


@unit_staff_required
def workbench(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab") or "to_sign"
    if tab not in selectors.WORKBENCH_TABS:
        raise Http404("没有这个工作台分页。")
    rows = list(reply_deadlines(selectors.workbench(request.user, tab))[: ROW_LIMIT + 1])
    counts = selectors.workbench_counts(request.user)
    tabs = [
        {"key": key, "label": label, "count": counts.get(key), "active": key == tab}
        for key, label in selectors.WORKBENCH_TABS.items()
    ]
    return render(
        request,
        "workbench/workbench.html",
        {
            "tab": tab,
            "tab_label": selectors.WORKBENCH_TABS[tab],
            "tabs": tabs,
            "rows": rows[:ROW_LIMIT],
            "more": len(rows) > ROW_LIMIT,
            "limit": ROW_LIMIT,
        },
    )


def _row(user, ticket: Ticket):
    for tab in ("to_sign", "in_hand", "replied"):
        row = reply_deadlines(selectors.workbench(user, tab)).filter(ticket_id=ticket.pk).first()
        if row is not None:
            return row
    return None


def render_workbench_row(request: HttpRequest, ticket: Ticket, outcome) -> HttpResponse:
    """The row redrawn in place: signed, or the reason it was not (a colleague signed first)."""
    return render(
        request,
        "workbench/_row.html",
        {
            "a": _row(request.user, ticket),
            "ticket": ticket,
            "notice": outcome.message if outcome.ok else "",
            "error": "" if outcome.ok else outcome.message,
        },
        status=outcome.status,
    )
