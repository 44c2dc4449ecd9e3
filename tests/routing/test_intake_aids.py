"""Repeat-call suggestions and the knowledge base, through the selectors and the API."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework.test import APIClient

from hotline.choices import AccessAction
from hotline.models import AccessLog, Ticket
from routing.models import KnowledgeArticle, RoutingDecision
from routing.selectors import duplicates_for, knowledge_index, knowledge_search
from routing.services import ticket_route


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_same_caller_within_30_days_is_a_candidate_and_older_is_not(city, flow):
    recent = flow.new(title="上周反映的油烟", caller_phone="13912340000")
    old = flow.new(title="很久以前", caller_phone="13912340000", now=timezone.now() - dt.timedelta(days=40))
    found = duplicates_for(city.operator, phone="13912340000", text="饭馆油烟")
    assert [d.ticket.pk for d in found] == [recent.pk]
    assert found[0].same_caller and old.pk not in [d.ticket.pk for d in found]


def test_same_street_similar_text_within_7_days(city, flow):
    similar = flow.new(
        title="工地夜间施工", content="望京街道一个工地晚上十一点还在打桩施工，噪音太大", caller_phone="13700000001"
    )
    flow.new(title="无关", content="小区垃圾桶没人清理，臭味很大", caller_phone="13700000002")
    for t in Ticket.objects.all():
        ticket_route(ticket=t, auto_dispatch=False)
    found = duplicates_for(city.operator, street_id=city.wangjing.pk, text="工地晚上打桩施工噪音大")
    assert [d.ticket.pk for d in found] == [similar.pk]
    assert not found[0].same_caller and found[0].similarity >= 0.3


def test_merged_tickets_and_the_ticket_itself_are_not_candidates(city, flow):
    a = flow.new(caller_phone="13812349999")
    b = flow.merged(caller_phone="13812349999")
    found = duplicates_for(city.operator, phone="13812349999", exclude_id=a.pk)
    assert a.pk not in [d.ticket.pk for d in found] and b.pk not in [d.ticket.pk for d in found]


def test_knowledge_search_ranks_the_matching_article_first(city):
    KnowledgeArticle.objects.create(
        title="北京市供暖季起止时间",
        question="什么时候开始供暖",
        answer="每年11月15日开始供暖。",
        keywords=["供暖", "暖气"],
    )
    KnowledgeArticle.objects.create(
        title="居住证办理", question="居住证怎么办", answer="到社区服务站办理。", keywords=["居住证"]
    )
    KnowledgeArticle.objects.create(title="停用条目", answer="x", keywords=["供暖"], is_active=False)
    knowledge_index.invalidate()
    hits = knowledge_search("暖气什么时候开始供暖")
    assert hits[0].article.title == "北京市供暖季起止时间"
    assert "供暖" in hits[0].matched
    assert all(h.article.is_active for h in hits)
    assert knowledge_search("") == []


def test_routing_endpoint_is_for_hub_roles_and_hides_other_units_tickets(router, flow):
    ticket = flow.dispatched()
    ticket_route(ticket=ticket, auto_dispatch=False)
    body = api(router.dispatcher).get(f"/api/tickets/{ticket.pk}/routing/").json()
    assert body["model_version"] == router.model_row.version and body["predictions"]
    assert api(router.handler_a).get(f"/api/tickets/{ticket.pk}/routing/").status_code == 403
    assert api(router.dispatcher).get("/api/tickets/999999/routing/").status_code == 404


def test_knowledge_and_duplicates_endpoints(city, flow):
    KnowledgeArticle.objects.create(
        title="居住证办理", question="居住证怎么办", answer="到社区服务站办理。", keywords=["居住证"]
    )
    knowledge_index.invalidate()
    client = api(city.operator)
    assert client.get("/api/knowledge/?q=居住证怎么办理").json()[0]["title"] == "居住证办理"
    assert client.get("/api/knowledge/?q=").status_code == 400
    flow.new(caller_phone="13600002222")
    rows = client.get("/api/duplicates/?phone=136-0000-2222").json()
    assert len(rows) == 1 and rows[0]["reason"].startswith("同一来电人")
    assert AccessLog.objects.filter(user=city.operator, action=AccessAction.SEARCH).exists()
    assert client.get("/api/duplicates/?phone=123").status_code == 400
    assert client.get("/api/duplicates/").status_code == 400
    assert api(city.handler_a).get("/api/knowledge/?q=居住证").status_code == 403
    assert api(city.handler_a).get("/api/duplicates/?phone=13600002222").status_code == 403


def test_api_dispatch_with_a_category_correction_records_feedback(router, flow, settings):
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_THRESHOLD": 1.01}
    ticket = flow.new(category=None, title="扰民", content="楼下饭馆油烟大")
    ticket_route(ticket=ticket)
    r = api(router.dispatcher).post(
        f"/api/tickets/{ticket.pk}/dispatch/", {"lead_unit": "chaoyang-sanlitun", "category": "0601"}, format="json"
    )
    assert r.status_code == 200, r.content
    ticket.refresh_from_db()
    assert ticket.category == router.noise
    from routing.models import TrainingExample

    assert TrainingExample.objects.get(ticket=ticket).label == "0601"
    assert RoutingDecision.objects.filter(ticket=ticket).exists()
