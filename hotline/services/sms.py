"""The SMS outbox: enqueue inside the caller's transaction, send from Celery after commit.

Never lost: the row commits with the change that caused it, and a sweep re-sends any pending
row whose after-commit hand-off to the broker failed (Redis down). Never sent twice: a worker
claims a row by compare-and-set (pending → sending) before calling the gateway, and a row left
in "sending" by a worker that died is marked failed for a phone callback, never re-sent,
because the gateway may already have delivered it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from hotline.models import Ticket
from hotline.models.sms import SmsMessage, SmsStatus
from hotline.sms import TEMPLATES, PermanentError, TemporaryError, backend, render

logger = logging.getLogger(__name__)


def sms_enqueue(
    *, phone: str, template: str, params: dict, dedupe_key: str, ticket: Ticket | None = None
) -> SmsMessage:
    """Write the message in the current transaction; hand it to a worker once that commits."""
    spec = TEMPLATES[template]
    missing = [p for p in spec.params if p not in params]
    if missing:
        raise ValueError(f"SMS template {template} needs {missing}")
    message = SmsMessage(
        dedupe_key=dedupe_key,
        phone=phone,
        template=template,
        params=params,
        ticket=ticket,
        rendered=render(spec, params),
    )
    if _insert_new(message):
        transaction.on_commit(lambda: _hand_off(message.pk))
        return message
    return SmsMessage.objects.get(dedupe_key=dedupe_key)  # enqueued before (a double click, a retried task)


def _insert_new(message: SmsMessage) -> bool:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id: one statement in the reply's
    transaction. get_or_create took four (select, savepoint, insert, release), which alone was
    most of the 2 ms an enqueue may add to a reply. Sets the pk and returns True if inserted."""
    fields = [f for f in SmsMessage._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in fields]
    holes = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SmsMessage._meta.db_table} ({columns}) VALUES ({holes})"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding = False
    return True
    return message


def _hand_off(message_id: int) -> None:
    from hotline.tasks import send_sms

    try:
        send_sms.delay(message_id)
    except Exception:  # the broker is down: the row is committed, the outbox sweep will send it
        logger.warning("SMS %s not queued (broker unavailable); the outbox sweep will send it", message_id)


def _rate_limited() -> bool:
    """A fixed one-second window shared by all workers (the gateway's own limit is per account)."""
    key = f"sms-rate:{int(time.time())}"
    try:
        cache.add(key, 0, timeout=5)
        return cache.incr(key) > settings.HOTLINE_SMS["RATE_PER_SECOND"]
    except Exception:  # no cache: do not block sending on it
        return False


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def sms_send(message_id: int) -> str:
    """Send one message if it is still pending and due; returns what happened (for logs and tests)."""
    now = timezone.now()
    # Compare-and-set claim: of two workers holding the same id, exactly one moves it to "sending".
    claimed = SmsMessage.objects.filter(pk=message_id, status=SmsStatus.PENDING, next_attempt_at__lte=now).update(
        status=SmsStatus.SENDING, claimed_at=now
    )
    if not claimed:
        return "skipped"
    message = SmsMessage.objects.get(pk=message_id)
    if _rate_limited():
        SmsMessage.objects.filter(pk=message_id, status=SmsStatus.SENDING).update(
            status=SmsStatus.PENDING, next_attempt_at=now + dt.timedelta(seconds=1), claimed_at=None
        )
        return "rate_limited"
    attempts = message.attempts + 1
    gateway = None
    try:
        gateway = backend()
        result = gateway.send(
            phone=message.phone,
            template=TEMPLATES[message.template],
            params=message.params,
            reference=f"hotline-sms-{message.pk}",
        )
    except TemporaryError as exc:
        if attempts >= settings.HOTLINE_SMS["MAX_ATTEMPTS"]:
            _fail(message, attempts, f"多次重试仍失败：{exc}")
            return "failed"
        SmsMessage.objects.filter(pk=message_id).update(
            status=SmsStatus.PENDING,
            attempts=attempts,
            next_attempt_at=now + _backoff(attempts),
            last_error=str(exc)[:300],
            claimed_at=None,
        )
        return "retry"
    except PermanentError as exc:
        _fail(message, attempts, str(exc))
        return "failed"
    SmsMessage.objects.filter(pk=message_id).update(
        status=SmsStatus.SENT,
        attempts=attempts,
        sent_at=timezone.now(),
        backend=gateway.name,
        provider_message_id=result.message_id[:100],
        last_error="",
    )
    return "sent"


def _fail(message: SmsMessage, attempts: int, error: str) -> None:
    """Give up. A resident who gets no rating link is called back by an operator instead."""
    SmsMessage.objects.filter(pk=message.pk).update(status=SmsStatus.FAILED, attempts=attempts, last_error=error[:300])
    logger.warning("SMS %s failed permanently: %s", message.pk, error)


def sms_outbox_sweep(*, now: dt.datetime | None = None, batch: int = 500) -> dict:
    """Re-queue pending messages the broker never got, and settle messages whose worker died."""
    now = now or timezone.now()
    due = list(
        SmsMessage.objects.filter(status=SmsStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in due:
        _hand_off(pk)
    lease = now - dt.timedelta(seconds=settings.HOTLINE_SMS["SENDING_LEASE_SECONDS"])
    stale = SmsMessage.objects.filter(status=SmsStatus.SENDING, claimed_at__lte=lease).update(
        status=SmsStatus.FAILED, last_error="发送中断，状态未知；为避免重复发送不再重发，请电话回访"
    )
    return {"queued": len(due), "stale": stale}
