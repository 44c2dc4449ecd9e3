"""The monthly assessment (domain §6): 响应率, 解决率, 满意率, the composite, and peer rankings.

Everything is computed on read from the month rollups (hotline/rollups.py) with the ScoreWeights
version in force for each month, so a new version that starts in the past recomputes those months,
and the same counters always give the same score.

Per unit and month, over valid callbacks that are not exempted (``rated``):
    响应率 = contacted / rated          解决率 = resolved / rated
    满意率 = (satisfied + k × basic) / rated
    composite = 100 × (w_response × 响应率 + w_resolution × 解决率 + w_satisfaction × 满意率)
Over several months (a year), each month is scored with its own version and the results are
combined weighted by ``rated``, which reduces to the formula above when one version applies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.conf import settings
from django.db.models import Sum

from hotline.choices import UnitKind
from hotline.models import ScoreWeights, Unit, UnitDayStat, UnitMonthStat

COUNTERS = UnitDayStat.COUNTERS
ZERO = Decimal(0)
# Peer groups that are ranked, in the order the rankings page shows them.
RANKED_GROUPS = (UnitKind.STREET, UnitKind.DISTRICT, UnitKind.BUREAU, UnitKind.ENTERPRISE)


@dataclass(frozen=True)
class Weights:
    response: Decimal
    resolution: Decimal
    satisfaction: Decimal
    basic_factor: Decimal
    min_volume: int
    effective_from: dt.date | None = None  # None: the settings' defaults, no version saved yet

    @classmethod
    def defaults(cls) -> Weights:
        d = settings.HOTLINE["SCORE_DEFAULTS"]
        return cls(
            response=Decimal(str(d["response"])),
            resolution=Decimal(str(d["resolution"])),
            satisfaction=Decimal(str(d["satisfaction"])),
            basic_factor=Decimal(str(d["basic_factor"])),
            min_volume=int(d["min_volume"]),
        )

    @classmethod
    def of(cls, version: ScoreWeights) -> Weights:
        return cls(
            response=version.response,
            resolution=version.resolution,
            satisfaction=version.satisfaction,
            basic_factor=version.basic_factor,
            min_volume=version.min_volume,
            effective_from=version.effective_from,
        )

    def as_dict(self) -> dict:
        return {
            "response": float(self.response),
            "resolution": float(self.resolution),
            "satisfaction": float(self.satisfaction),
            "k": float(self.basic_factor),
            "min_volume": self.min_volume,
            "effective_from": self.effective_from.strftime("%Y-%m") if self.effective_from else None,
        }


class WeightBook:
    """All versions, loaded once per request: which weights apply to a month."""

    def __init__(self) -> None:
        self.versions = [Weights.of(v) for v in ScoreWeights.objects.order_by("effective_from")]
        self.default = Weights.defaults()

    def for_month(self, month: dt.date) -> Weights:
        chosen = self.default
        for version in self.versions:
            if version.effective_from <= month:
                chosen = version
            else:
                break
        return chosen


def empty_counters() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def add_counters(into: dict[str, int], other) -> dict[str, int]:
    get = other.get if isinstance(other, dict) else (lambda c, _d=None: getattr(other, c))
    for c in COUNTERS:
        into[c] += get(c, 0) or 0
    return into


def _ratio(num: Decimal | int, den: int) -> Decimal | None:
    return Decimal(num) / Decimal(den) if den else None


def _pct(value: Decimal | None, places: str = "0.01") -> float | None:
    """A rate as a percentage for display and JSON (half-up, as people round by hand)."""
    if value is None:
        return None
    return float((value * 100).quantize(Decimal(places), rounding=ROUND_HALF_UP))


@dataclass
class Score:
    """One unit's (or a subtree's, or the city's) assessment over a period."""

    counters: dict[str, int]
    response: Decimal | None
    resolution: Decimal | None
    satisfaction: Decimal | None
    composite: Decimal | None
    min_volume: int
    rank: int | None = None
    peers: int = 0

    @property
    def rated(self) -> int:
        return self.counters["rated"]

    @property
    def ranked(self) -> bool:
        """Enough valid callbacks to be ranked: one rating cannot top the table."""
        return self.composite is not None and self.rated >= self.min_volume

    @cached_property
    def on_time_rate(self) -> Decimal | None:
        return _ratio(self.counters["replied_on_time"], self.counters["replied"])

    def as_dict(self) -> dict:
        c = self.counters
        return {
            "volume": c["received"],
            "rated": c["rated"],
            "response_rate": _pct(self.response),
            "resolution_rate": _pct(self.resolution),
            "satisfaction_rate": _pct(self.satisfaction),
            "composite": float(self.composite.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
            if self.composite is not None
            else None,
            "on_time_rate": _pct(self.on_time_rate),
            "replied": c["replied"],
            "overdue": c["overdue"],
            "reopened": c["reopened"],
            "invalid_callbacks": c["invalid"],
            "exempted": c["exempted"],
            "satisfied": c["satisfied"],
            "basic": c["basic"],
            "dissatisfied": c["dissatisfied"],
            "ranked": self.ranked,
            "min_volume": self.min_volume,
            "rank": self.rank,
            "peers": self.peers,
        }


def score(monthly: Sequence[tuple[Weights, dict[str, int]]]) -> Score:
    """Score a period from (weights, counters) per month. The heart of the assessment."""
    total = empty_counters()
    satisfaction_num = ZERO
    composite_num = ZERO
    for weights, counters in monthly:
        add_counters(total, counters)
        rated = counters["rated"]
        if not rated:
            continue
        response = Decimal(counters["contacted"]) / rated
        resolution = Decimal(counters["resolved"]) / rated
        month_satisfaction = (counters["satisfied"] + weights.basic_factor * counters["basic"]) / rated
        satisfaction_num += month_satisfaction * rated
        composite = 100 * (
            weights.response * response + weights.resolution * resolution + weights.satisfaction * month_satisfaction
        )
        composite_num += composite * rated
    rated = total["rated"]
    last = monthly[-1][0] if monthly else Weights.defaults()
    return Score(
        counters=total,
        response=_ratio(total["contacted"], rated),
        resolution=_ratio(total["resolved"], rated),
        satisfaction=satisfaction_num / rated if rated else None,
        composite=composite_num / rated if rated else None,
        min_volume=last.min_volume,
    )


# --- reading the rollups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRef:
    """What scoring needs of a unit. Plain tuples, not model instances: a ranking touches every
    unit of the city on each request, and building ~700 model objects cost more than the query."""

    pk: int
    code: str
    name: str
    short_name: str
    kind: str
    parent_id: int | None
    is_active: bool

    FIELDS = ("pk", "code", "name", "short_name", "kind", "parent_id", "is_active")

    def __str__(self) -> str:
        return self.short_name or self.name

    def get_kind_display(self) -> str:
        return UnitKind(self.kind).label


class UnitTree:
    """The unit hierarchy in memory (a few hundred rows): parents aggregate their children."""

    def __init__(self) -> None:
        self.units = {row[0]: UnitRef(*row) for row in Unit.objects.values_list(*UnitRef.FIELDS)}
        self.children: dict[int, list[int]] = defaultdict(list)
        for u in self.units.values():
            if u.parent_id:
                self.children[u.parent_id].append(u.pk)

    def subtree(self, unit_id: int) -> list[int]:
        out, stack = [], [unit_id]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self.children.get(current, ()))
        return out

    def aggregates(self, unit: Unit | UnitRef) -> bool:
        """Districts (and the hub) are scored on their whole subtree. A street is scored on its own
        tickets: sub-dispatch to a community leaves the street the accountable lead unit."""
        return unit.kind in (UnitKind.DISTRICT, UnitKind.HUB)

    def members(self, unit: Unit | UnitRef) -> list[int]:
        return self.subtree(unit.pk) if self.aggregates(unit) else [unit.pk]


