"""Dashboard and score queries. All of them read the rollup tables, never tickets or events,
so a month or a year answers in milliseconds at a million tickets (bench/bench_stats.py).

The exceptions are the two lists a unit works from — its bad ratings and its exemptions — which
are short, per unit, and served by indexes on the ticket tables.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.db.models.functions import ExtractIsoWeekDay
from django.utils import timezone

from hotline.choices import Satisfaction, UnitKind
from hotline.errors import InvalidInput, NotFound
from hotline.models import (
    Callback,
    Category,
    Exemption,
    HourStat,
    IntakeMonthStat,
    ProblemCandidate,
    Unit,
    UnitMonthStat,
)
from hotline.rollups import day_start, month_start, next_month
from hotline.scores import (
    UnitTree,
    WeightBook,
    peer_group,
    rankings,
    score_city,
    score_units,
    scores_by_month,
)

WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


@dataclass(frozen=True)
class Period:
    """A calendar month or a calendar year (up to the current month), as the filters choose."""

    kind: str  # "month" or "year"
    first: dt.date
    months: tuple[dt.date, ...]

    @property
    def end(self) -> dt.date:
        return next_month(self.months[-1])

    @property
    def label(self) -> str:
        return f"{self.first:%Y年%m月}" if self.kind == "month" else f"{self.first:%Y年}"

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}" if self.kind == "month" else f"{self.first:%Y}"

    @property
    def last_month(self) -> dt.date:
        return self.months[-1]

    @classmethod
    def parse(cls, month: str | None = None, year: str | None = None) -> Period:
        today = timezone.localdate()
        # Both are checked: a year view with a malformed month is a client error, not a month ignored.
        if month and not re.fullmatch(r"(20\d\d)-(0[1-9]|1[0-2])", month.strip()):
            raise InvalidInput.field("month", "月份格式应为YYYY-MM，例如2026-10。")
        if year:
            if not re.fullmatch(r"20\d\d", year.strip()):
                raise InvalidInput.field("year", "年份格式应为YYYY，例如2026。")
            y = int(year)
            last = 12 if y < today.year else today.month
            return cls("year", dt.date(y, 1, 1), tuple(dt.date(y, m, 1) for m in range(1, last + 1)))
        if month:
            m = re.fullmatch(r"(20\d\d)-(0[1-9]|1[0-2])", month.strip())
            if not m:
                raise InvalidInput.field("month", "月份格式应为YYYY-MM，例如2026-10。")
            first = dt.date(int(m.group(1)), int(m.group(2)), 1)
            return cls("month", first, (first,))
        first = month_start(today)
        return cls("month", first, (first,))


class Stats:
    """One request's worth of dashboard data: loads the unit tree and weights once."""

    def __init__(self, period: Period, unit: Unit | None = None) -> None:
        self.period = period
        self.unit = unit
        self.tree = UnitTree()
        self.book = WeightBook()

    # -- scope ---------------------------------------------------------------------------------------
    @property
    def members(self) -> list[int] | None:
        """The units whose rows make up the view: None for the whole city."""
        if self.unit is None:
            return None
        return self.tree.members(self.unit)

    def _unit_rows(self, months=None):
        rows = UnitMonthStat.objects.filter(month__in=months or self.period.months)
        if self.members is not None:
            rows = rows.filter(unit_id__in=self.members)
        return rows

    # -- figures ---------------------------------------------------------------------------------------
    def summary(self) -> dict:
        if self.unit is None:
            s = score_city(self.period.months, book=self.book)
            created = IntakeMonthStat.objects.filter(by_place=False, month__in=self.period.months).aggregate(
                created=Sum("created"), answered=Sum("answered")
            )
            data = s.as_dict()
            data.update(created=created["created"] or 0, answered=created["answered"] or 0)
        else:
            data = score_units(self.period.months, [self.unit], tree=self.tree, book=self.book)[self.unit.pk].as_dict()
        data["weights"] = self.book.for_month(self.period.last_month).as_dict()
        return data

    def volume_trend(self) -> dict:
        if self.period.kind == "month":
            rows = HourStat.objects.filter(day__gte=self.period.first, day__lt=self.period.end)
            rows = rows.filter(unit__isnull=True) if self.members is None else rows.filter(unit_id__in=self.members)
            per_day = dict(rows.values_list("day").annotate(n=Sum("count")).values_list("day", "n"))
            days, day = [], self.period.first
            while day < self.period.end:
                days.append(day)
                day += dt.timedelta(days=1)
            return {"labels": [d.strftime("%m-%d") for d in days], "values": [per_day.get(d, 0) for d in days]}
        if self.members is None:
            rows = IntakeMonthStat.objects.filter(by_place=False, month__in=self.period.months)
            per_month = dict(rows.values_list("month").annotate(n=Sum("created")).values_list("month", "n"))
        else:
            rows = self._unit_rows().filter(total=True)
            per_month = dict(rows.values_list("month").annotate(n=Sum("received")).values_list("month", "n"))
        return {
            "labels": [m.strftime("%Y-%m") for m in self.period.months],
            "values": [per_month.get(m, 0) for m in self.period.months],
        }

    def rates_trend(self, span: int = 12) -> dict:
        months, m = [], self.period.last_month
        for _ in range(span):
            months.append(m)
            m = month_start(m - dt.timedelta(days=1))
        months.reverse()
        series: dict[str, list] = {"labels": [x.strftime("%Y-%m") for x in months]}
        keys = ("response_rate", "resolution_rate", "satisfaction_rate", "composite", "rated")
        for key in keys:
            series[key] = []
        members = None if self.unit is None else self.tree.members(self.unit)
        by_month = scores_by_month(months, book=self.book, unit_ids=members)
        scores = [by_month[x].as_dict() for x in months]
        for s in scores:
            for key in keys:
                series[key].append(s[key])
        return series

    def top_categories(self, limit: int = 10) -> list[dict]:
        if self.members is None:
            rows = IntakeMonthStat.objects.filter(by_place=False, month__in=self.period.months, category__isnull=False)
            counts = rows.values("category_id").annotate(n=Sum("created")).order_by("-n", "category_id")[:limit]
        else:
            rows = self._unit_rows().filter(total=False, category__isnull=False)
            counts = rows.values("category_id").annotate(n=Sum("received")).order_by("-n", "category_id")[:limit]
        counts = list(counts)
        names = {
            c.pk: c.full_name
            for c in Category.objects.filter(pk__in=[r["category_id"] for r in counts]).select_related("parent")
        }
        return [{"category": names.get(r["category_id"], "未分类"), "count": r["n"]} for r in counts if r["n"]]

    def district_table(self) -> list[dict]:
        districts = sorted(
            (u for u in self.tree.units.values() if u.kind == UnitKind.DISTRICT and u.is_active), key=lambda u: u.code
        )
        scores = score_units(self.period.months, districts, tree=self.tree, book=self.book)
        return [{"unit": u.pk, "code": u.code, "name": str(u), **scores[u.pk].as_dict()} for u in districts]

    def heatmap(self) -> dict:
        rows = HourStat.objects.filter(day__gte=self.period.first, day__lt=self.period.end)
        rows = rows.filter(unit__isnull=True) if self.members is None else rows.filter(unit_id__in=self.members)
        cells = (
            rows.annotate(dow=ExtractIsoWeekDay("day"))
            .values("dow", "hour")
            .annotate(n=Sum("count"))
            .values_list("dow", "hour", "n")
        )
        data = [[hour, dow - 1, n] for dow, hour, n in cells]
        return {
            "hours": [f"{h}时" for h in range(24)],
            "weekdays": WEEKDAYS,
            "cells": sorted(data),
            "max": max((c[2] for c in data), default=0),
        }

    def overdue_by_unit(self, limit: int = 15) -> list[dict]:
        rows = (
            self._unit_rows()
            .filter(total=True)
            .values("unit_id")
            .annotate(overdue=Sum("overdue"), received=Sum("received"), replied=Sum("replied"))
            .filter(overdue__gt=0)
            .order_by("-overdue", "unit_id")[:limit]
        )
        units = self.tree.units
        return [
            {
                "unit": r["unit_id"],
                "name": str(units[r["unit_id"]]) if r["unit_id"] in units else "",
                "overdue": r["overdue"],
                "received": r["received"],
            }
            for r in rows
        ]

    def problems(self) -> list[dict]:
        rows = ProblemCandidate.objects.filter(month=self.period.last_month).select_related(
            "category__parent", "street", "district"
        )
        return [
            {
                "rank": p.rank,
                "category": p.category.full_name,
                "place": "".join(x.name for x in (p.district, p.street) if x is not None),
                "count": p.count,
                "previous": p.previous,
                "growth": p.growth,
                "keywords": p.keywords,
            }
            for p in rows
        ]

    def ranking_table(self, group: str) -> list[dict]:
        return [
            {"unit": u.pk, "code": u.code, "name": str(u), "kind": u.get_kind_display(), **s.as_dict()}
            for u, s in rankings(self.period.months, group, tree=self.tree)
        ]

    def unit_rank(self) -> dict:
        """The unit's place among its peers this period."""
        assert self.unit is not None
        group = peer_group(self.unit)
        table = self.ranking_table(group)
        mine = next((row for row in table if row["unit"] == self.unit.pk), None)
        return {
            "group": group,
            "group_label": UnitKind(group).label if group in UnitKind.values else group,
            "rank": mine["rank"] if mine else None,
            "peers": mine["peers"] if mine else len(table),
            "ranked": bool(mine and mine["ranked"]),
        }

    # -- the unit's working lists ------------------------------------------------------------------------
    def bad_ratings(self, limit: int = 100):
        """Callbacks this period that said unresolved or dissatisfied, on tickets the unit leads."""
        assert self.unit is not None
        start, end = day_start(self.period.first), day_start(self.period.end)
        return (
            Callback.objects.filter(ticket__lead_unit=self.unit, valid=True, created_at__gte=start, created_at__lt=end)
            .filter(Q(resolved=False) | Q(satisfaction=Satisfaction.DISSATISFIED))
            .select_related("ticket")
            .order_by("-created_at")[:limit]
        )

    def exemptions(self, limit: int = 100):
        """The unit's exemption requests this period (and any still pending), newest first."""
        assert self.unit is not None
        start, end = day_start(self.period.first), day_start(self.period.end)
        return (
            Exemption.objects.filter(unit=self.unit)
            .filter(Q(requested_at__gte=start, requested_at__lt=end) | Q(status="pending"))
            .select_related("ticket", "requested_by", "decided_by")
            .order_by("-requested_at")[:limit]
        )


