"""Ticket search (查询): filters and keyset pagination; phones are masked in every list."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hotline import search, selectors, services
from hotline.choices import AccessAction
from hotline.forms import TicketSearchForm
from hotline.phones import mask_phone
from hotline.services.privacy import CONFIDENTIAL_MARK


@login_required
@require_GET
def ticket_search(request: HttpRequest) -> HttpResponse:
    form = TicketSearchForm(request.GET or None)
    size = settings.HOTLINE["PAGE_SIZE"]
    user = request.user
    if form.is_bound and not form.is_valid():
        return render(request, "tickets/search.html", {"form": form, "rows": [], "page": None}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    page = selectors.tickets_search(
        user,
        q=data.get("q", ""),
        number=data.get("number", ""),
        phone=data.get("phone", ""),
        status=data.get("status", ""),
        unit=_pk(data.get("unit")),
        category=_pk(data.get("category")),
        district=_pk(data.get("district")),
        street=_pk(data.get("street")),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        before=data.get("before"),
        size=size,
    )
    if data.get("phone"):
        services.access_log_record(
            user=user,
            action=AccessAction.SEARCH,
            query=f"phone={mask_phone(data['phone'])}",
            row_count=len(page.items),
            request=request,
        )
    rows = [{"t": t, "phone": _list_phone(user, t)} for t in page.items]
    return render(
        request,
        "tickets/search.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "first_page": bool(data.get("before")),
            # Only filler words (问题、处理…) or digits: not stored, so nothing can match; say so.
            "unsearchable": not search.is_searchable(data.get("q", "")),
        },
    )


def _pk(obj) -> int | None:
    return obj.pk if obj is not None else None


def _list_phone(user, ticket) -> str:
    # Lists never show a full number, to anyone; a unit does not even see a confidential caller's mask.
    if ticket.confidential and not user.is_hub:
        return CONFIDENTIAL_MARK
    return mask_phone(ticket.caller_phone)
