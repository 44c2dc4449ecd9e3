"""The dispatch rule table: (category, place) → lead unit, most specific rule first.

Specificity: an exact sub-category beats its top-level category beats "any"; a street beats
its district beats "the whole city". Unknown jurisdiction for a territorial (属地) rule falls
back to the district government (兜底), and without a district to the dispatcher queue.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from hotline.choices import UnitKind
from hotline.models import Category, CategoryScope, Unit
from routing.models import DispatchRule, RuleTarget
from routing.places import PlaceMatch

_TTL = 60.0


@dataclass(frozen=True)
class Resolution:
    unit: Unit | None
    assist: tuple[Unit, ...]
    rule: DispatchRule | None
    reason: str


class RuleBook:
    """Active rules and the place → unit map, cached per process for a minute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded_at = -_TTL
        self.rules: list[DispatchRule] = []
        self.unit_by_place: dict[int, Unit] = {}

    def invalidate(self) -> None:
        self._loaded_at = -_TTL

    def ready(self) -> RuleBook:
        if time.monotonic() - self._loaded_at >= _TTL:
            with self._lock:
                self.rules = list(
                    DispatchRule.objects.filter(is_active=True)
                    .select_related("category", "place", "unit")
                    .prefetch_related("assist_units")
                )
                self.unit_by_place = {
                    u.place_id: u
                    for u in Unit.objects.filter(is_active=True, place__isnull=False).exclude(kind=UnitKind.COMMUNITY)
                }
                self._loaded_at = time.monotonic()
        return self

    def best_rule(self, category: Category, place: PlaceMatch) -> DispatchRule | None:
        street_id = place.street.id if place.street else None
        district_id = place.district.id if place.district else None
        best, best_key = None, None
        for rule in self.rules:
            if rule.category_id is None:
                cat = 0
            elif rule.category_id == category.pk:
                cat = 2
            elif rule.category_id == category.parent_id:
                cat = 1
            else:
                continue
            if rule.place_id is None:
                where = 0
            elif rule.place_id == street_id:
                where = 2
            elif rule.place_id == district_id:
                where = 1
            else:
                continue
            key = (cat, where, rule.pk)
            if best_key is None or key > best_key:
                best, best_key = rule, key
        return best

    def resolve(self, category: Category, place: PlaceMatch) -> Resolution:
        self.ready()
        rule = self.best_rule(category, place)
        target = (
            rule.target if rule else (RuleTarget.PLACE_STREET if category.scope == CategoryScope.TERRITORIAL else None)
        )
        assist = tuple(rule.assist_units.all()) if rule else ()
        label = f"规则“{rule.name}”" if rule else f"分类属性“{category.get_scope_display() or '未设'}”"
        if target == RuleTarget.UNIT:
            return Resolution(rule.unit, assist, rule, f"{label}：{category.name}由{rule.unit}主办")
        if target in (RuleTarget.PLACE_STREET, RuleTarget.PLACE_DISTRICT):
            street_unit = self.unit_by_place.get(place.street.id) if place.street else None
            district_unit = self.unit_by_place.get(place.district.id) if place.district else None
            if target == RuleTarget.PLACE_STREET and street_unit:
                return Resolution(
                    street_unit, assist, rule, f"{label}：{category.name}属地办理，地点在{place.street.name}"
                )
            if district_unit:
                why = "属地区政府办理" if target == RuleTarget.PLACE_DISTRICT else "街道不明，兜底派区政府"
                return Resolution(district_unit, assist, rule, f"{label}：{why}（{place.district.name}）")
            return Resolution(None, (), rule, f"{label}：需属地办理，但未识别到地点，转人工派单")
        return Resolution(None, (), rule, f"没有适用于“{category.name}”的分拨规则，转人工派单")


rules = RuleBook()
