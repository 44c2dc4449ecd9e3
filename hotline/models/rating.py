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
