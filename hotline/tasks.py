"""Celery tasks: thin, idempotent, given ids; the work happens in services."""

from __future__ import annotations

import datetime as dt
import logging
import time

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "hotline:heartbeat:{}"


@shared_task(name="hotline.tasks.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Beat schedules this every 30 s and a worker runs it: one fresh stamp proves both are alive."""
    cache.set(HEARTBEAT_KEY.format("beat"), time.time(), timeout=3600)
    cache.set(HEARTBEAT_KEY.format("worker"), time.time(), timeout=3600)


@shared_task(
    name="hotline.tasks.sweep_clocks",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=60,
    max_retries=5,
    soft_time_limit=240,
    time_limit=300,
)
def sweep_clocks() -> dict:
    """Every minute from beat. Idempotent: a duplicate or retried run finds nothing left to fire."""
    from hotline.services.deadlines import clocks_sweep

    result = clocks_sweep().as_dict()
    if any(result[k] for k in ("warned", "breached", "escalated")):
        logger.info("clock sweep %s", result)
    return result


@shared_task(
    name="hotline.tasks.send_sms",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
    soft_time_limit=30,
    time_limit=60,
)
def send_sms(message_id: int) -> str:
    """Send one outbox message. A duplicate delivery finds it claimed or sent and does nothing."""
    from hotline.services.sms import sms_send

    outcome = sms_send(message_id)
    if outcome == "rate_limited":
        send_sms.apply_async((message_id,), countdown=1)
    return outcome


# The soft limit must be set with the hard one: the global soft limit (240 s) above a task's hard
# limit makes Celery refuse to queue the task at all, so beat could never run this sweep.
@shared_task(
    name="hotline.tasks.sweep_sms_outbox", ignore_result=True, acks_late=True, soft_time_limit=90, time_limit=120
)
def sweep_sms_outbox() -> dict:
    from hotline.services.sms import sms_outbox_sweep

    return sms_outbox_sweep()


@shared_task(
    name="hotline.tasks.refresh_rollups",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
    soft_time_limit=240,
    time_limit=300,
)
def refresh_rollups() -> dict:
    """Fold queued events into the rollups. Idempotent: days are recomputed whole, and a run that
    finds another one holding the lock leaves the queue for the next."""
    from hotline.rollups import rollups_refresh

    result = rollups_refresh().as_dict()
    if result["events"]:
        logger.info("rollups %s", result)
    return result


@shared_task(name="hotline.tasks.refresh_problems", ignore_result=True, acks_late=True, time_limit=600)
def refresh_problems() -> int:
    """每月一题 candidates for the current month (and the previous one, which keeps settling)."""
    from django.utils import timezone

    from hotline.rollups import month_start, problems_refresh

    this_month = month_start(timezone.localdate())
    last_month = month_start(this_month - dt.timedelta(days=1))
    return sum(len(problems_refresh(m)) for m in (last_month, this_month))


def refresh_rollups_soon() -> None:
    """After a rating commits: fold it in now rather than at the next beat, if the broker answers.

    A broker outage only delays the dashboards; the queue row is already committed with the event.
    """
    try:
        refresh_rollups.apply_async(retry=False, countdown=1)
    except Exception:
        logger.warning("rollup refresh not enqueued; beat will fold the rating in", exc_info=True)
