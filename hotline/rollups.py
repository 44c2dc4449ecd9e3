"""Keeping the rollup tables current from the ticket trail.

The same queries serve both paths, so they cannot drift apart:
- ``rollups_refresh`` (Celery, every minute and after each rating) takes the queued events, works
  out which days they touch, and recomputes those whole days and their months;
- ``rollups_rebuild`` (management command) recomputes every day from all events.

A day is always recomputed whole from raw events, never patched by deltas, so an incremental
run and a rebuild give identical rows; tests/hotline/test_rollups.py checks exactly that.

What a day's rows depend on beyond that day's own events, and therefore what marks other days dirty:
- a callback's exemption (decided later): an exemption decision dirties the days of every event of
  its ticket;
- the ticket's current category and place (joined, not copied): an edit dirties the same way.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, ExtractHour, TruncDate, TruncMonth
from django.utils import timezone

from hotline.choices import EventKind
from hotline.models import (
    BatchEvent,
    HourStat,
    IntakeDayStat,
    IntakeMonthStat,
    ProblemCandidate,
    RollupQueue,
    Ticket,
    TicketEvent,
    UnitDayStat,
    UnitMonthStat,
)

log = logging.getLogger(__name__)

# Serialises refresh and rebuild: two runs recomputing one day would race on its rows.
ADVISORY_LOCK = 0x12345_0001
# Events that change a unit's counters; all others only matter for intake and the heatmap.
UNIT_KINDS = (
    EventKind.DISPATCHED,
    EventKind.REPLIED,
    EventKind.CLOCK_BREACHED,
    EventKind.REOPENED,
    EventKind.CALLBACK,
)
# Events whose effect reaches back to every day of their ticket.
RETROACTIVE_KINDS = (EventKind.EXEMPTION_APPROVED, EventKind.EXEMPTION_REJECTED, EventKind.EDITED)
QUEUE_BATCH = 20_000


# --- time ---------------------------------------------------------------------------------------------


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def day_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days merged into half-open [first, after_last) ranges: fewer, larger queries."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + dt.timedelta(days=1))
        else:
            ranges.append((day, day + dt.timedelta(days=1)))
    return ranges


# --- the day queries (shared by refresh and rebuild) ----------------------------------------------------


def _events(start: dt.date, end: dt.date) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(created_at__gte=day_start(start), created_at__lt=day_start(end))


def _ticket(column: str) -> Subquery:
    """The ticket's current value, looked up per event by primary key. A join lets the planner
    hash the whole ticket table (a million rows) to serve one day's few thousand events."""
    return Subquery(Ticket.objects.filter(pk=OuterRef("ticket_id")).values(column)[:1])


def unit_day_query(events: QuerySet[TicketEvent]) -> QuerySet:
    exempt = TicketEvent.objects.filter(
        ticket_id=OuterRef("ticket_id"), unit_id=OuterRef("unit_id"), kind=EventKind.EXEMPTION_APPROVED
    )
    callback = Q(kind=EventKind.CALLBACK)
    valid = callback & Q(payload__valid=True)
    rated = valid & Q(is_exempt=False)
    return (
        events.filter(unit__isnull=False, kind__in=UNIT_KINDS)
        .annotate(is_exempt=Exists(exempt))
        .annotate(d_day=TruncDate("created_at"), d_unit=F("unit_id"), d_category=_ticket("category_id"))
        .values("d_day", "d_unit", "d_category")
        .annotate(
            received=Count("id", filter=Q(kind=EventKind.DISPATCHED)),
            replied=Count("id", filter=Q(kind=EventKind.REPLIED, payload__role="lead")),
            replied_on_time=Count("id", filter=Q(kind=EventKind.REPLIED, payload__role="lead", payload__on_time=True)),
            overdue=Count("id", filter=Q(kind=EventKind.CLOCK_BREACHED, payload__clock="reply")),
            reopened=Count("id", filter=Q(kind=EventKind.REOPENED)),
            rated=Count("id", filter=rated),
            contacted=Count("id", filter=rated & Q(payload__contacted=True)),
            resolved=Count("id", filter=rated & Q(payload__resolved=True)),
            satisfied=Count("id", filter=rated & Q(payload__satisfaction="satisfied")),
            basic=Count("id", filter=rated & Q(payload__satisfaction="basic")),
            dissatisfied=Count("id", filter=rated & Q(payload__satisfaction="dissatisfied")),
            invalid=Count("id", filter=callback & Q(payload__valid=False)),
            exempted=Count("id", filter=valid & Q(is_exempt=True)),
        )
        .order_by()
    )