SUMS = {c: Sum(c) for c in COUNTERS}


def version_groups(months: Sequence[dt.date], book: WeightBook) -> list[tuple[Weights, list[dt.date]]]:
    """The period's months grouped by the weights version in force, oldest first.

    Every term of the composite is linear in the counters (composite × rated = 100 × (w1·contacted
    + w2·resolved + w3·(satisfied + k·basic))), so months under one version can be summed before
    scoring: one SQL sum per version instead of one per month.
    """
    groups: dict[Weights, list[dt.date]] = {}
    for month in sorted(months):
        groups.setdefault(book.for_month(month), []).append(month)
    return list(groups.items())


def group_totals(
    months: Sequence[dt.date], book: WeightBook, unit_ids: Iterable[int] | None = None
) -> list[tuple[Weights, dict[int, dict]]]:
    """Per version group: {unit_id: summed counters} from the month rollup's per-unit totals."""
    out = []
    for weights, group in version_groups(months, book):
        rows = UnitMonthStat.objects.filter(total=True, month__in=group)
        if unit_ids is not None:
            rows = rows.filter(unit_id__in=list(unit_ids))
        out.append((weights, {r["unit_id"]: r for r in rows.values("unit_id").annotate(**SUMS).order_by()}))
    return out


def score_units(
    months: Sequence[dt.date],
    units: Iterable[Unit],
    *,
    tree: UnitTree | None = None,
    book: WeightBook | None = None,
    totals: list | None = None,
) -> dict[int, Score]:
    """Score each unit over the months (a district's subtree summed before scoring)."""
    tree = tree or UnitTree()
    book = book or WeightBook()
    units = list(units)
    if totals is None:
        totals = group_totals(months, book, {m for u in units for m in tree.members(u)})
    scores = {}
    for unit in units:
        members = tree.members(unit)
        monthly = []
        for weights, by_unit in totals:
            counters = empty_counters()
            for member in members:
                row = by_unit.get(member)
                if row:
                    add_counters(counters, row)
            monthly.append((weights, counters))
        scores[unit.pk] = score(monthly)
    return scores


