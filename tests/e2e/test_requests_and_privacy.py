"""Side roads in a real browser: a return (退单) re-dispatched by the dispatcher, an extension (延期)
approved by a supervisor, and a unit manager who must not learn that another unit's ticket exists."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hotline.choices import AccessAction, AssignmentRole, AssignmentStatus, RequestKind, RequestStatus, TicketStatus
from hotline.models import AccessLog, Assignment, TicketRequest
from hotline.workcalendar import calendar
from tests.e2e.harness import action_panel, requires_chromium, row_with, shot
from tests.e2e.story import live_reply_clock

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.skipif(**requires_chromium)]

RETURN_REASON = "该饭馆位于三里屯街道辖区，不属于望京街道管辖，建议改派三里屯街道。"
EXTENSION_REASON = "需协调市场监管部门联合执法，申请延期办理。"


def test_return_request_approved_by_the_dispatcher_goes_to_the_other_street(session, world):
    c = world.city
    ticket = world.flow.dispatched(title="路口饭馆油烟扰民", content="三里屯路口饭馆油烟很大，晚上十点后还在营业。")

    # 望京街道 says it is not theirs and names the street it belongs to.
    page = session.desk(c.handler_a)
    page.get_by_role("link", name=ticket.number).click()
    expect(page.get_by_role("heading", name=ticket.title)).to_be_visible()
    panel = action_panel(page, "申请退单")
    panel.get_by_label("退单理由").fill(RETURN_REASON)
    panel.get_by_label("建议承办单位").select_option(label="三里屯街道办事处")
    panel.get_by_role("button", name="申请退单").click()
    expect(page.get_by_role("status").filter(has_text=ticket.number)).to_contain_text("已提交退单申请，等待派单员审核")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RETURN_REQUESTED

    # The dispatcher sees it in the queue with the reason and the suggestion already chosen.
    approved_after = timezone.now()
    queue = session.desk(c.dispatcher)
    expect(queue.get_by_role("heading", name="派单队列")).to_be_visible()
    row = row_with(queue, ticket.number)
    expect(row).to_contain_text("退单审核中")
    expect(queue.get_by_text(RETURN_REASON)).to_be_visible()
    row.get_by_role("link", name="同意退单").click()
    new_unit = queue.get_by_label("改派给")
    expect(new_unit.locator("option:checked")).to_have_text("三里屯街道办事处")
    queue.get_by_label("审核意见").fill("核实属实，改派三里屯街道。")
    shot(queue, "07-dispatch-return")
    queue.get_by_role("button", name="同意退单").click()
    expect(queue.get_by_text(f"工单 {ticket.number}：已同意退单。")).to_be_visible()

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DISPATCHED and ticket.lead_unit == c.street_b
    request = TicketRequest.objects.get(ticket=ticket, kind=RequestKind.RETURN)
    assert (request.status, request.decided_by, request.suggested_unit) == (
        RequestStatus.APPROVED,
        c.dispatcher,
        c.street_b,
    )
    old = Assignment.objects.get(ticket=ticket, unit=c.street_a)
    assert old.status == AssignmentStatus.RETURNED
    new = Assignment.objects.get(ticket=ticket, unit=c.street_b)
    assert new.role == AssignmentRole.LEAD and new.status == AssignmentStatus.DISPATCHED
    clock = live_reply_clock(ticket)
    assert clock.assignment == new and clock.started_at >= approved_after  # fresh clocks for the new unit

    # 三里屯 finds it waiting to be signed; 望京 no longer has it.
    other = session.desk(c.handler_b)
    expect(row_with(other, ticket.number)).to_contain_text("待签收")
    page.goto("/workbench/")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.get_by_text(ticket.number)).to_have_count(0)


def test_extension_approved_by_a_supervisor_moves_the_reply_deadline(session, world):
    c = world.city
    ticket = world.flow.handling()
    clock = live_reply_clock(ticket)
    old_due = clock.due_at

    page = session.desk(c.handler_a)
    page.get_by_role("link", name=re.compile("^办理中")).click()
    row_with(page, ticket.number).get_by_role("link", name="办理").click()
    panel = action_panel(page, "申请延期")
    panel.get_by_label("延期工作日").fill("5")
    panel.get_by_label("延期理由").fill(EXTENSION_REASON)
    panel.get_by_role("button", name="申请延期").click()
    expect(page.get_by_role("status").filter(has_text=ticket.number)).to_contain_text("已提交延期申请，等待督办员审核")
    request = TicketRequest.objects.get(ticket=ticket, kind=RequestKind.EXTENSION)
    assert (request.status, request.requested_days) == (RequestStatus.PENDING, 5)

    desk = session.desk(c.supervisor)
    section = desk.locator("section").filter(has=desk.get_by_role("heading", name=re.compile("^延期申请")))
    item = section.get_by_role("group", name=ticket.number)
    expect(item).to_contain_text(EXTENSION_REASON)
    expect(item).to_contain_text("申请延期 5 个工作日")
    expect(item.get_by_label("批准工作日（可少于申请）")).to_have_value("5")
    item.get_by_label("审核意见").fill("同意，请抓紧协调。")
    shot(desk, "08-supervise-extension")
    item.get_by_role("button", name="同意延期").click()
    expect(section.get_by_role("status")).to_contain_text(f"工单 {ticket.number}：已同意延期。")

    clock.refresh_from_db()
    expected = calendar.add_working_days(old_due, 5).at
    assert clock.due_at == expected and clock.due_at > old_due
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (RequestStatus.APPROVED, c.supervisor)
    assert Assignment.objects.get(pk=clock.assignment_id).extended_days == 5

    # The unit sees the new deadline on the ticket page.
    page.reload()
    new_due = timezone.localtime(expected).strftime("%m-%d %H:%M")
    expect(page.get_by_text(f"办结反馈时限 {new_due}")).to_be_visible()
    expect(page.get_by_text(timezone.localtime(old_due).strftime("办结反馈时限 %m-%d %H:%M"))).to_have_count(0)


def test_unit_manager_gets_404_for_another_units_ticket_and_never_sees_its_number(session, world):
    c = world.city
    ticket = world.flow.handling(
        title="望京某小区饭馆油烟扰民", content="望京西园楼下饭馆油烟扰民，晚上十点后还在营业。"
    )
    hidden = [ticket.number, world.wangjing_waiting.number]

    # Its own unit opens it: the page exists (so the 404 below is about who asks).
    own = session.desk(c.handler_a)
    own.goto(f"/tickets/{ticket.pk}/")
    expect(own.get_by_role("heading", name=ticket.title)).to_be_visible()

    page = session.desk(c.manager_b)
    # Every workbench tab: 三里屯's own ticket is listed, 望京's never.
    tabs = page.get_by_role("navigation", name="工作台分页").get_by_role("link")
    labels = [re.sub(r"\s*\d+$", "", t) for t in tabs.all_inner_texts()]
    assert labels == ["待签收", "办理中", "即将到期", "已超期", "已反馈"]
    seen_own = False
    for label in labels:
        tabs.filter(has_text=label).click()
        expect(tabs.filter(has_text=label)).to_have_attribute("aria-current", "page")
        seen_own = seen_own or page.get_by_text(world.sanlitun_ticket.number).count() > 0
        for number in hidden:
            expect(page.get_by_text(number)).to_have_count(0)
    assert seen_own, "三里屯's own ticket should be on its workbench"

    # Search: the whole list, by number, and by the words of the other ticket.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="查询").click()
    expect(page.get_by_role("link", name=world.sanlitun_ticket.number)).to_be_visible()
    for number in hidden:
        expect(page.get_by_text(number)).to_have_count(0)
    page.get_by_label("工单编号").fill(ticket.number)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("没有符合条件的工单。")).to_be_visible()
    page.get_by_role("link", name="清空条件").click()
    page.get_by_label("关键词").fill("油烟")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("没有符合条件的工单。")).to_be_visible()

    # Asking for it directly: the same 404 as a ticket that does not exist, and nothing of it shown.
    for path in (f"/tickets/{ticket.pk}/", f"/tickets/{ticket.pk}/sign/", f"/tickets/{ticket.pk}/reply/"):
        response = page.goto(path)
        assert response.status == 404, path
        expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
        expect(page.get_by_text(ticket.number)).to_have_count(0)
        expect(page.get_by_text(ticket.title)).to_have_count(0)
    page.goto(f"/tickets/{ticket.pk}/")
    shot(page, "09-other-unit-404", height=240)
    missing = page.goto("/tickets/999999/")
    assert missing.status == 404  # indistinguishable from a ticket that does not exist

    # The auditor's log: 望京's look at the caller is there, 三里屯's refused attempts are not.
    audit = session.desk(c.auditor)
    audit.get_by_label("工单编号").fill(ticket.number)
    audit.get_by_role("button", name="查询").click()
    rows = audit.get_by_role("row").filter(has=audit.get_by_role("link", name=ticket.number))
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(c.handler_a.username)
    expect(rows).to_contain_text("查看")
    expect(rows).to_contain_text("脱敏")
    shot(audit, "10-access-log")
    assert not AccessLog.objects.filter(ticket=ticket, user=c.manager_b).exists()
    assert AccessLog.objects.filter(ticket=ticket, user=c.handler_a, action=AccessAction.VIEW, masked=True).exists()
