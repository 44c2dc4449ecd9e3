from hotline.models import Category, Unit
from routing.models import DispatchRule, RuleTarget
from routing.places import match_place
from routing.rules import rules


def resolve(category, **place):
    rules.invalidate()
    return rules.resolve(category, match_place(**place))


def test_territorial_rule_goes_to_the_street_of_the_place(router):
    r = resolve(router.category, address="望京西园社区")
    assert r.unit == router.street_a and r.rule.name == "油烟属地"
    assert "望京街道" in r.reason


def test_sector_rule_goes_to_its_unit_wherever_the_place(router):
    r = resolve(router.heating, address="三里屯")
    assert r.unit == router.utility


def test_most_specific_rule_wins(router):
    top = router.category.parent
    DispatchRule.objects.create(name="环保大类兜底", category=top, target=RuleTarget.UNIT, unit=router.bureau)
    DispatchRule.objects.create(
        name="三里屯油烟专班",
        category=router.category,
        place=router.sanlitun,
        target=RuleTarget.UNIT,
        unit=router.bureau,
    )
    # exact category + street beats exact category anywhere
    assert resolve(router.category, text="三里屯街道一家饭馆油烟").rule.name == "三里屯油烟专班"
    # elsewhere the plain territorial rule applies
    assert resolve(router.category, text="望京一家饭馆油烟").rule.name == "油烟属地"
    # a sibling without its own rule falls back to the top-level category rule
    sibling = Category.objects.create(code="0699", name="其他环境问题", parent=top)
    assert resolve(sibling, text="望京").rule.name == "环保大类兜底"


def test_unknown_street_falls_back_to_the_district_government(router):
    r = resolve(router.category, text="朝阳区有家饭馆油烟很大")
    assert r.unit == router.district
    assert "兜底" in r.reason


def test_unknown_place_goes_to_the_dispatcher_queue(router):
    r = resolve(router.category, text="有家饭馆油烟很大")
    assert r.unit is None
    assert "人工" in r.reason


def test_category_without_rule_uses_its_scope_or_the_queue(router):
    territorial = Category.objects.create(code="1002", name="邻里纠纷", scope="territorial")
    sector = Category.objects.create(code="0903", name="药品安全", scope="sector")
    assert resolve(territorial, text="望京").unit == router.street_a
    assert resolve(sector, text="望京").unit is None


def test_inactive_units_are_not_targets(router):
    Unit.objects.filter(pk=router.street_a.pk).update(is_active=False)
    assert resolve(router.category, text="望京饭馆油烟").unit == router.district