def intake_day_query(events: QuerySet[TicketEvent]) -> QuerySet:
    return (
        events.filter(kind__in=[EventKind.CREATED, EventKind.ANSWERED])
        .annotate(
            d_day=TruncDate("created_at"),
            d_category=_ticket("category_id"),
            d_district=_ticket("district_id"),
            d_street=_ticket("street_id"),
        )
        .values("d_day", "d_category", "d_district", "d_street")
        .annotate(
            created=Count("id", filter=Q(kind=EventKind.CREATED)),
            answered=Count("id", filter=Q(kind=EventKind.ANSWERED)),
        )
        .order_by()
    )


def hour_city_query(events: QuerySet[TicketEvent]) -> QuerySet:
    return (
        events.filter(kind=EventKind.CREATED)
        .annotate(d_day=TruncDate("created_at"), d_hour=ExtractHour("created_at"), d_unit=_null_id())
        .values("d_day", "d_hour", "d_unit")
        .annotate(count=Count("id"))
        .order_by()
    )


def hour_unit_query(events: QuerySet[TicketEvent]) -> QuerySet:
    return (
        events.filter(kind=EventKind.DISPATCHED, unit__isnull=False)
        .annotate(d_day=TruncDate("created_at"), d_hour=ExtractHour("created_at"), d_unit=F("unit_id"))
        .values("d_day", "d_hour", "d_unit")
        .annotate(count=Count("id"))
        .order_by()
    )


def _insert_select(model, columns: dict[str, str], qs: QuerySet, *, table: str | None = None) -> int:
    """INSERT INTO model (columns) SELECT … FROM (qs): the rows never travel through Python.

    ``columns`` maps table columns to the queryset's output names; selecting by name from a derived
    table keeps this independent of the order in which Django emits the select list.
    """
    sql, params = qs.query.sql_with_params()
    q = connection.ops.quote_name
    targets = ", ".join(q(c) for c in columns)
    sources = ", ".join(f"src.{q(s)}" for s in columns.values())
    with connection.cursor() as cursor:
        target = table or q(model._meta.db_table)
        cursor.execute(f"INSERT INTO {target} ({targets}) SELECT {sources} FROM ({sql}) src", params)
        return cursor.rowcount


COUNTERS = UnitDayStat.COUNTERS


UNIT_DAY_COLUMNS = {"day": "d_day", "unit_id": "d_unit", "category_id": "d_category", **{c: c for c in COUNTERS}}
INTAKE_DAY_COLUMNS = {
    "day": "d_day",
    "category_id": "d_category",
    "district_id": "d_district",
    "street_id": "d_street",
    "created": "created",
    "answered": "answered",
}
HOUR_COLUMNS = {"day": "d_day", "hour": "d_hour", "unit_id": "d_unit", "count": "count"}


def _recompute_days(start: dt.date, end: dt.date) -> None:
    UnitDayStat.objects.filter(day__gte=start, day__lt=end).delete()
    IntakeDayStat.objects.filter(day__gte=start, day__lt=end).delete()
    HourStat.objects.filter(day__gte=start, day__lt=end).delete()
    events = _events(start, end)
    _insert_select(UnitDayStat, UNIT_DAY_COLUMNS, unit_day_query(events))
    _insert_select(IntakeDayStat, INTAKE_DAY_COLUMNS, intake_day_query(events))
    _insert_select(HourStat, HOUR_COLUMNS, hour_city_query(events))
    _insert_select(HourStat, HOUR_COLUMNS, hour_unit_query(events))


def _null_id() -> Cast:
    # A typed NULL: PostgreSQL resolves a bare NULL in a derived table as text, which bigint refuses.
    return Cast(Value(None), BigIntegerField())


