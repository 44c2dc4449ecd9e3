"""In-app notifications: the bell on every page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationLevel(models.TextChoices):
    INFO = "info", "提示"
    WARNING = "warning", "黄灯预警"
    DANGER = "danger", "超期"


class Notification(models.Model):
    """A message for one user about one ticket (a clock warning, a breach, an escalation)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey(
        "hotline.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    level = models.CharField("级别", max_length=8, choices=NotificationLevel.choices, default=NotificationLevel.INFO)
    kind = models.CharField("类型", max_length=24)
    message = models.CharField("内容", max_length=300)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-id"]
        indexes = [
            # The bell: SELECT count(*) … WHERE user_id = %s AND read_at IS NULL
            models.Index(fields=["user", "-id"], name="notification_unread_idx", condition=Q(read_at__isnull=True)),
            models.Index(fields=["user", "-id"], name="notification_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.message}"

    @property
    def level_colour(self) -> str:
        return {"info": "blue", "warning": "amber", "danger": "red"}[self.level]
