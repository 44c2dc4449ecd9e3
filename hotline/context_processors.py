"""Template context every page needs: the user's role flags and the navigation."""

from __future__ import annotations

from django.conf import settings


def hotline(request) -> dict:
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    unread = 0
    if authenticated and not getattr(request, "htmx", False):
        from hotline.views.notifications import unread_count

        unread = unread_count(user)
    return {
        "unread_count": unread,
        "DEMO_MODE": settings.DEMO_MODE,
        "is_hub": authenticated and user.is_hub,
        "is_unit": authenticated and user.is_unit_staff,
    }
