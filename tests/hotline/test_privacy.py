"""Personal data (domain.md §7): normalised and masked phone numbers, what each role sees, the
logged reveal, and the append-only trails that auditors rely on."""

from __future__ import annotations

import pytest
from django.db import Error as DatabaseError
from django.db import connection, transaction

from hotline import services
from hotline.choices import AccessAction, EventKind
from hotline.errors import IllegalTransition, InvalidInput, NotAllowed, NotFound
from hotline.models import AccessLog, AppendOnlyError, TicketEvent
from hotline.phones import PhoneError, mask_name, mask_phone, normalize_phone
from hotline.services.privacy import CONFIDENTIAL_MARK, caller_view

# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+86-138-1234-5678", "13812345678"),
        ("  13812345678  ", "13812345678"),
        ("010-65121234", "01065121234"),
        ("010 6512 1234", "01065121234"),
        ("(010) 65121234", "01065121234"),
        ("01065121234", "01065121234"),
        ("", ""),
    ],
)
def test_normalize_phone_accepts_mobiles_and_beijing_landlines(raw, normalised):
    assert normalize_phone(raw) == normalised


@pytest.mark.parametrize("raw", ["123", "abc", "1381234567", "138123456789", "010-651212", "6512 1234"])
def test_normalize_phone_rejects_malformed_numbers(raw):
    with pytest.raises(PhoneError) as info:
        normalize_phone(raw)
    assert "13812345678" in str(info.value)  # the message shows a valid example


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("01065121234", "010****1234"),
        ("", ""),
    ],
)
def test_mask_phone_keeps_enough_to_recognise_but_not_to_call(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("李四", "李*"),
        ("王", "王*"),
        ("王女士", "王女士"),
        ("刘先生", "刘先生"),
        ("匿名", "匿名"),
        ("", ""),
    ],
)
def test_mask_name_keeps_the_surname_only(name, masked):
    assert mask_name(name) == masked


# --- what each role sees ------------------------------------------------------------------------


def hub_users(city):
    return [city.operator, city.dispatcher, city.supervisor, city.auditor]


def unit_users(city):
    return [city.handler_a, city.manager_a, city.district_manager]


def test_hub_roles_see_the_caller_in_full(city, flow):
    ticket = flow.dispatched(caller_name="张三丰")

    for user in hub_users(city):
        view = caller_view(user, ticket)
        assert (view.name, view.phone, view.masked, view.can_reveal) == ("张三丰", "13812345678", False, False), user


def test_units_see_the_caller_masked_and_may_reveal(city, flow):
    ticket = flow.dispatched(caller_name="张三丰")

    for user in unit_users(city):
        view = caller_view(user, ticket)
        assert (view.name, view.phone, view.masked, view.can_reveal) == ("张**", "138****5678", True, True), user


def test_confidential_ticket_shows_units_nothing_but_the_mark(city, flow):
    ticket = flow.dispatched(caller_name="张三丰", confidential=True)

    for user in unit_users(city):
        view = caller_view(user, ticket)
        assert (view.name, view.phone, view.can_reveal) == (CONFIDENTIAL_MARK, CONFIDENTIAL_MARK, False), user
        assert "138" not in view.phone and "张" not in view.name
    # The hub still calls the resident back.
    assert caller_view(city.operator, ticket).phone == "13812345678"


def test_ticket_without_a_phone_offers_no_reveal(city, flow):
    ticket = flow.dispatched(caller_phone="")

    view = caller_view(city.handler_a, ticket)

    assert (view.phone, view.can_reveal) == ("", False)


# --- the logged reveal --------------------------------------------------------------------------


