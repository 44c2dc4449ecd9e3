"""Every action from every status: allowed moves succeed, forbidden ones change nothing.

The expected table below is written out from domain.md §3, independently of
hotline.workflow.TRANSITIONS, so a wrong entry in the code fails here.
"""

from __future__ import annotations

import pytest

from hotline import services
from hotline.choices import HandlingResult, Satisfaction
from hotline.choices import TicketStatus as S
from hotline.errors import DomainError, NotAllowed, NotFound
from hotline.models import TicketEvent

OPEN = {S.RECEIVED, S.DISPATCHED, S.HANDLING, S.RETURN_REQUESTED, S.REPLIED, S.REVIEW, S.TERMINATION_REQUESTED}

EXPECTED = {
    "answer": {S.RECEIVED},
    "dispatch": {S.RECEIVED},
    "subdispatch": {S.DISPATCHED, S.HANDLING},
    "sign": {S.DISPATCHED},
    "contact": {S.HANDLING},
    "reply": {S.HANDLING},
    "request-return": {S.DISPATCHED, S.HANDLING},
    "request-extension": {S.DISPATCHED, S.HANDLING},
    "callback": {S.REPLIED},  # a ticket closed by its callback is already rated
    "close": {S.REPLIED, S.REVIEW},
    "reopen": {S.REPLIED, S.REVIEW, S.CLOSED},
    "merge": {S.RECEIVED, S.DISPATCHED, S.HANDLING},
    "request-termination": {S.RECEIVED, S.DISPATCHED, S.HANDLING},
    "approve-termination": {S.TERMINATION_REQUESTED},
    "reject-termination": {S.TERMINATION_REQUESTED},
    "supervise": OPEN,
    "confidential": OPEN,
}


def perform(action: str, ticket, city, flow):
    c = city
    calls = {
        "answer": lambda: services.ticket_answer(
            ticket=ticket, actor=c.operator, answer="按知识库答复：供暖季为11月15日起。"
        ),
        "dispatch": lambda: services.ticket_dispatch(ticket=ticket, actor=c.dispatcher, lead_unit=c.street_b),
        "subdispatch": lambda: services.ticket_subdispatch(ticket=ticket, actor=c.manager_a, unit=c.community),
        "sign": lambda: services.ticket_sign(ticket=ticket, actor=c.handler_a),
        "contact": lambda: services.ticket_contact(ticket=ticket, actor=c.handler_a),
        "reply": lambda: services.ticket_reply(
            ticket=ticket,
            actor=c.handler_a,
            result=HandlingResult.RESOLVED,
            text="已协调商户整改完毕。",
            contacted=True,
        ),
        "request-return": lambda: services.ticket_request_return(ticket=ticket, actor=c.handler_a, reason="非本辖区"),
        "request-extension": lambda: services.ticket_request_extension(
            ticket=ticket, actor=c.handler_a, days=3, reason="需协调产权单位"
        ),
        "callback": lambda: services.ticket_record_callback(
            ticket=ticket, actor=c.operator, contacted=True, resolved=True, satisfaction=Satisfaction.SATISFIED
        ),
        "close": lambda: services.ticket_close(ticket=ticket, actor=c.supervisor, reason="认可办理结果"),
        "reopen": lambda: services.ticket_reopen(ticket=ticket, actor=c.supervisor, reason="诉求人反映未解决"),
        "merge": lambda: services.ticket_merge(ticket=ticket, master=flow.new(title="主单"), actor=c.operator),
        "request-termination": lambda: services.ticket_request_termination(
            ticket=ticket, actor=c.dispatcher, reason="诉求违法"
        ),
        "approve-termination": lambda: services.ticket_approve_termination(
            ticket=ticket, actor=c.supervisor, reason="同意"
        ),
        "reject-termination": lambda: services.ticket_reject_termination(
            ticket=ticket, actor=c.supervisor, reason="继续办理"
        ),
        "supervise": lambda: services.ticket_supervise(ticket=ticket, actor=c.supervisor, level=2, reason="重点关注"),
        "confidential": lambda: services.ticket_set_confidential(
            ticket=ticket, actor=c.operator, confidential=True, reason="诉求人要求保密"
        ),
    }
    return calls[action]()


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_transition_matrix(action, status, city, flow):
    ticket = flow.in_status(status)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    if status in EXPECTED[action]:
        perform(action, ticket, city, flow)
        assert TicketEvent.objects.filter(ticket=ticket).count() > events_before
    else:
        with pytest.raises(DomainError) as info:
            perform(action, ticket, city, flow)
        # Forbidden for the state (409), or the acting unit has no part in it (404): never a 500.
        assert info.value.status_code in (404, 409), info.value
        ticket.refresh_from_db()
        assert ticket.status == status
        assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


def test_operator_cannot_dispatch(city, flow):
    ticket = flow.new()
    with pytest.raises(NotAllowed):
        services.ticket_dispatch(ticket=ticket, actor=city.operator, lead_unit=city.street_a)


def test_unit_cannot_sign_ticket_of_another_unit(city, flow):
    ticket = flow.dispatched()
    with pytest.raises(NotFound):
        services.ticket_sign(ticket=ticket, actor=city.handler_b)
    ticket.refresh_from_db()
    assert ticket.status == S.DISPATCHED


def test_handler_cannot_approve_their_own_return(city, flow):
    ticket = flow.return_requested()
    with pytest.raises(NotAllowed):
        services.ticket_approve_return(ticket=ticket, actor=city.handler_a, reason="x", new_unit=city.street_b)


def test_review_can_only_be_accepted_by_a_supervisor(city, flow):
    ticket = flow.review()
    with pytest.raises(NotAllowed):
        services.ticket_close(ticket=ticket, actor=city.operator, reason="认可")
    services.ticket_close(ticket=ticket, actor=city.supervisor, reason="已尽力解释，认可办理结果")
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED
    assert ticket.close_reason == "已尽力解释，认可办理结果"
