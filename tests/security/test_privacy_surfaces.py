"""Personal data on every surface, for every role: masked where it must be, and every look logged.

Already covered: the masking rules themselves and the service-level reveal (test_privacy.py), the
unit's masked detail page, the hub's full one and their access-log rows (test_views.py::
test_unit_user_sees_masked_phone_and_hub_sees_it_in_full, test_detail_view_writes_an_access_log_row_
with_the_right_masked_flag), the API detail for one unit user (test_api.py::
test_unit_detail_is_masked_and_logged) and searches by phone being logged (test_views.py, test_api.py).

Here the whole response is searched, not one field: a number or name that leaks through an event
payload, a timeline entry or a transition's answer is caught. Every unit role and every hub role, web
and API; confidential tickets; exports; and the access log's own entries never store a full number.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from hotline.choices import AccessAction
from hotline.models import AccessLog

FULL, MASKED, NAME, SURNAME = "13812345678", "138****5678", "张三丰", "张**"
HUB = ["operator", "dispatcher", "supervisor", "auditor"]
# Roles that hold a part in street A's tickets: its handler and manager, and the district above it.
UNIT = ["handler_a", "manager_a", "district_manager"]


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def ticket(world, flow):
    return flow.replied(caller_name=NAME)  # events, a reply and an SMS: every place a number could hide


@pytest.fixture
def secret(world, flow):
    return flow.handling(caller_name=NAME, confidential=True, caller_phone="13912345678")


@pytest.mark.parametrize("persona", UNIT)
def test_units_never_receive_the_full_number_or_name_anywhere(persona, world, ticket):
    user = getattr(world.city, persona)
    page = web(user).get(f"/tickets/{ticket.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert FULL not in body and NAME not in body
    assert MASKED in body and SURNAME in body
    raw = api(user).get(f"/api/tickets/{ticket.pk}/").content.decode()
    assert FULL not in raw and NAME not in raw
    assert MASKED in raw
    logs = AccessLog.objects.filter(user=user, ticket=ticket, action=AccessAction.VIEW).order_by("id")
    assert [(log.channel, log.masked) for log in logs] == [("web", True), ("api", True)]


def test_a_units_transition_answer_is_masked_too(world, flow):
    ticket = flow.dispatched(caller_name=NAME)
    response = api(world.city.handler_a).post(f"/api/tickets/{ticket.pk}/sign/", {}, format="json")
    assert response.status_code == 200
    raw = response.content.decode()
    assert FULL not in raw and NAME not in raw
    assert response.json()["caller"] == {"name": SURNAME, "phone": MASKED, "masked": True}


@pytest.mark.parametrize("persona", UNIT)
def test_a_confidential_caller_is_invisible_to_units_even_masked(persona, world, secret):
    user = getattr(world.city, persona)
    for raw in (
        web(user).get(f"/tickets/{secret.pk}/").content.decode(),
        api(user).get(f"/api/tickets/{secret.pk}/").content.decode(),
        web(user).get("/tickets/").content.decode(),
        api(user).get("/api/tickets/?page_size=100").content.decode(),
    ):
        assert "13912345678" not in raw and "139****5678" not in raw
        assert NAME not in raw and SURNAME not in raw
    # No reveal over the API either, and no trace of one.
    response = api(user).post(f"/api/tickets/{secret.pk}/reveal-phone/", {"reason": "核实"}, format="json")
    assert response.status_code == 403 and "13912345678" not in response.content.decode()
    assert not AccessLog.objects.filter(ticket=secret, action=AccessAction.REVEAL).exists()


@pytest.mark.parametrize("persona", HUB)
def test_hub_roles_see_the_caller_and_each_look_is_logged_unmasked(persona, world, ticket):
    user = getattr(world.city, persona)
    assert FULL in web(user).get(f"/tickets/{ticket.pk}/").content.decode()
    assert api(user).get(f"/api/tickets/{ticket.pk}/").json()["caller"]["phone"] == FULL
    logs = AccessLog.objects.filter(user=user, ticket=ticket, action=AccessAction.VIEW).order_by("id")
    assert [(log.channel, log.masked) for log in logs] == [("web", False), ("api", False)]
    # The hub calls the resident back: no reveal step exists for it.
    response = api(user).post(f"/api/tickets/{ticket.pk}/reveal-phone/", {"reason": "回访"}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize("persona", HUB + UNIT)
def test_lists_never_carry_a_full_number_for_anyone(persona, world, ticket):
    user = getattr(world.city, persona)
    for raw in (
        web(user).get("/tickets/").content.decode(),
        api(user).get("/api/tickets/?page_size=100").content.decode(),
    ):
        assert ticket.number in raw
        assert FULL not in raw and MASKED in raw


def test_searches_by_phone_are_logged_without_the_number(world, ticket):
    c = world.city
    api(c.operator).get("/api/tickets/", {"phone": FULL})
    api(c.handler_a).get("/api/tickets/", {"phone": FULL})
    api(c.dispatcher).get("/api/duplicates/", {"phone": FULL})
    web(c.operator).get("/intake/duplicates/", {"caller_phone": FULL}, headers={"HX-Request": "true"})
    searches = AccessLog.objects.filter(action=AccessAction.SEARCH)
    assert {log.user for log in searches} == {c.operator, c.handler_a, c.dispatcher}
    assert searches.count() == 4
    for log in searches:
        assert FULL not in log.query and "138" in log.query, log.query


def test_exports_mask_for_units_and_are_logged(world):
    c = world.city
    reviewed = world.by_status["review"]  # a dissatisfied rating this month, held by street A
    unit_file = api(c.handler_a).get(f"/api/stats/units/{c.street_a.pk}/bad-ratings/export/?filetype=csv")
    assert unit_file.status_code == 200
    text = unit_file.content.decode("utf-8-sig")
    assert reviewed.number in text
    assert FULL not in text and MASKED in text
    hub_file = api(c.supervisor).get(f"/api/stats/units/{c.street_a.pk}/bad-ratings/export/?filetype=csv")
    assert FULL in hub_file.content.decode("utf-8-sig")
    exports = AccessLog.objects.filter(action=AccessAction.EXPORT).order_by("id")
    assert [(log.user, log.masked) for log in exports] == [(c.handler_a, True), (c.supervisor, False)]
    assert all(log.row_count >= 1 for log in exports)


@pytest.mark.parametrize("persona", ["operator", "dispatcher", "supervisor", "handler_a", "manager_a"])
def test_only_auditors_read_the_access_log(persona, world, ticket):
    response = web(getattr(world.city, persona)).get("/audit/")
    assert response.status_code == 404
    assert ticket.number not in response.content.decode()


def test_the_access_log_page_names_who_looked_at_what(world, ticket):
    c = world.city
    web(c.handler_a).get(f"/tickets/{ticket.pk}/")
    api(c.handler_a).post(f"/api/tickets/{ticket.pk}/reveal-phone/", {"reason": "上门前电话确认"}, format="json")
    body = web(c.auditor).get("/audit/", {"number": ticket.number}).content.decode()
    assert "wangjing-handler" in body and "上门前电话确认" in body
    assert FULL not in body  # the log says who saw the number, not the number
