"""The deadline sweep on a real Redis broker and a real Celery worker process."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.utils import timezone

from hotline import services
from hotline.choices import ClockKind, ClockState, EventKind, Priority
from hotline.models import Clock, Ticket, TicketEvent
from hotline.tasks import sweep_clocks
from tests.worker import WorkerProcess

pytestmark = pytest.mark.worker


def wait_for(predicate, timeout: float = 60, every: float = 0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def breach_counts() -> dict[int, int]:
    counts: dict[int, int] = {}
    for clock_id in TicketEvent.objects.filter(kind=EventKind.CLOCK_BREACHED).values_list(
        "payload__clock_id", flat=True
    ):
        counts[clock_id] = counts.get(clock_id, 0) + 1
    return counts


def test_a_due_clock_fires_once_through_the_real_worker(celery_worker_process, city, flow):
    t0 = timezone.now() - dt.timedelta(hours=4)
    ticket = flow.new(priority=Priority.URGENT, now=t0)
    services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_a, now=t0)
    reply = Clock.objects.get(ticket=ticket, kind=ClockKind.REPLY)

    # Two deliveries of the same sweep (a duplicate from beat, or a retry): one effect.
    sweep_clocks.delay()
    sweep_clocks.delay()
    assert wait_for(lambda: Clock.objects.get(pk=reply.pk).state == ClockState.BREACHED)
    time.sleep(1.5)  # let the second delivery finish too
    assert breach_counts()[reply.pk] == 1
    assert Ticket.objects.get(pk=ticket.pk).supervise_level >= 1


@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_mid_batch_loses_and_duplicates_nothing(city, flow, monkeypatch):
    from hotline.celery import app

    t0 = timezone.now() - dt.timedelta(hours=4)
    ticket = flow.new(priority=Priority.URGENT, now=t0)
    with connection.cursor() as cursor:
        # 6,000 live clocks already past due: several batches of work for the sweep.
        cursor.execute(
            "INSERT INTO hotline_clock (ticket_id, kind, state, started_at, warn_at, due_at, limit_value, limit_unit,"
            " calendar_estimated, escalation_step) SELECT %s, 'sign', 'warned', now() - interval '4 hours',"
            " now() - interval '3 hours', now() - interval '2 hours', 30, 'minutes', false, 0"
            " FROM generate_series(1, 6000)",
            [ticket.pk],
        )
    total = Clock.objects.filter(state__in=[ClockState.RUNNING, ClockState.WARNED], due_at__lte=timezone.now()).count()
    app.control.purge()
    # Small batches and a short redelivery timeout, so the kill lands between commits and the
    # unacknowledged task comes back quickly.
    env = {"HOTLINE_SWEEP_BATCH": "200", "CELERY_VISIBILITY_TIMEOUT": "3"}
    monkeypatch.setattr("django.conf.settings.CELERY_BROKER_TRANSPORT_OPTIONS", {"visibility_timeout": 3})
    worker = WorkerProcess(name="kill-worker")
    worker.env.update(env)
    worker.start()
    try:
        sweep_clocks.delay()
        assert wait_for(lambda: TicketEvent.objects.filter(kind=EventKind.CLOCK_BREACHED).count() > 0, every=0.05)
        worker.kill()  # SIGKILL: no ack, no cleanup, possibly mid-transaction
        done_at_kill = TicketEvent.objects.filter(kind=EventKind.CLOCK_BREACHED).count()
    finally:
        worker.stop()
    assert 0 < done_at_kill < total, "the kill should land in the middle of the backlog"

    second = WorkerProcess(name="kill-worker-2")
    second.env.update(env)
    second.start()
    try:
        # The redelivered task (acks_late) or the next beat run finishes the job.
        sweep_clocks.delay()
        assert wait_for(lambda: Clock.objects.filter(state=ClockState.BREACHED).count() == total, timeout=90)
    finally:
        second.stop()
    counts = breach_counts()
    breached = list(Clock.objects.filter(state=ClockState.BREACHED).values_list("pk", flat=True))
    assert len(breached) == total
    assert all(counts.get(pk) == 1 for pk in breached), "every clock breached exactly once"
