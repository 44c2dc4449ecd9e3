"""Rollup tables behind scores and dashboards, all derived from the ticket trail (TicketEvent).

Nothing here is a source of truth: `manage.py rollups_rebuild` recreates every row from the events,
and the incremental task recomputes whole days from the same queries (hotline/rollups.py).
"""

from __future__ import annotations

from django.db import models


class RollupQueue(models.Model):
    """Events not yet folded into the rollups. A database trigger adds one row per new TicketEvent.

    A trigger (not application code) fills it, in the inserting transaction, so an event committed
    late or bulk-inserted by the deadline sweep can never be skipped the way a high-water mark would.
    The row carries a copy of the event's columns that the rollups read (events are append-only, so
    the copy cannot go stale): a refresh moves its batch off the queue in one statement and never
    has to look the events up again, which is most of what folding a busy day costs.
    """

    event_id = models.BigIntegerField(primary_key=True)
    ticket_id = models.BigIntegerField()
    unit_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=24)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "待汇总事件"
        verbose_name_plural = "待汇总事件"

    def __str__(self) -> str:
        return str(self.event_id)


class BatchEvent(models.Model):
    """One refresh's batch: the queue rows it took, in a temporary table of its transaction.

    Unmanaged: ``hotline.rollups`` creates the table (PostgreSQL only). It has the field names of
    TicketEvent that the day queries use, so the incremental fold runs the very queries a rebuild
    runs over the whole trail.
    """

    id = models.BigIntegerField(primary_key=True)
    ticket = models.ForeignKey("hotline.Ticket", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    unit = models.ForeignKey(
        "hotline.Unit", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kind = models.CharField(max_length=24)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "rollup_batch_events"

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"


class _Counters(models.Model):
    """The per-unit counters; the day and month tables carry the same columns so sums stay exact."""

    received = models.PositiveIntegerField("派单量", default=0)
    replied = models.PositiveIntegerField("反馈量", default=0)
    replied_on_time = models.PositiveIntegerField("按时反馈", default=0)
    overdue = models.PositiveIntegerField("超期", default=0)
    reopened = models.PositiveIntegerField("重办", default=0)
    rated = models.PositiveIntegerField("有效回访", default=0)
    contacted = models.PositiveIntegerField("已联系", default=0)
    resolved = models.PositiveIntegerField("已解决", default=0)
    satisfied = models.PositiveIntegerField("满意", default=0)
    basic = models.PositiveIntegerField("基本满意", default=0)
    dissatisfied = models.PositiveIntegerField("不满意", default=0)
    invalid = models.PositiveIntegerField("无效回访", default=0)
    exempted = models.PositiveIntegerField("免责回访", default=0)

    COUNTERS = (
        "received",
        "replied",
        "replied_on_time",
        "overdue",
        "reopened",
        "rated",
        "contacted",
        "resolved",
        "satisfied",
        "basic",
        "dissatisfied",
        "invalid",
        "exempted",
    )

    class Meta:
        abstract = True


class UnitDayStat(_Counters):
    """unit × day × category: the grain everything else is summed from."""

    day = models.DateField()
    unit = models.ForeignKey("hotline.Unit", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("hotline.Category", null=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "单位日汇总"
        verbose_name_plural = "单位日汇总"
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "category"], name="unitdaystat_key", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="unitdaystat_unit_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id} {self.category_id}"


class UnitMonthStat(_Counters):
    """unit × month (× category, or the unit's total when ``total``): what score endpoints read."""

    month = models.DateField()
    unit = models.ForeignKey("hotline.Unit", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("hotline.Category", null=True, on_delete=models.CASCADE, related_name="+")
    total = models.BooleanField(default=False)
    # How many day rows this row sums: the incremental refresh applies day deltas to month rows
    # and drops a row when nothing is left under it, exactly as a rebuild would not create it.
    days = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "单位月汇总"
        verbose_name_plural = "单位月汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "unit", "category", "total"], name="unitmonthstat_key", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(fields=["month"], name="unitmonthstat_total_idx", condition=models.Q(total=True)),
            models.Index(fields=["unit", "month"], name="unitmonthstat_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.unit_id} {'合计' if self.total else self.category_id}"


class IntakeDayStat(models.Model):
    """Tickets received per day × category × place (all channels, dispatched or answered on the call)."""

    day = models.DateField()
    category = models.ForeignKey("hotline.Category", null=True, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey("routing.Place", null=True, on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey("routing.Place", null=True, on_delete=models.CASCADE, related_name="+")
    created = models.PositiveIntegerField("受理量", default=0)
    answered = models.PositiveIntegerField("直接答复", default=0)

    class Meta:
        verbose_name = "受理日汇总"
        verbose_name_plural = "受理日汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "category", "district", "street"], name="intakedaystat_key", nulls_distinct=False
            ),
        ]
        indexes = [models.Index(fields=["day"], name="intakedaystat_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.category_id} {self.street_id}: {self.created}"


class IntakeMonthStat(models.Model):
    """Month sums of IntakeDayStat: per category × street (``by_place``), and per category city-wide."""

    month = models.DateField()
    by_place = models.BooleanField(default=True)
    days = models.PositiveIntegerField(default=0)  # day rows summed (see UnitMonthStat.days)
    category = models.ForeignKey("hotline.Category", null=True, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey("routing.Place", null=True, on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey("routing.Place", null=True, on_delete=models.CASCADE, related_name="+")
    created = models.PositiveIntegerField("受理量", default=0)
    answered = models.PositiveIntegerField("直接答复", default=0)

    class Meta:
        verbose_name = "受理月汇总"
        verbose_name_plural = "受理月汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "by_place", "category", "district", "street"],
                name="intakemonthstat_key",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["by_place", "month"], name="intakemonthstat_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.category_id} {self.street_id}: {self.created}"


class HourStat(models.Model):
    """Arrivals per day × hour: city intake (unit empty) and lead dispatches per unit, for the heatmap."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    unit = models.ForeignKey("hotline.Unit", null=True, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "时段汇总"
        verbose_name_plural = "时段汇总"
        constraints = [
            models.UniqueConstraint(fields=["day", "hour", "unit"], name="hourstat_key", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="hourstat_unit_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.hour}时 {self.unit_id}: {self.count}"


class ProblemCandidate(models.Model):
    """每月一题 candidates: category × street with the largest growth over the previous month."""

    month = models.DateField()
    rank = models.PositiveSmallIntegerField()
    category = models.ForeignKey("hotline.Category", on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey("routing.Place", null=True, on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey("routing.Place", null=True, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField("本月")
    previous = models.PositiveIntegerField("上月")
    keywords = models.JSONField("高频词", default=list)

    class Meta:
        verbose_name = "每月一题候选"
        verbose_name_plural = "每月一题候选"
        ordering = ["month", "rank"]
        constraints = [models.UniqueConstraint(fields=["month", "rank"], name="problemcandidate_key")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} #{self.rank} {self.category_id}@{self.street_id}"

    @property
    def growth(self) -> int:
        return self.count - self.previous