# --- who may look at which unit's figures ---------------------------------------------------------------


def scoped_unit(user, unit_id: str | int | None, tree: UnitTree | None = None) -> Unit | None:
    """The unit a request's figures are about. Hub roles choose any unit or the whole city (None);
    unit staff see their own unit and the units under it, and anything else is 404, as for tickets."""
    if unit_id in (None, ""):
        if user.is_hub:
            return None
        if not user.is_unit_staff or user.unit_id is None:
            raise NotFound("单位不存在或无权查看。")
        return user.unit
    try:
        pk = int(unit_id)
    except (TypeError, ValueError) as exc:
        raise NotFound("单位不存在或无权查看。") from exc
    if not user.is_hub:
        tree = tree or UnitTree()
        if user.unit_id is None or pk not in tree.subtree(user.unit_id):
            raise NotFound("单位不存在或无权查看。")
    unit = Unit.objects.filter(pk=pk).first()
    if unit is None:
        raise NotFound("单位不存在或无权查看。")
    return unit


# --- the same figures as tables, for CSV/Excel export ------------------------------------------------

SCORE_COLUMNS = [
    ("volume", "派单量"),
    ("rated", "有效回访"),
    ("response_rate", "响应率%"),
    ("resolution_rate", "解决率%"),
    ("satisfaction_rate", "满意率%"),
    ("composite", "综合得分"),
    ("on_time_rate", "按时反馈率%"),
    ("overdue", "超期"),
    ("reopened", "重办"),
    ("invalid_callbacks", "无效回访"),
    ("exempted", "免责"),
]


