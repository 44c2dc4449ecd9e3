"""Exemptions, score endpoints, exports and pages: who sees which unit's figures, and what they say."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from hotline import services
from hotline.choices import AccessAction, ExemptionReason, Satisfaction
from hotline.errors import Conflict, NotAllowed, NotFound
from hotline.models import AccessLog, Exemption, TicketEvent
from hotline.rollups import rollups_refresh


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def rated(flow, *, good: bool, **kw):
    ticket = flow.replied(**kw)
    services.ticket_record_callback(
        ticket=ticket,
        actor=None,
        contacted=True,
        resolved=good,
        satisfaction=Satisfaction.SATISFIED if good else Satisfaction.DISSATISFIED,
        comment="" if good else "油烟还是很大",
    )
    return flow.reload(ticket)


def ask(ticket, actor, kind=ExemptionReason.MALICIOUS):
    return services.exemption_request(ticket=ticket, actor=actor, reason_kind=kind, reason="诉求人与商户存在纠纷")


# --- the exemption service ---------------------------------------------------------------------------


def test_an_approved_exemption_removes_the_rating_from_the_units_rates(flow, city):
    rated(flow, good=True)
    bad = rated(flow, good=False)
    rollups_refresh()
    summary = api(city.supervisor).get(f"/api/stats/units/{city.street_a.pk}/").json()["summary"]
    assert (summary["rated"], summary["resolution_rate"], summary["composite"]) == (2, 50.0, 55.0)

    exemption = ask(bad, city.handler_a)
    rollups_refresh()
    assert api(city.supervisor).get(f"/api/stats/units/{city.street_a.pk}/").json()["summary"]["rated"] == 2

    services.exemption_decide(exemption=exemption, actor=city.supervisor, approve=True, reason="核实为恶意评价")
    rollups_refresh()
    card = api(city.supervisor).get(f"/api/stats/units/{city.street_a.pk}/").json()
    assert (card["summary"]["rated"], card["summary"]["exempted"], card["summary"]["composite"]) == (1, 1, 100.0)
    assert [e["status"] for e in card["exemptions"]] == ["approved"]  # listed beside the score
    kinds = list(TicketEvent.objects.filter(ticket=bad).values_list("kind", flat=True))
    assert kinds[-2:] == ["exemption_requested", "exemption_approved"]


def test_exemption_rules(flow, city):
    bad = rated(flow, good=False)
    with pytest.raises(NotFound):
        ask(bad, city.handler_b)  # another unit's ticket does not exist for it
    with pytest.raises(NotFound):
        ask(bad, city.operator)
    exemption = ask(bad, city.handler_a)
    with pytest.raises(Conflict):
        ask(bad, city.manager_a)  # a colleague's double request
    with pytest.raises(NotAllowed):
        services.exemption_decide(exemption=exemption, actor=city.handler_a, approve=True, reason="自己批准")
    services.exemption_decide(exemption=exemption, actor=city.supervisor, approve=False, reason="理由不充分")
    with pytest.raises(Conflict):
        services.exemption_decide(exemption=exemption, actor=city.supervisor, approve=True, reason="改主意")
    with pytest.raises(Conflict):
        ask(bad, city.handler_a)  # a rejection is final
    assert Exemption.objects.get().status == "rejected"


def test_only_the_lead_unit_may_ask(flow, city):
    ticket = flow.new()
    services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_a, assist_units=[city.bureau])
    with pytest.raises(NotAllowed):
        ask(ticket, city.bureau_handler)


# --- the JSON endpoints --------------------------------------------------------------------------------


def test_city_figures_for_the_hub(flow, city):
    rated(flow, good=True)
    rated(flow, good=False)
    rollups_refresh()
    client = api(city.supervisor)
    summary = client.get("/api/stats/summary/").json()
    assert summary["unit"] is None
    assert (summary["data"]["created"], summary["data"]["rated"], summary["data"]["volume"]) == (2, 2, 2)
    assert client.get("/api/stats/volume/").json()["data"]["values"].count(2) == 1
    rates = client.get("/api/stats/rates/").json()["data"]
    assert len(rates["labels"]) == 12 and rates["resolution_rate"][-1] == 50.0
    assert client.get("/api/stats/categories/").json()["data"] == [{"category": "环境保护 / 餐饮油烟", "count": 2}]
    heat = client.get("/api/stats/heatmap/").json()["data"]
    assert sum(c[2] for c in heat["cells"]) == 2 and len(heat["weekdays"]) == 7
    districts = client.get("/api/stats/districts/").json()["data"]
    assert [(d["code"], d["rated"], d["composite"]) for d in districts] == [("chaoyang", 2, 55.0)]
    year = client.get("/api/stats/summary/", {"year": str(TicketEvent.objects.first().created_at.year)}).json()
    assert year["period"]["kind"] == "year" and year["data"]["rated"] == 2


@pytest.mark.parametrize("params", [{"month": "2026-13"}, {"month": "26-01"}, {"year": "abcd"}])
def test_a_malformed_period_is_a_400_with_a_reason(city, params):
    response = api(city.supervisor).get("/api/stats/summary/", params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) <= {"month", "year"}


def test_units_see_their_own_figures_and_404_for_anyone_elses(flow, city):
    rated(flow, good=True)
    rollups_refresh()
    mine = api(city.handler_a).get("/api/stats/summary/").json()
    assert mine["unit"]["id"] == city.street_a.pk and mine["data"]["rated"] == 1
    for path in ("/api/stats/summary/", "/api/stats/rates/", "/api/stats/heatmap/", "/api/stats/categories/"):
        response = api(city.handler_b).get(path, {"unit": city.street_a.pk})
        assert response.status_code == 404, path
    assert api(city.handler_b).get(f"/api/stats/units/{city.street_a.pk}/").status_code == 404
    assert api(city.handler_b).get(f"/api/stats/units/{city.street_a.pk}/bad-ratings/export/").status_code == 404
    # A district manager sees the streets under the district.
    assert api(city.district_manager).get(f"/api/stats/units/{city.street_a.pk}/").status_code == 200
    assert api(city.handler_a).get("/api/stats/districts/").status_code == 403
    assert api(city.handler_a).get("/api/stats/rankings/").status_code == 200  # rankings are public to all


def test_rankings_export_as_csv_and_excel(flow, city):
    rated(flow, good=True)
    rollups_refresh()
    client = api(city.supervisor)
    response = client.get("/api/stats/rankings/export/", {"filetype": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["名次", "单位", "类型"]
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name["望京街道办事处"][0] == "样本不足" and by_name["望京街道办事处"][3] == "1"

    response = client.get("/api/stats/rankings/export/", {"filetype": "xlsx", "group": "bureau"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))][:2] == ["名次", "单位"]
    assert client.get("/api/stats/rankings/export/", {"filetype": "pdf"}).status_code == 400


def test_bad_ratings_export_masks_for_units_and_is_logged(flow, city):
    rated(flow, good=False)
    rollups_refresh()
    unit_csv = api(city.handler_a).get(f"/api/stats/units/{city.street_a.pk}/bad-ratings/export/").content
    row = list(csv.reader(io.StringIO(unit_csv.decode("utf-8-sig"))))[1]
    assert row[2:4] == ["王女士", "138****5678"]  # a surname with a title is already masked
    hub_csv = api(city.supervisor).get(f"/api/stats/units/{city.street_a.pk}/bad-ratings/export/").content
    assert "13812345678" in hub_csv.decode("utf-8-sig")
    logs = AccessLog.objects.filter(action=AccessAction.EXPORT).order_by("id")
    assert [(log.user_id, log.masked, log.row_count) for log in logs] == [
        (city.handler_a.pk, True, 1),
        (city.supervisor.pk, False, 1),
    ]


def test_a_formula_like_cell_is_not_run_by_a_spreadsheet(flow, city):
    ticket = flow.replied(title='=HYPERLINK("http://evil")')
    services.ticket_record_callback(
        ticket=ticket, actor=None, contacted=True, resolved=False, satisfaction=Satisfaction.DISSATISFIED
    )
    body = api(city.supervisor).get(f"/api/stats/units/{city.street_a.pk}/bad-ratings/export/").content
    row = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1]
    assert row[1].startswith("'=")


def test_exemption_api(flow, city):
    bad = rated(flow, good=False)
    response = api(city.handler_a).post(
        "/api/exemptions/", {"ticket": bad.pk, "reason_kind": "malicious", "reason": "恶意差评"}, format="json"
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    again = api(city.handler_a).post(
        "/api/exemptions/", {"ticket": bad.pk, "reason_kind": "malicious", "reason": "恶意差评"}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "already_requested"
    other = api(city.handler_b).post(
        "/api/exemptions/", {"ticket": bad.pk, "reason_kind": "malicious", "reason": "x"}, format="json"
    )
    assert other.status_code == 404
    assert api(city.handler_b).get("/api/exemptions/").json() == []
    assert api(city.handler_b).post(f"/api/exemptions/{pk}/approve/", {"reason": "x"}).status_code == 404
    assert api(city.handler_a).post(f"/api/exemptions/{pk}/approve/", {"reason": "x"}).status_code == 403
    assert api(city.supervisor).post(f"/api/exemptions/{pk}/approve/", {}).status_code == 400
    done = api(city.supervisor).post(f"/api/exemptions/{pk}/approve/", {"reason": "核实"})
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert api(city.supervisor).post(f"/api/exemptions/{pk}/reject/", {"reason": "x"}).status_code == 409


# --- pages ---------------------------------------------------------------------------------------------


def test_dashboard_pages(client, flow, city):
    rated(flow, good=False)
    rollups_refresh()
    client.force_login(city.supervisor)
    page = client.get("/scores/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "考核看板 · 全市" in text and "朝阳区人民政府" in text and 'data-chart="heatmap"' in text
    assert client.get("/scores/", {"unit": city.street_a.pk}).status_code == 200
    assert client.get("/scores/rankings/", {"group": "bureau"}).status_code == 200
    assert "样本不足" in client.get("/scores/rankings/").content.decode()
    card = client.get(f"/scores/units/{city.street_a.pk}/").content.decode()
    assert "楼下饭馆油烟扰民" in card and "待跟进差评" in card


def test_unit_pages_are_scoped(client, flow, city):
    client.force_login(city.handler_a)
    response = client.get("/scores/")
    assert response.status_code == 302 and response["Location"] == f"/scores/units/{city.street_a.pk}/"
    assert client.get(f"/scores/units/{city.street_b.pk}/").status_code == 404
    assert client.get("/scores/exemptions/").status_code == 404
    assert client.get("/scores/rankings/").status_code == 200
    client.force_login(city.district_manager)
    assert client.get(f"/scores/units/{city.street_b.pk}/").status_code == 200


def test_exemption_by_page_from_request_to_decision(client, flow, city):
    bad = rated(flow, good=False)
    client.force_login(city.handler_a)
    url = f"/scores/units/{city.street_a.pk}/"
    empty = client.post(url, {"ticket": bad.number, "reason_kind": "malicious", "reason": ""})
    assert empty.status_code == 200 and "申请理由" in empty.content.decode() and not Exemption.objects.exists()
    wrong = client.post(url, {"ticket": "2099", "reason_kind": "malicious", "reason": "恶意"})
    assert "工单不存在" in wrong.content.decode()
    done = client.post(url, {"ticket": bad.number, "reason_kind": "malicious", "reason": "恶意差评"})
    assert done.status_code == 302
    twice = client.post(url, {"ticket": bad.number, "reason_kind": "malicious", "reason": "恶意差评"})
    assert "已有待审核" in twice.content.decode() and Exemption.objects.count() == 1

    client.force_login(city.supervisor)
    pending = client.get("/scores/exemptions/").content.decode()
    assert bad.number in pending
    exemption = Exemption.objects.get()
    client.post(f"/scores/exemptions/{exemption.pk}/reject/", {"reason": ""})
    assert Exemption.objects.get().status == "pending"  # no reason, no decision
    client.post(f"/scores/exemptions/{exemption.pk}/approve/", {"reason": "核实属实"})
    assert Exemption.objects.get().status == "approved"


@pytest.mark.parametrize(
    "figure", ["summary", "volume", "rates", "categories", "heatmap", "overdue", "districts", "problems"]
)
def test_every_dashboard_figure_exports(flow, city, figure):
    rated(flow, good=True)
    rollups_refresh()
    response = api(city.supervisor).get(f"/api/stats/{figure}/export/", {"filetype": "csv"})
    assert response.status_code == 200, response.content
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows[0]) >= 2
    if figure == "heatmap":
        assert len(rows) == 8 and sum(int(v) for r in rows[1:] for v in r[1:]) == 1
    if figure == "districts":
        assert rows[1][0] == "朝阳区人民政府" and rows[1][2] == "1"
    xlsx = api(city.supervisor).get(f"/api/stats/{figure}/export/", {"filetype": "xlsx"})
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == len(rows)
    if figure in ("districts", "problems"):
        assert api(city.handler_a).get(f"/api/stats/{figure}/export/").status_code == 403
    else:
        assert api(city.handler_b).get(f"/api/stats/{figure}/export/", {"unit": city.street_a.pk}).status_code == 404
