"""The bell: unread count on every page, the list, open-and-mark-read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hotline.errors import NotFound
from hotline.models import Notification
from hotline.services.notifications import notification_open, notifications_mark_all_read

PAGE = 30


def unread_count(user) -> int:
    # Served by the partial index notification_unread_idx; capped so a flood never costs a big count.
    return Notification.objects.filter(user=user, read_at__isnull=True).values("id")[:100].count()


@login_required
def bell(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/_bell.html", {"unread_count": unread_count(request.user)})


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    qs = Notification.objects.filter(user=request.user).select_related("ticket")
    if request.GET.get("unread"):
        qs = qs.filter(read_at__isnull=True)
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(id__lt=int(before))
    rows = list(qs.order_by("-id")[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return render(
        request,
        "notifications/list.html",
        {
            "notifications": rows,
            "next_cursor": rows[-1].id if more and rows else None,
            "unread_only": bool(request.GET.get("unread")),
            "unread_count": unread_count(request.user),
        },
    )


@login_required
def notification_go(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        note = notification_open(user=request.user, notification_id=pk)
    except NotFound:
        return redirect("notification_list")
    if note.ticket_id:
        return redirect("ticket_detail", pk=note.ticket_id)
    return redirect("notification_list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    notifications_mark_all_read(user=request.user)
    return redirect("notification_list")
