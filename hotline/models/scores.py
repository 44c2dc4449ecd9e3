"""Assessment settings and exemptions: what the monthly 三率 are computed with, and what they leave out."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from hotline.choices import ExemptionReason, RequestStatus

_UNIT_INTERVAL = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]


class ScoreWeights(models.Model):
    """One version of the composite's weights and of k, in force from ``effective_from`` until the next.

    The weights are not officially published and Beijing has changed them, so a change is a new row
    effective from a chosen month; scores are computed on read, so a version that starts in the past
    recomputes those months too (the admin says so before saving).
    """

    effective_from = models.DateField("生效月份", unique=True, help_text="该月1日起适用（含以前月份的重算）。")
    response = models.DecimalField("响应率权重", max_digits=4, decimal_places=3, validators=_UNIT_INTERVAL)
    resolution = models.DecimalField("解决率权重", max_digits=4, decimal_places=3, validators=_UNIT_INTERVAL)
    satisfaction = models.DecimalField("满意率权重", max_digits=4, decimal_places=3, validators=_UNIT_INTERVAL)
    basic_factor = models.DecimalField(
        "基本满意系数k",
        max_digits=4,
        decimal_places=3,
        validators=_UNIT_INTERVAL,
        help_text="满意率=(满意+k×基本满意)/有效回访",
    )
    min_volume = models.PositiveIntegerField("参与排名最低有效回访量", default=10)
    note = models.CharField("调整说明", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "考核权重版本"
        verbose_name_plural = "考核权重版本"
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(response__gte=0) & Q(resolution__gte=0) & Q(satisfaction__gte=0),
                name="score_weights_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.effective_from:%Y-%m} 起：{self.response}/{self.resolution}/{self.satisfaction}, k={self.basic_factor}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.effective_from and self.effective_from.day != 1:
            errors["effective_from"] = "生效月份须为某月1日。"
        parts = (self.response, self.resolution, self.satisfaction)
        if all(p is not None for p in parts) and sum(parts) != Decimal("1"):
            errors["satisfaction"] = f"三项权重之和须为1（当前为{sum(parts)}）。"
        if errors:
            raise ValidationError(errors)


class Exemption(models.Model):
    """A unit's request to leave one ticket out of its 三率 (考核免责/申诉), and the supervisor's decision."""

    ticket = models.ForeignKey(
        "hotline.Ticket", verbose_name="工单", on_delete=models.PROTECT, related_name="exemptions"
    )
    unit = models.ForeignKey(
        "hotline.Unit", verbose_name="申请单位", on_delete=models.PROTECT, related_name="exemptions"
    )
    reason_kind = models.CharField("免责类型", max_length=16, choices=ExemptionReason.choices)
    reason = models.TextField("申请理由")
    status = models.CharField("状态", max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_reason = models.TextField("审核意见", blank=True)

    class Meta:
        verbose_name = "考核免责申请"
        verbose_name_plural = "考核免责申请"
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["unit", "-requested_at"], name="exemption_unit_recent_idx")]
        constraints = [
            # A double click or two colleagues cannot file the same request twice …
            models.UniqueConstraint(
                fields=["ticket", "unit"], name="one_pending_exemption", condition=Q(status="pending")
            ),
            # … and a ticket is exempted for a unit at most once.
            models.UniqueConstraint(
                fields=["ticket", "unit"], name="one_approved_exemption", condition=Q(status="approved")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.unit_id} {self.get_status_display()}"

    @property
    def status_colour(self) -> str:
        return RequestStatus.colour_of(self.status)
