"""The demo's score history: `make run` must come up with trends and rankings to look at."""

from __future__ import annotations

from hotline.demo.loader import load_accounts, load_history, load_reference, load_scores
from hotline.models import Exemption, ScoreWeights, Ticket, UnitMonthStat
from hotline.stats import Period, Stats


def test_history_and_scores_load_and_rebuild(db):
    quiet = lambda *_: None  # noqa: E731
    load_reference(quiet)
    load_accounts(quiet)
    made = load_history(quiet, per_month=6)
    assert made > 40 and Ticket.objects.filter(status="closed").count() == made
    assert load_history(quiet, per_month=6) == 0  # idempotent: a second `make run` adds nothing
    load_scores(quiet)
    assert ScoreWeights.objects.count() == 1 and not Exemption.objects.exists()  # no review tickets here
    months = set(UnitMonthStat.objects.filter(total=True).values_list("month", flat=True))
    assert len(months) >= 11  # replies to last month's calls can land in this one
    trend = Stats(Period.parse()).rates_trend()
    assert sum(1 for v in trend["rated"] if v) >= 10  # the trend has something to draw
