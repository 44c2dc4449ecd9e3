"""The bell: unread counts, opening a notification, marking all read, and nobody else's notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hotline import services
from hotline.choices import Priority
from hotline.models import Notification
from hotline.services.deadlines import clocks_sweep


@pytest.fixture
def warned_ticket(city, flow):
    t0 = timezone.now() - dt.timedelta(hours=3)
    ticket = flow.new(priority=Priority.URGENT, now=t0)
    services.ticket_dispatch(ticket=ticket, actor=city.dispatcher, lead_unit=city.street_a, now=t0)
    clocks_sweep(now=t0 + dt.timedelta(minutes=100))  # reply clock yellow, sign clock red
    return ticket


def test_bell_shows_the_unread_count_on_every_page(client, city, warned_ticket):
    unread = Notification.objects.filter(user=city.handler_a, read_at__isnull=True).count()
    assert unread >= 2
    client.force_login(city.handler_a)
    page = client.get("/workbench/").content.decode()
    assert f'<span class="bell-count">{unread}</span>' in page
    assert f'<span class="bell-count">{unread}</span>' in client.get("/notifications/bell/").content.decode()


def test_opening_a_notification_marks_it_read_and_goes_to_the_ticket(client, city, warned_ticket):
    note = Notification.objects.filter(user=city.handler_a).first()
    client.force_login(city.handler_a)
    response = client.get(f"/notifications/{note.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{warned_ticket.pk}/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_another_users_notification_cannot_be_opened_or_read(client, city, warned_ticket):
    note = Notification.objects.filter(user=city.handler_a).first()
    client.force_login(city.handler_b)
    client.get(f"/notifications/{note.pk}/")
    note.refresh_from_db()
    assert note.read_at is None
    assert note.message not in client.get("/notifications/").content.decode()


def test_mark_all_read(client, city, warned_ticket):
    client.force_login(city.manager_a)
    assert Notification.objects.filter(user=city.manager_a, read_at__isnull=True).exists()
    assert client.post("/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(user=city.manager_a, read_at__isnull=True).exists()
    assert 'class="bell-count"' not in client.get("/notifications/").content.decode()
