"""China's working-day calendar (domain.md §4): official holidays and 调休, local overrides,
the weekends-only fallback for years without data, and the arithmetic's invariants.

Expected dates are worked out here from chinese_calendar's own listing of the days, never by
calling the function under test.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline import services
from hotline.choices import ClockKind, RequestType
from hotline.models import CalendarDay, Clock
from hotline.sla import Limit, schedule
from hotline.workcalendar import DAY, calendar

# The calendar reads its CalendarDay overrides from the database.
pytestmark = pytest.mark.django_db

CN = ZoneInfo("Asia/Shanghai")
LAST_KNOWN_YEAR = 2026  # chinese_calendar ships data up to 2026


@pytest.fixture(autouse=True)
def _fresh_calendar_overrides():
    # Overrides are cached per process for a minute; a test's rows must not leak into the next test.
    calendar.invalidate()
    yield
    calendar.invalidate()


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def nth_working_day_after(day: dt.date, n: int, is_workday) -> dt.date:
    found = 0
    while found < n:
        day += dt.timedelta(days=1)
        found += is_workday(day)
    return day


def weekend_workdays(year: int, festival: str) -> list[dt.date]:
    """Weekend days the State Council made working days (调休) for ``festival``."""
    return [
        d
        for d in days(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if d.weekday() >= 5 and chinese_calendar.get_holiday_detail(d) == (False, festival)
    ]


def holidays_of(year: int, festival: str) -> list[dt.date]:
    return [
        d
        for d in days(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if chinese_calendar.get_holiday_detail(d) == (True, festival)
    ]


# --- official data ------------------------------------------------------------------------------


def test_national_day_2026_holidays_are_not_working_days_but_its_adjusted_weekends_are():
    holidays = holidays_of(2026, "National Day")
    adjusted = weekend_workdays(2026, "National Day")
    assert holidays == days(dt.date(2026, 10, 1), dt.date(2026, 10, 7))
    assert adjusted == [dt.date(2026, 9, 20), dt.date(2026, 10, 10)]  # a Sunday and a Saturday

    for day in holidays:
        assert calendar.day_info(day) == (False, False), day
    for day in adjusted:
        assert calendar.day_info(day) == (True, False), day


def test_spring_festival_2026_holidays_are_not_working_days_but_its_adjusted_weekends_are():
    holidays = holidays_of(2026, "Spring Festival")
    adjusted = weekend_workdays(2026, "Spring Festival")
    assert holidays == days(dt.date(2026, 2, 15), dt.date(2026, 2, 23))
    assert adjusted == [dt.date(2026, 2, 14), dt.date(2026, 2, 28)]
    assert dt.date(2026, 2, 16).weekday() < 5  # the holiday includes ordinary weekdays

    for day in holidays:
        assert not calendar.is_workday(day), day
    for day in adjusted:
        assert calendar.is_workday(day), day


def test_seven_working_days_started_before_national_day_land_after_the_holiday():
    start = dt.datetime(2026, 9, 28, 10, 0, tzinfo=CN)  # Monday after the Mid-autumn break
    # By hand: Sep 29, Sep 30, (Oct 1–7 off), Oct 8, Oct 9, Oct 10 (Saturday 调休), Oct 12, Oct 13.
    listed = [d for d in days(dt.date(2026, 9, 29), dt.date(2026, 10, 31)) if chinese_calendar.is_workday(d)]
    assert listed[:7] == [
        dt.date(2026, 9, 29),
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 8),
        dt.date(2026, 10, 9),
        dt.date(2026, 10, 10),
        dt.date(2026, 10, 12),
        dt.date(2026, 10, 13),
    ]
    expected = dt.datetime.combine(listed[6], start.timetz())

    due = calendar.add_working_days(start, 7)

    assert due.at == expected == dt.datetime(2026, 10, 13, 10, 0, tzinfo=CN)
    assert due.estimated is False
    assert schedule(start, Limit(7, "workdays")).due_at == expected


def test_a_clock_started_on_a_holiday_counts_from_the_next_working_day():
    start = dt.datetime(2026, 10, 3, 15, 0, tzinfo=CN)  # National Day

    due = calendar.add_working_days(start, 1)

    assert due.at == dt.datetime(2026, 10, 9, 0, 0, tzinfo=CN)  # all of Oct 8, the first working day
    assert calendar.working_seconds_between(start, dt.datetime(2026, 10, 8, 0, 0, tzinfo=CN)) == 0


def test_reply_deadline_of_a_ticket_dispatched_before_national_day(city, flow):
    start = dt.datetime(2026, 9, 28, 10, 0, tzinfo=CN)
    ticket = flow.new(now=start - dt.timedelta(minutes=20))

    services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_a, now=start)

    reply = Clock.objects.get(ticket=ticket, kind=ClockKind.REPLY)
    expected_day = nth_working_day_after(start.date(), 7, chinese_calendar.is_workday)
    assert reply.due_at == dt.datetime.combine(expected_day, start.timetz())
    assert reply.calendar_estimated is False


# --- a year without data ---------------------------------------------------------------------------


def weekends_only(day: dt.date) -> bool:
    return chinese_calendar.is_workday(day) if day.year <= LAST_KNOWN_YEAR else day.weekday() < 5


def test_package_has_no_data_after_2026():
    assert chinese_calendar.is_workday(dt.date(LAST_KNOWN_YEAR, 12, 31))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(dt.date(LAST_KNOWN_YEAR + 1, 1, 4))
    assert calendar.day_info(dt.date(2027, 1, 1)) == (True, True)  # a Friday: weekends-only rule
    assert calendar.day_info(dt.date(2027, 1, 2)) == (False, True)
    assert not calendar.has_data_for(2027)


def test_deadline_into_a_year_without_data_uses_the_weekends_only_rule_and_is_flagged():
    start = dt.datetime(2026, 12, 28, 10, 0, tzinfo=CN)
    # By hand: Dec 29, 30, 31 (official), then Fri Jan 1 2027 (no data: a weekday counts), Jan 4, 5, 6.
    expected_day = nth_working_day_after(start.date(), 7, weekends_only)
    assert expected_day == dt.date(2027, 1, 6)

    plan = schedule(start, Limit(7, "workdays"))

    assert plan.due_at == dt.datetime(2027, 1, 6, 10, 0, tzinfo=CN)
    assert plan.estimated is True


def test_deadline_within_known_years_is_not_flagged():
    plan = schedule(dt.datetime(2026, 12, 18, 10, 0, tzinfo=CN), Limit(7, "workdays"))

    assert plan.due_at == dt.datetime(2026, 12, 29, 10, 0, tzinfo=CN)
    assert plan.estimated is False


def test_ticket_dispatched_late_in_the_last_known_year_gets_an_estimated_reply_clock(city, flow):
    start = dt.datetime(2026, 12, 28, 10, 0, tzinfo=CN)
    ticket = services.ticket_create(
        actor=city.operator,
        title="小区停水",
        content="小区从早上开始停水，没有通知。",
        request_type=RequestType.HELP,
        now=start - dt.timedelta(minutes=10),
    )

    services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_a, now=start)

    clocks = {c.kind: c for c in Clock.objects.filter(ticket=ticket, assignment__isnull=False)}
    assert clocks[ClockKind.REPLY].due_at == dt.datetime(2027, 1, 6, 10, 0, tzinfo=CN)
    assert clocks[ClockKind.REPLY].calendar_estimated is True
    # Hour-based clocks need no calendar.
    assert clocks[ClockKind.SIGN].calendar_estimated is False
    assert clocks[ClockKind.CONTACT].calendar_estimated is False


@pytest.mark.parametrize(
    "start",
    [
        dt.datetime(2027, 6, 1, 9, 0, tzinfo=CN),
        dt.datetime(2035, 12, 31, 23, 59, tzinfo=CN),
        dt.datetime(2004, 1, 1, 0, 0, tzinfo=CN),
    ],
)
def test_any_date_gets_a_deadline_and_never_an_error(start):
    plan = schedule(start, Limit(15, "workdays"))

    assert plan.due_at > start
    assert plan.estimated is (start.year > LAST_KNOWN_YEAR)


# --- local overrides ----------------------------------------------------------------------------


def test_calendar_day_overrides_win_over_the_package():
    saturday, tuesday = dt.date(2026, 3, 7), dt.date(2026, 3, 10)
    assert not chinese_calendar.is_workday(saturday)
    assert chinese_calendar.is_workday(tuesday)
    CalendarDay.objects.create(date=saturday, is_workday=True, name="调休上班")
    CalendarDay.objects.create(date=tuesday, is_workday=False, name="临时放假")
    calendar.invalidate()

    assert calendar.day_info(saturday) == (True, False)
    assert calendar.day_info(tuesday) == (False, False)
    # Fri 10:00 + 2 working days: the rest of Friday (14 h), all of Saturday, then Monday until 10:00.
    due = calendar.add_working_days(dt.datetime(2026, 3, 6, 10, 0, tzinfo=CN), 2)
    assert due.at == dt.datetime(2026, 3, 9, 10, 0, tzinfo=CN)
    friday = dt.datetime(2026, 3, 6, 0, 0, tzinfo=CN)
    assert calendar.working_seconds_between(friday, friday + dt.timedelta(days=7)) == 5 * DAY


def test_override_in_a_year_without_package_data_is_exact_for_its_own_date():
    new_year = dt.date(2027, 1, 1)
    CalendarDay.objects.create(date=new_year, is_workday=False, name="元旦")
    calendar.invalidate()

    assert calendar.day_info(new_year) == (False, False)
    assert calendar.day_info(dt.date(2027, 1, 4)) == (True, True)  # the days around it are still guessed
    # Dec 31 2026 10:00 + 1 working day skips the 元旦 Friday and the weekend.
    due = calendar.add_working_days(dt.datetime(2026, 12, 31, 10, 0, tzinfo=CN), 1)
    assert due.at == dt.datetime(2027, 1, 4, 10, 0, tzinfo=CN)
    assert due.estimated is True  # Jan 2–4 still come from the weekends-only rule


# --- properties ---------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31, 23, 59, 59), timezones=st.just(CN)
)
year_ends = st.datetimes(
    min_value=dt.datetime(2024, 12, 15), max_value=dt.datetime(2024, 12, 31, 23, 59, 59), timezones=st.just(CN)
)
spans_in_days = st.one_of(
    st.integers(min_value=0, max_value=20), st.floats(min_value=0, max_value=20, allow_nan=False, allow_infinity=False)
)
PROPERTY = settings(max_examples=200, deadline=None, database=None)


@PROPERTY
@given(start=starts, span=spans_in_days)
def test_working_time_to_the_deadline_is_the_span(start, span):
    seconds = span * DAY

    due = calendar.add_working_seconds(start, seconds)

    assert due.at >= start
    assert calendar.working_seconds_between(start, due.at) == pytest.approx(seconds, abs=1e-6)


@PROPERTY
@given(start=starts, a=spans_in_days, b=spans_in_days)
def test_deadline_is_monotonic_in_the_span(start, a, b):
    short, long = sorted((a, b))

    assert calendar.add_working_days(start, short).at <= calendar.add_working_days(start, long).at


@PROPERTY
@given(start=year_ends, years_later=st.integers(min_value=0, max_value=3), span=spans_in_days)
def test_deadlines_across_year_boundaries(start, years_later, span):
    start = start.replace(year=start.year + years_later)  # Dec 15–31 of 2024, 2025, 2026 or 2027
    seconds = span * DAY

    due = calendar.add_working_seconds(start, seconds)

    assert due.at >= start
    assert calendar.working_seconds_between(start, due.at) == pytest.approx(seconds, abs=1e-6)
    new_year = dt.datetime(LAST_KNOWN_YEAR + 1, 1, 1, tzinfo=CN)
    if due.at < new_year:
        assert due.estimated is False  # every day on the way had official data
    elif due.at > new_year:
        assert due.estimated is True  # some day on the way was in a year without data


@PROPERTY
@given(a=starts, b=starts)
def test_working_time_between_is_antisymmetric_and_at_most_the_clock_time(a, b):
    forward = calendar.working_seconds_between(a, b)

    assert forward == -calendar.working_seconds_between(b, a)
    assert abs(forward) <= abs((b - a).total_seconds())
