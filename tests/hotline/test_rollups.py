"""Rollups from the ticket trail: exact counters, and an incremental refresh that equals a rebuild."""

from __future__ import annotations

import contextlib
import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from hotline import services
from hotline.choices import ExemptionReason, HandlingResult, Satisfaction
from hotline.models import (
    Category,
    HourStat,
    IntakeDayStat,
    IntakeMonthStat,
    ProblemCandidate,
    RollupQueue,
    TicketEvent,
    UnitDayStat,
    UnitMonthStat,
)
from hotline.rollups import dirty_days, problems_refresh, rollups_rebuild, rollups_refresh

TABLES = (UnitDayStat, UnitMonthStat, IntakeDayStat, IntakeMonthStat, HourStat)


@contextlib.contextmanager
def on_day(day: dt.date, hour: int = 10):
    """Run services as if on ``day``: event times, auto_now fields and clocks all follow."""
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def snapshot() -> dict[str, list[tuple]]:
    out = {}
    for model in TABLES:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        out[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    return out


def reply(flow, ticket, **kw):
    services.ticket_reply(
        ticket=ticket,
        actor=flow.city.handler_a,
        result=HandlingResult.RESOLVED,
        text="已联系商户整改，油烟净化设备已安装。",
        contacted=True,
        **kw,
    )


def rate(ticket, *, contacted=True, resolved=True, satisfaction=Satisfaction.SATISFIED, actor=None, valid=True):
    return services.ticket_record_callback(
        ticket=ticket, actor=actor, contacted=contacted, resolved=resolved, satisfaction=satisfaction, valid=valid
    )


def test_a_rated_ticket_lands_in_every_rollup(flow, city):
    ticket = flow.closed()
    result = rollups_refresh()
    assert result.events == TicketEvent.objects.count() and not RollupQueue.objects.exists()

    day = timezone.localdate()
    row = UnitDayStat.objects.get(unit=city.street_a)
    assert (row.day, row.category_id) == (day, city.category.pk)
    assert (row.received, row.replied, row.replied_on_time, row.overdue, row.reopened) == (1, 1, 1, 0, 0)
    assert (row.rated, row.contacted, row.resolved, row.satisfied, row.basic, row.dissatisfied) == (1, 1, 1, 1, 0, 0)
    assert (row.invalid, row.exempted) == (0, 0)

    total = UnitMonthStat.objects.get(unit=city.street_a, total=True)
    assert (total.month, total.category_id, total.rated, total.received) == (day.replace(day=1), None, 1, 1)
    assert UnitMonthStat.objects.get(unit=city.street_a, total=False).category_id == city.category.pk

    intake = IntakeDayStat.objects.get()
    assert (intake.created, intake.district_id, intake.street_id) == (1, ticket.district_id, ticket.street_id)
    city_rows = IntakeMonthStat.objects.filter(by_place=False)
    assert [(r.category_id, r.street_id, r.created) for r in city_rows] == [(city.category.pk, None, 1)]

    hour = timezone.localtime(ticket.created_at).hour
    assert list(HourStat.objects.filter(unit=None).values_list("day", "hour", "count")) == [(day, hour, 1)]
    assert HourStat.objects.get(unit=city.street_a).count == 1


def test_invalid_callbacks_and_assisting_replies_do_not_count_as_ratings(flow, city):
    ticket = flow.dispatched()
    services.ticket_sign(ticket=ticket, actor=city.handler_a)
    reply(flow, flow.reload(ticket))
    rate(flow.reload(ticket), contacted=None, resolved=None, satisfaction="", actor=city.operator, valid=False)
    rollups_refresh()
    row = UnitDayStat.objects.get(unit=city.street_a)
    assert (row.rated, row.invalid, row.replied) == (0, 1, 1)


def test_a_late_reply_is_not_on_time(flow, city):
    ticket = flow.handling()
    clock = ticket.clocks.get(kind="reply")
    with on_day(timezone.localdate(clock.due_at) + dt.timedelta(days=1)):
        reply(flow, ticket)
    rollups_refresh()
    row = UnitDayStat.objects.get(unit=city.street_a, replied=1)
    assert (row.replied, row.replied_on_time) == (1, 0)


def test_incremental_refreshes_equal_a_rebuild_across_days_and_retroactive_changes(flow, city):
    """Four days of work with a refresh after each; day 4's exemption reaches back to day 2."""
    other = Category.objects.create(code="0603", name="噪声扰民", parent=city.category.parent, scope="territorial")
    d1 = timezone.localdate() - dt.timedelta(days=40)
    d2, d3, d4 = d1 + dt.timedelta(days=1), d1 + dt.timedelta(days=2), d1 + dt.timedelta(days=33)

    with on_day(d1):
        tickets = [flow.dispatched(title=f"油烟扰民{i}") for i in range(3)]
        bureau = flow.new(title="物业不作为")
        services.ticket_dispatch(ticket=bureau, actor=city.dispatcher, lead_unit=city.bureau)
        for t in tickets:
            services.ticket_sign(ticket=t, actor=city.handler_a)
            reply(flow, flow.reload(t))
    assert rollups_refresh().mode == "append"  # plain additions: counts added, nothing recomputed
    with on_day(d2, hour=23):
        # A correction reaches back to day 1, where the ticket was dispatched under the old category.
        services.ticket_categorize(ticket=tickets[2], actor=city.dispatcher, category=other, reason="分类纠正")
        rate(flow.reload(tickets[0]))
        rate(flow.reload(tickets[1]), resolved=False, satisfaction=Satisfaction.DISSATISFIED)
        rate(flow.reload(tickets[2]), satisfaction=Satisfaction.BASIC)
    assert rollups_refresh().mode == "recompute"  # the category correction reaches back to day 1
    with on_day(d3):
        services.ticket_reopen(ticket=flow.reload(tickets[1]), actor=city.supervisor, reason="复核后重办")
        exemption = services.exemption_request(
            ticket=tickets[1], actor=city.handler_a, reason_kind=ExemptionReason.MALICIOUS, reason="诉求人表示恶意差评"
        )
    assert rollups_refresh().mode == "append"  # a request changes nothing until it is decided
    before_exemption = UnitDayStat.objects.get(day=d2, unit=city.street_a, category=city.category)
    assert (before_exemption.rated, before_exemption.dissatisfied, before_exemption.exempted) == (2, 1, 0)
    with on_day(d4):
        services.exemption_decide(exemption=exemption, actor=city.supervisor, approve=True, reason="核实为恶意评价")
    incremental = rollups_refresh()
    assert incremental.mode == "recompute"
    assert d2 in incremental.days and d4 in incremental.days  # the exemption reached back to the rating's day

    after = UnitDayStat.objects.get(day=d2, unit=city.street_a, category=city.category)
    assert (after.rated, after.dissatisfied, after.exempted) == (1, 0, 1)
    moved = UnitDayStat.objects.get(day=d2, unit=city.street_a, category=other)
    assert (moved.rated, moved.basic) == (1, 1)  # the re-categorised ticket's rating followed it
    assert UnitDayStat.objects.get(day=d1, unit=city.street_a, category=city.category).received == 2
    assert UnitDayStat.objects.get(day=d1, unit=city.street_a, category=other).received == 1

    incremental_rows = snapshot()
    assert incremental_rows["UnitDayStat"] and incremental_rows["HourStat"]
    rebuilt = rollups_rebuild()
    assert rebuilt.events == 0  # nothing was left in the queue
    assert snapshot() == incremental_rows


def test_dirty_days_of_an_exemption_decision_cover_every_day_of_its_ticket(flow, city):
    d1 = timezone.localdate() - dt.timedelta(days=10)
    with on_day(d1):
        ticket = flow.replied()
    with on_day(d1 + dt.timedelta(days=2)):
        rate(flow.reload(ticket), resolved=False, satisfaction=Satisfaction.DISSATISFIED)
        exemption = services.exemption_request(
            ticket=ticket, actor=city.handler_a, reason_kind=ExemptionReason.UNREASONABLE, reason="诉求超出政策范围"
        )
    services.exemption_decide(exemption=exemption, actor=city.supervisor, approve=False, reason="理由不充分")
    decision = TicketEvent.objects.get(kind="exemption_rejected")
    assert dirty_days([decision.pk]) == {d1, d1 + dt.timedelta(days=2), timezone.localdate()}
    # An ordinary event only dirties its own day.
    created = TicketEvent.objects.get(kind="created")
    assert dirty_days([created.pk]) == {d1}


def test_refresh_is_idempotent_and_rebuild_of_one_month_leaves_others(flow, city):
    old = timezone.localdate() - dt.timedelta(days=70)
    with on_day(old):
        flow.closed()
    flow.closed()
    rollups_refresh()
    first = snapshot()
    assert rollups_refresh().events == 0
    assert snapshot() == first

    UnitDayStat.objects.all().delete()  # damage both months …
    rollups_rebuild(months=[old])  # … and rebuild only the old one
    assert UnitDayStat.objects.filter(day__lt=old.replace(day=1) + dt.timedelta(days=32)).count() == 1
    assert not UnitDayStat.objects.filter(day=timezone.localdate()).exists()
    rollups_rebuild()
    assert snapshot() == first


def test_problem_candidates_rank_growth_and_carry_keywords(flow, city):
    this_month = timezone.localdate().replace(day=1)
    last_month_day = this_month - dt.timedelta(days=3)
    with on_day(last_month_day):
        flow.new(title="饭馆油烟扰民", content="楼下饭馆油烟很大")
    for i in range(4):
        flow.new(title=f"烧烤油烟扰民{i}", content="夜间烧烤摊油烟呛人，窗户都不敢开")
    for i in range(3):
        flow.new(
            title=f"噪声{i}",
            content="三里屯酒吧夜间噪声",
            street=city.sanlitun,
            address="朝阳区三里屯",
        )
    rollups_refresh()
    candidates = problems_refresh(this_month)
    assert [(c.street_id, c.count, c.previous, c.growth) for c in candidates] == [
        (city.wangjing.pk, 4, 1, 3),
        (city.sanlitun.pk, 3, 0, 3),
    ]
    assert "烧烤" in candidates[0].keywords and "油烟" in candidates[0].keywords
    assert ProblemCandidate.objects.filter(month=this_month).count() == 2


@pytest.mark.parametrize("kind", ["replied", "callback"])
def test_every_new_event_is_queued_by_the_database(flow, kind):
    flow.closed()
    queued = set(RollupQueue.objects.values_list("event_id", flat=True))
    assert queued == set(TicketEvent.objects.values_list("id", flat=True))
    assert TicketEvent.objects.filter(kind=kind, id__in=queued).exists()


def test_rebuild_command(flow, city):
    from io import StringIO

    from django.core.management import CommandError, call_command

    flow.closed()
    out = StringIO()
    call_command("rollups_rebuild", stdout=out)
    assert "已重建" in out.getvalue() and UnitDayStat.objects.filter(unit=city.street_a).exists()
    month = timezone.localdate().strftime("%Y-%m")
    call_command("rollups_rebuild", "--month", month, "--no-problems", stdout=StringIO())
    assert UnitDayStat.objects.filter(unit=city.street_a).count() == 1
    with pytest.raises(CommandError):
        call_command("rollups_rebuild", "--month", "2026-13")


def test_refresh_skips_while_another_run_holds_the_lock(transactional_db, city):
    """Two refreshes never recompute the same day at once: the second leaves the queue for later."""
    import threading

    from django.db import connection, connections, transaction

    from hotline.rollups import ADVISORY_LOCK
    from tests.flow import Flow

    Flow(city).closed()
    held, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            held.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        result = rollups_refresh()
        assert result.skipped and RollupQueue.objects.exists() and not UnitDayStat.objects.exists()
    finally:
        release.set()
        holder.join()
    assert rollups_refresh().events > 0 and UnitDayStat.objects.exists()


@pytest.mark.worker
def test_a_rating_reaches_the_rollups_through_the_real_worker(celery_worker_process, city):
    """The callback's on-commit kick runs refresh_rollups on the worker: no beat needed."""
    import time

    from tests.flow import Flow

    Flow(city).closed()
    deadline = time.time() + 30
    while not UnitDayStat.objects.filter(unit=city.street_a, rated=1).exists() and time.time() < deadline:
        time.sleep(0.2)
    row = UnitDayStat.objects.get(unit=city.street_a)
    assert (row.rated, row.satisfied) == (1, 1)
    assert not RollupQueue.objects.exists()


def test_the_routers_category_in_the_same_batch_is_simply_counted_under_it(flow, city):
    """Categorising a call just taken is an edit, but nothing of the ticket was counted yet."""
    ticket = flow.new(category=None)
    services.ticket_categorize(ticket=ticket, actor=None, category=city.category, reason="智能分类")
    services.ticket_dispatch(ticket=flow.reload(ticket), actor=city.dispatcher, lead_unit=city.street_a)
    result = rollups_refresh()
    assert result.mode == "append"
    assert IntakeDayStat.objects.get().category_id == city.category.pk
    before = snapshot()
    rollups_rebuild()
    assert snapshot() == before
    # The same edit after the call was counted does reach back.
    later = flow.new(category=None)
    rollups_refresh()
    services.ticket_categorize(ticket=later, actor=city.dispatcher, category=city.category, reason="分类纠正")
    assert rollups_refresh().mode == "recompute"
    assert IntakeDayStat.objects.get().created == 2
