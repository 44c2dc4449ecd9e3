"""The 三率, the composite and the rankings, on hand-computed fixtures (domain §6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from hotline.choices import UnitKind
from hotline.models import ScoreWeights, Unit, UnitMonthStat
from hotline.scores import UnitTree, WeightBook, Weights, empty_counters, rankings, score, score_units

SEP, OCT, NOV = dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)
DEFAULT = Weights(Decimal("0.1"), Decimal("0.5"), Decimal("0.4"), Decimal("0.9"), 10)


def counters(**kw) -> dict[str, int]:
    c = empty_counters()
    c.update(kw)
    return c


def month_row(unit: Unit, month: dt.date, **kw) -> UnitMonthStat:
    return UnitMonthStat.objects.create(unit=unit, month=month, total=True, **kw)


def test_one_month_by_hand():
    # 20 valid ratings: 18 contacted, 15 resolved, 12 满意 + 5 基本满意 + 3 不满意.
    s = score([(DEFAULT, counters(rated=20, contacted=18, resolved=15, satisfied=12, basic=5, dissatisfied=3))])
    assert s.response == Decimal("0.9")
    assert s.resolution == Decimal("0.75")
    assert s.satisfaction == Decimal("0.825")  # (12 + 0.9 × 5) / 20
    assert s.composite == Decimal("79.5")  # 100 × (0.1×0.9 + 0.5×0.75 + 0.4×0.825) = 9 + 37.5 + 33
    d = s.as_dict()
    assert (d["response_rate"], d["resolution_rate"], d["satisfaction_rate"], d["composite"]) == (
        90.0,
        75.0,
        82.5,
        79.5,
    )


def test_k_changes_only_the_satisfaction_rate():
    c = counters(rated=10, contacted=10, resolved=10, satisfied=5, basic=5)
    strict = Weights(Decimal("0.1"), Decimal("0.5"), Decimal("0.4"), Decimal("0.6"), 10)
    assert score([(DEFAULT, c)]).satisfaction == Decimal("0.95")
    assert score([(strict, c)]).satisfaction == Decimal("0.8")
    assert score([(strict, c)]).composite == Decimal("92")  # 10 + 50 + 0.4 × 80


def test_no_valid_rating_means_no_rate_and_no_rank():
    s = score([(DEFAULT, counters(received=7, invalid=2, exempted=1))])
    assert (s.response, s.resolution, s.satisfaction, s.composite) == (None, None, None, None)
    assert not s.ranked
    assert s.as_dict()["volume"] == 7


def test_on_time_rate():
    s = score([(DEFAULT, counters(replied=8, replied_on_time=6))])
    assert s.on_time_rate == Decimal("0.75")
    assert s.as_dict()["on_time_rate"] == 75.0


def test_a_weight_change_between_months_scores_each_month_with_its_own_version(db):
    ScoreWeights.objects.create(
        effective_from=SEP,
        response=Decimal("0.1"),
        resolution=Decimal("0.5"),
        satisfaction=Decimal("0.4"),
        basic_factor=Decimal("0.9"),
        min_volume=10,
    )
    ScoreWeights.objects.create(
        effective_from=OCT,
        response=Decimal("0.2"),
        resolution=Decimal("0.4"),
        satisfaction=Decimal("0.4"),
        basic_factor=Decimal("0.8"),
        min_volume=5,
    )
    book = WeightBook()
    assert book.for_month(dt.date(2026, 8, 1)).effective_from is None  # before any version: defaults
    assert book.for_month(SEP).resolution == Decimal("0.5")
    assert book.for_month(NOV).resolution == Decimal("0.4")  # a version lasts until the next one

    sep = counters(rated=10, contacted=10, resolved=5, satisfied=5, basic=5)  # sat (5+4.5)/10 = 0.95
    octo = counters(rated=30, contacted=15, resolved=30, satisfied=20, basic=10)  # sat (20+8)/30
    s_sep = score([(book.for_month(SEP), sep)])
    s_oct = score([(book.for_month(OCT), octo)])
    assert s_sep.composite == Decimal("73")  # 10 + 25 + 38
    # 100 × (0.2 × 0.5 + 0.4 × 1 + 0.4 × 28/30) = 10 + 40 + 37.333…
    assert s_oct.composite.quantize(Decimal("0.0001")) == Decimal("87.3333")
    assert s_oct.min_volume == 5

    # A quarter combines the months weighted by their valid ratings: (73 × 10 + 87.333… × 30) / 40.
    both = score([(book.for_month(SEP), sep), (book.for_month(OCT), octo)])
    assert both.composite.quantize(Decimal("0.0001")) == Decimal("83.7500")
    assert both.rated == 40 and both.response == Decimal("25") / 40
    assert both.satisfaction == (Decimal("9.5") + Decimal(28)) / 40


def test_a_version_starting_in_the_past_recomputes_that_month(city):
    month_row(city.street_a, SEP, rated=10, contacted=10, resolved=10, satisfied=10)
    month_row(city.street_b, SEP, rated=10, contacted=0, resolved=10, satisfied=10)
    before = score_units([SEP], [city.street_b])[city.street_b.pk].composite
    assert before == Decimal("90")
    ScoreWeights.objects.create(
        effective_from=SEP,
        response=Decimal("0.3"),
        resolution=Decimal("0.3"),
        satisfaction=Decimal("0.4"),
        basic_factor=Decimal("0.9"),
        min_volume=10,
    )
    assert score_units([SEP], [city.street_b])[city.street_b.pk].composite == Decimal("70")


def test_weights_must_sum_to_one_and_start_on_the_first(db):
    bad = ScoreWeights(
        effective_from=dt.date(2026, 9, 15),
        response=Decimal("0.2"),
        resolution=Decimal("0.5"),
        satisfaction=Decimal("0.4"),
        basic_factor=Decimal("0.9"),
    )
    with pytest.raises(ValidationError) as e:
        bad.full_clean()
    assert set(e.value.message_dict) == {"effective_from", "satisfaction"}


def test_rankings_apply_the_minimum_volume_and_share_ties(city):
    tiny = Unit.objects.create(code="tiny", name="小街道", kind=UnitKind.TOWNSHIP, parent=city.district)
    tied = Unit.objects.create(code="tied", name="并列街道", kind=UnitKind.STREET, parent=city.district)
    month_row(city.street_a, OCT, received=40, rated=20, contacted=20, resolved=18, satisfied=18, basic=2)
    month_row(city.street_b, OCT, received=30, rated=10, contacted=10, resolved=10, satisfied=10)
    month_row(tied, OCT, received=12, rated=10, contacted=10, resolved=10, satisfied=10)
    month_row(tiny, OCT, received=1, rated=1, contacted=1, resolved=1, satisfied=1)  # perfect, but one rating
    month_row(city.bureau, OCT, received=50, rated=50, contacted=50, resolved=50, satisfied=50)

    table = rankings([OCT], UnitKind.STREET)
    names = [(u.code, s.rank, s.ranked) for u, s in table]
    # street_b and tied both score 100 and share rank 1 (more ratings first); street_a is third.
    assert names[:3] == [("chaoyang-sanlitun", 1, True), ("tied", 1, True), ("chaoyang-wangjing", 3, True)]
    assert ("tiny", None, False) in names  # a township is a street's peer, but below the minimum
    assert "zjw" not in [u.code for u, _ in table]  # a bureau is not a street's peer
    assert all(s.peers == 3 for _, s in table)
    a = dict((u.code, s) for u, s in table)["chaoyang-wangjing"]
    # 100 × (0.1 × 1 + 0.5 × 0.9 + 0.4 × (18 + 1.8)/20) = 10 + 45 + 39.6
    assert a.composite == Decimal("94.6")

    # The minimum is a versioned setting too.
    ScoreWeights.objects.create(
        effective_from=OCT,
        response=Decimal("0.1"),
        resolution=Decimal("0.5"),
        satisfaction=Decimal("0.4"),
        basic_factor=Decimal("0.9"),
        min_volume=1,
    )
    table = rankings([OCT], UnitKind.STREET)
    assert [(u.code, s.rank) for u, s in table][:3] == [("chaoyang-sanlitun", 1), ("tied", 1), ("tiny", 1)]


def test_districts_aggregate_their_children_before_scoring(city):
    month_row(city.street_a, OCT, received=10, rated=10, contacted=10, resolved=10, satisfied=10)
    month_row(city.street_b, OCT, received=10, rated=10, contacted=0, resolved=0, dissatisfied=10)
    month_row(city.district, OCT, received=2)
    tree = UnitTree()
    s = score_units([OCT], [city.district], tree=tree)[city.district.pk]
    assert s.counters["received"] == 22 and s.rated == 20
    assert (s.response, s.resolution) == (Decimal("0.5"), Decimal("0.5"))
    assert s.composite == Decimal("50")  # the mean of 100 and 0, not of the two composites' ranks
    street = score_units([OCT], [city.street_a], tree=tree)[city.street_a.pk]
    assert street.counters["received"] == 10  # a street is scored on its own tickets