def _recompute_months(first: dt.date, after: dt.date) -> None:
    """Month rows for months in [first, after), summed from the day rows."""
    UnitMonthStat.objects.filter(month__gte=first, month__lt=after).delete()
    IntakeMonthStat.objects.filter(month__gte=first, month__lt=after).delete()
    sums = {c: Sum(c) for c in COUNTERS} | {"days": Count("id")}
    columns = {
        "month": "m",
        "unit_id": "u",
        "category_id": "c",
        "total": "t",
        "days": "days",
        **{c: c for c in COUNTERS},
    }
    days = UnitDayStat.objects.filter(day__gte=first, day__lt=after)
    for category, total in ((F("category_id"), False), (_null_id(), True)):
        rows = (
            days.annotate(m=TruncMonth("day"), u=F("unit_id"), c=category, t=Value(total))
            .values("m", "u", "c", "t")
            .annotate(**sums)
            .order_by()
        )
        _insert_select(UnitMonthStat, columns, rows)

    intake = IntakeDayStat.objects.filter(day__gte=first, day__lt=after)
    intake_columns = {
        "month": "m",
        "by_place": "p",
        "category_id": "c",
        "district_id": "d",
        "street_id": "s",
        "created": "created",
        "answered": "answered",
        "days": "days",
    }
    for district, street, by_place in ((F("district_id"), F("street_id"), True), (_null_id(), _null_id(), False)):
        rows = (
            intake.annotate(m=TruncMonth("day"), p=Value(by_place), c=F("category_id"), d=district, s=street)
            .values("m", "p", "c", "d", "s")
            .annotate(created=Sum("created"), answered=Sum("answered"), days=Count("id"))
            .order_by()
        )
        _insert_select(IntakeMonthStat, intake_columns, rows)


# --- refresh and rebuild ---------------------------------------------------------------------------------


@dataclass
class RollupResult:
    events: int = 0
    days: list[dt.date] = field(default_factory=list)
    months: list[dt.date] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False  # another run held the lock; the queue waits for the next one
    mode: str = ""  # "append" (counts added) or "recompute" (days recomputed from raw events)

    def as_dict(self) -> dict:
        return {
            "events": self.events,
            "days": len(self.days),
            "months": [m.strftime("%Y-%m") for m in self.months],
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "mode": self.mode,
        }


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        return bool(cursor.fetchone()[0])


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


