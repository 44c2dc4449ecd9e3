"""Marking notifications read. Creating them belongs to the engines that have news (deadlines)."""

from __future__ import annotations

from django.utils import timezone

from hotline.errors import NotFound
from hotline.models import Notification, User


def notification_open(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read and return it (another user's is NotFound)."""
    note = Notification.objects.filter(pk=notification_id, user=user).first()
    if note is None:
        raise NotFound("通知不存在。")
    if note.read_at is None:
        # Compare-and-set: a double click marks it once.
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=timezone.now())
    return note


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
