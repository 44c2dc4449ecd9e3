"""The main story of a ticket, one browser step per person, each checked on screen and in the database.

1. an operator takes the call and enters it by keyboard alone; the router dispatches it to 望京街道;
2. 望京街道's handler signs for it in the workbench and replies on the ticket page;
3. the resident opens the SMS link on a phone and says: not resolved, not satisfied;
4. a supervisor reopens it from the review queue; it goes back to 望京街道 with a new reply clock;
5. 望京街道's score card shows the rating: one valid callback, not resolved, listed to follow up.

``reopened_after_bad_rating`` runs steps 1–4 and returns the ticket; ``unit_sees_the_rating_in_its_score``
is step 5.
"""

from __future__ import annotations

import re

from django.utils import timezone
from playwright.sync_api import expect

from hotline.choices import (
    LIVE_CLOCK_STATES,
    AssignmentRole,
    AssignmentStatus,
    CallbackChannel,
    ClockKind,
    HandlingResult,
    RequestType,
    Satisfaction,
    TicketStatus,
)
from hotline.models import Assignment, Callback, Clock, RatingToken, SmsMessage, Ticket
from hotline.models.sms import SmsStatus
from routing.models import RoutingDecision
from tests.e2e.harness import DESKTOP, Session, eventually, pick_radio, row_with, shot, tab_to

CALLER_PHONE = "13912345678"
TITLE = "楼下饭馆油烟扰民"
CONTENT = "望京街道某小区楼下饭馆油烟扰民，晚上十点后还在营业"
REPLY = "已到现场核查，责令饭馆加装油烟净化设备，并告知其晚上十点后停止营业。"
RESIDENT_COMMENT = "油烟还是很大，晚上十点后照样营业。"
REOPEN_REASON = "回访未解决且不满意，请街道再次现场核查并督促整改。"


def live_reply_clock(ticket: Ticket) -> Clock | None:
    return (
        Clock.objects.filter(
            ticket=ticket,
            kind=ClockKind.REPLY,
            assignment__role=AssignmentRole.LEAD,
            state__in=LIVE_CLOCK_STATES,
        )
        .order_by("-id")
        .first()
    )


# --- 1. intake by keyboard ----------------------------------------------------------------------------


def operator_enters_ticket_by_keyboard(session: Session, city) -> Ticket:
    page = session.open_page(**DESKTOP)
    page.goto("/login/")
    # Keyboard only from here on: the login form focuses the username, Enter submits.
    expect(page.get_by_label("用户名")).to_be_focused()
    page.keyboard.type(city.operator.username)
    page.keyboard.press("Tab")
    page.keyboard.type("pw-for-tests-123")
    page.keyboard.press("Enter")

    # An operator's home is the intake desk, with the cursor already in the phone box.
    expect(page.get_by_role("heading", name="受理来电")).to_be_visible()
    expect(page.get_by_label("来电号码")).to_be_focused()
    # The heading shows before the deferred scripts run; keys typed before htmx has wired up the
    # phone box trigger nothing (seen on a loaded machine). An operator's eyes take longer than that.
    page.wait_for_load_state("load")
    page.keyboard.type(CALLER_PHONE)
    tab_to(page, "诉求人")
    page.keyboard.type("李先生")
    tab_to(page, "诉求类型")
    pick_radio(page, "投诉")
    tab_to(page, "标题")
    page.keyboard.type(TITLE)
    tab_to(page, "诉求内容")
    page.keyboard.type(CONTENT)
    tab_to(page, "地址")
    page.keyboard.type("朝阳区望京街道某小区")

    # While the operator types, the side panels answer: the number has no history and no repeat
    # call, and the title was searched in the knowledge base.
    expect(page.get_by_text("近30天没有来电记录")).to_be_visible()
    expect(page.get_by_text("未发现可能重复的来电。")).to_be_visible()
    expect(page.get_by_text("输入关键词检索知识库；填写标题时会自动带入。")).to_be_hidden()
    expect(page.get_by_label("投诉", exact=True)).to_be_checked()
    shot(page, "01-intake", full_page=True)

    page.keyboard.press("Control+Enter")

    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    ticket = Ticket.objects.get(caller_phone=CALLER_PHONE)
    expect(page.get_by_role("status").filter(has_text="已智能派单至")).to_contain_text(
        f"已受理，工单编号 {ticket.number}，已智能派单至"
    )
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_text("主办 望京街道办事处")).to_be_visible()
    # The hub sees why: the routing card names the rule that fired.
    expect(page.get_by_text("已自动派单")).to_be_visible()
    expect(page.get_by_text("油烟属地").first).to_be_visible()
    shot(page, "02-ticket-auto-routed", full_page=True)

    assert ticket.status == TicketStatus.DISPATCHED
    assert ticket.lead_unit == city.street_a
    assert ticket.created_by == city.operator
    assert ticket.request_type == RequestType.COMPLAINT
    assert (ticket.title, ticket.content, ticket.caller_name) == (TITLE, CONTENT, "李先生")
    assert ticket.category == city.category  # the model's 餐饮油烟
    decision = RoutingDecision.objects.get(ticket=ticket)
    assert decision.auto_dispatched and decision.rule.name == "油烟属地"
    lead = Assignment.objects.get(ticket=ticket, role=AssignmentRole.LEAD)
    assert lead.unit == city.street_a and lead.status == AssignmentStatus.DISPATCHED
    assert live_reply_clock(ticket) is not None  # clocks start at dispatch
    return ticket


