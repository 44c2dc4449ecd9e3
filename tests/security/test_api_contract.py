"""Each API defect the fuzzer (test_schemathesis.py) and the route walk (test_idor.py) found, pinned
by a deterministic test, so it cannot come back between two lucky fuzzing runs."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from hotline.models import Ticket


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def schema(city):
    return api(city.operator).get("/api/schema/?format=json").json()


def test_transitions_document_their_own_request_and_every_error(schema):
    """extend_schema was applied before @action, which dropped it: every transition was documented
    as taking a whole TicketDetail and answering only 200."""
    reply = schema["paths"]["/api/tickets/{id}/reply/"]["post"]
    body = reply["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/ReplyRequest"
    assert set(reply["responses"]) == {"200", "400", "401", "403", "404", "409"}
    error = reply["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert error == "#/components/schemas/Error"
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}


def test_references_that_may_be_empty_are_documented_as_nullable(schema):
    components = schema["components"]["schemas"]
    for component, field in [
        ("TicketList", "lead_unit"),
        ("TicketList", "street"),
        ("TicketDetail", "master"),
        ("Event", "actor"),
        ("Unit", "parent"),
        ("Category", "parent"),
    ]:
        assert components[component]["properties"][field].get("nullable") is True, (component, field)


def test_reads_document_404_and_filter_errors(schema):
    assert {"401", "404"} <= set(schema["paths"]["/api/tickets/{id}/"]["get"]["responses"])
    assert {"400", "401"} <= set(schema["paths"]["/api/tickets/"]["get"]["responses"])
    assert "429" in schema["paths"]["/api/auth/token/"]["post"]["responses"]


def test_format_suffix_routes_run_the_transition_instead_of_failing(flow):
    """/api/tickets/1/sign.json/ used to be a 500 (the action did not accept `format`)."""
    ticket = flow.dispatched()
    response = api(flow.city.handler_a).post(f"/api/tickets/{ticket.pk}/sign.json/", {}, format="json")
    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=ticket.pk).status == "handling"
    response = api(flow.city.handler_a).post(
        f"/api/tickets/{ticket.pk}/reveal-phone.json/", {"reason": "上门前确认"}, format="json"
    )
    assert response.status_code == 200 and response.json() == {"phone": "13812345678"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=not-a-cursor", "cursor"),
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("priority=", "priority"),
        ("created_after=", "created_after"),
        ("status=", "status"),
    ],
)
def test_malformed_list_parameters_are_400_with_the_field_named(query, field, city):
    response = api(city.operator).get(f"/api/tickets/?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_empty_free_text_filters_still_mean_no_filter(flow):
    ticket = flow.new()
    rows = api(flow.city.operator).get("/api/tickets/?q=&number=").json()["results"]
    assert [row["id"] for row in rows] == [ticket.pk]


@pytest.mark.parametrize("value", ["null", "maybe", ""])
def test_unit_boolean_filter_refuses_what_it_cannot_read(value, city):
    response = api(city.operator).get(f"/api/units/?is_active={value}")
    assert response.status_code == 400
    assert "is_active" in response.json()["errors"]


def test_unit_filters_still_filter(city):
    client = api(city.operator)
    streets = client.get("/api/units/?kind=street&is_active=true").json()
    assert {u["code"] for u in streets} == {"chaoyang-wangjing", "chaoyang-sanlitun"}
    assert client.get("/api/units/?is_active=false").json() == []


def test_max_length_counts_what_the_client_sent(city):
    """DRF trimmed before measuring: 4 spaces + 100 characters passed a field documented as maxLength 100."""
    payload = {"title": "    " + "长" * 100, "content": "内容", "request_type": "complaint"}
    response = api(city.operator).post("/api/tickets/", payload, format="json")
    assert response.status_code == 400 and "title" in response.json()["errors"]
    payload["title"] = "  " + "长" * 98
    assert api(city.operator).post("/api/tickets/", payload, format="json").status_code == 201


def test_reference_data_404_names_what_is_missing(city):
    client = api(city.operator)
    assert client.get("/api/units/999999/").json() == {"detail": "单位不存在。", "code": "not_found"}
    assert client.get("/api/categories/999999/").json()["detail"] == "分类不存在。"
    assert client.get("/api/tickets/999999/").json()["detail"] == "工单不存在或无权查看。"
