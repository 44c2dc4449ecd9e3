"""Health reporting, proven with a real Redis broker and a real Celery worker."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from hotline.tasks import HEARTBEAT_KEY, beat_heartbeat


@pytest.mark.worker
def test_real_worker_runs_the_heartbeat_and_healthz_sees_it(celery_worker_process, client):
    cache.delete_many([HEARTBEAT_KEY.format("worker"), HEARTBEAT_KEY.format("beat")])
    assert client.get("/healthz").json()["checks"]["worker"]["ok"] is False

    beat_heartbeat.delay()
    deadline = time.time() + 20
    while cache.get(HEARTBEAT_KEY.format("worker")) is None and time.time() < deadline:
        time.sleep(0.2)

    body = client.get("/healthz").json()
    assert body["checks"]["worker"]["ok"] is True
    assert body["checks"]["beat"]["age_seconds"] < 30
    assert body["status"] in ("ok", "degraded")  # degraded only for missing holiday data


def test_healthz_flags_missing_holiday_data_without_failing(db, client, settings):
    body = client.get("/healthz").json()
    calendar_check = body["checks"]["calendar"]
    assert calendar_check["ok"] is True
    # chinese-calendar ships data up to its release year; the next year is reported, not fatal.
    assert isinstance(calendar_check["holiday_data_missing"], list)
