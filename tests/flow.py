"""Drive a ticket into any state through the real services (never by writing rows directly)."""

from __future__ import annotations

from hotline import services
from hotline.choices import HandlingResult, RequestType, Satisfaction, TicketStatus
from hotline.models import Ticket


class Flow:
    def __init__(self, city) -> None:
        self.city = city

    def new(self, **overrides) -> Ticket:
        c = self.city
        data = dict(
            actor=c.operator,
            title="楼下饭馆油烟扰民",
            content="望京西园三区楼下饭馆油烟很大，晚上十点后还在营业。",
            request_type=RequestType.COMPLAINT,
            caller_name="王女士",
            caller_phone="13812345678",
            address="朝阳区望京西园三区",
            district=c.chaoyang,
            street=c.wangjing,
            category=c.category,
        )
        data.update(overrides)
        return services.ticket_create(**data)

    def dispatched(self, **kw) -> Ticket:
        t = self.new(**kw)
        return services.ticket_dispatch(ticket=t, actor=self.city.dispatcher, lead_unit=self.city.street_a)

    def handling(self, **kw) -> Ticket:
        t = self.dispatched(**kw)
        services.ticket_sign(ticket=t, actor=self.city.handler_a)
        return self.reload(t)

    def return_requested(self, **kw) -> Ticket:
        t = self.handling(**kw)
        services.ticket_request_return(ticket=t, actor=self.city.handler_a, reason="不属于本街道管辖")
        return self.reload(t)

    def replied(self, **kw) -> Ticket:
        t = self.handling(**kw)
        services.ticket_reply(
            ticket=t,
            actor=self.city.handler_a,
            result=HandlingResult.RESOLVED,
            text="已联系商户加装油烟净化设备，并告知营业时间规定。",
            contacted=True,
        )
        return self.reload(t)

    def review(self, **kw) -> Ticket:
        t = self.replied(**kw)
        services.ticket_record_callback(
            ticket=t,
            actor=self.city.operator,
            contacted=True,
            resolved=False,
            satisfaction=Satisfaction.DISSATISFIED,
            comment="还是有油烟",
        )
        return self.reload(t)

    def closed(self, **kw) -> Ticket:
        t = self.replied(**kw)
        services.ticket_record_callback(
            ticket=t, actor=self.city.operator, contacted=True, resolved=True, satisfaction=Satisfaction.SATISFIED
        )
        return self.reload(t)

    def termination_requested(self, **kw) -> Ticket:
        t = self.handling(**kw)
        services.ticket_request_termination(ticket=t, actor=self.city.handler_a, reason="诉求人拒绝提供必要信息")
        return self.reload(t)

    def terminated(self, **kw) -> Ticket:
        t = self.termination_requested(**kw)
        services.ticket_approve_termination(ticket=t, actor=self.city.supervisor, reason="核实属实")
        return self.reload(t)

    def merged(self, **kw) -> Ticket:
        master = self.new(title="主单")
        t = self.new(**kw)
        services.ticket_merge(ticket=t, master=master, actor=self.city.operator)
        return self.reload(t)

    def in_status(self, status: str) -> Ticket:
        return {
            TicketStatus.RECEIVED: self.new,
            TicketStatus.DISPATCHED: self.dispatched,
            TicketStatus.HANDLING: self.handling,
            TicketStatus.RETURN_REQUESTED: self.return_requested,
            TicketStatus.REPLIED: self.replied,
            TicketStatus.REVIEW: self.review,
            TicketStatus.TERMINATION_REQUESTED: self.termination_requested,
            TicketStatus.CLOSED: self.closed,
            TicketStatus.TERMINATED: self.terminated,
            TicketStatus.MERGED: self.merged,
        }[status]()

    @staticmethod
    def reload(ticket: Ticket) -> Ticket:
        return Ticket.objects.get(pk=ticket.pk)
