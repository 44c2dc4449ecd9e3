"""The access log (访问日志) for auditors: who saw, revealed, searched or exported personal data."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hotline.forms import AccessLogSearchForm
from hotline.models import AccessLog
from hotline.views.helpers import AUDIT_ROLES, day_end, day_start, role_required

PAGE_SIZE = 50


@role_required(*AUDIT_ROLES)
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    form = AccessLogSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "audit/access_log.html", {"form": form, "rows": []}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    qs = AccessLog.objects.select_related("user", "unit", "ticket")
    if data.get("username"):
        qs = qs.filter(user__username=data["username"].strip())
    if data.get("number"):
        qs = qs.filter(ticket__number=data["number"].strip())
    if data.get("action"):
        qs = qs.filter(action=data["action"])
    if data.get("date_from"):
        qs = qs.filter(created_at__gte=day_start(data["date_from"]))
    if data.get("date_to"):
        qs = qs.filter(created_at__lt=day_end(data["date_to"]))
    if data.get("before"):
        qs = qs.filter(id__lt=data["before"])
    # Keyset on id, newest first: the next page starts below the last id shown; no COUNT, no OFFSET.
    rows = list(qs.order_by("-id")[: PAGE_SIZE + 1])
    next_cursor = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "audit/access_log.html",
        {
            "form": form,
            "rows": rows[:PAGE_SIZE],
            "next_cursor": next_cursor,
            "first_page": bool(data.get("before")),
        },
    )
