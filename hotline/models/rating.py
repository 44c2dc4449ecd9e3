"""Rating links sent to residents by SMS (回访评价)."""

from __future__ import annotations

from django.db import models


class RatingToken(models.Model):
    """A single-use, expiring link to rate one outcome. Only the token's SHA-256 is stored."""

    ticket = models.ForeignKey("hotline.Ticket", on_delete=models.CASCADE, related_name="rating_tokens")
    # The link carries the random token; the database keeps its hash (a leaked table opens nothing).
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField("有效期至")
    used_at = models.DateTimeField("评价时间", null=True, blank=True)
    revoked_at = models.DateTimeField("作废时间", null=True, blank=True, help_text="工单重办后，旧结果的评价链接作废。")

    class Meta:
        verbose_name = "评价链接"
        verbose_name_plural = "评价链接"

    def __str__(self) -> str:
        return f"{self.ticket_id} {'已用' if self.used_at else '未用'}"


class CallbackAttempt(models.Model):
    """An operator's phone callback that reached nobody (无人接听/拒接/空号)."""

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", "无人接听"
        REFUSED = "refused", "拒绝回访"
        WRONG_NUMBER = "wrong_number", "号码错误/空号"

    ticket = models.ForeignKey("hotline.Ticket", on_delete=models.CASCADE, related_name="callback_attempts")
    operator = models.ForeignKey("hotline.User", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField("结果", max_length=14, choices=Outcome.choices)
    note = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "回访尝试"
        verbose_name_plural = "回访尝试"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.get_outcome_display()}"
