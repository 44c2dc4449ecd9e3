"""The dispatch rule table: (category, place) → lead unit, most specific rule first.

Specificity: an exact sub-category beats its top-level category beats "any"; a street beats
its district beats "the whole city". Unknown jurisdiction for a territorial (属地) rule falls
back to the district government (兜底), and without a district to the dispatcher queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline import refcache
from hotline.choices import UnitKind
from hotline.models import Category, CategoryScope, Unit
from routing.models import DispatchRule, RuleTarget
from routing.places import PlaceMatch


@dataclass(frozen=True)
class Resolution:
    unit: Unit | None
    assist: tuple[Unit, ...]
    rule: DispatchRule | None
    reason: str


def _unit(units: dict[int, Unit], pk: int) -> Unit:
    # A unit created after the unit book loaded (and before the rules did) is read on its own.
    return units.get(pk) or Unit.objects.get(pk=pk)


def _unit_order(unit: Unit) -> tuple[str, str]:
    return (unit.kind, unit.code)


class RuleBook(refcache.ReferenceCache):
    """Active rules and the place → unit map, cached per process; reloaded when any reference row
    changes (hotline.refcache) and every minute regardless. Units are the shared cached rows
    (refcache.units), so a routed dispatch finds a unit's parent without a query."""

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[DispatchRule] = []
        self.assists: dict[int, tuple[Unit, ...]] = {}
        self.unit_by_place: dict[int, Unit] = {}

    def _load(self) -> None:
        units = refcache.units.ready().by_id
        rules = list(DispatchRule.objects.filter(is_active=True))
        assists: dict[int, list[Unit]] = {rule.pk: [] for rule in rules}
        through = DispatchRule.assist_units.through
        for rule_id, unit_id in (
            through.objects.filter(dispatchrule__in=[r.pk for r in rules])
            .order_by("pk")
            .values_list("dispatchrule_id", "unit_id")
        ):
            assists[rule_id].append(_unit(units, unit_id))
        for rule in rules:
            if rule.unit_id is not None:
                rule.unit = _unit(units, rule.unit_id)
        self.rules = rules
        # Unit order (kind, code) as Unit.Meta.ordering gave the queries this replaces.
        self.assists = {pk: tuple(sorted(found, key=_unit_order)) for pk, found in assists.items()}
        self.unit_by_place = {
            u.place_id: u
            for u in sorted(units.values(), key=_unit_order)
            if u.is_active and u.place_id is not None and u.kind != UnitKind.COMMUNITY
        }

    def ready(self) -> RuleBook:
        return super().ready()

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
        assist = self.assists.get(rule.pk, ()) if rule else ()
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
