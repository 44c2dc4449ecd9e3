"""The SMS outbox: never lost, never sent twice, retried with backoff, and the gateway adapters."""

from __future__ import annotations

import datetime as dt
import threading
import time
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.utils import timezone

from hotline.models import SmsMessage, SmsStatus
from hotline.services.sms import sms_enqueue, sms_outbox_sweep, sms_send
from hotline.sms import TEMPLATES, PermanentError, TemporaryError
from hotline.sms.backends import AliyunBackend, DevelopmentBackend, TencentBackend

PARAMS = {"number": "2026112200001", "url": "https://12345.example/r/abc", "days": 7}


@pytest.fixture(autouse=True)
def _clean_dev_outbox():
    DevelopmentBackend.sent.clear()
    yield
    DevelopmentBackend.sent.clear()


class Flaky(DevelopmentBackend):
    """Fails with a temporary error the first time, then delivers."""

    calls = 0

    def send(self, **kwargs):
        type(self).calls += 1
        if type(self).calls == 1:
            raise TemporaryError("网关超时")
        return super().send(**kwargs)


class Refusing(DevelopmentBackend):
    def send(self, **kwargs):
        raise PermanentError("号码无效")


def use_backend(settings, path: str) -> None:
    settings.HOTLINE_SMS = {**settings.HOTLINE_SMS, "BACKEND": path}


def enqueue(key="k1", **kw) -> SmsMessage:
    return sms_enqueue(phone="13812345678", template="rating_link", params=PARAMS, dedupe_key=key, **kw)


