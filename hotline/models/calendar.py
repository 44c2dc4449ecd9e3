"""Local corrections to China's official working-day calendar."""

from __future__ import annotations

from django.db import models


class CalendarDay(models.Model):
    """An administrator's override for one date: a working day or a holiday, whatever the package says."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("工作日")
    name = models.CharField("说明", max_length=50, blank=True, help_text="例如：春节调休上班")

    class Meta:
        verbose_name = "工作日历调整"
        verbose_name_plural = "工作日历调整"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'工作日' if self.is_workday else '休息日'}"
