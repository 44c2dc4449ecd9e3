"""Template context every page needs: the user's role flags and the navigation."""

from __future__ import annotations

from django.conf import settings


def hotline(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "is_hub": bool(user and user.is_authenticated and user.is_hub),
        "is_unit": bool(user and user.is_authenticated and user.is_unit_staff),
    }