def dirty_days(event_ids: Iterable[int] | None = None, *, in_batch: bool = False) -> set[dt.date]:
    """The days whose rows some events can change: their own, and for exemption decisions and
    edits, every day on which their ticket has an event. The events are given by id, or as the
    refresh's batch (``_take_batch``)."""
    # Driven from the (small) batch, probing the trail by primary key: a planner left to itself
    # may hash the whole trail to find a few thousand rows.
    if in_batch:  # the refresh's batch (_take_batch)
        source = f"SELECT ticket_id, kind, created_at FROM {BATCH}"
        params: list = []
    else:
        source = "SELECT ticket_id, kind, created_at FROM hotline_ticketevent WHERE id = ANY(%s)"
        params = [list(event_ids)]
    tz = timezone.get_current_timezone_name()
    sql = (
        f"WITH ev AS MATERIALIZED ({source}) "
        "SELECT DISTINCT (created_at AT TIME ZONE %s)::date FROM ev UNION "
        "SELECT DISTINCT (x.created_at AT TIME ZONE %s)::date FROM hotline_ticketevent x "
        "WHERE x.ticket_id IN (SELECT ticket_id FROM ev WHERE kind = ANY(%s))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, tz, tz, list(RETROACTIVE_KINDS)])
        return {row[0] for row in cursor.fetchall()}


def recompute(days: Iterable[dt.date]) -> list[dt.date]:
    """Recompute the given days whole, and carry the change into their months. Returns the months.

    Re-summing a month costs ~200k day rows at city scale; instead the month rows get the
    difference between the days' old and new sums (PostgreSQL), which is what keeps a day's
    refresh within its budget.
    """
    days = set(days)
    ranges = day_ranges(days)
    months = sorted({month_start(d) for d in days})
    with connection.cursor() as cursor:
        # The day queries carry a dozen FILTERed aggregates: PostgreSQL's JIT would spend ~1 s
        # compiling them to run for 10 ms (also off for every connection, see settings).
        cursor.execute("SET LOCAL jit = off")
        for spec in DELTAS:
            spec.prepare(cursor)
            spec.capture(cursor, ranges, sign=-1)
        for start, end in ranges:
            _recompute_days(start, end)
        for spec in DELTAS:
            spec.capture(cursor, ranges, sign=1)
            spec.apply(cursor)
    return months


@dataclass(frozen=True)
class MonthDelta:
    """Applies (new − old) day sums to a month table whose rows are keyed by ``keys``."""

    day_table: str
    month_table: str
    keys: tuple[str, ...]  # grouping columns of the detail rows, besides the month
    counters: tuple[str, ...]
    # (flag column, value for detail rows, value for summary rows, keys nulled in summary rows)
    summary: tuple[str, bool, bool, tuple[str, ...]]

    @property
    def delta(self) -> str:
        return f"rollup_delta_{self.month_table}"

    @property
    def diff(self) -> str:
        return f"rollup_diff_{self.month_table}"

    def prepare(self, cursor) -> None:
        cols = ", ".join([*(f"{k} bigint" for k in self.keys), "n bigint", *(f"{c} bigint" for c in self.counters)])
        flag = self.summary[0]
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self.delta} (m date, {cols}) ON COMMIT DELETE ROWS")
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {self.diff} (m date, {flag} boolean, {cols}) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {self.delta}, {self.diff}")

    def capture(self, cursor, ranges, *, sign: int) -> None:
        where = " OR ".join("(day >= %s AND day < %s)" for _ in ranges)
        params = [d for r in ranges for d in r]
        keys = ", ".join(self.keys)
        sums = ", ".join(f"{sign} * sum({c})" for c in self.counters)
        cursor.execute(
            f"INSERT INTO {self.delta} SELECT date_trunc('month', day)::date, {keys}, {sign} * count(*), {sums}"
            f" FROM {self.day_table} WHERE {where} GROUP BY 1, {keys}",
            params,
        )

    def apply(self, cursor) -> None:
        flag, detail, summary, nulled = self.summary
        keys = ", ".join(self.keys)
        sums = ", ".join(f"sum({c})" for c in self.counters)
        summary_keys = ", ".join("NULL" if k in nulled else k for k in self.keys)
        kept = ", ".join(k for k in self.keys if k not in nulled)
        cursor.execute(
            f"INSERT INTO {self.diff} SELECT m, {detail}, {keys}, sum(n), {sums} FROM {self.delta}"
            f" GROUP BY m, {keys} UNION ALL SELECT m, {summary}, {summary_keys}, sum(n), {sums} FROM {self.delta}"
            f" GROUP BY m{', ' + kept if kept else ''}"
        )
        # Equality on COALESCE (ids are positive) rather than IS NOT DISTINCT FROM, so the few thousand
        # changed keys hash-join against the affected months' rows; a nested loop over a month
        # index with the keys as filters took seconds per day at a million tickets.
        nullable = [f"COALESCE(ms.{k}, 0) = COALESCE(d.{k}, 0)" for k in self.keys]
        months = sorted({m for (m,) in self._months(cursor)})
        match = " AND ".join(["ms.month = d.m", f"ms.{flag} = d.{flag}", *nullable])
        scope = "ms.month = ANY(%s)"
        cursor.execute(f"ANALYZE {self.diff}")  # temp tables get no statistics otherwise
        cursor.execute("SET LOCAL enable_nestloop = off")
        sets = ", ".join(["days = ms.days + d.n", *(f"{c} = ms.{c} + d.{c}" for c in self.counters)])
        cursor.execute(
            f"UPDATE {self.month_table} ms SET {sets} FROM {self.diff} d WHERE {scope} AND {match}", [months]
        )
        columns = ", ".join(["month", flag, *self.keys, "days", *self.counters])
        values = ", ".join(
            ["d.m", f"d.{flag}", *(f"d.{k}" for k in self.keys), "d.n", *(f"d.{c}" for c in self.counters)]
        )
        cursor.execute(
            f"INSERT INTO {self.month_table} ({columns}) SELECT {values} FROM {self.diff} d"
            f" WHERE d.n > 0 AND NOT EXISTS (SELECT 1 FROM {self.month_table} ms WHERE {scope} AND {match})",
            [months],
        )
        cursor.execute("SET LOCAL enable_nestloop = on")
        cursor.execute(f"DELETE FROM {self.month_table} WHERE days = 0 AND month = ANY(%s)", [months])

    def _months(self, cursor) -> list[tuple[dt.date]]:
        cursor.execute(f"SELECT DISTINCT m FROM {self.diff}")
        return cursor.fetchall()


