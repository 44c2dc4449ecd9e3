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


class CalendarYear(models.Model):
    """An administrator's word that a year's holiday schedule has been entered in full.

    Overrides list only the exceptions (holidays, 调休 working weekends), so the system cannot
    infer from them that a year is complete; until this says so, a year the chinese-calendar
    package does not cover counts weekends only and flags its deadlines as estimated.
    """

    year = models.PositiveSmallIntegerField("年份", unique=True)
    complete = models.BooleanField("全年安排已录入", default=False)
    note = models.CharField(
        "依据", max_length=200, blank=True, help_text="例如：国务院办公厅关于2027年部分节假日安排的通知"
    )

    class Meta:
        verbose_name = "节假日年度数据"
        verbose_name_plural = "节假日年度数据"
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}（{'已录入' if self.complete else '未完成'}）"
