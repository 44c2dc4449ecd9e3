"""Racing writers (style.md "Racing writers"): real threads, real PostgreSQL row locks.

Each thread opens its own connection before the barrier, so the racing calls start together,
and closes it when done. Data is committed (transaction=True), so the threads see it.

Committed tests end with a flush, which also wipes rows seeded by data migrations (the default
SLA policies) that other tests and per-process caches rely on. serialized_rollback restores the
session's snapshot before each test here, and the module puts it back after its last flush.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection

from hotline import services, sla
from hotline.choices import (
    ACTIVE_ASSIGNMENT_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    EventKind,
    HandlingResult,
    RequestStatus,
    RequestType,
    Role,
    TicketStatus,
)
from hotline.errors import Conflict, DomainError, IllegalTransition
from hotline.models import Assignment, Ticket, TicketEvent, TicketRequest, User
from hotline.workcalendar import calendar

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CN = ZoneInfo("Asia/Shanghai")
REPLY_TEXT = "已联系商户加装油烟净化设备，并告知营业时间规定。"


def _invalidate_process_caches() -> None:
    # Deadline policies and calendar overrides are cached per process; after a flush or a restore
    # a cached row may no longer exist (a clock pointing at it would break its foreign key).
    for cache in (getattr(sla, "policies", None), calendar):
        if cache is not None:
            cache.invalidate()


@pytest.fixture(scope="module", autouse=True)
def _database_as_the_session_found_it(django_db_setup, django_db_blocker):
    """Committed tests flush the database. Start from empty so each test's serialized restore lands
    cleanly (an earlier plain flush re-creates content types under new ids), and put the session's
    snapshot back after the last flush so later tests still find the migration-seeded rows."""
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)
    yield
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)
    _invalidate_process_caches()


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    _invalidate_process_caches()


class Outcome:
    def __init__(self, name: str) -> None:
        self.name = name
        self.value = None
        self.error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __repr__(self) -> str:
        return f"<{self.name}: {'ok' if self.ok else repr(self.error)}>"


def race(**calls: Callable[[], object]) -> dict[str, Outcome]:
    """Run the calls in parallel threads released together by a barrier; report each outcome."""
    barrier = threading.Barrier(len(calls))
    outcomes = {name: Outcome(name) for name in calls}

    def worker(name: str, call: Callable[[], object]) -> None:
        outcome = outcomes[name]
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            outcome.value = call()
        except BaseException as exc:
            outcome.error = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=item, name=item[0]) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing thread hung (deadlock?)"
    return outcomes


def one_winner(outcomes: dict[str, Outcome]) -> tuple[Outcome, Outcome]:
    winners = [o for o in outcomes.values() if o.ok]
    losers = [o for o in outcomes.values() if not o.ok]
    assert len(winners) == 1, outcomes
    return winners[0], losers[0]


def assert_clear_refusal(loser: Outcome, *kinds: type[DomainError]) -> None:
    # A lost race is a domain error a person can act on (HTTP 409), never a database error.
    assert isinstance(loser.error, kinds), loser
    assert loser.error.status_code == 409
    assert loser.error.message.strip()


@pytest.mark.parametrize("attempt", range(3))
def test_two_handlers_signing_at_once_sign_exactly_once(attempt, city, flow):
    ticket = flow.dispatched()

    outcomes = race(
        first=lambda: services.ticket_sign(ticket=ticket, actor=city.handler_a),
        second=lambda: services.ticket_sign(ticket=ticket, actor=city.handler_a2),
    )

    winner, loser = one_winner(outcomes)
    assert_clear_refusal(loser, Conflict, IllegalTransition)
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SIGNED).count() == 1
    assignment = Assignment.objects.get(ticket=ticket, unit=city.street_a)
    assert assignment.signed_by == {"first": city.handler_a, "second": city.handler_a2}[winner.name]
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.HANDLING


def assert_replied_by_a(ticket, city) -> None:
    ticket.refresh_from_db()
    assert (ticket.status, ticket.lead_unit) == (TicketStatus.REPLIED, city.street_a)
    a = Assignment.objects.get(ticket=ticket, unit=city.street_a)
    assert (a.status, a.reply_text) == (AssignmentStatus.REPLIED, REPLY_TEXT)
    assert not Assignment.objects.filter(ticket=ticket, unit=city.street_b).exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.REPLIED).count() == 1
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RETURN_APPROVED).exists()


def assert_redispatched_to_b(ticket, city) -> None:
    ticket.refresh_from_db()
    assert (ticket.status, ticket.lead_unit, ticket.replied_at) == (TicketStatus.DISPATCHED, city.street_b, None)
    a = Assignment.objects.get(ticket=ticket, unit=city.street_a)
    assert (a.status, a.replied_at, a.reply_text) == (AssignmentStatus.RETURNED, None, "")
    b = Assignment.objects.get(ticket=ticket, unit=city.street_b)
    assert (b.role, b.status) == (AssignmentRole.LEAD, AssignmentStatus.DISPATCHED)
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.REPLIED).exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RETURN_APPROVED).count() == 1


def reply_by(ticket, actor):
    return services.ticket_reply(
        ticket=ticket, actor=actor, result=HandlingResult.RESOLVED, text=REPLY_TEXT, contacted=True
    )


@pytest.mark.parametrize("attempt", range(3))
def test_reply_racing_an_approved_return_leaves_one_consistent_outcome(attempt, city, flow):
    # Given unit A asked to return the ticket, while a colleague at A still means to reply
    ticket = flow.return_requested()

    outcomes = race(
        reply=lambda: reply_by(ticket, city.handler_a2),
        approve=lambda: services.ticket_approve_return(
            ticket=ticket, actor=city.dispatcher, reason="属三里屯街道", new_unit=city.street_b
        ),
    )

    winner, loser = one_winner(outcomes)
    assert_clear_refusal(loser, Conflict, IllegalTransition)
    if winner.name == "reply":
        assert_replied_by_a(ticket, city)
    else:
        assert_redispatched_to_b(ticket, city)
    # While the return is pending the unit cannot reply at all, so the approval must be the winner.
    assert winner.name == "approve"


@pytest.mark.parametrize("attempt", range(3))
def test_reply_racing_a_return_and_its_approval_leaves_one_consistent_outcome(attempt, city, flow):
    # Given unit A is handling; one handler replies while the other asks to return and the hub approves
    ticket = flow.handling()

    def return_and_approve():
        services.ticket_request_return(ticket=ticket, actor=city.handler_a, reason="属三里屯街道管辖")
        return services.ticket_approve_return(
            ticket=ticket, actor=city.dispatcher, reason="同意改派", new_unit=city.street_b
        )

    outcomes = race(reply=lambda: reply_by(ticket, city.handler_a2), give_back=return_and_approve)

    winner, loser = one_winner(outcomes)
    assert_clear_refusal(loser, Conflict, IllegalTransition)
    if winner.name == "reply":
        assert_replied_by_a(ticket, city)
        assert not TicketRequest.objects.filter(ticket=ticket).exists()
    else:
        assert_redispatched_to_b(ticket, city)
        assert TicketRequest.objects.get(ticket=ticket).status == RequestStatus.APPROVED


@pytest.mark.parametrize("attempt", range(3))
def test_two_dispatchers_dispatching_at_once_make_one_lead(attempt, city, flow):
    ticket = flow.new()

    outcomes = race(
        dispatcher=lambda: services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_a),
        supervisor=lambda: services.ticket_dispatch(ticket=ticket, actor=city.supervisor, lead_unit=city.bureau),
    )

    winner, loser = one_winner(outcomes)
    assert_clear_refusal(loser, Conflict, IllegalTransition)
    expected_unit = {"dispatcher": city.street_a, "supervisor": city.bureau}[winner.name]
    leads = list(Assignment.objects.filter(ticket=ticket, role=AssignmentRole.LEAD))
    assert [a.unit for a in leads] == [expected_unit]
    assert leads[0].status in ACTIVE_ASSIGNMENT_STATUSES
    ticket.refresh_from_db()
    assert (ticket.status, ticket.lead_unit) == (TicketStatus.DISPATCHED, expected_unit)
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.DISPATCHED).count() == 1


def test_parallel_intake_on_one_day_hands_out_distinct_consecutive_numbers(city):
    day = dt.datetime(2031, 6, 16, 9, 30, tzinfo=CN)
    operators = [city.operator] + [
        User.objects.create_user(
            username=f"operator-race-{i}", password="pw-for-tests-123", role=Role.OPERATOR, unit=city.hub
        )
        for i in range(3)
    ]

    def create(i: int):
        return services.ticket_create(
            actor=operators[i % len(operators)],
            title=f"来电{i}",
            content="小区门口路灯不亮，晚上很黑。",
            request_type=RequestType.HELP,
            caller_phone="13812345678",
            now=day,
        ).number

    outcomes = race(**{f"call{i}": (lambda i=i: create(i)) for i in range(20)})

    assert all(o.ok for o in outcomes.values()), outcomes
    numbers = sorted(o.value for o in outcomes.values())
    assert numbers == [f"20310616{seq:05d}" for seq in range(1, 21)]
    assert Ticket.objects.filter(number__startswith="20310616").count() == 20
