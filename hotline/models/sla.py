"""Deadline policies (时限规则): versioned, most specific wins, fixed into a clock when it starts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from hotline.choices import Priority, UnitKind


class LimitUnit(models.TextChoices):
    MINUTES = "minutes", "分钟（自然时间）"
    HOURS = "hours", "小时（自然时间）"
    WORKDAYS = "workdays", "工作日"


class SlaPolicy(models.Model):
    """The limits for dispatch, sign-for, first contact and reply, for a priority (and optionally more)."""

    name = models.CharField("名称", max_length=100)
    priority = models.CharField("紧急程度", max_length=10, choices=Priority.choices)
    category = models.ForeignKey(
        "hotline.Category",
        verbose_name="适用分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="留空适用于所有分类；选大类则含其小类。",
    )
    unit_kind = models.CharField("适用单位类型", max_length=12, choices=UnitKind.choices, blank=True)
    effective_from = models.DateTimeField("生效时间", help_text="此时间之后开始计时的时限按本规则；已在计时的不变。")
    is_active = models.BooleanField("启用", default=True)

    dispatch_value = models.PositiveIntegerField("派单时限")
    dispatch_unit = models.CharField("派单时限单位", max_length=10, choices=LimitUnit.choices, default=LimitUnit.HOURS)
    sign_value = models.PositiveIntegerField("签收时限")
    sign_unit = models.CharField("签收时限单位", max_length=10, choices=LimitUnit.choices, default=LimitUnit.HOURS)
    contact_value = models.PositiveIntegerField("首次联系时限")
    contact_unit = models.CharField(
        "首次联系时限单位", max_length=10, choices=LimitUnit.choices, default=LimitUnit.HOURS
    )
    reply_value = models.PositiveIntegerField("办结反馈时限")
    reply_unit = models.CharField(
        "办结反馈时限单位", max_length=10, choices=LimitUnit.choices, default=LimitUnit.WORKDAYS
    )
    warn_percent = models.PositiveSmallIntegerField("黄灯预警（%）", default=75, help_text="计时到该百分比时黄灯预警。")

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "时限规则"
        verbose_name_plural = "时限规则"
        ordering = ["priority", "-effective_from"]
        indexes = [models.Index(fields=["priority", "effective_from"], name="sla_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_priority_display()}，{self.effective_from:%Y-%m-%d}起）"

    def clean(self) -> None:
        if not 1 <= self.warn_percent <= 99:
            raise ValidationError({"warn_percent": "预警百分比应在1到99之间。"})
        for kind in ("dispatch", "sign", "contact", "reply"):
            if getattr(self, f"{kind}_value") < 1:
                raise ValidationError({f"{kind}_value": "时限必须大于0。"})
