"""The router in the web UI: repeat calls and the knowledge base at intake, suggestions in the
dispatcher queue, the 智能分拨 card on the ticket page, and dispatcher corrections as training data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hotline.choices import AccessAction, RequestType, TicketStatus
from hotline.models import AccessLog, Ticket
from routing import places, rules, selectors, services
from routing.models import DispatchRule, KnowledgeArticle, RoutingDecision, TrainingExample

HTMX = {"HX-Request": "true"}
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
OIL_SMOKE = "望京西园小区楼下饭馆油烟很大，晚上还在营业，窗户都不敢开。"


def as_user(client: Client, user) -> Client:
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def detail_url(ticket) -> str:
    return reverse("ticket_detail", args=[ticket.pk])


def _invalidate_routing_caches() -> None:
    services.active_model.invalidate()
    rules.rules.invalidate()
    places.gazetteer.invalidate()
    selectors.knowledge_index.invalidate()


@pytest.fixture(autouse=True)
def _fresh_routing_caches():
    """The router's per-process caches must not carry a model, rule, place or article from another test.

    The ``router`` fixture (tests/routing/conftest.py) trains the tiny model and writes the rules.
    """
    _invalidate_routing_caches()
    yield
    _invalidate_routing_caches()


def _intake_data(city, **overrides):
    data = {
        "caller_phone": "139 0000 1111",
        "caller_name": "赵先生",
        "request_type": RequestType.COMPLAINT,
        "channel": "phone",
        "priority": "general",
        "title": "楼下饭馆油烟大",
        "content": OIL_SMOKE,
        "address": "",
        "district": city.chaoyang.pk,
        "street": city.wangjing.pk,
        "community": "",
        "category": "",
        "answer": "",
        "submit": "dispatch",
    }
    data.update(overrides)
    return data


# --- intake: possible repeat calls -------------------------------------------------------------------


def test_intake_duplicates_lists_same_caller_and_similar_text_at_the_same_street(client, flow):
    c = flow.city
    same_caller = flow.new(title="上周反映过的噪声", content="夜里施工噪声很大。")
    too_old = flow.new(title="四十天前的来电", now=timezone.now() - dt.timedelta(days=40))
    same_street = flow.new(caller_phone="13900002222", title="饭馆油烟扰民", content=OIL_SMOKE)
    other_street = flow.new(caller_phone="13900003333", street=c.sanlitun, title="饭馆油烟扰民", content=OIL_SMOKE)
    unrelated = flow.new(caller_phone="13900004444", title="路灯不亮", content="小区门口路灯坏了一个月。")

    response = as_user(client, c.operator).get(
        reverse("intake_duplicates"),
        {"caller_phone": "138 1234 5678", "street": c.wangjing.pk, "title": "饭馆油烟", "content": OIL_SMOKE},
        headers=HTMX,
    )

    assert response.status_code == 200
    body = text(response)
    assert same_caller.number in body and "同一来电人30天内来电" in body
    assert same_street.number in body and "同一街道7天内相似诉求" in body
    for absent in (too_old, other_street, unrelated):
        assert absent.number not in body
    assert f'name="merge_into" value="{same_street.number}"' in body
    assert "合并为此单的重复来电" in body
    assert "%" in body  # similarity as a percentage
    # Looking tickets up by the caller's number is logged, masked, like the caller history.
    assert AccessLog.objects.filter(action=AccessAction.SEARCH, query="138****5678").count() == 1


def test_intake_panels_do_not_exist_for_unit_staff(client, flow):
    flow.new()
    as_user(client, flow.city.handler_a)
    assert client.get(reverse("intake_duplicates"), {"caller_phone": "13812345678"}).status_code == 404
    assert client.get(reverse("intake_knowledge"), {"q": "油烟"}).status_code == 404


def test_intake_duplicates_escapes_ticket_text(client, flow):
    flow.new(title=XSS, content=XSS)
    body = text(as_user(client, flow.city.operator).get(reverse("intake_duplicates"), {"caller_phone": "13812345678"}))
    assert XSS not in body
    assert XSS_ESCAPED in body


# --- intake: saving as a repeat call ---------------------------------------------------------------


def test_intake_with_merge_into_saves_the_call_as_a_repeat_of_the_master(client, flow):
    c = flow.city
    master = flow.new()
    response = as_user(client, c.operator).post(reverse("intake"), _intake_data(c, merge_into=master.number))

    assert response.status_code == 302 and response["Location"] == detail_url(master)
    child = Ticket.objects.exclude(pk=master.pk).get()
    assert child.status == TicketStatus.MERGED and child.master == master
    assert flow.reload(master).repeat_count == 1
    assert not RoutingDecision.objects.filter(ticket=child).exists()  # a repeat call is not routed
    page = text(client.get(response["Location"]))
    assert f"已作为重复来电并入工单 {master.number}" in page


def test_intake_with_unknown_merge_into_is_a_field_error_and_creates_nothing(client, city):
    response = as_user(client, city.operator).post(reverse("intake"), _intake_data(city, merge_into="2099010199999"))

    assert response.status_code == 400
    assert "未找到编号为 2099010199999 的工单" in text(response)
    assert 'value="楼下饭馆油烟大"' in text(response)  # what was typed is kept
    assert not Ticket.objects.exists()


# --- intake: knowledge base ------------------------------------------------------------------------


@pytest.fixture
def article(db):
    return KnowledgeArticle.objects.create(
        title="居住证办理",
        question="外地人怎么办理居住证",
        answer="请携带身份证、租房合同到居住地社区服务站办理居住证。",
        keywords=["居住证"],
    )


def test_knowledge_partial_finds_an_article_by_its_words(client, city, article):
    KnowledgeArticle.objects.create(title="暖气报修", answer="请拨打热力集团客服电话。", keywords=["暖气"])
    response = as_user(client, city.operator).get(reverse("intake_knowledge"), {"q": "想问问居住证怎么办"})

    assert response.status_code == 200
    body = text(response)
    assert "居住证办理" in body and article.answer in body
    assert f'data-kb-adopt="{article.pk}"' in body and "采用此答复" in body
    assert '<span class="kw">居住证</span>' in body  # the matched keyword
    assert "已引用 0 次" in body
    assert "暖气报修" not in body
    assert "没有与“路灯”相关" in text(client.get(reverse("intake_knowledge"), {"q": "路灯"}))


def test_direct_answer_with_knowledge_article_cites_it_and_counts_the_use(client, city, article):
    data = _intake_data(
        city, request_type=RequestType.CONSULT, submit="answer", answer=article.answer, knowledge_article=article.pk
    )
    response = as_user(client, city.operator).post(reverse("intake"), data)

    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(ticket)
    assert ticket.status == TicketStatus.CLOSED and ticket.knowledge_article == article
    article.refresh_from_db()
    assert article.use_count == 1


def test_direct_answer_with_unknown_knowledge_article_is_a_form_error(client, city):
    data = _intake_data(
        city, request_type=RequestType.CONSULT, submit="answer", answer="按知识库口径答复。", knowledge_article="99999"
    )
    response = as_user(client, city.operator).post(reverse("intake"), data)

    assert response.status_code == 400
    assert "所采用的知识库条目不存在或已停用" in text(response)
    assert not Ticket.objects.exists()


def test_knowledge_article_is_ignored_when_the_ticket_goes_to_dispatch(client, city, article):
    data = _intake_data(city, knowledge_article=article.pk)
    response = as_user(client, city.operator).post(reverse("intake"), data)

    assert response.status_code == 302
    assert Ticket.objects.get().knowledge_article is None
    article.refresh_from_db()
    assert article.use_count == 0


# --- routing at intake, the ticket page and the queue -------------------------------------------------


def test_confident_intake_is_auto_dispatched_and_the_card_says_why(client, router):
    c = router
    response = as_user(client, c.operator).post(reverse("intake"), _intake_data(c))

    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(ticket)
    assert ticket.status == TicketStatus.DISPATCHED and ticket.lead_unit == c.street_a
    decision = RoutingDecision.objects.get(ticket=ticket)
    assert decision.auto_dispatched and decision.category_source == "model"

    body = text(as_user(Client(), c.dispatcher).get(detail_url(ticket)))
    assert "智能分拨" in body and "已自动派单" in body
    assert "v1" in body and "分类来源" in body
    assert '<span class="kw">油烟</span>' in body  # the keyword that drove 餐饮油烟
    assert "<meter" in body and "环境保护 / 餐饮油烟" in body
    assert "油烟属地" in body  # the rule that fired
    assert "望京街道办事处" in body

    unit_view = as_user(Client(), c.handler_a).get(detail_url(ticket))
    assert unit_view.status_code == 200
    assert 'id="ticket-routing"' not in text(unit_view)
    assert "已自动派单" not in text(unit_view) and '<span class="kw">' not in text(unit_view)


def test_low_confidence_ticket_waits_in_the_queue_with_its_suggestion(client, router, settings):
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_THRESHOLD": 0.999}
    c = router
    # Vaguer words than OIL_SMOKE: the tiny model still says 餐饮油烟, but below 99.9%.
    data = _intake_data(c, title="楼下饭馆有味道", content="楼下饭馆晚上还在营业，很吵。")
    as_user(client, c.operator).post(reverse("intake"), data)

    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.RECEIVED
    decision = RoutingDecision.objects.get(ticket=ticket)
    assert not decision.auto_dispatched and "低于自动派单阈值" in decision.hold_reason

    as_user(client, c.dispatcher)
    body = text(client.get(reverse("dispatch_queue")))
    assert ticket.number in body
    assert "望京街道办事处" in body and "油烟属地" in body  # the suggestion and its reason
    assert f"未自动派单：{decision.hold_reason}" in body
    assert "badge-amber" in body  # below the threshold
    assert '<span class="kw">饭馆</span>' in body  # 依据: the keywords behind it

    form = text(client.get(reverse("ticket_action", args=[ticket.pk, "dispatch"]) + "?ctx=queue", headers=HTMX))
    assert f'<option value="{c.street_a.pk}" selected>' in form  # lead unit pre-selected to the suggestion
    assert f'data-pick-value="{c.street_a.pk}"' in form  # quick pick
    assert '<optgroup label="环境保护">' in form
    assert f'<option value="{c.category.pk}" selected>' in form  # the ticket's (model-set) category


def test_queue_reads_routing_decisions_in_one_query_for_the_page(client, router):
    c = router
    as_user(client, c.dispatcher)

    def queue_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dispatch_queue")).status_code == 200
        return len(ctx.captured_queries)

    services.ticket_route(ticket=_new_unrouted(c), auto_dispatch=False)
    one = queue_queries()
    for _ in range(3):
        services.ticket_route(ticket=_new_unrouted(c), auto_dispatch=False)
    assert queue_queries() == one


def _new_unrouted(city) -> Ticket:
    from hotline import services as hotline_services

    return hotline_services.ticket_create(
        actor=city.operator,
        title="饭馆油烟",
        content=OIL_SMOKE,
        request_type=RequestType.COMPLAINT,
        district=city.chaoyang,
        street=city.wangjing,
    )


def test_dispatching_with_another_category_records_a_correction(client, router):
    c = router
    corrected = _new_unrouted(c)
    confirmed = _new_unrouted(c)
    for t in (corrected, confirmed):
        services.ticket_route(ticket=t, auto_dispatch=False)
    as_user(client, c.dispatcher)

    response = client.post(
        reverse("ticket_action", args=[corrected.pk, "dispatch"]),
        {"ctx": "queue", "lead_unit": c.utility.pk, "category": c.heating.pk},
        headers=HTMX,
    )
    assert response.status_code == 200
    corrected.refresh_from_db()
    assert corrected.status == TicketStatus.DISPATCHED and corrected.category == c.heating
    example = TrainingExample.objects.get(ticket=corrected)
    assert example.source == TrainingExample.Source.CORRECTION
    assert (example.label, example.predicted) == ("0301", "0602")

    # Taking the router's category and unit is a confirmation, not a correction.
    client.post(
        reverse("ticket_action", args=[confirmed.pk, "dispatch"]),
        {"lead_unit": c.street_a.pk, "category": c.category.pk},
    )
    assert TrainingExample.objects.get(ticket=confirmed).source == TrainingExample.Source.CONFIRMED


# --- the ticket page: repeat calls and escaping -------------------------------------------------------


def test_ticket_page_offers_merging_a_received_ticket_into_a_likely_duplicate(client, flow):
    master = flow.new(title="第一次来电")
    repeat = flow.new(title="第二次来电")
    as_user(client, flow.city.operator)

    body = text(client.get(detail_url(repeat)))
    assert "可能重复来电" in body and master.number in body and "合并到该工单" in body
    merge_url = reverse("ticket_action", args=[repeat.pk, "merge"])
    assert f'action="{merge_url}"' in body

    response = client.post(merge_url, {"ctx": "detail", "master": master.number, "reason": "重复来电"})
    assert response.status_code == 302
    assert flow.reload(repeat).master == master and flow.reload(master).repeat_count == 1
    assert "合并到该工单" not in text(client.get(detail_url(repeat)))  # merged: nothing left to offer


def test_routing_card_and_duplicates_escape_stored_text(client, router):
    c = router
    DispatchRule.objects.filter(name="油烟属地").update(name=XSS)
    rules.rules.invalidate()
    from hotline import services as hotline_services

    hotline_services.ticket_create(
        actor=c.operator,
        title=XSS,
        content=XSS,
        request_type=RequestType.COMPLAINT,
        caller_phone="13812345678",
    )
    ticket = _new_unrouted(c)
    Ticket.objects.filter(pk=ticket.pk).update(caller_phone="13812345678")
    ticket.refresh_from_db()
    services.ticket_route(ticket=ticket, auto_dispatch=False)

    body = text(as_user(client, c.dispatcher).get(detail_url(ticket)))
    assert "智能分拨" in body and "可能重复来电" in body
    assert XSS not in body
    assert body.count(XSS_ESCAPED) >= 3  # the rule's name, the suggestion's reason, the duplicate's title