# --- 2. the street signs and replies ---------------------------------------------------------------


def street_handler_signs_and_replies(session: Session, city, ticket: Ticket) -> Ticket:
    page = session.desk(city.handler_a)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    row = row_with(page, ticket.number)
    expect(row).to_contain_text(ticket.title)
    expect(row).to_contain_text("待签收")
    shot(page, "03-workbench")

    row.get_by_role("button", name="签收").click()
    expect(page.get_by_role("status").filter(has_text=ticket.number)).to_contain_text("已签收")
    assert Assignment.objects.get(ticket=ticket, unit=city.street_a).signed_by == city.handler_a

    row_with(page, ticket.number).get_by_role("link", name="办理").click()
    expect(page.get_by_role("heading", name=ticket.title)).to_be_visible()
    # A unit sees the caller masked and none of the hub's routing reasoning.
    expect(page.get_by_text("139****5678")).to_be_visible()
    expect(page.get_by_text(CALLER_PHONE)).to_have_count(0)
    expect(page.get_by_text("已自动派单")).to_have_count(0)

    # The next step is already unfolded: 反馈办理结果.
    panel = page.locator("details").filter(has=page.locator("summary", has_text="反馈办理结果"))
    expect(panel).to_have_attribute("open", "")
    panel.get_by_label("已解决", exact=True).check()
    expect(panel.get_by_label("已联系诉求人")).to_be_checked()
    panel.get_by_label("答复内容（将告知诉求人）").fill(REPLY)
    shot(page, "04-ticket-unit-reply")
    panel.get_by_role("button", name="提交反馈").click()

    expect(page.get_by_role("status").filter(has_text=ticket.number)).to_contain_text("已反馈办理结果")
    expect(page.get_by_text("已反馈待回访").first).to_be_visible()

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REPLIED
    lead = Assignment.objects.get(ticket=ticket, role=AssignmentRole.LEAD)
    assert (lead.status, lead.reply_result, lead.reply_text) == (
        AssignmentStatus.REPLIED,
        HandlingResult.RESOLVED,
        REPLY,
    )
    assert lead.replied_by == city.handler_a and lead.reply_contacted is True
    # The reply queued the resident's rating SMS, and the real worker sent it.
    sms = SmsMessage.objects.get(ticket=ticket, template="rating_link")
    assert sms.phone == CALLER_PHONE and "/r/" in sms.rendered
    eventually(
        lambda: SmsMessage.objects.filter(pk=sms.pk, status=SmsStatus.SENT).exists(),
        what="the worker to send the rating SMS",
    )
    return ticket


# --- 3. the resident rates on a phone --------------------------------------------------------------