def test_reveal_phone_shows_the_number_and_logs_who_why_and_what(city, flow):
    ticket = flow.dispatched()

    view = services.ticket_reveal_phone(ticket=ticket, actor=city.handler_a, reason="  需电话核实油烟位置  ")

    assert (view.phone, view.masked, view.can_reveal) == ("13812345678", False, False)
    log = AccessLog.objects.get(ticket=ticket)
    assert (log.user, log.unit, log.action, log.masked) == (city.handler_a, city.street_a, AccessAction.REVEAL, False)
    assert log.reason == "需电话核实油烟位置"
    assert log.fields == ["caller_phone"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_reveal_phone_without_a_reason_is_refused_and_not_logged(reason, city, flow):
    ticket = flow.dispatched()

    with pytest.raises(InvalidInput) as info:
        services.ticket_reveal_phone(ticket=ticket, actor=city.handler_a, reason=reason)

    assert "reason" in info.value.fields
    assert not AccessLog.objects.exists()


def test_reveal_phone_on_a_confidential_ticket_is_refused(city, flow):
    ticket = flow.dispatched(confidential=True)

    with pytest.raises(NotAllowed):
        services.ticket_reveal_phone(ticket=ticket, actor=city.handler_a, reason="需电话核实")

    assert not AccessLog.objects.exists()


def test_reveal_phone_on_another_units_ticket_is_not_found(city, flow):
    ticket = flow.dispatched()

    for outsider in (city.handler_b, city.bureau_handler, city.community_handler):
        with pytest.raises(NotFound):
            services.ticket_reveal_phone(ticket=ticket, actor=outsider, reason="想看看")

    assert not AccessLog.objects.exists()


def test_hub_roles_need_no_reveal(city, flow):
    ticket = flow.dispatched()

    with pytest.raises(IllegalTransition):
        services.ticket_reveal_phone(ticket=ticket, actor=city.operator, reason="回访")

    assert not AccessLog.objects.exists()


# --- append-only trails -------------------------------------------------------------------------


@pytest.fixture
def event(flow) -> TicketEvent:
    ticket = flow.new()
    return TicketEvent.objects.get(ticket=ticket, kind=EventKind.CREATED)


@pytest.fixture
def access_log(city, flow) -> AccessLog:
    ticket = flow.dispatched()
    services.ticket_reveal_phone(ticket=ticket, actor=city.handler_a, reason="需电话核实")
    return AccessLog.objects.get(ticket=ticket)


@pytest.fixture(params=["event", "access_log"])
def trail_row(request, db):
    # ``db`` is named here, not only reached through getfixturevalue, so pytest-django schedules
    # these tests with the other database tests (before any committed, flushing ones).
    return request.getfixturevalue(request.param)


def test_trail_rows_refuse_model_save_of_an_existing_row(trail_row):
    model = type(trail_row)
    original = model.objects.filter(pk=trail_row.pk).values("reason").get()
    trail_row.reason = "篡改"

    with pytest.raises(AppendOnlyError):
        trail_row.save()

    assert model.objects.filter(pk=trail_row.pk).values("reason").get() == original


def test_trail_rows_refuse_model_delete(trail_row):
    with pytest.raises(AppendOnlyError):
        trail_row.delete()

    assert type(trail_row).objects.filter(pk=trail_row.pk).exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET reason = 'tampered' WHERE id = %s",
        "DELETE FROM {table} WHERE id = %s",
    ],
)
def test_trail_tables_refuse_raw_sql_update_and_delete(statement, trail_row):
    model = type(trail_row)
    before = model.objects.filter(pk=trail_row.pk).values().get()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=model._meta.db_table), [trail_row.pk])

    assert model.objects.filter(pk=trail_row.pk).values().get() == before


def test_trail_tables_refuse_queryset_update_and_delete(trail_row):
    # QuerySet.update/delete bypass the model methods; the database trigger still stops them.
    qs = type(trail_row).objects.filter(pk=trail_row.pk)

    with pytest.raises(DatabaseError), transaction.atomic():
        qs.update(reason="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        qs.delete()

    assert qs.get().reason != "tampered"


def test_new_trail_rows_can_still_be_appended(city, flow, event):
    ticket = event.ticket

    services.ticket_supervise(ticket=ticket, actor=city.supervisor, level=1, reason="重点关注")
    services.access_log_record(user=city.auditor, action=AccessAction.VIEW, ticket=ticket, masked=False)

    assert list(ticket.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.SUPERVISED]
    assert ticket.access_logs.filter(user=city.auditor, action=AccessAction.VIEW).count() == 1