def score_rows(months: Sequence[dt.date], *, book: WeightBook, unit_ids: Iterable[int] | None = None) -> Score:
    """One score for the whole city (or a set of units) over the months."""
    monthly = []
    for weights, group in version_groups(months, book):
        rows = UnitMonthStat.objects.filter(total=True, month__in=group)
        if unit_ids is not None:
            rows = rows.filter(unit_id__in=list(unit_ids))
        sums = rows.aggregate(**SUMS)
        monthly.append((weights, {c: sums[c] or 0 for c in COUNTERS}))
    return score(monthly)


def score_city(months: Sequence[dt.date], *, book: WeightBook | None = None) -> Score:
    return score_rows(months, book=book or WeightBook())


def scores_by_month(
    months: Sequence[dt.date], *, book: WeightBook, unit_ids: Iterable[int] | None = None
) -> dict[dt.date, Score]:
    """A score per month (for trends), from one grouped query."""
    rows = UnitMonthStat.objects.filter(total=True, month__in=months)
    if unit_ids is not None:
        rows = rows.filter(unit_id__in=list(unit_ids))
    sums = {r["month"]: r for r in rows.values("month").annotate(**SUMS).order_by()}
    return {m: score([(book.for_month(m), {c: (sums.get(m) or {}).get(c) or 0 for c in COUNTERS})]) for m in months}


def peer_group(unit: Unit | UnitRef) -> str:
    return UnitKind.peer_group(unit.kind)


def rankings(months: Sequence[dt.date], group: str, *, tree: UnitTree | None = None) -> list[tuple[UnitRef, Score]]:
    """One peer group's table: ranked units by composite (ties share a rank), then the unranked."""
    tree = tree or UnitTree()
    peers = [u for u in tree.units.values() if u.is_active and peer_group(u) == group]
    scores = score_units(months, peers, tree=tree)
    ranked = sorted(
        (u for u in peers if scores[u.pk].ranked),
        key=lambda u: (-scores[u.pk].composite, -scores[u.pk].rated, u.code),
    )
    previous, rank = None, 0
    for position, unit in enumerate(ranked, start=1):
        s = scores[unit.pk]
        if s.composite != previous:
            rank, previous = position, s.composite
        s.rank, s.peers = rank, len(ranked)
    unranked = sorted(
        (u for u in peers if not scores[u.pk].ranked), key=lambda u: (-scores[u.pk].counters["received"], u.code)
    )
    for unit in unranked:
        scores[unit.pk].peers = len(ranked)
    return [(u, scores[u.pk]) for u in ranked + unranked]
