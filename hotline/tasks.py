"""Celery tasks: thin, idempotent, given ids; the work happens in services."""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "hotline:heartbeat:{}"


@shared_task(name="hotline.tasks.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Beat schedules this every 30 s and a worker runs it: one fresh stamp proves both are alive."""
    cache.set(HEARTBEAT_KEY.format("beat"), time.time(), timeout=3600)
    cache.set(HEARTBEAT_KEY.format("worker"), time.time(), timeout=3600)
