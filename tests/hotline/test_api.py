"""The REST API: auth, reference data, tickets, transitions, errors and per-unit visibility."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from hotline.choices import AccessAction, TicketStatus
from hotline.models import AccessLog, Ticket, TicketEvent
from hotline.workflow import Action


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def ticket_payload(city):
    return {
        "title": "小区供暖不热",
        "content": "家里暖气只有16度，老人孩子受不了，请尽快处理。",
        "request_type": "complaint",
        "priority": "utility",
        "caller_name": "李先生",
        "caller_phone": "139 1234 5678",
        "address": "朝阳区望京街道某小区",
        "district": "chaoyang",
        "street": "chaoyang-wangjing",
        "category": "0602",
    }


def test_token_login_and_token_auth(city):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "operator1", "password": "pw-for-tests-123"})
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/units/").status_code == 200


def test_token_login_rejects_wrong_password_with_json_reason(city):
    response = APIClient().post("/api/auth/token/", {"username": "operator1", "password": "wrong"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_anonymous_is_refused(city):
    assert APIClient().get("/api/tickets/").status_code in (401, 403)


def test_reference_data(city):
    client = client_for(city.dispatcher)
    units = client.get("/api/units/").json()
    assert {"code": "chaoyang-wangjing", "kind": "street"}.items() <= next(
        u for u in units if u["code"] == "chaoyang-wangjing"
    ).items()
    categories = client.get("/api/categories/").json()
    assert any(c["code"] == "0602" and c["parent"] == "06" for c in categories)


def test_create_ticket_normalises_phone_and_writes_event(city, ticket_payload):
    response = client_for(city.operator).post("/api/tickets/", ticket_payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.caller_phone == "13912345678"
    assert ticket.caller_phone_raw == "139 1234 5678"
    # A chosen 属地 category with a known street routes itself to the street.
    assert body["status"] == TicketStatus.DISPATCHED and body["lead_unit"] == "chaoyang-wangjing"
    assert body["caller"] == {"name": "李先生", "phone": "13912345678", "masked": False}
    assert [e["kind"] for e in body["events"]] == ["created", "dispatched"]
    assert body["events"][1]["actor"] == "router"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"content": ""}, "content"),
        ({"caller_phone": "12345"}, "caller_phone"),
        ({"title": ""}, "title"),
        ({"content": "长" * 6000}, "content"),
        ({"request_type": "nonsense"}, "request_type"),
        ({"street": "no-such-street"}, "street"),
    ],
)
def test_create_rejects_bad_input_with_field_errors_and_writes_nothing(city, ticket_payload, change, field):
    before = Ticket.objects.count()
    response = client_for(city.operator).post("/api/tickets/", {**ticket_payload, **change}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert Ticket.objects.count() == before


def test_unit_cannot_create_tickets(city, ticket_payload):
    response = client_for(city.handler_a).post("/api/tickets/", ticket_payload, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"


def test_full_flow_over_the_api(city, ticket_payload, settings):
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH": False}  # this walk dispatches by hand
    ticket_id = client_for(city.operator).post("/api/tickets/", ticket_payload, format="json").json()["id"]
    url = f"/api/tickets/{ticket_id}"
    r = client_for(city.dispatcher).post(f"{url}/dispatch/", {"lead_unit": "chaoyang-wangjing"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == TicketStatus.DISPATCHED
    assert client_for(city.handler_a).post(f"{url}/sign/", {}, format="json").json()["status"] == "handling"
    r = client_for(city.handler_a).post(
        f"{url}/reply/",
        {"result": "resolved", "contacted": True, "text": "已协调热力公司上门排气，室温恢复到20度。"},
        format="json",
    )
    assert r.json()["status"] == TicketStatus.REPLIED
    r = client_for(city.operator).post(
        f"{url}/callback/", {"contacted": True, "resolved": False, "satisfaction": "dissatisfied"}, format="json"
    )
    assert r.json()["status"] == TicketStatus.REVIEW
    r = client_for(city.supervisor).post(f"{url}/reopen/", {"reason": "居民反映仍不热"}, format="json")
    assert r.json()["status"] == TicketStatus.HANDLING


def test_illegal_transition_is_409_with_reason_and_changes_nothing(city, flow):
    ticket = flow.new()
    events = TicketEvent.objects.filter(ticket=ticket).count()
    r = client_for(city.supervisor).post(f"/api/tickets/{ticket.pk}/reopen/", {"reason": "x"}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "illegal_transition"
    assert "待派单" in r.json()["detail"]
    assert TicketEvent.objects.filter(ticket=ticket).count() == events


def test_double_sign_is_409_naming_who_signed(city, flow):
    ticket = flow.dispatched()
    assert client_for(city.handler_a).post(f"/api/tickets/{ticket.pk}/sign/").status_code == 200
    r = client_for(city.handler_a2).post(f"/api/tickets/{ticket.pk}/sign/")
    assert r.status_code == 409
    assert "wangjing-handler" in r.json()["detail"]


def test_invalid_transition_input_is_400(city, flow):
    ticket = flow.handling()
    r = client_for(city.handler_a).post(f"/api/tickets/{ticket.pk}/reply/", {"result": "bogus"}, format="json")
    assert r.status_code == 400
    assert {"result", "text", "contacted"} <= set(r.json()["errors"])


def test_every_transition_endpoint_exists_in_the_api(city, flow):
    ticket = flow.new()
    client = client_for(city.supervisor)
    names = {a.value for a in Action} - {
        "subdispatch",
        "contact",
        "reject-termination",
        "callback",
        "confidential",
        "reject-return",
        "approve-return",
        "reject-extension",
        "approve-extension",
    }
    for name in sorted(names | {"subdispatch", "contact", "callback", "confidential"}):
        r = client.post(f"/api/tickets/{ticket.pk}/{name}/", {}, format="json")
        assert r.status_code in (400, 403, 409), (name, r.status_code)


def test_other_units_ticket_is_404_on_every_endpoint(city, flow):
    ticket = flow.handling()
    client = client_for(city.handler_b)
    assert client.get(f"/api/tickets/{ticket.pk}/").status_code == 404
    for name in [a.value for a in Action] + ["reveal-phone"]:
        r = client.post(f"/api/tickets/{ticket.pk}/{name}/", {"reason": "x"}, format="json")
        assert r.status_code == 404, (name, r.status_code, r.content)
    assert ticket.pk not in [t["id"] for t in client.get("/api/tickets/").json()["results"]]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.HANDLING


def test_unit_detail_is_masked_and_logged(city, flow):
    ticket = flow.dispatched()
    body = client_for(city.handler_a).get(f"/api/tickets/{ticket.pk}/").json()
    assert body["caller"] == {"name": "王女士", "phone": "138****5678", "masked": True}
    log = AccessLog.objects.filter(ticket=ticket, user=city.handler_a).get()
    assert (log.action, log.masked, log.channel) == (AccessAction.VIEW, True, "api")


def test_reveal_over_api_needs_reason_and_is_logged(city, flow):
    ticket = flow.dispatched()
    client = client_for(city.handler_a)
    assert client.post(f"/api/tickets/{ticket.pk}/reveal-phone/", {}, format="json").status_code == 400
    r = client.post(f"/api/tickets/{ticket.pk}/reveal-phone/", {"reason": "需电话联系核实地址"}, format="json")
    assert r.json() == {"phone": "13812345678"}
    assert AccessLog.objects.filter(ticket=ticket, action=AccessAction.REVEAL, reason="需电话联系核实地址").exists()


def test_list_is_cursor_paginated_and_filtered(city, flow):
    for i in range(5):
        flow.new(title=f"工单{i}")
    other = flow.new(title="别的电话", caller_phone="13700001111")
    client = client_for(city.operator)
    page = client.get("/api/tickets/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"] and "cursor=" in page["next"]
    assert "count" not in page
    second = client.get(page["next"]).json()
    assert {t["id"] for t in second["results"]}.isdisjoint({t["id"] for t in page["results"]})
    by_phone = client.get("/api/tickets/?phone=137-0000-1111").json()["results"]
    assert [t["id"] for t in by_phone] == [other.pk]
    assert by_phone[0]["caller_phone"] == "137****1111"
    assert AccessLog.objects.filter(user=city.operator, action=AccessAction.SEARCH).exists()


def test_schema_and_docs_are_served(city):
    client = client_for(city.operator)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/tickets/{id}/approve-return/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_healthz_reports_each_part(db, client):
    body = client.get("/healthz").json()
    assert set(body["checks"]) == {"database", "broker", "worker", "beat", "calendar", "routing"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


def test_token_endpoint_locks_out_after_repeated_failures(city, settings):
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/auth/token/", {"username": "operator1", "password": "wrong"})
    # Even the right password is refused while the account is locked.
    response = client.post("/api/auth/token/", {"username": "operator1", "password": "pw-for-tests-123"})
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"


def test_phone_search_never_reveals_a_units_confidential_tickets(city, flow):
    secret = flow.dispatched(confidential=True, caller_phone="13600001111")
    open_one = flow.dispatched(caller_phone="13600001111")
    unit_rows = client_for(city.handler_a).get("/api/tickets/?phone=13600001111").json()["results"]
    assert [t["id"] for t in unit_rows] == [open_one.pk]
    hub_rows = client_for(city.dispatcher).get("/api/tickets/?phone=13600001111").json()["results"]
    assert {t["id"] for t in hub_rows} == {secret.pk, open_one.pk}
