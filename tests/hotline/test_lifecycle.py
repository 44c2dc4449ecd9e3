"""The ticket lifecycle of domain.md §3–4, traced through the services.

tests/hotline/test_workflow.py already says which action may start from which status; these
tests say what each move does: who holds the ticket afterwards, which clocks run, stop or
start afresh, and what is left on the trail.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from hotline import selectors, services
from hotline.choices import (
    ACTIVE_ASSIGNMENT_STATUSES,
    LIVE_CLOCK_STATES,
    AssignmentRole,
    AssignmentStatus,
    ClockKind,
    ClockState,
    EventKind,
    HandlingResult,
    Priority,
    RequestKind,
    RequestStatus,
    RequestType,
    Satisfaction,
    TicketStatus,
    UnitKind,
)
from hotline.errors import Conflict, IllegalTransition, InvalidInput, NotAllowed, NotFound
from hotline.models import Assignment, Callback, Clock, TicketEvent, TicketRequest, Unit
from hotline.workcalendar import DAY, calendar

CN = ZoneInfo("Asia/Shanghai")
# An ordinary week: no holiday or 调休 between 2026-03-02 (Mon) and 2026-03-27.
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=CN)
REPLY_TEXT = "已联系商户加装油烟净化设备，并告知营业时间规定。"


@pytest.fixture(autouse=True)
def _fresh_calendar_overrides():
    # The calendar caches CalendarDay overrides per process; never trust a copy from another test.
    calendar.invalidate()
    yield
    calendar.invalidate()


def assignment_of(ticket, unit) -> Assignment:
    return Assignment.objects.get(ticket=ticket, unit=unit)


def clocks_by_kind(assignment: Assignment) -> dict[str, Clock]:
    clocks = list(Clock.objects.filter(assignment=assignment))
    assert len({c.kind for c in clocks}) == len(clocks), "one clock per kind expected"
    return {c.kind: c for c in clocks}


def live_clocks(**filters):
    return Clock.objects.filter(state__in=LIVE_CLOCK_STATES, **filters)


def dispatch_at(flow, city, when: dt.datetime, *, lead=None, assist=(), **ticket_kw):
    ticket = flow.new(now=when - dt.timedelta(minutes=30), **ticket_kw)
    return services.ticket_dispatch(
        ticket=ticket, actor=city.dispatcher, lead_unit=lead or city.street_a, assist_units=assist, now=when
    )


def reply(ticket, actor, **kw):
    return services.ticket_reply(
        ticket=ticket, actor=actor, result=HandlingResult.RESOLVED, text=REPLY_TEXT, contacted=True, **kw
    )


# --- dispatch ---------------------------------------------------------------------------------


def test_dispatch_to_a_street_gives_its_district_a_supervising_copy_without_clocks(city, flow):
    ticket = flow.dispatched()

    lead = assignment_of(ticket, city.street_a)
    copy = assignment_of(ticket, city.district)
    assert (lead.role, lead.status) == (AssignmentRole.LEAD, AssignmentStatus.DISPATCHED)
    assert (copy.role, copy.status) == (AssignmentRole.COPY, AssignmentStatus.DISPATCHED)
    assert set(clocks_by_kind(lead)) == {ClockKind.SIGN, ClockKind.CONTACT, ClockKind.REPLY}
    assert not copy.clocks.exists()
    assert ticket.assignments.count() == 2
    assert ticket.lead_unit == city.street_a
    assert ticket.status == TicketStatus.DISPATCHED


def test_dispatch_to_a_bureau_gives_no_supervising_copy(city, flow):
    ticket = services.ticket_dispatch(ticket=flow.new(), actor=city.dispatcher, lead_unit=city.bureau)

    assert list(ticket.assignments.values_list("unit__code", "role")) == [("zjw", AssignmentRole.LEAD)]


def test_assisting_units_run_their_own_sign_contact_and_reply_clocks(city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10, assist=[city.bureau, city.utility])

    lead_clocks = clocks_by_kind(assignment_of(ticket, city.street_a))
    for unit in (city.bureau, city.utility):
        assist = assignment_of(ticket, unit)
        assert assist.role == AssignmentRole.ASSIST
        clocks = clocks_by_kind(assist)
        assert set(clocks) == {ClockKind.SIGN, ClockKind.CONTACT, ClockKind.REPLY}
        for kind, clock in clocks.items():
            assert clock.pk != lead_clocks[kind].pk
            assert clock.started_at == MONDAY_10
            assert clock.due_at == lead_clocks[kind].due_at
    # Lead 3 + two assistants 3 each; the district's copy runs none.
    assert Clock.objects.filter(ticket=ticket, assignment__isnull=False).count() == 9


# Domain.md §4, written out independently of hotline.sla: (sign, contact) in hours, reply in hours or
# working days.
TERMS = {
    Priority.URGENT: (0.5, 1, ("hours", 2)),
    Priority.UTILITY: (1, 2, ("hours", 24)),
    Priority.GENERAL: (4, 24, ("workdays", 7)),
    Priority.COMPLEX: (4, 24, ("workdays", 15)),
}


@pytest.mark.parametrize("priority", list(TERMS))
def test_unit_clock_due_times_follow_the_default_terms(priority, city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10, priority=priority)

    sign_h, contact_h, (reply_unit, reply_value) = TERMS[priority]
    clocks = clocks_by_kind(assignment_of(ticket, city.street_a))
    assert clocks[ClockKind.SIGN].due_at == MONDAY_10 + dt.timedelta(hours=sign_h)
    assert clocks[ClockKind.CONTACT].due_at == MONDAY_10 + dt.timedelta(hours=contact_h)
    reply_clock = clocks[ClockKind.REPLY]
    if reply_unit == "hours":
        assert reply_clock.due_at == MONDAY_10 + dt.timedelta(hours=reply_value)
        assert reply_clock.warn_at == MONDAY_10 + dt.timedelta(hours=reply_value * 0.75)
        assert (reply_clock.limit_value, reply_clock.limit_unit) == (reply_value * 60, "minutes")
    else:
        assert reply_clock.due_at == calendar.add_working_days(MONDAY_10, reply_value).at
        assert reply_clock.warn_at == calendar.add_working_seconds(MONDAY_10, reply_value * DAY * 0.75).at
        assert (reply_clock.limit_value, reply_clock.limit_unit) == (reply_value, "workdays")
    assert not any(c.calendar_estimated for c in clocks.values())


def test_general_reply_clock_counts_seven_working_days_past_the_weekend(city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10)

    reply_clock = clocks_by_kind(assignment_of(ticket, city.street_a))[ClockKind.REPLY]
    # Mon 2 → Tue 3, Wed 4, Thu 5, Fri 6, Mon 9, Tue 10, Wed 11 at the same time of day.
    assert reply_clock.due_at == dt.datetime(2026, 3, 11, 10, 0, tzinfo=CN)


def test_urgent_reply_clock_runs_two_hours_of_clock_time_even_over_a_weekend(city, flow):
    friday_23 = dt.datetime(2026, 3, 6, 23, 0, tzinfo=CN)
    ticket = dispatch_at(flow, city, friday_23, priority=Priority.URGENT)

    reply_clock = clocks_by_kind(assignment_of(ticket, city.street_a))[ClockKind.REPLY]
    assert reply_clock.due_at == dt.datetime(2026, 3, 7, 1, 0, tzinfo=CN)  # Saturday 01:00


def test_dispatch_finishes_the_hub_dispatch_clock(city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10)

    dispatch_clock = Clock.objects.get(ticket=ticket, kind=ClockKind.DISPATCH)
    assert dispatch_clock.state == ClockState.MET
    assert dispatch_clock.stopped_at == MONDAY_10


# --- sign, contact, reply ---------------------------------------------------------------------


def test_sign_sets_signed_at_and_meets_the_sign_clock(city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10)
    signed = MONDAY_10 + dt.timedelta(hours=1)

    assignment = services.ticket_sign(ticket=ticket, actor=city.handler_a, now=signed)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.HANDLING
    assert ticket.signed_at == signed
    assert (assignment.status, assignment.signed_at, assignment.signed_by) == (
        AssignmentStatus.SIGNED,
        signed,
        city.handler_a,
    )
    sign_clock = clocks_by_kind(assignment)[ClockKind.SIGN]
    assert (sign_clock.state, sign_clock.stopped_at) == (ClockState.MET, signed)


def test_sign_after_the_due_time_finishes_the_sign_clock_late(city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10)
    signed = MONDAY_10 + dt.timedelta(hours=4, minutes=1)  # general sign-for limit is 4 h

    assignment = services.ticket_sign(ticket=ticket, actor=city.handler_a, now=signed)

    clocks = clocks_by_kind(assignment)
    assert (clocks[ClockKind.SIGN].state, clocks[ClockKind.SIGN].stopped_at) == (ClockState.LATE, signed)
    assert clocks[ClockKind.REPLY].state == ClockState.RUNNING


def test_sign_exactly_at_the_due_time_is_still_in_time(city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10)

    assignment = services.ticket_sign(ticket=ticket, actor=city.handler_a, now=MONDAY_10 + dt.timedelta(hours=4))

    assert clocks_by_kind(assignment)[ClockKind.SIGN].state == ClockState.MET


def test_assisting_unit_sign_and_reply_leave_the_ticket_status_alone(city, flow):
    ticket = dispatch_at(flow, city, MONDAY_10, assist=[city.bureau])

    services.ticket_sign(ticket=ticket, actor=city.bureau_handler, now=MONDAY_10 + dt.timedelta(hours=1))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DISPATCHED
    assert ticket.signed_at is None

    services.ticket_sign(ticket=ticket, actor=city.handler_a, now=MONDAY_10 + dt.timedelta(hours=2))
    reply(ticket, city.bureau_handler, now=MONDAY_10 + dt.timedelta(hours=3))

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.HANDLING
    assert ticket.replied_at is None
    assist = assignment_of(ticket, city.bureau)
    assert assist.status == AssignmentStatus.REPLIED
    assert clocks_by_kind(assist)[ClockKind.REPLY].state == ClockState.MET
    lead = assignment_of(ticket, city.street_a)
    assert lead.status == AssignmentStatus.SIGNED
    assert clocks_by_kind(lead)[ClockKind.REPLY].state == ClockState.RUNNING


def test_contact_finishes_the_contact_clock_only(city, flow):
    ticket = flow.handling()

    assignment = services.ticket_contact(ticket=ticket, actor=city.handler_a, note="已电话联系王女士")

    clocks = clocks_by_kind(assignment)
    assert clocks[ClockKind.CONTACT].state == ClockState.MET
    assert clocks[ClockKind.REPLY].state == ClockState.RUNNING
    assert assignment.contacted_at is not None
    with pytest.raises(Conflict):
        services.ticket_contact(ticket=ticket, actor=city.handler_a2)


def test_lead_reply_moves_the_ticket_to_replied_and_cancels_a_pending_extension(city, flow):
    ticket = flow.handling()
    request = services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=3, reason="需协调产权单位")

    assignment = reply(ticket, city.handler_a2)

    ticket.refresh_from_db()
    request.refresh_from_db()
    assert ticket.status == TicketStatus.REPLIED
    assert ticket.replied_at == assignment.replied_at
    assert (assignment.status, assignment.replied_by, assignment.reply_text) == (
        AssignmentStatus.REPLIED,
        city.handler_a2,
        REPLY_TEXT,
    )
    assert request.status == RequestStatus.CANCELLED
    assert not live_clocks(assignment=assignment).exists()
    assert clocks_by_kind(assignment)[ClockKind.REPLY].state == ClockState.MET


# --- returns (退单) -----------------------------------------------------------------------------


def test_return_request_keeps_the_units_clocks_running(city, flow):
    ticket = flow.handling()
    lead = assignment_of(ticket, city.street_a)
    before = {c.pk: (c.state, c.due_at) for c in lead.clocks.all()}

    services.ticket_request_return(ticket=ticket, actor=city.handler_a, reason="属于三里屯街道管辖")

    ticket.refresh_from_db()
    lead.refresh_from_db()
    assert ticket.status == TicketStatus.RETURN_REQUESTED
    assert lead.status == AssignmentStatus.RETURN_REQUESTED
    assert {c.pk: (c.state, c.due_at) for c in lead.clocks.all()} == before
    assert live_clocks(assignment=lead, kind=ClockKind.REPLY, stopped_at__isnull=True).exists()


def test_approved_return_starts_fresh_clocks_for_the_new_unit(city, flow):
    ticket = flow.return_requested()
    old = assignment_of(ticket, city.street_a)
    old_copy = assignment_of(ticket, city.district)

    services.ticket_approve_return(ticket=ticket, actor=city.dispatcher, reason="属住建委职责", new_unit=city.bureau)

    request = TicketRequest.objects.get(ticket=ticket, kind=RequestKind.RETURN)
    approved_at = request.decided_at
    assert request.status == RequestStatus.APPROVED

    # The old unit's part ends and its clocks stop without a verdict.
    old.refresh_from_db()
    assert (old.status, old.ended_at) == (AssignmentStatus.RETURNED, approved_at)
    assert not live_clocks(assignment=old).exists()
    old_clocks = clocks_by_kind(old)
    assert old_clocks[ClockKind.SIGN].state == ClockState.MET  # signed in time before: verdict kept
    for kind in (ClockKind.CONTACT, ClockKind.REPLY):
        assert (old_clocks[kind].state, old_clocks[kind].stopped_at) == (ClockState.STOPPED, approved_at)
    old_copy.refresh_from_db()
    assert old_copy.status == AssignmentStatus.WITHDRAWN

    # The new unit leads with clocks that start at the approval, not at the first dispatch.
    ticket.refresh_from_db()
    assert (ticket.status, ticket.lead_unit, ticket.dispatched_at, ticket.signed_at) == (
        TicketStatus.DISPATCHED,
        city.bureau,
        approved_at,
        None,
    )
    new = Assignment.objects.get(ticket=ticket, unit=city.bureau)
    assert (new.role, new.status, new.dispatched_at) == (AssignmentRole.LEAD, AssignmentStatus.DISPATCHED, approved_at)
    new_clocks = clocks_by_kind(new)
    assert {c.state for c in new_clocks.values()} == {ClockState.RUNNING}
    assert {c.started_at for c in new_clocks.values()} == {approved_at}
    assert new_clocks[ClockKind.SIGN].due_at == approved_at + dt.timedelta(hours=4)
    assert new_clocks[ClockKind.REPLY].due_at == calendar.add_working_days(approved_at, 7).at
    assert new_clocks[ClockKind.REPLY].due_at > old_clocks[ClockKind.REPLY].due_at
    assert not ticket.assignments.filter(role=AssignmentRole.COPY, status__in=ACTIVE_ASSIGNMENT_STATUSES).exists()


def test_approved_return_to_another_street_gives_its_district_a_new_copy(city, flow):
    ticket = flow.return_requested()

    services.ticket_approve_return(ticket=ticket, actor=city.dispatcher, reason="属三里屯街道", new_unit=city.street_b)

    copies = list(
        ticket.assignments.filter(role=AssignmentRole.COPY).order_by("id").values_list("unit__code", "status")
    )
    assert copies == [("chaoyang", AssignmentStatus.WITHDRAWN), ("chaoyang", AssignmentStatus.DISPATCHED)]
    assert assignment_of(ticket, city.street_b).role == AssignmentRole.LEAD


def test_approved_return_without_a_new_unit_goes_back_to_the_dispatch_queue(city, flow):
    ticket = flow.return_requested()

    services.ticket_approve_return(ticket=ticket, actor=city.dispatcher, reason="需重新研判")

    ticket.refresh_from_db()
    approved_at = TicketRequest.objects.get(ticket=ticket).decided_at
    assert (ticket.status, ticket.lead_unit, ticket.signed_at) == (TicketStatus.RECEIVED, None, None)
    assert not ticket.assignments.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES).exists()
    dispatch_clocks = list(Clock.objects.filter(ticket=ticket, kind=ClockKind.DISPATCH).order_by("id"))
    assert [c.state for c in dispatch_clocks] == [ClockState.MET, ClockState.RUNNING]
    fresh = dispatch_clocks[-1]
    assert (fresh.started_at, fresh.due_at) == (approved_at, approved_at + dt.timedelta(hours=24))
    assert ticket in selectors.dispatcher_queue()


@pytest.mark.parametrize("signed", [False, True], ids=["from-dispatched", "from-handling"])
def test_rejected_return_puts_ticket_and_assignment_back_with_clocks_untouched(signed, city, flow):
    ticket = flow.handling() if signed else flow.dispatched()
    lead = assignment_of(ticket, city.street_a)
    status_before, lead_status_before = ticket.status, lead.status
    clocks_before = list(
        Clock.objects.filter(ticket=ticket)
        .order_by("id")
        .values_list("id", "state", "started_at", "due_at", "stopped_at")
    )
    services.ticket_request_return(ticket=ticket, actor=city.handler_a, reason="不属于本街道管辖")

    services.ticket_reject_return(ticket=ticket, actor=city.dispatcher, reason="属地管理，请继续办理")

    ticket.refresh_from_db()
    lead.refresh_from_db()
    assert (ticket.status, ticket.lead_unit) == (status_before, city.street_a)
    assert lead.status == lead_status_before
    assert (
        list(
            Clock.objects.filter(ticket=ticket)
            .order_by("id")
            .values_list("id", "state", "started_at", "due_at", "stopped_at")
        )
        == clocks_before
    )
    assert TicketRequest.objects.get(ticket=ticket).status == RequestStatus.REJECTED


def test_approved_return_can_make_the_assisting_unit_the_lead_with_fresh_clocks(city, flow):
    ticket = dispatch_at(flow, city, timezone.now() - dt.timedelta(hours=1), assist=[city.bureau])
    services.ticket_sign(ticket=ticket, actor=city.bureau_handler)
    assisting = assignment_of(ticket, city.bureau)
    services.ticket_request_return(ticket=ticket, actor=city.handler_a, reason="属住建委职责")

    services.ticket_approve_return(ticket=ticket, actor=city.dispatcher, reason="改由住建委主办", new_unit=city.bureau)

    approved_at = TicketRequest.objects.get(ticket=ticket).decided_at
    assisting.refresh_from_db()
    assert (assisting.role, assisting.status, assisting.ended_at) == (
        AssignmentRole.ASSIST,
        AssignmentStatus.WITHDRAWN,
        approved_at,
    )
    assert not live_clocks(assignment=assisting).exists()
    lead = Assignment.objects.get(ticket=ticket, unit=city.bureau, status__in=ACTIVE_ASSIGNMENT_STATUSES)
    assert (lead.role, lead.status, lead.signed_at) == (AssignmentRole.LEAD, AssignmentStatus.DISPATCHED, None)
    assert {c.started_at for c in lead.clocks.all()} == {approved_at}
    ticket.refresh_from_db()
    assert (ticket.status, ticket.lead_unit) == (TicketStatus.DISPATCHED, city.bureau)


def test_redispatch_after_a_return_to_the_queue_keeps_units_still_assisting(city, flow):
    ticket = services.ticket_dispatch(
        ticket=flow.new(), actor=city.dispatcher, lead_unit=city.street_a, assist_units=[city.bureau]
    )
    assisting = assignment_of(ticket, city.bureau)
    clocks_before = list(assisting.clocks.order_by("id").values_list("id", "state", "due_at"))
    services.ticket_request_return(ticket=ticket, actor=city.handler_a, reason="不属于本街道管辖")
    services.ticket_approve_return(ticket=ticket, actor=city.dispatcher, reason="需重新研判")
    assisting.refresh_from_db()
    assert assisting.status == AssignmentStatus.DISPATCHED  # the assisting unit's part outlives the return

    services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_b, assist_units=[city.bureau])

    assert list(
        ticket.assignments.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .order_by("id")
        .values_list("unit__code", "role")
    ) == [("zjw", AssignmentRole.ASSIST), ("chaoyang-sanlitun", AssignmentRole.LEAD), ("chaoyang", AssignmentRole.COPY)]
    assert list(assisting.clocks.order_by("id").values_list("id", "state", "due_at")) == clocks_before


def test_return_of_an_assisting_unit_cannot_name_a_unit_already_on_the_ticket(city, flow):
    ticket = services.ticket_dispatch(
        ticket=flow.new(), actor=city.dispatcher, lead_unit=city.street_a, assist_units=[city.bureau]
    )
    services.ticket_request_return(ticket=ticket, actor=city.bureau_handler, reason="非本委职责")

    with pytest.raises(InvalidInput) as info:
        services.ticket_approve_return(ticket=ticket, actor=city.dispatcher, reason="改派", new_unit=city.street_a)

    assert "new_unit" in info.value.fields
    assert TicketRequest.objects.get(ticket=ticket).status == RequestStatus.PENDING
    assert assignment_of(ticket, city.bureau).status == AssignmentStatus.RETURN_REQUESTED


def test_approved_return_removes_the_old_units_access(city, flow):
    ticket = flow.return_requested()
    assert ticket in selectors.tickets_visible_to(city.handler_a)
    assert ticket in selectors.tickets_visible_to(city.district_manager)
    assert ticket not in selectors.tickets_visible_to(city.bureau_handler)

    services.ticket_approve_return(ticket=ticket, actor=city.dispatcher, reason="属住建委职责", new_unit=city.bureau)

    assert ticket not in selectors.tickets_visible_to(city.handler_a)
    assert ticket not in selectors.tickets_visible_to(city.manager_a)
    assert ticket not in selectors.tickets_visible_to(city.district_manager)  # its copy went with the street
    assert ticket in selectors.tickets_visible_to(city.bureau_handler)
    with pytest.raises(NotFound):
        selectors.ticket_get(city.handler_a, ticket.pk)
    # Acting on it is refused with the reason, not a bare 404: the unit did hold the ticket.
    with pytest.raises(IllegalTransition, match="已退回"):
        reply(ticket, city.handler_a)


# --- extensions (延期) ------------------------------------------------------------------------


def reply_clock_of(ticket, unit) -> Clock:
    return Clock.objects.filter(
        assignment__ticket=ticket, assignment__unit=unit, kind=ClockKind.REPLY, state__in=LIVE_CLOCK_STATES
    ).get()


def test_approved_extension_moves_the_reply_due_time_by_working_days(city, flow):
    ticket = flow.handling()
    clock = reply_clock_of(ticket, city.street_a)
    old_due = clock.due_at
    services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=3, reason="需协调产权单位")

    services.ticket_approve_extension(ticket=ticket, actor=city.supervisor, reason="情况属实")

    clock.refresh_from_db()
    expected = calendar.add_working_days(old_due, 3).at
    assert clock.due_at == expected
    assert calendar.working_seconds_between(old_due, clock.due_at) == pytest.approx(3 * DAY)
    changed = TicketEvent.objects.get(ticket=ticket, kind=EventKind.DUE_CHANGED)
    assert changed.payload["clock"] == ClockKind.REPLY
    assert dt.datetime.fromisoformat(changed.payload["from"]) == old_due
    assert dt.datetime.fromisoformat(changed.payload["to"]) == expected
    assert (changed.actor, changed.unit) == (city.supervisor, city.street_a)
    assert assignment_of(ticket, city.street_a).extended_days == 3
    assert TicketRequest.objects.get(ticket=ticket).status == RequestStatus.APPROVED


def test_approved_extension_keeps_the_warning_at_three_quarters_of_the_working_time(city, flow):
    # Given a 7-working-day reply clock extended by 8 working days (15 in all)
    ticket = flow.handling()
    clock = reply_clock_of(ticket, city.street_a)
    services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=8, reason="需协调产权单位")

    services.ticket_approve_extension(ticket=ticket, actor=city.supervisor, reason="情况属实")

    # Then the yellow warning sits at 75% of the clock's working time, as sla.schedule puts it at start.
    clock.refresh_from_db()
    span = calendar.working_seconds_between(clock.started_at, clock.due_at)
    assert clock.warn_at == calendar.add_working_seconds(clock.started_at, span * 0.75).at


def test_extension_total_is_capped_across_requests(city, flow):
    cap = settings.HOTLINE["EXTENSION_CAP_WORKING_DAYS"]
    assert cap == 15
    ticket = flow.handling()

    def ask(days):
        return services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=days, reason="协调中")

    def approve():
        services.ticket_approve_extension(ticket=ticket, actor=city.supervisor, reason="同意")

    ask(10)
    approve()
    with pytest.raises(InvalidInput) as info:
        ask(6)
    assert "days" in info.value.fields
    ask(5)
    approve()
    with pytest.raises(InvalidInput):
        ask(1)

    lead = assignment_of(ticket, city.street_a)
    assert lead.extended_days == cap
    assert TicketRequest.objects.filter(ticket=ticket, kind=RequestKind.EXTENSION).count() == 2
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.DUE_CHANGED).count() == 2


def test_extension_approval_refuses_to_pass_the_cap_lowered_after_the_request(city, flow, settings):
    ticket = flow.handling()
    services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=5, reason="协调中")
    due_before = reply_clock_of(ticket, city.street_a).due_at
    settings.HOTLINE = {**settings.HOTLINE, "EXTENSION_CAP_WORKING_DAYS": 3}

    with pytest.raises(InvalidInput):
        services.ticket_approve_extension(ticket=ticket, actor=city.supervisor, reason="同意")

    assert reply_clock_of(ticket, city.street_a).due_at == due_before
    assert assignment_of(ticket, city.street_a).extended_days == 0


def test_second_pending_extension_request_is_refused(city, flow):
    ticket = flow.handling()
    services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=3, reason="需协调产权单位")

    with pytest.raises(Conflict):
        services.ticket_request_extension(ticket=ticket, actor=city.handler_a2, days=2, reason="再申请")

    assert TicketRequest.objects.filter(ticket=ticket, status=RequestStatus.PENDING).count() == 1


def test_extension_request_after_the_reply_due_time_is_refused(city, flow):
    # Dispatched 30 days ago: the 7-working-day reply clock has run out.
    ticket = dispatch_at(flow, city, timezone.now() - dt.timedelta(days=30))
    services.ticket_sign(ticket=ticket, actor=city.handler_a)

    with pytest.raises(IllegalTransition):
        services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=3, reason="来不及了")

    assert not TicketRequest.objects.filter(ticket=ticket).exists()
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.EXTENSION_REQUESTED).exists()


def test_rejected_extension_changes_nothing(city, flow):
    ticket = flow.handling()
    clock = reply_clock_of(ticket, city.street_a)
    services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=3, reason="需协调产权单位")

    services.ticket_reject_extension(ticket=ticket, actor=city.supervisor, reason="时限内可以办结")

    after = Clock.objects.get(pk=clock.pk)
    assert (after.due_at, after.warn_at, after.state) == (clock.due_at, clock.warn_at, clock.state)
    assert assignment_of(ticket, city.street_a).extended_days == 0
    assert TicketRequest.objects.get(ticket=ticket).status == RequestStatus.REJECTED
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.DUE_CHANGED).exists()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.HANDLING
    # And the unit may ask again.
    services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=2, reason="补充材料")


# --- reopen (重办) ------------------------------------------------------------------------------


def test_reopen_from_review_restores_handling_with_a_new_reply_clock(city, flow):
    ticket = flow.review()
    lead = assignment_of(ticket, city.street_a)
    old_reply = clocks_by_kind(lead)[ClockKind.REPLY]
    assert old_reply.state == ClockState.MET

    before = timezone.now()
    services.ticket_reopen(ticket=ticket, actor=city.supervisor, reason="诉求人反映仍有油烟")

    ticket.refresh_from_db()
    lead.refresh_from_db()
    assert (ticket.status, ticket.replied_at, ticket.lead_unit) == (TicketStatus.HANDLING, None, city.street_a)
    assert lead.status == AssignmentStatus.SIGNED
    reply_clocks = list(lead.clocks.filter(kind=ClockKind.REPLY).order_by("id"))
    assert len(reply_clocks) == 2
    kept, fresh = reply_clocks
    assert (kept.pk, kept.state, kept.stopped_at) == (old_reply.pk, ClockState.MET, old_reply.stopped_at)
    assert fresh.state == ClockState.RUNNING
    assert fresh.started_at >= before
    assert fresh.due_at == calendar.add_working_days(fresh.started_at, 7).at

    # The unit can reply again, against the new clock.
    reply(ticket, city.handler_a)
    fresh.refresh_from_db()
    assert fresh.state == ClockState.MET


def test_reopen_of_a_direct_answer_goes_back_to_dispatch(city, flow):
    ticket = flow.new(request_type=RequestType.CONSULT, answer="按知识库答复：供暖季为11月15日起。")
    assert ticket.status == TicketStatus.CLOSED

    services.ticket_reopen(ticket=ticket, actor=city.supervisor, reason="答复有误，需派单核实")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.closed_at, ticket.close_reason) == (TicketStatus.RECEIVED, None, "")
    dispatch_clocks = list(Clock.objects.filter(ticket=ticket, kind=ClockKind.DISPATCH).order_by("id"))
    assert [c.state for c in dispatch_clocks] == [ClockState.MET, ClockState.RUNNING]
    assert not ticket.assignments.exists()


# --- merge (合并) -------------------------------------------------------------------------------


def test_merge_counts_repeat_calls_on_the_master_and_ends_the_children(city, flow):
    master = flow.new(title="主单")
    dispatched_child = flow.dispatched()
    new_child = flow.new()

    services.ticket_merge(ticket=dispatched_child, master=master, actor=city.operator)
    services.ticket_merge(ticket=new_child, master=master, actor=city.operator, reason="同一商户")

    master.refresh_from_db()
    assert master.repeat_count == 2 == master.merged_children.count()
    assert master.status == TicketStatus.RECEIVED
    for child in (dispatched_child, new_child):
        child.refresh_from_db()
        assert (child.status, child.master) == (TicketStatus.MERGED, master)
        assert not live_clocks(ticket=child).exists()
    assert set(Clock.objects.filter(ticket=dispatched_child).values_list("state", flat=True)) == {
        ClockState.STOPPED,
        ClockState.MET,
    }  # the hub's dispatch clock was met at dispatch
    assert set(dispatched_child.assignments.values_list("status", flat=True)) == {AssignmentStatus.WITHDRAWN}
    assert dispatched_child not in selectors.tickets_visible_to(city.handler_a)
    assert TicketEvent.objects.filter(ticket=master, kind=EventKind.MERGED_CHILD).count() == 2


def test_merging_into_a_merged_ticket_is_refused(city, flow):
    master = flow.new(title="主单")
    merged = flow.new()
    services.ticket_merge(ticket=merged, master=master, actor=city.operator)
    other = flow.new()

    with pytest.raises(IllegalTransition):
        services.ticket_merge(ticket=other, master=merged, actor=city.operator)

    other.refresh_from_db()
    merged.refresh_from_db()
    assert (other.status, other.master) == (TicketStatus.RECEIVED, None)
    assert merged.repeat_count == 0


def test_merging_a_master_is_refused(city, flow):
    master = flow.new(title="主单")
    services.ticket_merge(ticket=flow.new(), master=master, actor=city.operator)
    other = flow.new(title="另一主单")

    with pytest.raises(IllegalTransition):
        services.ticket_merge(ticket=master, master=other, actor=city.operator)

    master.refresh_from_db()
    other.refresh_from_db()
    assert (master.status, master.repeat_count, other.repeat_count) == (TicketStatus.RECEIVED, 1, 0)


def test_merging_a_ticket_into_itself_is_refused(city, flow):
    ticket = flow.new()
    with pytest.raises(InvalidInput):
        services.ticket_merge(ticket=ticket, master=ticket, actor=city.operator)


# --- sub-dispatch (下派) ------------------------------------------------------------------------


def test_street_manager_subdispatches_to_its_community_which_can_see_sign_and_reply(city, flow):
    ticket = flow.handling()
    assert ticket not in selectors.tickets_visible_to(city.community_handler)

    sub = services.ticket_subdispatch(ticket=ticket, actor=city.manager_a, unit=city.community, note="请社区核实")

    assert (sub.role, sub.status, sub.parent) == (
        AssignmentRole.SUB,
        AssignmentStatus.DISPATCHED,
        assignment_of(ticket, city.street_a),
    )
    assert not sub.clocks.exists()  # the street stays accountable on its own clocks
    assert ticket in selectors.tickets_visible_to(city.community_handler)

    services.ticket_sign(ticket=ticket, actor=city.community_handler)
    reply(ticket, city.community_handler)

    sub.refresh_from_db()
    ticket.refresh_from_db()
    assert (sub.status, sub.signed_by, sub.replied_by) == (
        AssignmentStatus.REPLIED,
        city.community_handler,
        city.community_handler,
    )
    assert ticket.status == TicketStatus.HANDLING  # only the lead's reply moves the ticket
    assert assignment_of(ticket, city.street_a).status == AssignmentStatus.SIGNED
    # A sub-dispatched unit cannot return or ask for more time: that is the street's call.
    with pytest.raises(NotAllowed):
        services.ticket_request_return(ticket=ticket, actor=city.community_handler, reason="不归社区管")


def test_handler_cannot_subdispatch(city, flow):
    ticket = flow.handling()

    with pytest.raises(NotAllowed):
        services.ticket_subdispatch(ticket=ticket, actor=city.handler_a, unit=city.community)

    assert not ticket.assignments.filter(role=AssignmentRole.SUB).exists()


def test_subdispatch_to_another_streets_community_is_refused(city, flow):
    other_community = Unit.objects.create(
        code="chaoyang-sanlitun-beili", name="三里屯北里社区居委会", kind=UnitKind.COMMUNITY, parent=city.street_b
    )
    ticket = flow.handling()

    with pytest.raises(InvalidInput) as info:
        services.ticket_subdispatch(ticket=ticket, actor=city.manager_a, unit=other_community)

    assert "unit" in info.value.fields
    assert not ticket.assignments.filter(role=AssignmentRole.SUB).exists()


# --- termination (终止) -------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["received", "handling"])
def test_termination_request_remembers_the_status_and_rejection_restores_it(start, city, flow):
    ticket, actor = (flow.new(), city.dispatcher) if start == "received" else (flow.handling(), city.handler_a)

    request = services.ticket_request_termination(ticket=ticket, actor=actor, reason="诉求人拒绝提供必要信息")

    ticket.refresh_from_db()
    assert request.from_status == start
    assert ticket.status == TicketStatus.TERMINATION_REQUESTED

    services.ticket_reject_termination(ticket=ticket, actor=city.supervisor, reason="可以继续办理")

    ticket.refresh_from_db()
    request.refresh_from_db()
    assert ticket.status == start
    assert (request.status, request.decided_by) == (RequestStatus.REJECTED, city.supervisor)


def test_approved_termination_stops_every_clock_and_cancels_pending_requests(city, flow):
    ticket = dispatch_at(flow, city, timezone.now() - dt.timedelta(hours=1), assist=[city.bureau])
    services.ticket_sign(ticket=ticket, actor=city.handler_a)
    extension = services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=2, reason="协调中")
    assist_return = services.ticket_request_return(ticket=ticket, actor=city.bureau_handler, reason="非本委职责")
    termination = services.ticket_request_termination(ticket=ticket, actor=city.handler_a, reason="诉求违法")

    services.ticket_approve_termination(ticket=ticket, actor=city.supervisor, reason="核实属实")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.TERMINATED
    assert ticket.closed_at is not None
    assert not live_clocks(ticket=ticket).exists()
    assert Clock.objects.filter(ticket=ticket, state=ClockState.STOPPED, stopped_at=ticket.closed_at).count() == 5
    for request, status in (
        (extension, RequestStatus.CANCELLED),
        (assist_return, RequestStatus.CANCELLED),
        (termination, RequestStatus.APPROVED),
    ):
        request.refresh_from_db()
        assert request.status == status


# --- callback (回访) ---------------------------------------------------------------------------


def callback(ticket, actor, **kw):
    data = dict(contacted=True, resolved=True, satisfaction=Satisfaction.SATISFIED)
    data.update(kw)
    return services.ticket_record_callback(ticket=ticket, actor=actor, **data)


def test_satisfied_callback_closes_the_ticket(city, flow):
    ticket = flow.replied()

    callback(ticket, city.operator)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_reason) == (TicketStatus.CLOSED, "回访满意")
    assert ticket.closed_at is not None


def test_callback_through_the_sms_link_has_no_actor(city, flow):
    ticket = flow.replied()

    record = callback(ticket, None, channel="sms", satisfaction=Satisfaction.BASIC)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert (record.recorded_by, record.channel) == (None, "sms")


@pytest.mark.parametrize(
    ("resolved", "satisfaction"),
    [
        (False, Satisfaction.SATISFIED),
        (True, Satisfaction.DISSATISFIED),
        (False, Satisfaction.DISSATISFIED),
    ],
    ids=["unresolved", "dissatisfied", "both"],
)
def test_unresolved_or_dissatisfied_callback_sends_the_ticket_to_review(resolved, satisfaction, city, flow):
    ticket = flow.replied()

    callback(ticket, city.operator, resolved=resolved, satisfaction=satisfaction)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.closed_at) == (TicketStatus.REVIEW, None)


def test_invalid_callback_closes_without_a_satisfaction(city, flow):
    ticket = flow.replied()

    record = callback(ticket, city.operator, contacted=None, resolved=None, satisfaction="", valid=False)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_reason) == (TicketStatus.CLOSED, "无效回访")
    assert (record.valid, record.satisfaction, record.is_bad) == (False, "", False)


def test_incomplete_valid_callback_is_refused_field_by_field(city, flow):
    ticket = flow.replied()

    with pytest.raises(InvalidInput) as info:
        callback(ticket, city.operator, contacted=None, resolved=None, satisfaction="")

    assert set(info.value.fields) == {"contacted", "resolved", "satisfaction"}
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REPLIED


def test_second_callback_is_refused(city, flow):
    ticket = flow.replied()
    callback(ticket, city.operator)

    with pytest.raises(Conflict):
        callback(ticket, None, channel="sms", satisfaction=Satisfaction.DISSATISFIED)

    assert Callback.objects.filter(ticket=ticket).count() == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED


def test_reopened_ticket_is_rated_again_after_its_new_reply(city, flow):
    ticket = flow.review()
    services.ticket_reopen(ticket=ticket, actor=city.supervisor, reason="仍有油烟")
    reply(ticket, city.handler_a)

    callback(ticket, city.operator)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert Callback.objects.filter(ticket=ticket, valid=True).count() == 2
    # and that second verdict is final for this round
    with pytest.raises(Conflict):
        callback(ticket, city.operator)


def test_merging_a_ticket_cancels_its_pending_requests(city, flow):
    from hotline import services
    from hotline.choices import RequestStatus

    ticket = flow.handling()
    request = services.ticket_request_extension(ticket=ticket, actor=city.handler_a, days=2, reason="需协调")
    master = flow.new(title="主单")
    services.ticket_merge(ticket=ticket, master=master, actor=city.operator)
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