def figure_table(stats: Stats, figure: str) -> tuple[list[str], list[list]]:
    """Headers and rows of one dashboard figure (none of them holds personal data)."""
    if figure == "summary":
        data = stats.summary()
        return [label for _, label in SCORE_COLUMNS], [[data[key] for key, _ in SCORE_COLUMNS]]
    if figure == "volume":
        data = stats.volume_trend()
        return ["日期" if stats.period.kind == "month" else "月份", "件数"], [
            list(r) for r in zip(data["labels"], data["values"], strict=True)
        ]
    if figure == "rates":
        data = stats.rates_trend()
        keys = ["rated", "response_rate", "resolution_rate", "satisfaction_rate", "composite"]
        rows = [[label, *(data[k][i] for k in keys)] for i, label in enumerate(data["labels"])]
        return ["月份", "有效回访", "响应率%", "解决率%", "满意率%", "综合得分"], rows
    if figure == "categories":
        return ["分类", "件数"], [[r["category"], r["count"]] for r in stats.top_categories(limit=100)]
    if figure == "heatmap":
        data = stats.heatmap()
        grid = [[0] * 24 for _ in range(7)]
        for hour, dow, n in data["cells"]:
            grid[dow][hour] = n
        return ["星期", *data["hours"]], [[WEEKDAYS[d], *grid[d]] for d in range(7)]
    if figure == "overdue":
        return ["单位", "超期", "派单量"], [
            [r["name"], r["overdue"], r["received"]] for r in stats.overdue_by_unit(limit=1000)
        ]
    if figure == "districts":
        return ["区", *(label for _, label in SCORE_COLUMNS)], [
            [r["name"], *(r[key] for key, _ in SCORE_COLUMNS)] for r in stats.district_table()
        ]
    if figure == "problems":
        return ["排名", "分类", "地点", "本月", "上月", "增长", "高频词"], [
            [p["rank"], p["category"], p["place"], p["count"], p["previous"], p["growth"], "、".join(p["keywords"])]
            for p in stats.problems()
        ]
    raise KeyError(figure)


FIGURE_LABELS = {
    "summary": "考核汇总",
    "volume": "诉求量趋势",
    "rates": "三率趋势",
    "categories": "分类排行",
    "heatmap": "时段热力图",
    "overdue": "超期单位",
    "districts": "各区汇总",
    "problems": "每月一题候选",
}
