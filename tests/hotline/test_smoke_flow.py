from hotline.choices import TicketStatus


def test_every_status_is_reachable_through_the_services(flow):
    for status in TicketStatus.values:
        ticket = flow.in_status(status)
        assert ticket.status == status, (status, ticket.status)
        assert ticket.events.exists()
