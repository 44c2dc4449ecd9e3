"""The operators' phone-callback queue and 无效回访 after repeated unreachable calls."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from hotline.choices import TicketStatus
from hotline.models import Callback, CallbackAttempt, SmsMessage, SmsStatus, Ticket
from hotline.selectors import callback_queue


def age_reply(ticket, hours: int) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(replied_at=timezone.now() - dt.timedelta(hours=hours))


def test_queue_holds_unrated_after_72h_failed_sms_and_no_mobile(city, flow):
    fresh = flow.replied()
    stale = flow.replied(title="超过72小时未评价")
    age_reply(stale, 73)
    failed = flow.replied(title="短信失败")
    SmsMessage.objects.filter(ticket=failed).update(status=SmsStatus.FAILED)
    landline = flow.replied(title="座机来电", caller_phone="010-65121234")
    rated = flow.closed(title="已评价")
    age_reply(rated, 100)
    queued = {t.pk for t in callback_queue()}
    assert queued == {stale.pk, failed.pk, landline.pk}
    assert fresh.pk not in queued and rated.pk not in queued


def test_page_lists_the_queue_for_operators_and_404s_for_units(client, city, flow):
    ticket = flow.replied(caller_phone="010-65121234")
    client.force_login(city.operator)
    body = client.get("/callbacks/").content.decode()
    assert ticket.number in body and "无手机号" in body
    client.force_login(city.handler_a)
    assert client.get("/callbacks/").status_code == 404
    assert client.post(f"/callbacks/{ticket.pk}/unreachable/", {"outcome": "no_answer"}).status_code == 404


def test_repeated_unreachable_calls_make_an_invalid_callback(client, city, flow, settings):
    settings.HOTLINE = {**settings.HOTLINE, "CALLBACK_MAX_ATTEMPTS": 2}
    ticket = flow.replied(caller_phone="010-65121234")
    client.force_login(city.operator)
    client.post(f"/callbacks/{ticket.pk}/unreachable/", {"outcome": "no_answer", "note": "上午打过"})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REPLIED and CallbackAttempt.objects.filter(ticket=ticket).count() == 1
    client.post(f"/callbacks/{ticket.pk}/unreachable/", {"outcome": "no_answer"})
    ticket.refresh_from_db()
    callback = Callback.objects.get(ticket=ticket)
    assert ticket.status == TicketStatus.CLOSED and callback.valid is False and callback.level5 is None
    assert ticket.events.filter(kind="callback_attempt").count() == 2
    assert ticket.pk not in {t.pk for t in callback_queue()}


def test_a_wrong_number_is_invalid_at_once_and_a_bad_outcome_value_is_refused(client, city, flow):
    ticket = flow.replied(caller_phone="010-65121234")
    client.force_login(city.operator)
    response = client.post(f"/callbacks/{ticket.pk}/unreachable/", {"outcome": "bogus"}, follow=True)
    assert "请选择未接通的原因" in response.content.decode()
    assert not CallbackAttempt.objects.exists()
    client.post(f"/callbacks/{ticket.pk}/unreachable/", {"outcome": "wrong_number"})
    assert Callback.objects.get(ticket=ticket).valid is False


def test_unreachable_on_a_ticket_not_awaiting_callback_is_refused(client, city, flow):
    ticket = flow.handling()
    client.force_login(city.operator)
    response = client.post(f"/callbacks/{ticket.pk}/unreachable/", {"outcome": "no_answer"}, follow=True)
    assert "只有已反馈待回访" in response.content.decode()
    assert not CallbackAttempt.objects.exists()