def test_a_rolled_back_change_leaves_no_message(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        enqueue()
        raise RuntimeError("the reply failed")
    assert not SmsMessage.objects.exists()
    assert callbacks == []


def test_enqueue_renders_the_template_and_hands_off_after_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        message = enqueue()
    assert len(callbacks) == 1
    assert message.status == SmsStatus.PENDING
    assert message.rendered.startswith("【12345热线】") and PARAMS["url"] in message.rendered


def test_enqueueing_twice_for_the_same_reason_makes_one_message(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first, again = enqueue("same"), enqueue("same")
    assert first.pk == again.pk
    assert SmsMessage.objects.count() == 1
    assert len(callbacks) == 1  # handed to the broker once
    stored = SmsMessage.objects.get()
    assert stored.params == PARAMS and stored.phone == "13812345678" and stored.created_at is not None
    assert stored.next_attempt_at <= timezone.now() and stored.status == SmsStatus.PENDING


def test_sending_delivers_once_and_a_second_delivery_is_a_no_op(db):
    message = enqueue()
    assert sms_send(message.pk) == "sent"
    assert sms_send(message.pk) == "skipped"
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.provider_message_id == f"dev-hotline-sms-{message.pk}"
    assert len(DevelopmentBackend.sent) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_message_send_it_once():
    message = enqueue()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def worker():
        try:
            barrier.wait()
            outcomes.append(sms_send(message.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped"]
    assert len(DevelopmentBackend.sent) == 1


def test_temporary_failure_is_retried_with_backoff_then_sent(db, settings):
    use_backend(settings, "tests.hotline.test_sms.Flaky")
    Flaky.calls = 0
    message = enqueue()
    assert sms_send(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == SmsStatus.PENDING and message.attempts == 1 and "网关超时" in message.last_error
    assert message.next_attempt_at > timezone.now()
    assert sms_send(message.pk) == "skipped"  # not due yet
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert sms_send(message.pk) == "sent"
    message.refresh_from_db()
    assert message.attempts == 2 and len(DevelopmentBackend.sent) == 1


def test_permanent_failure_stops_at_once(db, settings):
    use_backend(settings, "tests.hotline.test_sms.Refusing")
    message = enqueue()
    assert sms_send(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.last_error == "号码无效"


def test_giving_up_after_the_configured_attempts(db, settings):
    settings.HOTLINE_SMS = {**settings.HOTLINE_SMS, "BACKEND": "tests.hotline.test_sms.Flaky", "MAX_ATTEMPTS": 1}
    Flaky.calls = 0
    message = enqueue()
    assert sms_send(message.pk) == "failed"
    assert SmsMessage.objects.get(pk=message.pk).status == SmsStatus.FAILED


def test_broker_down_at_commit_loses_nothing(db, monkeypatch, django_capture_on_commit_callbacks):
    from hotline import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis unavailable")

    monkeypatch.setattr(tasks.send_sms, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    assert SmsMessage.objects.get(pk=message.pk).status == SmsStatus.PENDING  # committed, not yet sent

    handed: list[int] = []
    monkeypatch.setattr(tasks.send_sms, "delay", lambda pk: handed.append(pk))  # the broker is back
    assert sms_outbox_sweep()["queued"] == 1 and handed == [message.pk]
    assert sms_send(message.pk) == "sent"
    assert sms_outbox_sweep()["queued"] == 0


def test_a_message_left_sending_by_a_dead_worker_is_never_resent(db):
    message = enqueue()
    stale = timezone.now() - dt.timedelta(minutes=10)
    SmsMessage.objects.filter(pk=message.pk).update(status=SmsStatus.SENDING, claimed_at=stale)
    assert sms_outbox_sweep()["stale"] == 1
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and "电话回访" in message.last_error
    assert sms_send(message.pk) == "skipped"
    assert DevelopmentBackend.sent == []


def test_aliyun_adapter_sends_named_parameters_and_classifies_errors(settings):
    settings.HOTLINE_SMS = {
        **settings.HOTLINE_SMS,
        "ALIYUN_ACCESS_KEY_ID": "id",
        "ALIYUN_ACCESS_KEY_SECRET": "s",
        "TEMPLATE_CODES": {"rating_link": {"aliyun": "SMS_1234"}},
    }
    gateway = AliyunBackend()
    sent = []

    def fake(request, code="OK"):
        sent.append(request)
        return SimpleNamespace(body=SimpleNamespace(code=code, message="m", biz_id="biz-1"))

    gateway.client = SimpleNamespace(send_sms=fake)
    result = gateway.send(phone="13812345678", template=TEMPLATES["rating_link"], params=PARAMS, reference="r1")
    assert result.message_id == "biz-1"
    request = sent[0]
    assert (request.phone_numbers, request.template_code, request.sign_name, request.out_id) == (
        "13812345678",
        "SMS_1234",
        "12345热线",
        "r1",
    )
    assert '"url": "https://12345.example/r/abc"' in request.template_param
    gateway.client = SimpleNamespace(send_sms=lambda r: fake(r, code="isv.MOBILE_NUMBER_ILLEGAL"))
    with pytest.raises(PermanentError):
        gateway.send(phone="1", template=TEMPLATES["rating_link"], params=PARAMS, reference="r2")
    gateway.client = SimpleNamespace(send_sms=lambda r: fake(r, code="isv.BUSINESS_LIMIT_CONTROL"))
    with pytest.raises(TemporaryError):
        gateway.send(phone="1", template=TEMPLATES["rating_link"], params=PARAMS, reference="r3")


def test_tencent_adapter_sends_positional_parameters_in_e164(settings):
    settings.HOTLINE_SMS = {
        **settings.HOTLINE_SMS,
        "TENCENT_SECRET_ID": "i",
        "TENCENT_SECRET_KEY": "k",
        "TENCENT_SDK_APP_ID": "1400000000",
        "TEMPLATE_CODES": {"rating_link": {"tencent": "998877"}},
    }
    gateway = TencentBackend()
    sent = []

    def fake(request, code="Ok"):
        sent.append(request)
        return SimpleNamespace(SendStatusSet=[SimpleNamespace(Code=code, Message="m", SerialNo="serial-1")])

    gateway.client = SimpleNamespace(SendSms=fake)
    assert (
        gateway.send(phone="13812345678", template=TEMPLATES["rating_link"], params=PARAMS, reference="r1").message_id
        == "serial-1"
    )
    request = sent[0]
    assert request.PhoneNumberSet == ["+8613812345678"]
    assert request.TemplateParamSet == ["2026112200001", "https://12345.example/r/abc", "7"]
    assert (request.TemplateId, request.SmsSdkAppId) == ("998877", "1400000000")
    gateway.client = SimpleNamespace(SendSms=lambda r: fake(r, code="InvalidParameterValue.IncorrectPhoneNumber"))
    with pytest.raises(PermanentError):
        gateway.send(phone="1", template=TEMPLATES["rating_link"], params=PARAMS, reference="r2")


def test_unconfigured_gateway_fails_clearly(settings):
    with pytest.raises(PermanentError, match="未配置"):
        AliyunBackend()


def test_dev_inbox_only_in_demo_or_debug(client, db, settings):
    enqueue()
    settings.DEBUG, settings.DEMO_MODE = False, False
    assert client.get("/dev/sms/").status_code == 404
    settings.DEMO_MODE = True
    body = client.get("/dev/sms/").content.decode()
    assert "138****5678" in body and "13812345678" not in body
    assert 'href="https://12345.example/r/abc"' in body


@pytest.mark.worker
def test_the_real_worker_delivers_a_committed_message_once(celery_worker_process):
    message = enqueue("worker-1")  # transactional_db: committed, so the on-commit hand-off fires
    deadline = time.time() + 30
    while SmsMessage.objects.get(pk=message.pk).status != SmsStatus.SENT and time.time() < deadline:
        time.sleep(0.2)
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 1