def resident_rates_unresolved_on_phone(session: Session, city, ticket: Ticket) -> Ticket:
    eventually(
        lambda: SmsMessage.objects.filter(ticket=ticket, template="rating_link", status=SmsStatus.SENT).exists(),
        what="the worker to send the rating SMS",
    )
    page = session.phone()
    # The development gateway's inbox stands in for the resident's SMS app: the message is there,
    # sent by the worker, to the masked number, with the link.
    page.goto("/dev/sms/")
    message = row_with(page, f"工单{ticket.number}")
    expect(message).to_contain_text("已发送")
    expect(message).to_contain_text("139****5678")
    link = message.get_by_role("link", name=re.compile(r"\/r\/[\w-]+$"))
    url = link.get_attribute("href")
    assert url == link.inner_text() and url.startswith(f"{session.base_url}/r/")
    link.tap()  # the inbox scrolls its table inside the card, so the link is reachable on a phone
    page.wait_for_url(url)

    reply = Assignment.objects.get(ticket=ticket, role=AssignmentRole.LEAD).reply_text
    expect(page.get_by_role("heading", name=ticket.title)).to_be_visible()
    expect(page.get_by_text(reply)).to_be_visible()  # the unit's reply, as the resident reads it
    expect(page.get_by_text("望京街道办事处的答复")).to_be_visible()
    page.get_by_role("radio", name="是", exact=True).tap()
    page.get_by_role("radio", name="未解决", exact=True).tap()
    page.get_by_role("radio", name="不满意", exact=True).tap()
    page.get_by_role("textbox", name="其他意见（选填）").fill(RESIDENT_COMMENT)
    expect(page.get_by_role("radio", name="未解决", exact=True)).to_be_checked()
    expect(page.get_by_role("radio", name="不满意", exact=True)).to_be_checked()
    # Nothing on the page may be wider than the phone: no sideways scrolling to reach a button.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "05-rating-phone", full_page=True)
    page.get_by_role("button", name="提交评价").tap()

    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    cb = Callback.objects.get(ticket=ticket)
    assert (cb.channel, cb.contacted, cb.resolved, cb.satisfaction, cb.comment) == (
        CallbackChannel.SMS,
        True,
        False,
        Satisfaction.DISSATISFIED,
        RESIDENT_COMMENT,
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REVIEW  # a bad rating goes to a supervisor
    assert RatingToken.objects.get(ticket=ticket).used_at is not None

    # The link is single-use.
    page.goto(url)
    expect(page.get_by_role("heading", name="您已评价")).to_be_visible()
    assert Callback.objects.filter(ticket=ticket).count() == 1
    return ticket


# --- 4. the supervisor reopens --------------------------------------------------------------------


def supervisor_reopens_from_review(session: Session, city, ticket: Ticket) -> Ticket:
    before = live_reply_clock(ticket)  # the reply stopped the unit's clock
    assert before is None
    started = timezone.now()

    page = session.desk(city.supervisor)
    expect(page.get_by_role("heading", name="督办审核")).to_be_visible()
    review = page.locator("section").filter(has=page.get_by_role("heading", name=re.compile("^差评复核")))
    item = review.get_by_role("group", name=ticket.number)
    expect(item).to_contain_text("未解决")
    expect(item).to_contain_text("不满意")
    expect(item).to_contain_text(RESIDENT_COMMENT)
    item.get_by_label("重办理由").fill(REOPEN_REASON)
    shot(page, "06-supervise-review")
    item.get_by_role("button", name="重办", exact=True).click()
    expect(review.get_by_role("status")).to_contain_text(f"工单 {ticket.number}：已重办，退回承办单位办理。")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.HANDLING and ticket.lead_unit == city.street_a
    lead = Assignment.objects.get(ticket=ticket, role=AssignmentRole.LEAD)
    assert lead.unit == city.street_a and lead.status == AssignmentStatus.SIGNED
    clock = live_reply_clock(ticket)
    assert clock is not None and clock.assignment == lead
    assert clock.started_at >= started and clock.due_at > timezone.now()
    assert ticket.events.filter(kind="reopened", reason=REOPEN_REASON, actor=city.supervisor).exists()

    # Back on 望京街道's desk, in hand, with the new reply deadline.
    desk = session.desk(city.handler_a)
    desk.get_by_role("link", name=re.compile("^办理中")).click()
    row = row_with(desk, ticket.number)
    due = timezone.localtime(clock.due_at).strftime("%m-%d %H:%M")
    expect(row).to_contain_text(due)
    return ticket


def reopened_after_bad_rating(session: Session, city) -> Ticket:
    """Steps 1–4 through the browser; the ticket is back with 望京街道 after a bad rating."""
    ticket = operator_enters_ticket_by_keyboard(session, city)
    ticket = street_handler_signs_and_replies(session, city, ticket)
    ticket = resident_rates_unresolved_on_phone(session, city, ticket)
    return supervisor_reopens_from_review(session, city, ticket)


# --- 5. the unit's score card -------------------------------------------------------------------------


def unit_sees_the_rating_in_its_score(session: Session, city, ticket: Ticket) -> None:
    """The rating reached the rollups through the worker (no beat runs here) and the card shows it."""
    from hotline.models import UnitDayStat

    eventually(
        lambda: UnitDayStat.objects.filter(unit=city.street_a, rated=1).exists(), what="the rating in the rollups"
    )
    page = session.desk(city.manager_a)
    page.get_by_role("link", name="考核").click()
    expect(page.get_by_role("heading", name="望京街道办事处 · 考核卡")).to_be_visible()
    kpis = page.locator(".kpis")
    expect(kpis).to_contain_text("有效回访 1 件")
    expect(kpis.locator(".kpi").filter(has_text="解决率")).to_contain_text("0.00%")
    expect(kpis.locator(".kpi").filter(has_text="响应率")).to_contain_text("100.00%")
    # 100 × (0.1 × 1 + 0.5 × 0 + 0.4 × 0): contacted, but neither resolved nor satisfied.
    expect(page.get_by_test_id("composite")).to_have_text("10.00")
    follow_up = page.locator("section").filter(has=page.get_by_role("heading", name=re.compile("^待跟进差评")))
    expect(follow_up.get_by_role("link", name=ticket.number)).to_be_visible()
    expect(follow_up).to_contain_text(RESIDENT_COMMENT)
    expect(page.locator("[data-chart=rates][data-loaded]")).to_have_count(1)  # the trend chart drew
    shot(page, "11-unit-score", full_page=True)
