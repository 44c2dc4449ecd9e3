"""Stored XSS: everything a person types (a caller's words, a unit's reply, a resident's rating
comment, every reason) is shown escaped on every page that shows it.

tests/hotline/test_views.py::test_stored_xss_is_escaped_on_every_page covers a ticket's title and
content on the queue, workbench, detail and search pages with one <script> payload. This adds the
other fields, the other pages (supervisor, rating page, callbacks, access log, notifications, score
card, the development SMS inbox), and payloads that break out of an attribute rather than open a tag.
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.test import Client
from django.utils import timezone

from hotline import services
from hotline.choices import HandlingResult
from hotline.models import SmsMessage
from hotline.services.deadlines import clocks_sweep
from hotline.services.sms import sms_enqueue

# A tag, an attribute breakout and an event handler: each must reach the page only escaped.
PAYLOADS = {
    "title": "<script>alert('title')</script>",
    "content": '"><img src=x onerror=alert("content")>',
    "address": "'><svg onload=alert('address')>",
    "caller_name": "<b onmouseover=alert(1)>王</b>",
    "reply": '</textarea><script>alert("reply")</script>',
    "comment": '<iframe src="javascript:alert(`comment`)"></iframe>',
    "reason": "<script>alert('reason')</script>理由",
    "reveal": '<img src=x onerror=alert("reveal")>核实',
}


def escaped(payload: str) -> str:
    return html.escape(payload, quote=True)


def page(user, url: str) -> str:
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, (user, url, response.status_code)
    return response.content.decode()


def assert_clean(body: str, where: str, *, shows: tuple[str, ...] = ()) -> None:
    for name, payload in PAYLOADS.items():
        assert payload not in body, (where, name)
    # Escaping, not dropping: the text a person typed is still there for the reader.
    for name in shows:
        assert escaped(PAYLOADS[name]) in body or html.escape(PAYLOADS[name], quote=False) in body, (where, name)


def _rating_link(ticket) -> str:
    message = SmsMessage.objects.filter(ticket=ticket, template="rating_link").latest("id")
    return "/r/" + message.params["url"].rsplit("/r/", 1)[1]


@pytest.fixture
def hostile(world, flow):
    """Tickets whose every free-text field carries a payload, moved through the real services."""
    c = world.city
    text = {k: PAYLOADS[k] for k in ("title", "content", "address", "caller_name")}
    # Replied, then rated badly by the resident through the SMS link: supervisor review.
    reviewed = flow.handling(**text)
    services.ticket_reply(
        ticket=reviewed, actor=c.handler_a, result=HandlingResult.RESOLVED, text=PAYLOADS["reply"], contacted=True
    )
    link = _rating_link(reviewed)
    rating_page = page(None, link)
    response = Client().post(
        link, {"contacted": "1", "resolved": "0", "satisfaction": "dissatisfied", "comment": PAYLOADS["comment"]}
    )
    assert response.status_code == 200
    # Waiting for a return decision (dispatch queue) and for an extension (supervisor page).
    returned = flow.handling(**text)
    services.ticket_request_return(ticket=returned, actor=c.handler_a, reason=PAYLOADS["reason"])
    extended = flow.handling(**text)
    services.ticket_request_extension(ticket=extended, actor=c.handler_a, days=3, reason=PAYLOADS["reason"])
    received = flow.new(**text)
    # A landline caller: no SMS, so the operators' callback queue lists it.
    callback = flow.handling(**{**text, "caller_phone": "010-65121234"})
    services.ticket_reply(
        ticket=callback, actor=c.handler_a, result=HandlingResult.RESOLVED, text=PAYLOADS["reply"], contacted=True
    )
    services.ticket_reveal_phone(ticket=extended, actor=c.handler_a, reason=PAYLOADS["reveal"])
    # Overdue: the deadline engine writes notifications that name the ticket.
    past = timezone.now() - dt.timedelta(days=2)
    extended.clocks.update(warn_at=past - dt.timedelta(hours=1), due_at=past)
    clocks_sweep()
    return {
        "reviewed": flow.reload(reviewed),
        "returned": flow.reload(returned),
        "extended": flow.reload(extended),
        "received": received,
        "callback": flow.reload(callback),
        "rating_page": rating_page,
    }


def test_ticket_pages_escape_every_field_for_hub_and_unit(world, hostile):
    c = world.city
    reviewed = hostile["reviewed"]
    body = page(c.operator, f"/tickets/{reviewed.pk}/")
    assert_clean(body, "detail/operator", shows=("title", "content", "address", "caller_name", "reply", "comment"))
    body = page(c.handler_a, f"/tickets/{reviewed.pk}/")
    assert_clean(body, "detail/unit", shows=("title", "content", "address", "reply"))
    body = page(c.supervisor, f"/tickets/{hostile['returned'].pk}/")
    assert_clean(body, "detail/return", shows=("reason",))
    # Every action form rendered on its own page (the no-JavaScript path) shows the ticket too.
    body = page(c.dispatcher, f"/tickets/{hostile['received'].pk}/dispatch/")
    assert_clean(body, "action page", shows=("title",))


def test_work_queues_escape_what_they_list(world, hostile):
    c = world.city
    assert_clean(page(c.handler_a, "/workbench/?tab=in_hand"), "workbench", shows=("title",))
    assert_clean(page(c.dispatcher, "/dispatch/"), "dispatch queue", shows=("title", "reason"))
    assert_clean(page(c.supervisor, "/supervise/"), "supervisor", shows=("title", "reason", "comment"))
    assert_clean(page(c.operator, "/callbacks/"), "callbacks", shows=("title",))
    assert_clean(page(c.operator, "/tickets/?q=alert"), "search/hub", shows=("title",))
    assert_clean(page(c.handler_a, "/tickets/"), "search/unit", shows=("title",))
    assert_clean(page(c.handler_a, "/notifications/"), "notifications")
    assert_clean(page(c.auditor, "/audit/"), "access log", shows=("reveal",))
    assert_clean(page(c.handler_a, f"/scores/units/{c.street_a.pk}/"), "score card")


def test_the_residents_rating_page_escapes_the_units_reply(hostile):
    assert_clean(hostile["rating_page"], "rating page", shows=("title", "reply"))


def test_the_development_sms_inbox_escapes_before_linking(world, hostile, settings):
    settings.DEMO_MODE = True
    sms_enqueue(
        phone="13812345678",
        template="rating_link",
        params={"number": PAYLOADS["title"], "url": 'http://x/r/a"onmouseover="alert(1)', "days": 7},
        dedupe_key="xss-probe",
    )
    body = page(world.city.operator, "/dev/sms/")
    assert_clean(body, "sms inbox")
    assert 'onmouseover="alert(1)' not in body
    assert "13812345678" not in body  # the inbox masks numbers too
