"""The main story in a real browser: intake by keyboard → auto-dispatch → sign and reply → the resident
rates on a phone → a supervisor reopens. Steps 1–3 are also tested alone, starting from a ticket put
in the right state through the services; the last test plays the whole chain through the browser."""

from __future__ import annotations

import pytest

from hotline.models import Assignment
from tests.e2e import story
from tests.e2e.harness import requires_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.skipif(**requires_chromium)]


def test_operator_enters_a_call_by_keyboard_alone_and_it_dispatches_itself_to_the_street(session, world):
    story.operator_enters_ticket_by_keyboard(session, world.city)


def test_street_handler_signs_in_the_workbench_and_replies_on_the_ticket_page(session, world):
    ticket = world.flow.dispatched(
        title=story.TITLE, content=story.CONTENT, caller_name="李先生", caller_phone=story.CALLER_PHONE
    )
    story.street_handler_signs_and_replies(session, world.city, ticket)


def test_resident_opens_the_sms_link_on_a_phone_and_rates_unresolved_and_dissatisfied(session, world):
    # Replied through the services: the reply queues the SMS and the real worker sends it.
    ticket = world.flow.replied(title=story.TITLE, content=story.CONTENT, caller_phone=story.CALLER_PHONE)
    assert Assignment.objects.get(ticket=ticket, unit=world.city.street_a).reply_text
    story.resident_rates_unresolved_on_phone(session, world.city, ticket)


def test_bad_rating_is_reopened_by_a_supervisor_and_goes_back_to_the_street_with_a_new_clock(session, world):
    """The whole chain through the browser, ending on the unit's score card."""
    ticket = story.reopened_after_bad_rating(session, world.city)
    assert ticket.lead_unit == world.city.street_a
    story.unit_sees_the_rating_in_its_score(session, world.city, ticket)
