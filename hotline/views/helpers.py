"""Plumbing every page shares: role gates, DomainError → form errors, htmx detection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.utils import timezone

from hotline import selectors
from hotline.choices import ClockKind, Role
from hotline.errors import DomainError, NotFound
from hotline.models import Clock, Ticket
from hotline.workflow import CREATE_ROLES, TRANSITIONS, Action

# Who opens which page. A user outside the list gets a 404, as for a ticket they may not see:
# the page does not exist for them, and saying "forbidden" would only invite guessing.
INTAKE_ROLES = frozenset(CREATE_ROLES)
DISPATCH_ROLES = frozenset(TRANSITIONS[Action.DISPATCH].roles)
SUPERVISE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.ADMIN})


def role_required(*roles: str) -> Callable:
    allowed = frozenset(roles)

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if request.user.role not in allowed:
                raise Http404("页面不存在。")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def unit_staff_required(view):
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_unit_staff or request.user.unit_id is None:
            raise Http404("页面不存在。")
        return view(request, *args, **kwargs)

    return wrapped


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def ticket_or_404(user, pk) -> Ticket:
    """The ticket if this user may see it; otherwise the same 404 as for a ticket that does not exist."""
    try:
        return selectors.ticket_get(user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def apply_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Put a service's verdict on the form: field messages next to their fields, the rest on top."""
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for name, messages in exc.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)


def with_deadlines(qs: QuerySet, *, kind: str, ref: str = "assignment", prefix: str = "reply") -> QuerySet:
    """Add <prefix>_warn (the latest ``kind`` clock's warning time) for the countdown colour.

    The selectors annotate the due time; the 75% warning time comes from the same clock row so
    "green while more than a quarter is left" is measured in the clock's own (working) time.
    """
    clocks = Clock.objects.filter(**{ref: OuterRef("pk")}, kind=kind).order_by("-id")
    return qs.annotate(**{f"{prefix}_warn": Subquery(clocks.values("warn_at")[:1])})


def reply_deadlines(qs: QuerySet) -> QuerySet:
    return with_deadlines(qs, kind=ClockKind.REPLY)


def day_start(day: dt.date) -> dt.datetime:
    """Local midnight, so date filters compare against the indexed created_at column directly."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def day_end(day: dt.date) -> dt.datetime:
    return day_start(day + dt.timedelta(days=1))


def percent(value: float) -> str:
    """0.9953 → "99.5%": one decimal, so a 99.5% confidence never reads "100%" against a 99.9% threshold."""
    return f"{value * 100:.1f}".removesuffix(".0") + "%"
