"""The resident's SMS rating link: security, the page, and what a rating does to the ticket."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from hotline import services
from hotline.choices import CallbackChannel, TicketStatus
from hotline.models import Callback, RatingToken, SmsMessage

GOOD = {"contacted": "1", "resolved": "1", "satisfaction": "satisfied", "comment": "处理很及时"}
BAD = {"contacted": "1", "resolved": "0", "satisfaction": "dissatisfied", "comment": "油烟还在"}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def link_of(ticket) -> str:
    message = SmsMessage.objects.filter(ticket=ticket, template="rating_link").latest("id")
    return "/r/" + message.params["url"].rsplit("/r/", 1)[1]


def test_a_reply_sends_a_link_without_personal_data_or_ticket_number(city, flow):
    ticket = flow.replied()
    message = SmsMessage.objects.get(ticket=ticket, template="rating_link")
    url = message.params["url"]
    token = url.rsplit("/r/", 1)[1]
    assert message.phone == "13812345678"
    assert ticket.number not in url and "13812345678" not in url and len(token) >= 20
    assert ticket.number in message.rendered  # the SMS text names the ticket; the link does not
    row = RatingToken.objects.get(ticket=ticket)
    assert row.token_hash != token and len(row.token_hash) == 64  # only the hash is stored
    assert abs(row.expires_at - row.created_at - dt.timedelta(days=7)) < dt.timedelta(minutes=1)


def test_the_page_shows_the_outcome_and_a_good_rating_closes_the_ticket(client, city, flow):
    ticket = flow.replied()
    page = client.get(link_of(ticket))
    assert page.status_code == 200
    body = page.content.decode()
    assert ticket.title in body and "已联系商户加装油烟净化设备" in body and "望京街道" in body
    assert "王女士" not in body and "13812345678" not in body
    response = client.post(link_of(ticket), GOOD)
    assert response.status_code == 200 and "感谢您的评价" in response.content.decode()
    ticket.refresh_from_db()
    callback = Callback.objects.get(ticket=ticket)
    assert ticket.status == TicketStatus.CLOSED
    assert (callback.channel, callback.level5, callback.recorded_by) == (CallbackChannel.SMS, 5, None)


def test_a_bad_rating_sends_the_ticket_to_review(client, city, flow):
    ticket = flow.replied()
    client.post(link_of(ticket), BAD)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REVIEW
    assert Callback.objects.get(ticket=ticket).level5 == 1


def test_a_double_submit_is_harmless(client, city, flow):
    ticket = flow.replied()
    url = link_of(ticket)
    assert client.post(url, GOOD).status_code == 200
    second = client.post(url, BAD)
    assert second.status_code == 410 and "您已评价" in second.content.decode()
    assert Callback.objects.filter(ticket=ticket).count() == 1
    assert Callback.objects.get(ticket=ticket).level5 == 5


@pytest.mark.parametrize("path", ["/r/forged-token-xyz", "/r/" + "A" * 22, "/r/" + "x" * 500])
def test_forged_and_guessed_links_get_a_friendly_page(client, city, flow, path):
    flow.replied()
    response = client.get(path)
    assert response.status_code == 404 and "链接无效" in response.content.decode()
    assert client.post(path, GOOD).status_code == 404
    assert not Callback.objects.exists()


def test_an_expired_link_changes_nothing(client, city, flow):
    ticket = flow.replied()
    RatingToken.objects.filter(ticket=ticket).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(link_of(ticket), GOOD)
    assert response.status_code == 410 and "过期" in response.content.decode()
    assert Ticket_status(ticket) == TicketStatus.REPLIED and not Callback.objects.exists()


def Ticket_status(ticket) -> str:
    ticket.refresh_from_db()
    return ticket.status


def test_invalid_answers_are_shown_and_record_nothing(client, city, flow):
    ticket = flow.replied()
    response = client.post(link_of(ticket), {"contacted": "1"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "请选择问题是否解决。" in body and "请选择满意程度。" in body
    assert not Callback.objects.exists() and RatingToken.objects.get(ticket=ticket).used_at is None


def test_lookups_are_rate_limited_per_address(client, city, flow, settings):
    settings.HOTLINE = {**settings.HOTLINE, "RATING_LOOKUPS_PER_MINUTE": 5}
    for _ in range(5):
        assert client.get("/r/guess-me").status_code == 404
    assert client.get("/r/guess-me").status_code == 429


def test_reopening_revokes_the_old_link_and_the_new_reply_sends_a_new_one(client, city, flow):
    ticket = flow.review()
    old = link_of(ticket)  # already used by the bad rating
    services.ticket_reopen(ticket=ticket, actor=city.supervisor, reason="居民反映未解决")
    services.ticket_reply(
        ticket=ticket, actor=city.handler_a, result="resolved", text="已再次上门，加装了净化器。", contacted=True
    )
    new = link_of(ticket)
    assert new != old
    assert client.get(old).status_code == 410
    assert client.post(new, GOOD).status_code == 200
    assert Ticket_status(ticket) == TicketStatus.CLOSED


def test_no_link_for_a_landline_caller(city, flow):
    ticket = flow.replied(caller_phone="010-65121234")
    assert not RatingToken.objects.filter(ticket=ticket).exists()
    assert not SmsMessage.objects.filter(ticket=ticket).exists()


def test_a_direct_answer_is_rated_too(client, city, flow):
    ticket = flow.new(request_type="consult", answer="供暖季为每年11月15日至次年3月15日。")
    assert ticket.status == TicketStatus.CLOSED
    page = client.get(link_of(ticket))
    assert "供暖季为每年11月15日" in page.content.decode() and "12345热线" in page.content.decode()


def test_merged_callers_hear_the_masters_outcome_once_per_number(flow, city):
    from hotline import services as svc
    from hotline.models import SmsMessage

    master = flow.handling()
    for phone in ("13900001111", "13900001111", "13812345678", "01065121234"):
        child = flow.new(caller_phone=phone, title="重复来电")
        svc.ticket_merge(ticket=child, master=master, actor=city.operator, reason="同一事项")
    svc.ticket_reply(
        ticket=flow.reload(master), actor=city.handler_a, result="resolved", text="已协调商户整改完毕。", contacted=True
    )
    assert not SmsMessage.objects.filter(template="merged_outcome").exists()  # only once there is an outcome
    svc.ticket_record_callback(
        ticket=flow.reload(master), actor=None, contacted=True, resolved=True, satisfaction="satisfied"
    )
    sent = list(SmsMessage.objects.filter(template="merged_outcome").order_by("id"))
    # One SMS per new mobile: not the master's own caller (13812345678), not a landline, not twice.
    assert [m.phone for m in sent] == ["13900001111"]
    assert "办理结果：已解决" in sent[0].rendered and master.number in sent[0].rendered