DELTAS = (
    MonthDelta(
        day_table="hotline_unitdaystat",
        month_table="hotline_unitmonthstat",
        keys=("unit_id", "category_id"),
        counters=UnitDayStat.COUNTERS,
        summary=("total", False, True, ("category_id",)),
    ),
    MonthDelta(
        day_table="hotline_intakedaystat",
        month_table="hotline_intakemonthstat",
        keys=("category_id", "district_id", "street_id"),
        counters=("created", "answered"),
        summary=("by_place", True, False, ("district_id", "street_id")),
    ),
)


def _snapshot() -> None:
    """One snapshot for the whole refresh or rebuild (call first in the transaction).

    What the day queries read and which queue rows are consumed must agree exactly: in READ
    COMMITTED an event committed between two statements could be counted by a recompute while
    its queue row survives, and then be added a second time by the next append fold.
    """
    # Nested in a caller's transaction (tests do that), the caller's snapshot rules.
    if len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _consume_days(ranges: list[tuple[dt.date, dt.date]]) -> int:
    """Queue rows of events on recomputed days: they are counted now, and must not be added again."""
    events = TicketEvent.objects.none()
    for start, end in ranges:
        events = events | _events(start, end)
    return RollupQueue.objects.filter(event_id__in=events.values("id")).delete()[0]


def _has_retroactive() -> bool:
    """Whether the batch changes what earlier, already folded events count as.

    An edit is retroactive only for events of its ticket folded in earlier: the router's
    category on a call just taken usually travels in the same batch as the call itself, and
    then the fold simply counts the ticket under its new category. Exemption decisions always
    reach back.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {BATCH} e WHERE e.kind = ANY(%s) OR (e.kind = %s AND EXISTS ("
            "  SELECT 1 FROM hotline_ticketevent x WHERE x.ticket_id = e.ticket_id AND x.id < e.id"
            f"  AND NOT EXISTS (SELECT 1 FROM {BATCH} b WHERE b.id = x.id))))",
            [[k for k in RETROACTIVE_KINDS if k != EventKind.EDITED], EventKind.EDITED],
        )
        return bool(cursor.fetchone()[0])


BATCH = BatchEvent._meta.db_table


def _take_batch(batch: int) -> int:
    """Move the oldest ``batch`` queued events into this transaction's temporary batch table
    (PostgreSQL; the table behind ``BatchEvent``). Returns how many were taken.

    The queue rows carry the event columns the day queries read, so this one statement is the
    only pass over the queue, and the queries never look the events up by id again. Thousands of
    ids as an IN list would cost more to send, parse and plan than the work they select.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {BATCH} (id bigint PRIMARY KEY, ticket_id bigint NOT NULL,"
            " unit_id bigint, kind varchar(24) NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL)"
            " ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {BATCH}")
        # Taken off the queue as they are copied: one pass instead of a copy and a delete. The
        # whole refresh is one transaction, so a failed run puts them back. An id range through
        # the primary key; "IN (… LIMIT n)" could be planned as a scan.
        cursor.execute(
            "WITH taken AS (DELETE FROM hotline_rollupqueue WHERE event_id <= COALESCE("
            " (SELECT event_id FROM hotline_rollupqueue ORDER BY event_id OFFSET %s LIMIT 1),"
            " (SELECT max(event_id) FROM hotline_rollupqueue))"
            " RETURNING event_id, ticket_id, unit_id, kind, payload, created_at)"
            f" INSERT INTO {BATCH} SELECT * FROM taken",
            [batch - 1],
        )
        # No ANALYZE: every query over the batch reads it whole, and reaches tickets and the
        # trail through correlated lookups by key, so no plan depends on its statistics.
        return cursor.rowcount


def rollups_refresh(*, batch: int = QUEUE_BATCH) -> RollupResult:
    """Fold queued events into the rollups: the incremental path (Celery beat, every minute).

    Most batches only add (a call, a dispatch, a reply, a rating): their counts are added to the
    day and month rows they touch, at a cost proportional to the batch. A batch holding an
    exemption decision or an edit, which change what earlier events count as, recomputes the
    days concerned from raw events instead. Both leave exactly what a rebuild would write.
    """
    began = time.perf_counter()
    result = RollupResult()
    with transaction.atomic():
        _snapshot()
        if not _try_lock():
            result.skipped = True
            return result
        result.events = _take_batch(batch)
        if result.events and not _has_retroactive():
            result.mode = "append"
            result.days, result.months = _fold(BatchEvent.objects.all())
        elif result.events:
            result.mode = "recompute"
            result.days = sorted(dirty_days(in_batch=True))
            result.months = recompute(result.days)
            result.events += _consume_days(day_ranges(result.days))
    result.seconds = time.perf_counter() - began
    return result


