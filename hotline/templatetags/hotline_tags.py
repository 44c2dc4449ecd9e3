"""Template helpers: badges coloured from choices, deadline countdowns, masking and the role nav."""

from __future__ import annotations

import datetime as dt

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from hotline.choices import LIVE_CLOCK_STATES, AssignmentRole, ClockState, Role
from hotline.phones import mask_phone as _mask_phone

register = template.Library()

# The colour names used in hotline.choices; anything else falls back to gray so a typo in a
# COLOURS table can never inject an arbitrary class name into the page.
BADGE_COLOURS = frozenset({"blue", "amber", "red", "green", "teal", "indigo", "orange", "purple", "gray"})


def _colour(name: str | None) -> str:
    return name if name in BADGE_COLOURS else "gray"


@register.simple_tag
def badge(label, colour: str | None = None):
    """<span class="badge badge-blue">待派单</span>; the label is escaped like any other value."""
    return format_html('<span class="badge badge-{}">{}</span>', _colour(colour), label)


@register.filter
def badge_class(colour: str | None) -> str:
    return f"badge-{_colour(colour)}"


def _span_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)}分钟"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}小时"
    return f"{hours // 24}天"


@register.filter
def remaining(due: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """“剩余3小时” before the due time, “超期2天” after it (calendar time, as a person reads it)."""
    if not due:
        return ""
    now = now or timezone.now()
    seconds = (due - now).total_seconds()
    if seconds >= 0:
        return "剩余" + _span_text(seconds)
    return "超期" + _span_text(-seconds)


@register.filter
def deadline_colour(due: dt.datetime | None, warn: dt.datetime | None = None) -> str:
    """green while more than 25% of the time is left, amber after that, red once due.

    The clock's warn_at is fixed at 75% of its (working) time when it starts, so "now < warn_at"
    is exactly "more than a quarter left", counted the way the deadline itself was.
    """
    if not due:
        return "gray"
    now = timezone.now()
    if now >= due:
        return "red"
    if warn is not None and now >= warn:
        return "amber"
    return "green"


@register.filter
def mask_phone(phone: str) -> str:
    return _mask_phone(phone or "")


# Navigation per role (the brief's table). Admins get everything plus the Django admin.
_NAV = {
    "intake": ("intake", "受理"),
    "dispatch": ("dispatch_queue", "派单队列"),
    "workbench": ("workbench", "工作台"),
    "supervise": ("supervise", "督办审核"),
    "audit": ("access_log", "访问日志"),
    "callbacks": ("callback_queue", "电话回访"),
    "search": ("ticket_search", "查询"),
    "scores": ("score_dashboard", "考核"),
    "exemptions": ("exemption_list", "免责审核"),
}
_ROLE_NAV = {
    Role.OPERATOR: ["intake", "callbacks", "search"],
    Role.DISPATCHER: ["dispatch", "search", "scores"],
    Role.HANDLER: ["workbench", "search", "scores"],
    Role.MANAGER: ["workbench", "search", "scores"],
    Role.SUPERVISOR: ["supervise", "callbacks", "exemptions", "search", "scores"],
    Role.AUDITOR: ["audit", "search", "scores"],
    Role.ADMIN: ["intake", "dispatch", "callbacks", "supervise", "exemptions", "audit", "search", "scores"],
}


@register.simple_tag(takes_context=True)
def nav_items(context) -> list[dict]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    current = getattr(getattr(request, "resolver_match", None), "url_name", "")
    items = []
    for key in _ROLE_NAV.get(user.role, ["search"]):
        url_name, label = _NAV[key]
        active = current == url_name or (key == "scores" and current in ("score_unit", "score_rankings"))
        items.append({"url": reverse(url_name), "label": label, "active": active})
    if user.role == Role.ADMIN:
        items.append({"url": reverse("admin:index"), "label": "系统管理", "active": False})
    return items


@register.simple_tag
def role_badge(assignment):
    return badge(assignment.get_role_display(), AssignmentRole.colour_of(assignment.role))


@register.simple_tag
def deadline(due, warn=None, state=None):
    """A live clock shows its countdown; a finished one shows its verdict (按时完成/超期完成/已停止)."""
    if not due:
        return "—"
    if state and state not in LIVE_CLOCK_STATES:
        label = ClockState(state).label if state in ClockState.values else state
        return badge(label, ClockState.colour_of(state))
    return badge(remaining(due), deadline_colour(due, warn))


_FIELD_LABELS = {"caller_name": "姓名", "caller_phone": "电话", "caller_id": "来电号码", "address": "地址"}


@register.filter
def field_labels(fields) -> str:
    """AccessLog.fields (model field names) as the auditor reads them: 姓名、电话."""
    return "、".join(_FIELD_LABELS.get(name, name) for name in fields or [])
