"""The server-rendered UI: who sees which page, what it shows, and that every POST goes through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hotline import services
from hotline.choices import AccessAction, AssignmentStatus, HandlingResult, RequestType, TicketStatus
from hotline.models import AccessLog, Assignment, Ticket, TicketEvent
from hotline.phones import PHONE_HELP
from hotline.templatetags.hotline_tags import deadline_colour, remaining
from hotline.views.actions import ACTIONS
from hotline.workflow import Action

HTMX = {"HX-Request": "true"}
FULL = "13812345678"
MASKED = "138****5678"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def as_user(client: Client, user) -> Client:
    client.force_login(user)
    return client


def detail_url(ticket) -> str:
    return reverse("ticket_detail", args=[ticket.pk])


def action_url(ticket, action: str) -> str:
    return reverse("ticket_action", args=[ticket.pk, action])


def text(response) -> str:
    return response.content.decode()


# --- login, home, page access ---------------------------------------------------------------------


def test_login_page_is_chinese_and_open_to_anonymous(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "登录" in text(response)
    assert 'name="password"' in text(response)


@pytest.mark.parametrize(
    "name", ["home", "intake", "dispatch_queue", "workbench", "supervise", "ticket_search", "access_log"]
)
def test_every_page_but_login_requires_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_ticket_pages_require_login(client, flow):
    ticket = flow.dispatched()
    for url in (detail_url(ticket), action_url(ticket, "sign")):
        response = client.post(url) if url.endswith("sign/") else client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.DISPATCHED


@pytest.mark.parametrize(
    ("persona", "target"),
    [
        ("operator", "intake"),
        ("dispatcher", "dispatch_queue"),
        ("handler_a", "workbench"),
        ("manager_a", "workbench"),
        ("supervisor", "supervise"),
        ("auditor", "access_log"),
    ],
)
def test_home_sends_each_role_to_its_desk(client, city, persona, target):
    response = as_user(client, getattr(city, persona)).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(target)


@pytest.mark.parametrize(
    ("persona", "name", "heading"),
    [
        ("operator", "intake", "受理来电"),
        ("dispatcher", "intake", "受理来电"),
        ("dispatcher", "dispatch_queue", "派单队列"),
        ("supervisor", "dispatch_queue", "派单队列"),
        ("handler_a", "workbench", "工作台"),
        ("manager_a", "workbench", "工作台"),
        ("supervisor", "supervise", "督办审核"),
        ("auditor", "access_log", "个人信息访问日志"),
        ("operator", "ticket_search", "工单查询"),
        ("handler_a", "ticket_search", "工单查询"),
        ("auditor", "ticket_search", "工单查询"),
    ],
)
def test_each_page_renders_for_the_roles_that_use_it(client, city, persona, name, heading):
    response = as_user(client, getattr(city, persona)).get(reverse(name))
    assert response.status_code == 200
    body = text(response)
    assert heading in body
    assert str(getattr(city, persona)) in body  # the header names who is logged in


@pytest.mark.parametrize(
    ("persona", "name"),
    [
        ("handler_a", "intake"),
        ("handler_a", "dispatch_queue"),
        ("handler_a", "supervise"),
        ("handler_a", "access_log"),
        ("operator", "workbench"),
        ("operator", "access_log"),
        ("dispatcher", "supervise"),
        ("supervisor", "access_log"),
        ("auditor", "workbench"),
    ],
)
def test_pages_of_other_roles_do_not_exist_for_a_user(client, city, persona, name):
    response = as_user(client, getattr(city, persona)).get(reverse(name))
    assert response.status_code == 404


def test_nav_shows_only_the_roles_pages(client, city):
    body = text(as_user(client, city.handler_a).get(reverse("workbench")))
    assert reverse("workbench") in body
    assert f'href="{reverse("intake")}"' not in body
    assert f'href="{reverse("access_log")}"' not in body
    assert "望京街道办事处" in body and "承办人" in body  # unit and role in the header


def test_logout_is_post_only(client, city):
    as_user(client, city.operator)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("intake")).status_code == 302  # logged out: back to login


def test_lockout_page_after_repeated_failures(client, city, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "operator1", "password": "wrong-password"})
    response = client.post(reverse("login"), {"username": "operator1", "password": "wrong-password"})
    assert "登录失败次数过多，账号已暂时锁定，请15分钟后再试或联系管理员" in text(response)


# --- visibility: another unit's ticket does not exist -------------------------------------------------


def test_unit_sees_its_own_ticket(client, flow):
    ticket = flow.dispatched()
    response = as_user(client, flow.city.handler_a).get(detail_url(ticket))
    assert response.status_code == 200
    assert ticket.number in text(response)


def test_other_units_handler_gets_404_for_the_detail_page(client, flow):
    ticket = flow.dispatched()
    response = as_user(client, flow.city.handler_b).get(detail_url(ticket))
    assert response.status_code == 404
    assert ticket.title not in text(response)
    assert not AccessLog.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_other_units_handler_gets_404_for_every_action(client, flow, action):
    ticket = flow.dispatched()
    events = TicketEvent.objects.filter(ticket=ticket).count()
    as_user(client, flow.city.handler_b)
    data = {
        "reason": "试图越权",
        "ctx": "detail",
        "lead_unit": flow.city.street_b.pk,
        "days": 1,
        "text": "越权反馈内容",
        "result": HandlingResult.RESOLVED,
    }
    assert client.post(action_url(ticket, action), data).status_code == 404
    assert client.post(action_url(ticket, action), data, headers=HTMX).status_code == 404
    assert client.get(action_url(ticket, action)).status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DISPATCHED
    assert TicketEvent.objects.filter(ticket=ticket).count() == events


def test_other_units_handler_gets_404_for_the_reveal_form(client, flow):
    ticket = flow.dispatched()
    response = as_user(client, flow.city.handler_b).post(
        reverse("ticket_reveal", args=[ticket.pk]), {"reason": "想看看"}
    )
    assert response.status_code == 404
    assert FULL not in text(response)
    assert not AccessLog.objects.filter(action=AccessAction.REVEAL).exists()


def test_bad_ids_and_unknown_actions_are_404_not_500(client, flow):
    ticket = flow.dispatched()
    as_user(client, flow.city.dispatcher)
    assert client.get("/tickets/abc/").status_code == 404
    assert client.get("/tickets/99999999999999999999/").status_code == 404
    assert client.get("/tickets/-1/").status_code == 404
    assert client.post(f"/tickets/{ticket.pk}/explode/", {}).status_code == 404
    assert client.post("/tickets/abc/sign/", {}).status_code == 404
    assert client.get(reverse("workbench") + "?tab=nope").status_code == 404  # dispatcher: no workbench anyway


def test_unknown_workbench_tab_is_404(client, city):
    assert as_user(client, city.handler_a).get(reverse("workbench") + "?tab=nope").status_code == 404


# --- lists never leak another unit's tickets ------------------------------------------------------------


def _a_and_b(flow):
    a = flow.dispatched(title="望京独有工单")
    b = flow.new(title="三里屯独有工单", street=flow.city.sanlitun)
    services.ticket_dispatch(ticket=b, actor=flow.city.dispatcher, lead_unit=flow.city.street_b)
    return a, flow.reload(b)


def test_workbench_of_street_a_never_lists_street_b(client, flow):
    a, b = _a_and_b(flow)
    as_user(client, flow.city.handler_a)
    for tab in ("to_sign", "in_hand", "due_soon", "overdue", "replied"):
        body = text(client.get(reverse("workbench") + f"?tab={tab}"))
        assert b.number not in body and "三里屯独有工单" not in body
    body = text(client.get(reverse("workbench") + "?tab=to_sign"))
    assert a.number in body and "望京独有工单" in body
    body = text(as_user(Client(), flow.city.handler_b).get(reverse("workbench")))
    assert b.number in body and a.number not in body


def test_search_for_a_unit_never_lists_other_units_tickets(client, flow):
    a, b = _a_and_b(flow)
    as_user(client, flow.city.handler_a)
    body = text(client.get(reverse("ticket_search")))
    assert a.number in body
    assert b.number not in body and "三里屯独有工单" not in body
    body = text(client.get(reverse("ticket_search"), {"number": b.number}))
    assert detail_url(b) not in body and "没有符合条件的工单" in body
    body = text(client.get(reverse("ticket_search"), {"q": "三里屯"}))
    assert "三里屯独有工单" not in body
    hub = text(as_user(Client(), flow.city.operator).get(reverse("ticket_search")))
    assert a.number in hub and b.number in hub


# --- personal data: masking, confidential, access log ----------------------------------------------


def test_unit_user_sees_masked_phone_and_hub_sees_it_in_full(client, flow):
    ticket = flow.dispatched(caller_name="张三丰")
    unit_page = text(as_user(client, flow.city.handler_a).get(detail_url(ticket)))
    assert MASKED in unit_page
    assert FULL not in unit_page
    assert "张三丰" not in unit_page and "张**" in unit_page
    hub_page = text(as_user(Client(), flow.city.dispatcher).get(detail_url(ticket)))
    assert FULL in hub_page and "张三丰" in hub_page


def test_lists_mask_phones_for_everyone(client, flow):
    ticket = flow.dispatched()
    for user in (flow.city.operator, flow.city.handler_a):
        body = text(as_user(Client(), user).get(reverse("ticket_search")))
        assert ticket.number in body
        assert MASKED in body and FULL not in body


def test_confidential_ticket_hides_caller_from_units_and_refuses_reveal(client, flow):
    ticket = flow.dispatched(confidential=True, caller_name="张三丰")
    as_user(client, flow.city.handler_a)
    page = text(client.get(detail_url(ticket)))
    assert FULL not in page and MASKED not in page and "张三丰" not in page and "张**" not in page
    assert "保密" in page
    assert 'action="' + reverse("ticket_reveal", args=[ticket.pk]) not in page  # no reveal form offered
    response = client.post(reverse("ticket_reveal", args=[ticket.pk]), {"reason": "核实地址"}, headers=HTMX)
    assert response.status_code == 403
    assert "保密工单" in text(response)
    assert FULL not in text(response)
    assert not AccessLog.objects.filter(action=AccessAction.REVEAL).exists()
    search = text(client.get(reverse("ticket_search")))
    assert ticket.number in search and MASKED not in search


def test_detail_view_writes_an_access_log_row_with_the_right_masked_flag(client, flow):
    ticket = flow.dispatched()
    as_user(client, flow.city.handler_a).get(detail_url(ticket))
    log = AccessLog.objects.get(ticket=ticket, user=flow.city.handler_a)
    assert log.action == AccessAction.VIEW and log.masked is True and log.unit == flow.city.street_a
    as_user(Client(), flow.city.operator).get(detail_url(ticket))
    log = AccessLog.objects.get(ticket=ticket, user=flow.city.operator)
    assert log.action == AccessAction.VIEW and log.masked is False


def test_reveal_shows_the_number_in_place_and_logs_the_reason(client, flow):
    ticket = flow.dispatched()
    response = as_user(client, flow.city.handler_a).post(
        reverse("ticket_reveal", args=[ticket.pk]), {"reason": "电话联系诉求人核实地址"}, headers=HTMX
    )
    assert response.status_code == 200
    assert FULL in text(response)
    assert 'id="reveal-box"' in text(response)
    log = AccessLog.objects.get(action=AccessAction.REVEAL)
    assert (log.ticket, log.user, log.masked, log.reason) == (
        ticket,
        flow.city.handler_a,
        False,
        "电话联系诉求人核实地址",
    )


def test_reveal_without_js_renders_the_page_with_the_number(client, flow):
    ticket = flow.dispatched()
    response = as_user(client, flow.city.handler_a).post(
        reverse("ticket_reveal", args=[ticket.pk]), {"reason": "回电核实"}
    )
    assert response.status_code == 200
    assert FULL in text(response)
    assert AccessLog.objects.filter(action=AccessAction.REVEAL, reason="回电核实").count() == 1


def test_reveal_without_a_reason_is_refused_with_a_message(client, flow):
    ticket = flow.dispatched()
    response = as_user(client, flow.city.handler_a).post(
        reverse("ticket_reveal", args=[ticket.pk]), {"reason": "  "}, headers=HTMX
    )
    assert response.status_code == 400
    assert "请填写查看完整号码的理由" in text(response)
    assert FULL not in text(response)
    assert not AccessLog.objects.filter(action=AccessAction.REVEAL).exists()


# --- intake -----------------------------------------------------------------------------------------------


def _intake_data(city, **overrides):
    data = {
        "caller_phone": "138 1234 5678",
        "caller_name": "李先生",
        "request_type": RequestType.COMPLAINT,
        "channel": "phone",
        "priority": "general",
        "title": "小区噪声扰民",
        "content": "楼下商铺每晚放音乐到十二点。",
        "address": "望京西园三区",
        "district": city.chaoyang.pk,
        "street": city.wangjing.pk,
        "community": city.xiyuan.pk,
        "category": city.category.pk,
        "answer": "",
        "submit": "dispatch",
    }
    data.update(overrides)
    return data


def test_intake_creates_a_ticket_and_redirects_to_it(client, city):
    response = as_user(client, city.operator).post(reverse("intake"), _intake_data(city), follow=True)
    ticket = Ticket.objects.get()
    assert response.redirect_chain[-1][0] == detail_url(ticket)
    # The operator chose a 属地 category and the street: the rule table dispatches it at once.
    assert ticket.status == TicketStatus.DISPATCHED and ticket.lead_unit == city.street_a
    assert "已智能派单至" in text(response)
    assert (ticket.caller_phone, ticket.street, ticket.community, ticket.category) == (
        FULL,
        city.wangjing,
        city.xiyuan,
        city.category,
    )
    assert f"工单编号 {ticket.number}" in text(response)


def test_intake_with_empty_content_rerenders_with_field_error_and_keeps_data(client, city):
    response = as_user(client, city.operator).post(reverse("intake"), _intake_data(city, content="  "))
    assert response.status_code == 400
    body = text(response)
    assert "请填写诉求内容。" in body
    assert 'value="小区噪声扰民"' in body  # what was typed is kept
    assert 'value="李先生"' in body
    assert not Ticket.objects.exists()


def test_intake_with_malformed_phone_rerenders_with_field_error(client, city):
    response = as_user(client, city.operator).post(reverse("intake"), _intake_data(city, caller_phone="12345"))
    assert response.status_code == 400
    assert PHONE_HELP in text(response)
    assert 'value="12345"' in text(response)
    assert not Ticket.objects.exists()


def test_intake_direct_answer_closes_the_ticket(client, city):
    data = _intake_data(
        city, request_type=RequestType.CONSULT, answer="办理居住证请携带身份证到社区服务站。", submit="answer"
    )
    response = as_user(client, city.operator).post(reverse("intake"), data)
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(ticket)
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.answer_text == "办理居住证请携带身份证到社区服务站。"


def test_intake_direct_answer_needs_the_answer_text(client, city):
    response = as_user(client, city.operator).post(reverse("intake"), _intake_data(city, submit="answer"))
    assert response.status_code == 400
    assert "直接答复办结需要填写答复内容" in text(response)
    assert not Ticket.objects.exists()


def test_intake_street_outside_the_district_is_a_field_error(client, city):
    other = type(city.chaoyang).objects.create(code="haidian", name="海淀区", level="district")
    response = as_user(client, city.operator).post(reverse("intake"), _intake_data(city, district=other.pk))
    assert response.status_code == 400
    assert "所选街道/乡镇不属于所选的区" in text(response)
    assert not Ticket.objects.exists()


def test_caller_history_lists_recent_tickets_and_logs_the_search(client, flow):
    old = flow.new(title="上周的来电")
    as_user(client, flow.city.operator)
    response = client.get(reverse("intake_caller_history"), {"caller_phone": "13812345678"}, headers=HTMX)
    assert response.status_code == 200
    assert old.number in text(response) and "上周的来电" in text(response)
    log = AccessLog.objects.get(action=AccessAction.SEARCH)
    assert log.query == MASKED and log.row_count == 1 and log.user == flow.city.operator
    client.get(reverse("intake_caller_history"), {"caller_phone": "1381"}, headers=HTMX)
    assert AccessLog.objects.filter(action=AccessAction.SEARCH).count() == 1  # incomplete number: no search


def test_street_options_follow_the_district(client, city):
    response = as_user(client, city.operator).get(
        reverse("place_options", args=["streets"]), {"district": city.chaoyang.pk}
    )
    assert "望京街道" in text(response) and "三里屯街道" in text(response)
    response = client.get(reverse("place_options", args=["communities"]), {"street": city.wangjing.pk})
    assert "望京西园社区" in text(response)
    assert client.get(reverse("place_options", args=["streets"]), {"district": "x"}).status_code == 200
    assert client.get(reverse("place_options", args=["planets"])).status_code == 404


# --- actions through the web -------------------------------------------------------------------------------


def test_every_workflow_action_has_a_form_and_a_service():
    assert set(ACTIONS) == set(Action.values)


def test_dispatch_sign_and_reply_through_the_web(client, flow):
    c = flow.city
    ticket = flow.new()
    response = as_user(client, c.dispatcher).post(
        action_url(ticket, "dispatch"),
        {"lead_unit": c.street_a.pk, "assist_units": [c.bureau.pk], "note": "请尽快处理"},
        follow=True,
    )
    assert response.status_code == 200 and "已派单" in text(response)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DISPATCHED and ticket.lead_unit == c.street_a
    assert set(ticket.assignments.values_list("unit__code", "role")) == {
        ("chaoyang-wangjing", "lead"),
        ("zjw", "assist"),
        ("chaoyang", "copy"),
    }

    response = as_user(Client(), c.handler_a).post(action_url(ticket, "sign"), {"ctx": "detail"})
    assert response.status_code == 302 and response["Location"] == detail_url(ticket)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.HANDLING

    handler = as_user(Client(), c.handler_a)
    response = handler.post(
        action_url(ticket, "reply"),
        {"result": HandlingResult.RESOLVED, "contacted": "on", "text": "已联系商户整改，音乐十点前结束。"},
        headers=HTMX,
    )
    assert response.status_code == 200
    body = text(response)
    assert "已反馈办理结果" in body
    assert 'id="ticket-header" hx-swap-oob="true"' in body  # header and timeline refreshed out of band
    assert 'id="ticket-timeline" hx-swap-oob="true"' in body
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REPLIED
    lead = ticket.assignments.get(role="lead")
    assert (lead.reply_result, lead.reply_contacted) == (HandlingResult.RESOLVED, True)


def test_reply_with_too_short_text_shows_the_field_message(client, flow):
    ticket = flow.handling()
    response = as_user(client, flow.city.handler_a).post(
        action_url(ticket, "reply"), {"result": HandlingResult.RESOLVED, "text": "好"}, headers=HTMX
    )
    assert response.status_code == 400
    assert "请填写答复内容（至少5个字）" in text(response)
    assert flow.reload(ticket).status == TicketStatus.HANDLING


def test_illegal_action_returns_409_with_the_message_and_changes_nothing(client, flow):
    ticket = flow.dispatched()
    events = ticket.events.count()
    assignments = ticket.assignments.count()
    response = as_user(client, flow.city.dispatcher).post(
        action_url(ticket, "dispatch"), {"lead_unit": flow.city.street_b.pk}
    )
    assert response.status_code == 409
    assert "工单当前状态为“待签收”，不能派单。" in text(response)
    ticket.refresh_from_db()
    assert ticket.lead_unit == flow.city.street_a
    assert (ticket.events.count(), ticket.assignments.count()) == (events, assignments)


def test_role_not_allowed_is_403_with_the_message(client, flow):
    ticket = flow.handling()
    response = as_user(client, flow.city.handler_a).post(
        action_url(ticket, "supervise"), {"level": 2, "reason": "自己督办自己"}, headers=HTMX
    )
    assert response.status_code == 403
    assert "不能督办" in text(response)
    assert flow.reload(ticket).supervise_level == 0


def test_invalid_action_form_is_400_with_the_field_message(client, flow):
    ticket = flow.new()
    response = as_user(client, flow.city.dispatcher).post(
        action_url(ticket, "dispatch"), {"note": "无主办"}, headers=HTMX
    )
    assert response.status_code == 400
    assert "请选择主办单位。" in text(response)
    assert flow.reload(ticket).status == TicketStatus.RECEIVED


def test_double_sign_shows_the_conflict_message_in_the_row(client, flow):
    ticket = flow.dispatched()
    first = as_user(client, flow.city.handler_a).post(action_url(ticket, "sign"), {"ctx": "workbench"}, headers=HTMX)
    assert first.status_code == 200
    assert f'id="wb-{ticket.pk}"' in text(first) and "已签收" in text(first)
    second = as_user(Client(), flow.city.handler_a2).post(
        action_url(ticket, "sign"), {"ctx": "workbench"}, headers=HTMX
    )
    assert second.status_code == 409
    assert "该工单已由wangjing-handler于" in text(second) and "无需重复签收" in text(second)
    assert f'id="wb-{ticket.pk}"' in text(second)
    lead = Assignment.objects.get(ticket=ticket, role="lead")
    assert lead.signed_by == flow.city.handler_a
    assert ticket.events.filter(kind="signed").count() == 1


def test_detail_page_offers_exactly_the_allowed_actions(client, flow):
    ticket = flow.dispatched()
    body = text(as_user(client, flow.city.handler_a).get(detail_url(ticket)))
    assert 'action="' + action_url(ticket, "sign") + '"' in body
    assert 'action="' + action_url(ticket, "request-return") + '"' in body
    assert 'action="' + action_url(ticket, "dispatch") + '"' not in body
    assert 'action="' + action_url(ticket, "reply") + '"' not in body  # not signed yet


def test_non_js_action_error_renders_the_detail_page_with_the_status(client, flow):
    ticket = flow.handling()
    response = as_user(client, flow.city.handler_a).post(
        action_url(ticket, "request-extension"), {"days": 99, "reason": "需要协调"}
    )
    assert response.status_code == 400
    assert "累计延期不能超过15个工作日" in text(response)
    assert ticket.number in text(response)
    assert not ticket.requests.exists()


def test_merge_into_an_unknown_number_is_a_field_error(client, flow):
    ticket = flow.new()
    response = as_user(client, flow.city.operator).post(
        action_url(ticket, "merge"), {"master": "2099010199999"}, headers=HTMX
    )
    assert response.status_code == 400
    assert "未找到编号为 2099010199999 的工单" in text(response)
    master = flow.new(title="主单")
    response = client.post(action_url(ticket, "merge"), {"master": master.number}, headers=HTMX)
    assert response.status_code == 200
    assert flow.reload(ticket).master == master


def test_action_get_shows_the_form_on_its_own_page(client, flow):
    ticket = flow.new()
    response = as_user(client, flow.city.dispatcher).get(action_url(ticket, "dispatch") + "?ctx=queue")
    assert response.status_code == 200
    assert "主办单位" in text(response) and "望京街道办事处" in text(response)
    assert "<optgroup" in text(response)  # units grouped by kind


def test_timeline_lists_events_in_order_with_labels(client, flow):
    ticket = flow.handling()
    body = text(as_user(client, flow.city.operator).get(detail_url(ticket)))
    positions = [body.index(f'<span class="what">{label}</span>') for label in ("受理", "派单", "签收")]
    assert positions == sorted(positions)
    assert "待派单 → 待签收" in body and "主办：望京街道办事处" in body


# --- dispatcher queue ----------------------------------------------------------------------------------


def test_queue_lists_new_tickets_and_dispatches_a_row_in_place(client, flow):
    ticket = flow.new(title="待派的工单")
    as_user(client, flow.city.dispatcher)
    body = text(client.get(reverse("dispatch_queue")))
    assert ticket.number in body and "待派的工单" in body
    form = client.get(action_url(ticket, "dispatch") + "?ctx=queue", headers=HTMX)
    assert form.status_code == 200 and f'id="q-{ticket.pk}"' in text(form) and "主办单位" in text(form)
    response = client.post(
        action_url(ticket, "dispatch"), {"ctx": "queue", "lead_unit": flow.city.street_a.pk}, headers=HTMX
    )
    assert response.status_code == 200
    assert f'id="q-{ticket.pk}"' in text(response) and "已派单" in text(response)
    assert flow.reload(ticket).status == TicketStatus.DISPATCHED
    assert ticket.number not in text(client.get(reverse("dispatch_queue")))


def test_queue_shows_a_return_request_and_rejecting_it_sends_the_ticket_back(client, flow):
    ticket = flow.return_requested()
    as_user(client, flow.city.dispatcher)
    body = text(client.get(reverse("dispatch_queue")))
    assert "不属于本街道管辖" in body and "望京街道办事处" in body
    response = client.post(
        action_url(ticket, "reject-return"), {"ctx": "queue", "reason": "属地管辖，请继续办理"}, headers=HTMX
    )
    assert response.status_code == 200
    assert flow.reload(ticket).status == TicketStatus.HANDLING


def test_queue_approve_return_redispatches_to_the_new_unit(client, flow):
    ticket = flow.return_requested()
    response = as_user(client, flow.city.dispatcher).post(
        action_url(ticket, "approve-return"),
        {"ctx": "queue", "reason": "确属三里屯", "new_unit": flow.city.street_b.pk},
        headers=HTMX,
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DISPATCHED and ticket.lead_unit == flow.city.street_b


# --- supervisor ----------------------------------------------------------------------------------------


def test_supervisor_approves_an_extension_for_fewer_days(client, flow):
    ticket = flow.handling()
    req = services.ticket_request_extension(ticket=ticket, actor=flow.city.handler_a, days=5, reason="需要协调物业")
    as_user(client, flow.city.supervisor)
    body = text(client.get(reverse("supervise")))
    assert "需要协调物业" in body and ticket.number in body
    response = client.post(
        action_url(ticket, "approve-extension"),
        {"ctx": "supervise", "request_id": req.pk, "days": 3, "reason": "同意，三天内办结"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert f'id="req-{req.pk}"' in text(response) and "已同意延期" in text(response)
    assert Assignment.objects.get(ticket=ticket, role="lead").extended_days == 3


def test_supervisor_rejecting_without_reason_keeps_the_card_with_the_message(client, flow):
    ticket = flow.termination_requested()
    req = ticket.requests.get()
    response = as_user(client, flow.city.supervisor).post(
        action_url(ticket, "reject-termination"), {"ctx": "supervise", "request_id": req.pk, "reason": ""}, headers=HTMX
    )
    assert response.status_code == 400
    assert "请填写审核意见" in text(response) and f'id="req-{req.pk}"' in text(response)
    assert flow.reload(ticket).status == TicketStatus.TERMINATION_REQUESTED


def test_supervisor_sees_reviews_and_reopens_one(client, flow):
    ticket = flow.review()
    as_user(client, flow.city.supervisor)
    body = text(client.get(reverse("supervise")))
    assert ticket.number in body and "还是有油烟" in body
    response = client.post(
        action_url(ticket, "reopen"), {"ctx": "supervise", "reason": "油烟仍未解决，重办"}, headers=HTMX
    )
    assert response.status_code == 200 and "已重办" in text(response)
    assert flow.reload(ticket).status == TicketStatus.HANDLING


def test_supervisor_page_lists_overdue_reply_clocks_by_unit(client, flow):
    ticket = flow.handling()
    clock = ticket.clocks.get(kind="reply", assignment__role="lead")
    type(clock).objects.filter(pk=clock.pk).update(due_at=timezone.now() - dt.timedelta(days=2))
    body = text(as_user(client, flow.city.supervisor).get(reverse("supervise")))
    assert "超期未反馈" in body and ticket.number in body and "超期2天" in body


# --- search ------------------------------------------------------------------------------------------------


def test_search_uses_keyset_pagination(client, flow, settings):
    settings.HOTLINE = {**settings.HOTLINE, "PAGE_SIZE": 2}
    first, second, third = flow.new(title="第一张"), flow.new(title="第二张"), flow.new(title="第三张")
    as_user(client, flow.city.operator)
    body = text(client.get(reverse("ticket_search"), {"status": "received"}))
    assert third.number in body and second.number in body and first.number not in body
    assert f"before={second.pk}" in body and "status=received" in body
    body = text(client.get(reverse("ticket_search"), {"status": "received", "before": second.pk}))
    assert first.number in body and third.number not in body
    assert "下一页" not in body


def test_search_by_phone_logs_the_search(client, flow):
    ticket = flow.new()
    response = as_user(client, flow.city.operator).get(reverse("ticket_search"), {"phone": "13812345678"})
    assert ticket.number in text(response)
    log = AccessLog.objects.get(action=AccessAction.SEARCH)
    assert MASKED in log.query and FULL not in log.query and log.row_count == 1


def test_search_with_bad_input_is_400_not_500(client, city):
    as_user(client, city.operator)
    assert client.get(reverse("ticket_search"), {"phone": "12"}).status_code == 400
    assert client.get(reverse("ticket_search"), {"date_from": "2025-13-45"}).status_code == 400
    assert client.get(reverse("ticket_search"), {"before": "abc"}).status_code == 400
    assert client.get(reverse("ticket_search"), {"unit": "999999"}).status_code == 400
    assert not AccessLog.objects.exists()


# --- audit ------------------------------------------------------------------------------------------------


def test_access_log_lists_and_filters_entries_with_keyset_pages(client, flow):
    ticket = flow.dispatched()
    as_user(Client(), flow.city.handler_a).get(detail_url(ticket))
    for i in range(55):
        services.access_log_record(user=flow.city.operator, action=AccessAction.SEARCH, query=f"q{i}")
    as_user(client, flow.city.auditor)
    body = text(client.get(reverse("access_log"), {"username": "wangjing-handler"}))
    assert ticket.number in body and "望京街道办事处" in body and "脱敏" in body
    assert "q54" not in body
    body = text(client.get(reverse("access_log")))
    assert "q54" in body and "下一页" in body
    last_shown = AccessLog.objects.order_by("-id")[49].id
    body = text(client.get(reverse("access_log"), {"before": last_shown}))
    assert "q0" in body and "q54" not in body
    assert client.get(reverse("access_log"), {"date_from": "bad"}).status_code == 400


# --- security ------------------------------------------------------------------------------------------------


def test_action_post_without_csrf_token_is_refused(flow):
    ticket = flow.dispatched()
    client = Client(enforce_csrf_checks=True)
    client.force_login(flow.city.handler_a)
    response = client.post(action_url(ticket, "sign"), {"ctx": "detail"})
    assert response.status_code == 403
    response = client.post(action_url(ticket, "sign"), {"ctx": "workbench"}, headers=HTMX)
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DISPATCHED
    assert not ticket.events.filter(kind="signed").exists()


def test_pages_carry_the_csrf_header_for_htmx(client, city):
    body = text(as_user(client, city.operator).get(reverse("intake")))
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "/static/vendor/htmx.min.js" in body
    assert "cdn" not in body.lower()


def test_stored_xss_is_escaped_on_every_page(client, flow):
    c = flow.city
    received = flow.new(title=XSS, content=XSS)
    dispatched = flow.dispatched(title=XSS, content=XSS)
    pages = [
        (c.dispatcher, reverse("dispatch_queue"), received),
        (c.handler_a, reverse("workbench"), dispatched),
        (c.handler_a, detail_url(dispatched), dispatched),
        (c.operator, detail_url(received), received),
        (c.operator, reverse("ticket_search"), received),
        (c.handler_a, reverse("ticket_search"), dispatched),
    ]
    for user, url, ticket in pages:
        body = text(as_user(Client(), user).get(url))
        assert ticket.number in body, url
        assert XSS not in body, url
        assert XSS_ESCAPED in body, url


# --- template helpers -------------------------------------------------------------------------------------


def test_countdown_text_and_colour():
    now = timezone.now()
    assert remaining(now + dt.timedelta(hours=3, minutes=5), now) == "剩余3小时"
    assert remaining(now - dt.timedelta(days=2, hours=1), now) == "超期2天"
    assert remaining(now + dt.timedelta(minutes=20), now) == "剩余20分钟"
    due, warn = now + dt.timedelta(hours=10), now + dt.timedelta(hours=2)
    assert deadline_colour(due, warn) == "green"
    assert deadline_colour(now + dt.timedelta(hours=1), now - dt.timedelta(hours=1)) == "amber"
    assert deadline_colour(now - dt.timedelta(minutes=1), now - dt.timedelta(hours=1)) == "red"


def test_workbench_shows_role_badge_and_countdown(client, flow):
    ticket = flow.dispatched()
    body = text(as_user(client, flow.city.handler_a).get(reverse("workbench")))
    assert ticket.number in body
    assert "主办" in body
    assert "badge-green" in body and "剩余" in body
    assert Assignment.objects.get(ticket=ticket, role="lead").status == AssignmentStatus.DISPATCHED
