"""The deadline engine: warnings at 75%, breaches, the escalation ladder, exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from hotline import services
from hotline.choices import ClockKind, ClockState, EventKind, Priority
from hotline.models import Clock, Notification, TicketEvent
from hotline.services.deadlines import clocks_sweep
from hotline.sla import policies


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    policies.invalidate()
    yield
    policies.invalidate()


def urgent_dispatched(flow, city, at: dt.datetime):
    ticket = flow.new(priority=Priority.URGENT, now=at)
    services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_a, now=at)
    return ticket


def reply_clock(ticket) -> Clock:
    return Clock.objects.get(ticket=ticket, kind=ClockKind.REPLY)


def test_urgent_reply_clock_warns_at_75_percent_and_breaches_at_due(city, flow):
    t0 = timezone.now() - dt.timedelta(hours=5)
    ticket = urgent_dispatched(flow, city, t0)
    clock = reply_clock(ticket)
    assert clock.due_at == t0 + dt.timedelta(hours=2)
    assert clock.warn_at == t0 + dt.timedelta(minutes=90)

    clocks_sweep(now=t0 + dt.timedelta(minutes=89))
    clock.refresh_from_db()
    assert clock.state == ClockState.RUNNING

    clocks_sweep(now=t0 + dt.timedelta(minutes=91))
    clock.refresh_from_db()
    assert clock.state == ClockState.WARNED
    warned = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CLOCK_WARNED, payload__clock="reply")
    assert warned.count() == 1
    notified = set(
        Notification.objects.filter(ticket=ticket, kind="clock_warned").values_list("user__username", flat=True)
    )
    assert {"wangjing-handler", "wangjing-handler2", "wangjing-manager"} <= notified

    clocks_sweep(now=t0 + dt.timedelta(minutes=121))
    clock.refresh_from_db()
    ticket.refresh_from_db()
    assert clock.state == ClockState.BREACHED
    assert ticket.supervise_level == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SUPERVISED).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CLOCK_BREACHED, payload__clock="reply").count() == 1


def test_sweeping_twice_fires_nothing_twice(city, flow):
    t0 = timezone.now() - dt.timedelta(hours=5)
    ticket = urgent_dispatched(flow, city, t0)
    first = clocks_sweep(now=t0 + dt.timedelta(minutes=30))
    events = TicketEvent.objects.filter(ticket=ticket).count()
    notes = Notification.objects.count()
    second = clocks_sweep(now=t0 + dt.timedelta(minutes=30))
    assert first.warned > 0
    assert (second.warned, second.breached, second.escalated) == (0, 0, 0)
    assert TicketEvent.objects.filter(ticket=ticket).count() == events
    assert Notification.objects.count() == notes


def test_missed_sweeps_catch_up_with_one_warning_and_one_breach_each(city, flow):
    t0 = timezone.now() - dt.timedelta(hours=3)
    ticket = urgent_dispatched(flow, city, t0)
    # The worker was down for hours: the first sweep afterwards fires everything that fell due.
    clocks_sweep(now=t0 + dt.timedelta(hours=3))
    for clock in Clock.objects.filter(ticket=ticket, assignment__isnull=False):
        kinds = list(
            TicketEvent.objects.filter(ticket=ticket, payload__clock_id=clock.pk).values_list("kind", flat=True)
        )
        assert kinds.count(EventKind.CLOCK_WARNED) == 1, clock.kind
        assert kinds.count(EventKind.CLOCK_BREACHED) == 1, clock.kind
        assert Clock.objects.get(pk=clock.pk).state == ClockState.BREACHED


def test_reply_breach_escalates_up_the_ladder_once_per_rung(city, flow):
    t0 = timezone.now() - dt.timedelta(days=3)
    ticket = urgent_dispatched(flow, city, t0)
    due = reply_clock(ticket).due_at

    def notified(after_id: int) -> set[str]:
        return set(Notification.objects.filter(ticket=ticket, id__gt=after_id).values_list("user__username", flat=True))

    mark = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
    clocks_sweep(now=due + dt.timedelta(minutes=1))
    assert "wangjing-handler" in notified(mark)
    assert "chaoyang-manager" not in notified(mark)

    mark = Notification.objects.order_by("-id").values_list("id", flat=True).first()
    clocks_sweep(now=due + dt.timedelta(minutes=61))
    assert notified(mark) == {"wangjing-manager"}

    mark = Notification.objects.order_by("-id").values_list("id", flat=True).first()
    clocks_sweep(now=due + dt.timedelta(minutes=241))
    assert notified(mark) == {"chaoyang-manager"}
    ticket.refresh_from_db()
    assert ticket.supervise_level == 2

    mark = Notification.objects.order_by("-id").values_list("id", flat=True).first()
    clocks_sweep(now=due + dt.timedelta(minutes=1441))
    assert notified(mark) == {"supervisor1"}
    ticket.refresh_from_db()
    assert ticket.supervise_level == 3

    mark = Notification.objects.order_by("-id").values_list("id", flat=True).first()
    clocks_sweep(now=due + dt.timedelta(days=30))
    assert notified(mark) == set()
    escalations = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ESCALATED)
    assert sorted(escalations.values_list("payload__escalation", flat=True)) == ["hub", "manager", "parent"]


def test_replying_stops_the_clock_before_the_sweep_sees_it(city, flow):
    t0 = timezone.now() - dt.timedelta(hours=1)
    ticket = urgent_dispatched(flow, city, t0)
    services.ticket_sign(ticket=ticket, actor=city.handler_a)
    services.ticket_reply(
        ticket=ticket, actor=city.handler_a, result="resolved", text="燃气已关阀并报修完毕。", contacted=True
    )
    clocks_sweep(now=t0 + dt.timedelta(hours=3))
    assert reply_clock(ticket).state == ClockState.MET
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CLOCK_BREACHED, payload__clock="reply").exists()


def test_dispatch_clock_breach_alerts_dispatchers(city, flow):
    t0 = timezone.now() - dt.timedelta(hours=3)
    ticket = flow.new(priority=Priority.URGENT, now=t0)
    clocks_sweep(now=t0 + dt.timedelta(hours=2))
    assert Clock.objects.get(ticket=ticket, kind=ClockKind.DISPATCH).state == ClockState.BREACHED
    assert Notification.objects.filter(ticket=ticket, kind="clock_breached", user=city.dispatcher).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_fire_each_clock_exactly_once(city, flow):
    t0 = timezone.now() - dt.timedelta(hours=5)
    tickets = [flow.new(priority=Priority.URGENT, now=t0, title=f"燃气泄漏{i}") for i in range(120)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep():
        try:
            barrier.wait()
            clocks_sweep(now=timezone.now(), batch=7)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for ticket in tickets:
        kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert kinds.count(EventKind.CLOCK_WARNED) == 1
        assert kinds.count(EventKind.CLOCK_BREACHED) == 1


def test_sweep_queries_use_the_partial_indexes(city, flow):
    t0 = timezone.now() - dt.timedelta(days=1)
    ticket = flow.new(now=t0)
    with connection.cursor() as cursor:
        # 20,000 finished clocks and a few live ones: the shape of a real table (~5% open).
        cursor.execute(
            "INSERT INTO hotline_clock (ticket_id, kind, state, started_at, warn_at, due_at, limit_value, limit_unit,"
            " calendar_estimated, escalation_step) SELECT %s, 'reply', CASE WHEN g %% 20 = 0 THEN 'running' ELSE"
            " 'met' END, now() - interval '10 days', now() - (g || ' minutes')::interval,"
            " now() - (g || ' minutes')::interval, 7, 'workdays', false, 0 FROM generate_series(1, 20000) g",
            [ticket.pk],
        )
        cursor.execute("ANALYZE hotline_clock")
    now = timezone.now()
    warn_plan = Clock.objects.filter(state="running", warn_at__lte=now).order_by("warn_at")[:1000].explain()
    due_plan = (
        Clock.objects.filter(state__in=["running", "warned"], due_at__lte=now).order_by("due_at")[:1000].explain()
    )
    assert "clock_running_warn_idx" in warn_plan, warn_plan
    assert "clock_live_due_idx" in due_plan, due_plan
    assert "Seq Scan" not in warn_plan + due_plan


def test_escalation_reaches_a_managers_mobile_by_sms_when_enabled(city, flow, settings):
    from hotline.models import SmsMessage

    settings.HOTLINE_SMS = {**settings.HOTLINE_SMS, "ESCALATION_SMS": True}
    city.manager_a.mobile = "13900000001"
    city.manager_a.save(update_fields=["mobile"])
    t0 = timezone.now() - dt.timedelta(days=2)
    ticket = urgent_dispatched(flow, city, t0)
    due = reply_clock(ticket).due_at
    clocks_sweep(now=due + dt.timedelta(minutes=1))
    assert not SmsMessage.objects.exists()  # the handler rung: in-app only for people without a mobile
    clocks_sweep(now=due + dt.timedelta(minutes=61))
    clocks_sweep(now=due + dt.timedelta(minutes=61))  # a repeated sweep enqueues nothing new
    message = SmsMessage.objects.get()
    assert (message.phone, message.template) == ("13900000001", "escalation")
    assert ticket.number in message.rendered and "单位负责人" in message.rendered


def test_a_policy_change_applies_to_clocks_started_after_it_only(city, flow):
    from hotline.models import SlaPolicy
    from hotline.sla import policies

    t0 = timezone.now() - dt.timedelta(hours=1)
    before = flow.dispatched(priority=Priority.URGENT)
    old_due = reply_clock(before).due_at
    SlaPolicy.objects.create(
        name="紧急诉求1小时办结",
        priority=Priority.URGENT,
        effective_from=t0,
        dispatch_value=30,
        dispatch_unit="minutes",
        sign_value=15,
        sign_unit="minutes",
        contact_value=30,
        contact_unit="minutes",
        reply_value=1,
        reply_unit="hours",
        warn_percent=50,
    )
    policies.invalidate()
    after = flow.dispatched(priority=Priority.URGENT)
    clock = reply_clock(after)
    assert clock.due_at - clock.started_at == dt.timedelta(hours=1)
    assert clock.warn_at - clock.started_at == dt.timedelta(minutes=30)
    assert clock.policy.name == "紧急诉求1小时办结"
    assert reply_clock(before).due_at == old_due  # the running clock keeps its terms


def test_a_more_specific_policy_wins(city, flow):
    from hotline.models import SlaPolicy
    from hotline.sla import policies

    start = timezone.now() - dt.timedelta(days=1)
    common = {
        "priority": Priority.GENERAL,
        "effective_from": start,
        "dispatch_value": 24,
        "sign_value": 4,
        "contact_value": 24,
        "reply_unit": "workdays",
    }
    SlaPolicy.objects.create(name="一般", reply_value=7, **common)
    SlaPolicy.objects.create(name="环保大类", category=city.category.parent, reply_value=5, **common)
    SlaPolicy.objects.create(name="油烟·街道", category=city.category, unit_kind="street", reply_value=3, **common)
    policies.invalidate()
    ticket = flow.dispatched()
    assert reply_clock(ticket).policy.name == "油烟·街道" and reply_clock(ticket).limit_value == 3
