"""GET /healthz: the state of the database, the broker, the worker, beat and the holiday calendar."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone

from hotline.tasks import HEARTBEAT_KEY
from hotline.workcalendar import calendar

# Beat enqueues the heartbeat every 30 s; two missed beats mean something is wrong.
STALE_AFTER = 90


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}


def _broker() -> dict:
    from hotline.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}


def _heartbeat(name: str) -> dict:
    try:
        stamp = cache.get(HEARTBEAT_KEY.format(name))
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}
    if stamp is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = time.time() - float(stamp)
    return {"ok": age < STALE_AFTER, "age_seconds": round(age, 1)}


def _calendar() -> dict:
    year = timezone.localdate().year
    missing = [y for y in (year, year + 1) if not calendar.has_data_for(y)]
    # Missing data is a warning, not a failure: deadlines still get the weekends-only rule.
    return {"ok": True, "holiday_data_missing": missing}


def _routing() -> dict:
    try:
        from routing.services import active_model

        loaded = active_model.get()
    except Exception as exc:  # a health probe reports every failure, it never raises
        return {"ok": False, "error": str(exc)[:200]}
    # No usable model is degraded service (everything waits for a dispatcher), not an outage.
    return {
        "ok": loaded is not None,
        "model_version": loaded.version if loaded else None,
        **({"error": active_model.error} if loaded is None else {}),
    }


def healthz(request) -> JsonResponse:
    checks = {
        "database": _database(),
        "broker": _broker(),
        "worker": _heartbeat("worker"),
        "beat": _heartbeat("beat"),
        "calendar": _calendar(),
        "routing": _routing(),
    }
    healthy = checks["database"]["ok"] and checks["broker"]["ok"]
    body = {
        "status": "ok" if healthy and all(c["ok"] for c in checks.values()) else ("degraded" if healthy else "down"),
        "checks": checks,
        "debug": settings.DEBUG,
    }
    return JsonResponse(body, status=200 if healthy else 503)