@dataclass(frozen=True)
class DayAdd:
    """Adds a batch's counts to a day table, and hands the same counts to its month table."""

    table: str
    constraint: str
    keys: tuple[str, ...]  # besides the day
    counters: tuple[str, ...]
    month: MonthDelta | None

    @property
    def scratch(self) -> str:
        return f"rollup_add_{self.table}"

    def fold(self, cursor, queries: list[tuple[dict[str, str], QuerySet]]) -> None:
        cols = ", ".join(["day date", *(f"{k} bigint" for k in self.keys), *(f"{c} bigint" for c in self.counters)])
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self.scratch} ({cols}) ON COMMIT DELETE ROWS")
        cursor.execute(f"TRUNCATE {self.scratch}")
        for columns, qs in queries:
            _insert_select(None, columns, qs, table=self.scratch)
        names = ["day", *self.keys, *self.counters]
        listed = ", ".join(names)
        adds = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in self.counters)
        # Several queries (city and unit hours) may land on one key: add them up first.
        grouped = f"SELECT day, {', '.join(self.keys)}, {', '.join(f'sum({c}) AS {c}' for c in self.counters)}"
        grouped += f" FROM {self.scratch} GROUP BY day, {', '.join(self.keys)}"
        upsert = (
            f"INSERT INTO {self.table} AS t ({listed}) {grouped}"
            f" ON CONFLICT ON CONSTRAINT {self.constraint} DO UPDATE SET {adds}"
        )
        if self.month is None:
            cursor.execute(upsert)
            return
        match = " AND ".join(["up.day = a.day", *(f"COALESCE(up.{k}, 0) = COALESCE(a.{k}, 0)" for k in self.keys)])
        # A key new to the day table adds a day row under its month row (``days``); xmax = 0
        # is how PostgreSQL tells an inserted row from an updated one in RETURNING.
        cursor.execute(
            f"WITH up AS ({upsert} RETURNING (t.xmax = 0) AS inserted, t.day, {', '.join('t.' + k for k in self.keys)})"
            f" INSERT INTO {self.month.delta} SELECT date_trunc('month', a.day)::date,"
            f" {', '.join('a.' + k for k in self.keys)}, up.inserted::int, {', '.join('a.' + c for c in self.counters)}"
            f" FROM ({grouped}) a JOIN up ON {match}"
        )


def _fold(events: QuerySet[BatchEvent]) -> tuple[list[dt.date], list[dt.date]]:
    """Add the counts of these (non-retroactive) events to the day and month rows."""
    days = sorted(set(events.annotate(d=TruncDate("created_at")).order_by().values_list("d", flat=True).distinct()))
    unit_month, intake_month = DELTAS
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        for spec in DELTAS:
            spec.prepare(cursor)
        DayAdd("hotline_unitdaystat", "unitdaystat_key", ("unit_id", "category_id"), COUNTERS, unit_month).fold(
            cursor, [(UNIT_DAY_COLUMNS, unit_day_query(events))]
        )
        DayAdd(
            "hotline_intakedaystat",
            "intakedaystat_key",
            ("category_id", "district_id", "street_id"),
            ("created", "answered"),
            intake_month,
        ).fold(cursor, [(INTAKE_DAY_COLUMNS, intake_day_query(events))])
        DayAdd("hotline_hourstat", "hourstat_key", ("hour", "unit_id"), ("count",), None).fold(
            cursor, [(HOUR_COLUMNS, hour_city_query(events)), (HOUR_COLUMNS, hour_unit_query(events))]
        )
        for spec in DELTAS:
            spec.apply(cursor)
    return days, sorted({month_start(d) for d in days})


