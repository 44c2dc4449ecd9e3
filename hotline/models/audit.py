"""Append-only trails: what happened to a ticket, and who looked at whose personal data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from hotline.choices import AccessAction, EventKind, TicketStatus


class AppendOnlyError(RuntimeError):
    pass


class AppendOnlyModel(models.Model):
    """Rows are written once. PostgreSQL triggers (migration) refuse UPDATE and DELETE as well."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[override]
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[override]
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class TicketEvent(AppendOnlyModel):
    """One change to a ticket: who, when, what, from → to, why (the unit's 行车记录仪)."""

    ticket = models.ForeignKey("hotline.Ticket", on_delete=models.PROTECT, related_name="events")
    kind = models.CharField("事件", max_length=24, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_unit = models.ForeignKey(
        "hotline.Unit", verbose_name="操作单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "hotline.Unit", verbose_name="涉及单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=24, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=TicketStatus.choices, blank=True)
    reason = models.TextField("理由", blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # The moment the action happened (a backdated import or demo passes it explicitly).
    created_at = models.DateTimeField("时间", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "工单事件"
        verbose_name_plural = "工单事件"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["ticket", "id"], name="event_ticket_idx"),
            # The rollups ask "is this rating exempted?" for every callback they count.
            models.Index(
                fields=["ticket", "unit"], name="event_exemption_idx", condition=models.Q(kind="exemption_approved")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.get_kind_display()}"


class AccessLog(AppendOnlyModel):
    """One view, reveal, search or export of personal data, searchable by auditors."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "hotline.Unit", verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ticket = models.ForeignKey(
        "hotline.Ticket",
        verbose_name="工单",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_logs",
    )
    action = models.CharField("行为", max_length=8, choices=AccessAction.choices)
    fields = models.JSONField("查看字段", default=list, blank=True)
    masked = models.BooleanField("脱敏显示", default=True)
    reason = models.CharField("理由", max_length=200, blank=True)
    query = models.CharField("检索/导出条件", max_length=300, blank=True)
    row_count = models.PositiveIntegerField("记录数", default=0)
    channel = models.CharField("渠道", max_length=8, default="web")  # web or api
    ip_address = models.GenericIPAddressField("IP", null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "个人信息访问日志"
        verbose_name_plural = "个人信息访问日志"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["ticket", "-id"], name="access_ticket_idx"),
            models.Index(fields=["user", "-id"], name="access_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.get_action_display()} {self.ticket_id}"
