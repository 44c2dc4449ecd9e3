"""The ticket trail (domain.md §3, the unit's 行车记录仪): every service writes its event, in the same
transaction, saying who (and from which unit) moved the ticket from which status to which."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from hotline import services
from hotline.choices import EventKind as E
from hotline.choices import HandlingResult, RequestType, Satisfaction
from hotline.choices import TicketStatus as S
from hotline.errors import InvalidInput
from hotline.models import Ticket, TicketEvent

REPLY_TEXT = "已联系商户加装油烟净化设备，并告知营业时间规定。"


@dataclass
class Case:
    setup: str  # Flow state to start from
    actor: str  # persona in the city fixture
    call: Callable  # (ticket, actor, city, flow) -> None
    kind: str
    from_status: str
    to_status: str
    also: tuple[str, ...] = ()  # other event kinds the same call writes on the ticket


def reply(t, a, c, f):
    services.ticket_reply(ticket=t, actor=a, result=HandlingResult.RESOLVED, text=REPLY_TEXT, contacted=True)


def callback(satisfaction):
    def call(t, a, c, f):
        services.ticket_record_callback(
            ticket=t, actor=a, contacted=True, resolved=satisfaction != "dissatisfied", satisfaction=satisfaction
        )

    return call


def with_extension_request(t, c):
    services.ticket_request_extension(ticket=t, actor=c.handler_a, days=3, reason="需协调产权单位")


CASES: dict[str, Case] = {
    "answer": Case(
        "new",
        "operator",
        lambda t, a, c, f: services.ticket_answer(ticket=t, actor=a, answer="按知识库答复：供暖季为11月15日起。"),
        E.ANSWERED,
        S.RECEIVED,
        S.CLOSED,
    ),
    "dispatch": Case(
        "new",
        "dispatcher",
        lambda t, a, c, f: services.ticket_dispatch(ticket=t, actor=a, lead_unit=c.street_a),
        E.DISPATCHED,
        S.RECEIVED,
        S.DISPATCHED,
    ),
    "subdispatch": Case(
        "handling",
        "manager_a",
        lambda t, a, c, f: services.ticket_subdispatch(ticket=t, actor=a, unit=c.community),
        E.SUBDISPATCHED,
        S.HANDLING,
        S.HANDLING,
    ),
    "sign": Case(
        "dispatched",
        "handler_a",
        lambda t, a, c, f: services.ticket_sign(ticket=t, actor=a),
        E.SIGNED,
        S.DISPATCHED,
        S.HANDLING,
    ),
    "contact": Case(
        "handling",
        "handler_a",
        lambda t, a, c, f: services.ticket_contact(ticket=t, actor=a),
        E.CONTACTED,
        S.HANDLING,
        S.HANDLING,
    ),
    "reply": Case("handling", "handler_a2", reply, E.REPLIED, S.HANDLING, S.REPLIED),
    "request-return": Case(
        "handling",
        "handler_a",
        lambda t, a, c, f: services.ticket_request_return(ticket=t, actor=a, reason="不属于本街道管辖"),
        E.RETURN_REQUESTED,
        S.HANDLING,
        S.RETURN_REQUESTED,
    ),
    "approve-return": Case(
        "return_requested",
        "dispatcher",
        lambda t, a, c, f: services.ticket_approve_return(ticket=t, actor=a, reason="属住建委职责", new_unit=c.bureau),
        E.RETURN_APPROVED,
        S.RETURN_REQUESTED,
        S.DISPATCHED,
    ),
    "reject-return": Case(
        "return_requested",
        "dispatcher",
        lambda t, a, c, f: services.ticket_reject_return(ticket=t, actor=a, reason="属地管理"),
        E.RETURN_REJECTED,
        S.RETURN_REQUESTED,
        S.HANDLING,
    ),
    "request-extension": Case(
        "handling",
        "handler_a",
        lambda t, a, c, f: with_extension_request(t, c),
        E.EXTENSION_REQUESTED,
        S.HANDLING,
        S.HANDLING,
    ),
    "approve-extension": Case(
        "handling+extension",
        "supervisor",
        lambda t, a, c, f: services.ticket_approve_extension(ticket=t, actor=a, reason="情况属实"),
        E.EXTENSION_APPROVED,
        S.HANDLING,
        S.HANDLING,
        also=(E.DUE_CHANGED,),
    ),
    "reject-extension": Case(
        "handling+extension",
        "supervisor",
        lambda t, a, c, f: services.ticket_reject_extension(ticket=t, actor=a, reason="时限内可以办结"),
        E.EXTENSION_REJECTED,
        S.HANDLING,
        S.HANDLING,
    ),
    "callback-good": Case("replied", "operator", callback(Satisfaction.SATISFIED), E.CALLBACK, S.REPLIED, S.CLOSED),
    "callback-bad": Case("replied", "operator", callback(Satisfaction.DISSATISFIED), E.CALLBACK, S.REPLIED, S.REVIEW),
    "close": Case(
        "review",
        "supervisor",
        lambda t, a, c, f: services.ticket_close(ticket=t, actor=a, reason="已尽力解释，认可办理结果"),
        E.CLOSED,
        S.REVIEW,
        S.CLOSED,
    ),
    "reopen": Case(
        "review",
        "supervisor",
        lambda t, a, c, f: services.ticket_reopen(ticket=t, actor=a, reason="仍有油烟"),
        E.REOPENED,
        S.REVIEW,
        S.HANDLING,
    ),
    "merge": Case(
        "dispatched",
        "operator",
        lambda t, a, c, f: services.ticket_merge(ticket=t, master=f.new(title="主单"), actor=a),
        E.MERGED,
        S.DISPATCHED,
        S.MERGED,
    ),
    "request-termination": Case(
        "handling",
        "handler_a",
        lambda t, a, c, f: services.ticket_request_termination(ticket=t, actor=a, reason="诉求违法"),
        E.TERMINATION_REQUESTED,
        S.HANDLING,
        S.TERMINATION_REQUESTED,
    ),
    "approve-termination": Case(
        "termination_requested",
        "supervisor",
        lambda t, a, c, f: services.ticket_approve_termination(ticket=t, actor=a, reason="核实属实"),
        E.TERMINATION_APPROVED,
        S.TERMINATION_REQUESTED,
        S.TERMINATED,
    ),
    "reject-termination": Case(
        "termination_requested",
        "supervisor",
        lambda t, a, c, f: services.ticket_reject_termination(ticket=t, actor=a, reason="继续办理"),
        E.TERMINATION_REJECTED,
        S.TERMINATION_REQUESTED,
        S.HANDLING,
    ),
    "supervise": Case(
        "handling",
        "supervisor",
        lambda t, a, c, f: services.ticket_supervise(ticket=t, actor=a, level=2, reason="重点关注"),
        E.SUPERVISED,
        S.HANDLING,
        S.HANDLING,
    ),
    "confidential": Case(
        "handling",
        "operator",
        lambda t, a, c, f: services.ticket_set_confidential(
            ticket=t, actor=a, confidential=True, reason="诉求人要求保密"
        ),
        E.CONFIDENTIAL,
        S.HANDLING,
        S.HANDLING,
    ),
}


def start(flow, city, setup: str) -> Ticket:
    state, _, extra = setup.partition("+")
    ticket = {
        "new": flow.new,
        "dispatched": flow.dispatched,
        "handling": flow.handling,
        "return_requested": flow.return_requested,
        "replied": flow.replied,
        "review": flow.review,
        "termination_requested": flow.termination_requested,
    }[state]()
    if extra == "extension":
        with_extension_request(ticket, city)
    return ticket


@pytest.mark.parametrize("name", list(CASES))
def test_each_service_writes_exactly_one_event_of_its_kind(name, city, flow):
    case = CASES[name]
    ticket = start(flow, city, case.setup)
    actor = getattr(city, case.actor)
    last = TicketEvent.objects.filter(ticket=ticket).order_by("-id").values_list("id", flat=True).first()

    case.call(ticket, actor, city, flow)

    new = list(TicketEvent.objects.filter(ticket=ticket, id__gt=last).order_by("id"))
    assert sorted(e.kind for e in new) == sorted((case.kind, *case.also))
    event = next(e for e in new if e.kind == case.kind)
    assert (event.actor, event.actor_unit) == (actor, actor.unit)
    assert (event.from_status, event.to_status) == (case.from_status, case.to_status)
    assert Ticket.objects.get(pk=ticket.pk).status == case.to_status
    assert event.created_at is not None


def test_create_writes_one_created_event(city, flow):
    ticket = flow.new()

    [event] = TicketEvent.objects.filter(ticket=ticket)
    assert (event.kind, event.actor, event.actor_unit) == (E.CREATED, city.operator, city.hub)
    assert (event.from_status, event.to_status) == ("", S.RECEIVED)


def test_callback_through_the_sms_link_is_recorded_without_an_actor(city, flow):
    ticket = flow.replied()

    services.ticket_record_callback(
        ticket=ticket, actor=None, contacted=True, resolved=True, satisfaction=Satisfaction.SATISFIED, channel="sms"
    )

    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert (event.kind, event.actor, event.actor_unit) == (E.CALLBACK, None, None)
    assert (event.from_status, event.to_status) == (S.REPLIED, S.CLOSED)
    assert event.payload["channel"] == "sms"


def test_merge_also_notes_the_repeat_call_on_the_master(city, flow):
    master = flow.new(title="主单")
    child = flow.new()

    services.ticket_merge(ticket=child, master=master, actor=city.operator)

    event = TicketEvent.objects.filter(ticket=master).latest("id")
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        E.MERGED_CHILD,
        city.operator,
        S.RECEIVED,
        S.RECEIVED,
    )
    assert event.payload == {"child": child.number, "repeat_count": 1}


def test_failed_service_call_leaves_no_event(city, flow):
    ticket = flow.handling()
    count = ticket.events.count()

    with pytest.raises(InvalidInput):
        services.ticket_reply(ticket=ticket, actor=city.handler_a, result="bogus", text="短", contacted=True)

    assert ticket.events.count() == count


def test_a_ticket_walked_to_closure_leaves_its_whole_story_in_order(city):
    c = city
    # Given a call taken, dispatched, signed for, the resident contacted, and a reply
    ticket = services.ticket_create(
        actor=c.operator,
        title="楼下饭馆油烟扰民",
        content="楼下饭馆油烟很大。",
        request_type=RequestType.COMPLAINT,
        caller_phone="13812345678",
        district=c.chaoyang,
        street=c.wangjing,
    )
    services.ticket_dispatch(ticket=ticket, actor=c.dispatcher, lead_unit=c.street_a)
    services.ticket_sign(ticket=ticket, actor=c.handler_a)
    services.ticket_contact(ticket=ticket, actor=c.handler_a, note="电话联系诉求人")
    reply(ticket, c.handler_a, c, None)
    # When the resident is dissatisfied, the supervisor reopens, the unit replies again and the resident is happy
    services.ticket_record_callback(
        ticket=ticket,
        actor=c.operator,
        contacted=True,
        resolved=False,
        satisfaction=Satisfaction.DISSATISFIED,
        comment="还是有油烟",
    )
    services.ticket_reopen(ticket=ticket, actor=c.supervisor, reason="诉求人反映未解决")
    reply(ticket, c.handler_a2, c, None)
    services.ticket_record_callback(
        ticket=ticket, actor=None, contacted=True, resolved=True, satisfaction=Satisfaction.SATISFIED, channel="sms"
    )

    # Then the trail tells the whole story, in order, with who did each step
    trail = list(
        ticket.events.order_by("id").values_list(
            "kind", "from_status", "to_status", "actor__username", "actor_unit__code"
        )
    )
    assert trail == [
        (E.CREATED, "", S.RECEIVED, "operator1", "hub"),
        (E.DISPATCHED, S.RECEIVED, S.DISPATCHED, "dispatcher1", "hub"),
        (E.SIGNED, S.DISPATCHED, S.HANDLING, "wangjing-handler", "chaoyang-wangjing"),
        (E.CONTACTED, S.HANDLING, S.HANDLING, "wangjing-handler", "chaoyang-wangjing"),
        (E.REPLIED, S.HANDLING, S.REPLIED, "wangjing-handler", "chaoyang-wangjing"),
        (E.CALLBACK, S.REPLIED, S.REVIEW, "operator1", "hub"),
        (E.REOPENED, S.REVIEW, S.HANDLING, "supervisor1", "hub"),
        (E.REPLIED, S.HANDLING, S.REPLIED, "wangjing-handler2", "chaoyang-wangjing"),
        (E.CALLBACK, S.REPLIED, S.CLOSED, None, None),
    ]
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED
