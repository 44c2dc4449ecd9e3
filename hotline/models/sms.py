"""The SMS outbox: a message row written in the same transaction as the change that causes it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class SmsStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class SmsMessage(models.Model):
    """One templated SMS. Sent by a worker after commit, claimed by compare-and-set, never twice."""

    phone = models.CharField("手机号", max_length=20)
    template = models.CharField("模板", max_length=32)
    params = models.JSONField("模板参数", default=dict)
    ticket = models.ForeignKey(
        "hotline.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="sms_messages"
    )
    # Enqueueing twice for the same reason (a double click, a retried task) yields one message.
    dedupe_key = models.CharField(max_length=100, unique=True)
    status = models.CharField("状态", max_length=8, choices=SmsStatus.choices, default=SmsStatus.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次发送时间", default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    backend = models.CharField("通道", max_length=20, blank=True)
    provider_message_id = models.CharField("通道回执号", max_length=100, blank=True)
    rendered = models.TextField("短信内容", blank=True, help_text="按本地模板渲染的文本，供核对与开发环境查看。")
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "短信"
        verbose_name_plural = "短信发送队列"
        ordering = ["-id"]
        indexes = [
            # Outbox sweep: SELECT … WHERE status = 'pending' AND next_attempt_at <= now
            models.Index(fields=["next_attempt_at"], name="sms_pending_idx", condition=Q(status="pending")),
            # Lost-worker recovery: SELECT … WHERE status = 'sending' AND claimed_at <= now - lease
            models.Index(fields=["claimed_at"], name="sms_sending_idx", condition=Q(status="sending")),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.phone[:3]}****{self.phone[-4:]} ({self.get_status_display()})"
