"""A worker dies in the middle of sending an SMS: the task comes back, and nothing is sent twice.

The SMS task and the outbox code are the real ones; only the gateway is a test backend that
takes a second per message (FAULT_SMS_DELAY), so the test can kill a worker while a message is
in the gateway's hands, and that leaves a trace file the test reads after the worker is dead.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter

import pytest

from hotline import selectors
from hotline.models import SmsMessage, SmsStatus
from hotline.services import sms as sms_service
from tests.faults.harness import app_env, celery_worker, db_url, probe_app, read_sms_log, wait_for

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]

MESSAGES = 8
VISIBILITY_TIMEOUT = 3  # seconds until the broker hands an unacknowledged task to another worker


def begun(log, ref: str) -> bool:
    return any(e["event"] == "begin" and e["ref"] == ref for e in read_sms_log(log))


def test_killing_the_worker_mid_send_redelivers_the_task_and_sends_nothing_twice(
    city, flow, private_redis, fault_dir, monkeypatch
):
    """Eight residents' rating SMS are queued. The first worker is SIGKILLed (whole process group)
    while message 3 is inside the gateway call; a second worker then has its pool process SIGKILLed
    while message 6 is inside the gateway call.

    Both interrupted tasks are delivered again (acks_late: after the visibility timeout to the new
    worker; reject_on_worker_lost: at once to the surviving worker) and run again, and each finds
    its message claimed and does nothing, because the gateway may already have sent it.
    What was lost, asserted to be nothing: every other message reached the gateway exactly once,
    and the two interrupted ones are neither re-sent nor forgotten: the outbox sweep marks them
    failed and their tickets appear in the operators' phone-callback queue.
    """
    probe = probe_app(private_redis.url(0))
    # The real hand-off, aimed at the private broker, with task ids the worker log can be read by.
    monkeypatch.setattr(
        sms_service,
        "_hand_off",
        lambda pk: probe.send_task("hotline.tasks.send_sms", args=[pk], task_id=f"send-sms-{pk}"),
    )
    tickets = [flow.replied(caller_phone=f"1390000{n:04d}") for n in range(MESSAGES)]
    messages = list(SmsMessage.objects.order_by("pk").values_list("pk", "ticket_id"))
    assert [t for _, t in messages] == [t.pk for t in tickets]
    refs = [f"hotline-sms-{pk}" for pk, _ in messages]
    sms_log = fault_dir / "sms.jsonl"
    env = app_env(
        database_url=db_url(),
        redis=private_redis,
        HOTLINE_SMS_BACKEND="tests.faults.backends.RecordingBackend",
        FAULT_SMS_LOG=str(sms_log),
        FAULT_SMS_DELAY="1.0",
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        HOTLINE_SMS_SENDING_LEASE_SECONDS="2",
    )

    first = celery_worker(env, fault_dir, name="worker-a", loglevel="info")
    try:
        assert wait_for(lambda: begun(sms_log, refs[2]), timeout=60, every=0.02), first.tail()
        first.kill()  # the whole group, mid-call: no ack, no status update, no goodbye
    finally:
        first.stop()
    killed_at = time.monotonic()
    assert SmsMessage.objects.get(pk=messages[2][0]).status == SmsStatus.SENDING

    # The broker hands the unacknowledged task to the next worker once the visibility timeout passes.
    time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
    second = celery_worker(env, fault_dir, name="worker-b", loglevel="info")
    try:
        assert wait_for(lambda: begun(sms_log, refs[5]), timeout=60, every=0.02), second.tail()
        child = next(e["pid"] for e in read_sms_log(sms_log) if e["event"] == "begin" and e["ref"] == refs[5])
        os.kill(child, signal.SIGKILL)  # only the pool process: the worker itself lives on
        done = {SmsStatus.SENT, SmsStatus.FAILED}

        def settled() -> bool:
            # The stranded rows stay "sending" until the outbox sweep (beat's job; here sent by hand)
            # finds their claim older than the lease and gives them to the phone callback.
            probe.send_task("hotline.tasks.sweep_sms_outbox")
            return set(SmsMessage.objects.values_list("status", flat=True)) <= done

        assert wait_for(settled, timeout=60, every=1.0), second.tail()
        time.sleep(1.5)  # any late duplicate would reach the gateway now
    finally:
        second.stop()

    trace = read_sms_log(sms_log)
    delivered = Counter(e["ref"] for e in trace if e["event"] == "delivered")
    started = Counter(e["ref"] for e in trace if e["event"] == "begin")
    interrupted = {refs[2], refs[5]}
    assert started == dict.fromkeys(refs, 1), "a message went to the gateway twice"
    assert delivered == {ref: 1 for ref in refs if ref not in interrupted}
    status = dict(SmsMessage.objects.values_list("pk", "status"))
    assert [status[pk] for pk, _ in messages] == [
        SmsStatus.FAILED if f"hotline-sms-{pk}" in interrupted else SmsStatus.SENT for pk, _ in messages
    ]
    failed = {t for pk, t in messages if status[pk] == SmsStatus.FAILED}
    assert {t.pk for t in selectors.callback_queue()} == failed, "an interrupted message was forgotten"

    # Both interrupted tasks really came back and ran to a no-op ("skipped"), rather than vanishing.
    logs = first.tail(10**6) + second.tail(10**6)
    for ref in interrupted:
        task = f"send-sms-{ref.rsplit('-', 1)[1]}"
        assert len(re.findall(rf"send_sms\[{task}\] received", logs)) == 2, task
        assert re.search(rf"send_sms\[{task}\] succeeded in [\d.]+s: 'skipped'", logs), task