def rollups_rebuild(*, months: Iterable[dt.date] | None = None) -> RollupResult:
    """Recompute the rollups from raw events: everything, or only the given months."""
    began = time.perf_counter()
    result = RollupResult()
    with transaction.atomic():
        _snapshot()
        _lock()
        if months is None:
            bounds = TicketEvent.objects.order_by().aggregate(first=Min("created_at"), last=Max("created_at"))
            # Everything, the empty days too (a day whose events were removed must lose its rows).
            for model in (UnitDayStat, IntakeDayStat, HourStat, UnitMonthStat, IntakeMonthStat):
                model.objects.all().delete()
            if bounds["first"] is not None:
                first = month_start(local_day(bounds["first"]))
                after = next_month(month_start(local_day(bounds["last"])))
                _recompute_days(first, after)
                _recompute_months(first, after)
                result.months = _months_between(first, after)
            # Everything this snapshot sees is now counted; rows committed after it stay queued.
            result.events = RollupQueue.objects.all().delete()[0]
        else:
            for month in sorted({month_start(m) for m in months}):
                _recompute_days(month, next_month(month))
                _recompute_months(month, next_month(month))
                result.events += _consume_days([(month, next_month(month))])
                result.months.append(month)
    result.seconds = time.perf_counter() - began
    return result


def _months_between(first: dt.date, after: dt.date) -> list[dt.date]:
    months, month = [], first
    while month < after:
        months.append(month)
        month = next_month(month)
    return months


# --- 每月一题 candidates --------------------------------------------------------------------------------

PROBLEM_COUNT = 10
PROBLEM_MIN_TICKETS = 3
KEYWORD_SAMPLE = 300
KEYWORDS = 8


@functools.cache
def _idf() -> tuple[dict[str, float], float]:
    import jieba.analyse

    table = jieba.analyse.TFIDF()
    return table.idf_freq, table.median_idf


def _place_words() -> frozenset[str]:
    """Place names say where, not what: keep them out of a problem's keywords."""
    from routing.models import Place

    names = set()
    for name in Place.objects.values_list("name", flat=True):
        names.add(name)
        names.add(
            name.removesuffix("街道").removesuffix("地区").removesuffix("区").removesuffix("镇").removesuffix("乡")
        )
    return frozenset(n for n in names if len(n) > 1)


def problems_refresh(month: dt.date) -> list[ProblemCandidate]:
    """The category × street pairs that grew most against the previous month, with their top words.

    Kept in a table (refreshed hourly and by the rebuild) because segmenting a few hundred texts per
    candidate is too slow for a dashboard request.
    """
    from routing.segmentation import tokens

    month = month_start(month)
    previous = month_start(month - dt.timedelta(days=1))
    rows = IntakeMonthStat.objects.filter(by_place=True, street__isnull=False, category__isnull=False)
    now = {(r.category_id, r.street_id): r for r in rows.filter(month=month)}
    before = {(c, s): n for c, s, n in rows.filter(month=previous).values_list("category_id", "street_id", "created")}
    scored = sorted(
        (
            (r.created - before.get(key, 0), r.created, key, r)
            for key, r in now.items()
            if r.created >= PROBLEM_MIN_TICKETS and r.created > before.get(key, 0)
        ),
        key=lambda x: (-x[0], -x[1], x[2]),
    )[:PROBLEM_COUNT]
    candidates = []
    start, end = day_start(month), day_start(next_month(month))
    place_words = _place_words()
    for rank, (_growth, created, key, row) in enumerate(scored, start=1):
        texts = (
            Ticket.objects.filter(category_id=key[0], street_id=key[1], created_at__gte=start, created_at__lt=end)
            .order_by("-id")
            .values_list("title", "content")[:KEYWORD_SAMPLE]
        )
        # Document frequency, not raw counts: one long complaint must not outweigh twenty callers;
        # weighted by jieba's general-corpus IDF so that 油烟 and 烧烤 beat 宣传 and 可是.
        df: Counter[str] = Counter()
        for title, content in texts:
            df.update({t for t in tokens(f"{title} {content}") if len(t) > 1 and t not in place_words})
        idf, median = _idf()
        candidates.append(
            ProblemCandidate(
                month=month,
                rank=rank,
                category_id=key[0],
                district_id=row.district_id,
                street_id=key[1],
                count=created,
                previous=before.get(key, 0),
                keywords=[w for w, _ in sorted(df.items(), key=lambda kv: (-kv[1] * idf.get(kv[0], median), kv[0]))][
                    :KEYWORDS
                ],
            )
        )
    with transaction.atomic():
        ProblemCandidate.objects.filter(month=month).delete()
        ProblemCandidate.objects.bulk_create(candidates)
    return candidates
