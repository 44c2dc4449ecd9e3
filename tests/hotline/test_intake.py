"""Intake (受理): what ticket_create refuses, what it cleans, and how tickets are numbered."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from hotline import services
from hotline.choices import ClockKind, EventKind, RequestType, TicketStatus
from hotline.errors import InvalidInput, NotAllowed
from hotline.models import Clock, Ticket, TicketCounter, TicketEvent
from routing.models import Place, PlaceLevel

CN = ZoneInfo("Asia/Shanghai")


def create(city, **overrides) -> Ticket:
    data = dict(
        actor=city.operator,
        title="楼下饭馆油烟扰民",
        content="望京西园三区楼下饭馆油烟很大。",
        request_type=RequestType.COMPLAINT,
        caller_name="王女士",
        caller_phone="13812345678",
        district=city.chaoyang,
        street=city.wangjing,
    )
    data.update(overrides)
    return services.ticket_create(**data)


def rows_written() -> tuple[int, int, int, int]:
    return (Ticket.objects.count(), TicketEvent.objects.count(), Clock.objects.count(), TicketCounter.objects.count())


def place(code, name, level, parent=None) -> Place:
    return Place.objects.create(code=code, name=name, level=level, parent=parent)


INVALID = {
    "empty-title": (lambda c: {"title": ""}, "title"),
    "blank-title": (lambda c: {"title": " \x00\t "}, "title"),
    "long-title": (lambda c: {"title": "油" * 101}, "title"),
    "empty-content": (lambda c: {"content": ""}, "content"),
    "content-over-limit": (lambda c: {"content": "油" * (settings.HOTLINE["TICKET_TEXT_MAX"] + 1)}, "content"),
    "malformed-phone": (lambda c: {"caller_phone": "1381234567"}, "caller_phone"),
    "letters-for-phone": (lambda c: {"caller_phone": "abc"}, "caller_phone"),
    "unknown-request-type": (lambda c: {"request_type": "gossip"}, "request_type"),
    "street-not-in-district": (
        lambda c: {"district": place("haidian", "海淀区", PlaceLevel.DISTRICT), "street": c.wangjing},
        "street",
    ),
    "community-not-in-street": (lambda c: {"street": c.sanlitun, "community": c.xiyuan}, "community"),
    "district-given-as-street": (lambda c: {"district": None, "street": c.chaoyang}, "street"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_intake_names_the_field_and_writes_nothing(case, city):
    make_overrides, field = INVALID[case]
    overrides = make_overrides(city)
    before = rows_written()

    with pytest.raises(InvalidInput) as info:
        create(city, **overrides)

    assert field in info.value.fields, info.value.fields
    assert all(message.strip() for message in info.value.fields[field])
    assert rows_written() == before


def test_all_text_errors_are_reported_together(city):
    with pytest.raises(InvalidInput) as info:
        create(city, title="", content="", caller_phone="123")

    assert set(info.value.fields) == {"title", "content", "caller_phone"}


def test_content_at_the_limit_is_accepted(city):
    limit = settings.HOTLINE["TICKET_TEXT_MAX"]

    ticket = create(city, content="油" * limit)

    assert len(ticket.content) == limit


def test_intake_with_a_community_fills_in_its_street_and_district(city):
    ticket = create(city, district=None, street=None, community=city.xiyuan)

    assert (ticket.district, ticket.street, ticket.community) == (city.chaoyang, city.wangjing, city.xiyuan)


def test_nul_and_control_characters_are_stripped(city):
    ticket = create(
        city,
        title="\x00油烟\x07扰民\x1b ",
        content="第一行\x00\r\n第二行\x0b\x0c\x7f\t结束",
        caller_name="王\x00女士",
        address="望京\x08西园三区",
        caller_phone="138\x001234\x005678",
    )

    ticket.refresh_from_db()
    assert ticket.title == "油烟扰民"
    assert ticket.content == "第一行\r\n第二行\t结束"  # line breaks and tabs are text, not control noise
    assert ticket.caller_name == "王女士"
    assert ticket.address == "望京西园三区"
    assert ticket.caller_phone == "13812345678"
    assert "\x00" not in ticket.caller_phone_raw


def test_intake_writes_the_ticket_its_created_event_and_a_dispatch_clock(city):
    at = dt.datetime(2030, 1, 15, 9, 0, tzinfo=CN)

    ticket = create(city, caller_phone="+86 138-1234-5678", now=at)

    assert (ticket.status, ticket.created_by, ticket.created_at) == (TicketStatus.RECEIVED, city.operator, at)
    assert (ticket.caller_phone, ticket.caller_phone_raw) == ("13812345678", "+86 138-1234-5678")
    assert list(ticket.events.values_list("kind", "to_status")) == [(EventKind.CREATED, TicketStatus.RECEIVED)]
    clock = Clock.objects.get(ticket=ticket)
    assert (clock.kind, clock.started_at, clock.due_at) == (ClockKind.DISPATCH, at, at + dt.timedelta(hours=24))


def test_numbers_are_the_day_and_a_consecutive_sequence_restarting_each_day(city):
    day1 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=CN)
    day2 = dt.datetime(2030, 1, 16, 9, 0, tzinfo=CN)

    numbers = [create(city, now=day1).number for _ in range(3)] + [
        create(city, now=day2).number,
        create(city, now=day1).number,
    ]

    assert all(re.fullmatch(r"\d{8}\d{5}", n) for n in numbers)
    assert numbers == ["2030011500001", "2030011500002", "2030011500003", "2030011600001", "2030011500004"]


def test_the_number_uses_the_local_day_in_beijing(city):
    late_evening = dt.datetime(2030, 1, 15, 23, 30, tzinfo=CN)
    after_midnight = dt.datetime(2030, 1, 16, 0, 30, tzinfo=CN)
    assert after_midnight.astimezone(dt.UTC).date() == dt.date(2030, 1, 15)  # still the 15th in UTC

    assert create(city, now=late_evening).number == "2030011500001"
    assert create(city, now=after_midnight).number == "2030011600001"


def test_a_failed_intake_does_not_use_up_a_number(city):
    at = dt.datetime(2030, 1, 15, 9, 0, tzinfo=CN)
    create(city, now=at)
    with pytest.raises(InvalidInput):
        create(city, now=at, caller_phone="123")

    assert create(city, now=at).number == "2030011500002"


@pytest.mark.parametrize("persona", ["handler_a", "manager_a", "bureau_handler", "auditor"])
def test_only_hub_desk_roles_may_create_tickets(persona, city):
    before = rows_written()

    with pytest.raises(NotAllowed):
        create(city, actor=getattr(city, persona))

    assert rows_written() == before


@pytest.mark.parametrize("persona", ["operator", "dispatcher", "supervisor"])
def test_hub_desk_roles_create_tickets(persona, city):
    assert create(city, actor=getattr(city, persona)).created_by == getattr(city, persona)


def test_direct_answer_at_intake_closes_at_once(city):
    ticket = create(city, request_type=RequestType.CONSULT, answer="按知识库答复：供暖季为11月15日起。")

    assert (ticket.status, ticket.close_reason) == (TicketStatus.CLOSED, "直接答复")
    assert list(ticket.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.ANSWERED]
