"""The router end to end: decision records, the confidence gate, auto-dispatch and corrections."""

from __future__ import annotations

import pytest

from hotline.choices import TicketStatus
from hotline.models import Ticket
from routing.models import TrainingExample
from routing.services import ticket_dispatch_with_feedback, ticket_route, ticket_route_safely


@pytest.fixture
def low_threshold(settings):
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_THRESHOLD": 0.5}


def new_ticket(flow, **kw):
    data = {"category": None, "district": None, "street": None, "address": "", **kw}
    return flow.new(**data)


def test_confident_ticket_with_known_place_dispatches_itself(router, flow, low_threshold):
    ticket = new_ticket(
        flow, title="饭馆油烟", content="望京西园小区楼下饭馆油烟很大，排烟管道对着窗户", address="望京西园社区"
    )
    decision = ticket_route(ticket=ticket)
    ticket.refresh_from_db()
    assert decision.auto_dispatched is True
    assert ticket.status == TicketStatus.DISPATCHED and ticket.lead_unit == router.street_a
    assert ticket.category == router.category  # the classifier picked it
    assert decision.model_id == router.model_row.pk
    assert decision.rule.name == "油烟属地"
    assert decision.predictions[0]["category"] == "0602"
    assert any("油烟" in r["feature"] for r in decision.explanation)
    assert decision.place["street"] == "chaoyang-wangjing"
    # The place read from the address stays on the ticket (search, repeat calls, statistics).
    assert (ticket.district, ticket.street) == (router.chaoyang, router.wangjing)
    assert ticket.events.filter(kind="edited", payload__field="place").count() == 1
    dispatch_event = ticket.events.get(kind="dispatched")
    assert dispatch_event.actor.username == "router"


def test_below_the_threshold_waits_for_a_dispatcher_with_ranked_suggestions(router, flow, settings):
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_THRESHOLD": 1.01}
    ticket = new_ticket(flow, title="油烟", content="楼下饭馆油烟大", address="望京")
    decision = ticket_route(ticket=ticket)
    ticket.refresh_from_db()
    assert decision.auto_dispatched is False and ticket.status == TicketStatus.RECEIVED
    assert "低于自动派单阈值" in decision.hold_reason
    assert decision.suggestions[0]["unit"] == "chaoyang-wangjing"
    assert decision.suggestions[0]["reason"]
    assert len(decision.predictions) == 3


def _min_chars(settings, n: int) -> None:
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_MIN_CHARS": n}


def test_a_text_too_short_to_trust_waits_for_a_dispatcher_whatever_its_confidence(
    router, flow, low_threshold, settings
):
    from routing.services import _text_size

    ticket = new_ticket(
        flow, title="饭馆油烟", content="望京西园小区楼下饭馆油烟很大，排烟管道对着窗户", address="望京西园社区"
    )
    size = _text_size(ticket)
    assert size == 4 + 23  # spaces and nothing else left out
    _min_chars(settings, size + 1)
    decision = ticket_route(ticket=ticket)
    ticket.refresh_from_db()
    assert decision.auto_dispatched is False and ticket.status == TicketStatus.RECEIVED
    assert decision.hold_reason == f"诉求文字过短（{size}字），智能分类把握不足，请派单员确认"
    assert decision.suggestions[0]["unit"] == "chaoyang-wangjing"  # still offered to the dispatcher
    assert ticket.category == router.category  # and the category still filled in

    _min_chars(settings, size)  # long enough: exactly at the limit
    again = new_ticket(
        flow, title="饭馆油烟", content="望京西园小区楼下饭馆油烟很大，排烟管道对着窗户", address="望京西园社区"
    )
    assert ticket_route(ticket=again).auto_dispatched is True


def test_a_content_that_repeats_the_title_counts_once_and_a_chosen_category_is_never_held(
    router, flow, low_threshold, settings
):
    from routing.services import _text_size

    _min_chars(settings, 30)
    repeated = new_ticket(flow, title="楼下饭馆油烟很大", content=" 楼下饭馆油烟很大 ")
    assert _text_size(repeated) == 8
    assert "过短（8字）" in ticket_route(ticket=repeated).hold_reason
    # An operator who picked the category took the decision the rule distrusts the model with.
    chosen = new_ticket(flow, title="油烟", content="楼下饭馆油烟大", address="望京西园社区", category=router.category)
    decision = ticket_route(ticket=chosen)
    assert "过短" not in decision.hold_reason and decision.auto_dispatched is True


def test_utility_fault_goes_to_the_utility(router, flow, low_threshold):
    ticket = new_ticket(
        flow, title="暖气不热", content="家里暖气一点都不热，室温只有十五度，老人受冻", address="三里屯"
    )
    ticket_route(ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.lead_unit == router.utility


def test_territorial_ticket_without_a_place_is_held(router, flow, low_threshold):
    ticket = new_ticket(flow, title="油烟", content="楼下饭馆油烟很大，排烟管道对着窗户")
    decision = ticket_route(ticket=ticket)
    assert decision.auto_dispatched is False
    assert "未识别到地点" in decision.hold_reason
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RECEIVED


def test_ambiguous_place_is_held(router, flow, twin_streets, low_threshold):
    ticket = new_ticket(flow, title="油烟", content="新村街道一家饭馆油烟很大，排烟管道对着窗户")
    decision = ticket_route(ticket=ticket)
    assert decision.auto_dispatched is False
    assert "重名" in decision.hold_reason or "新村街道" in decision.place["ambiguous"]


def test_operator_category_is_respected(router, flow, low_threshold):
    ticket = new_ticket(
        flow,
        title="投诉",
        content="楼下饭馆油烟很大",
        category=router.noise,
        street=router.wangjing,
        district=router.chaoyang,
    )
    decision = ticket_route(ticket=ticket)
    ticket.refresh_from_db()
    assert decision.category_source == "operator"
    assert ticket.category == router.noise
    assert decision.suggestions[0]["category"] == "0601"


def test_without_a_model_everything_waits_and_nothing_breaks(city, flow):
    ticket = new_ticket(flow, title="油烟", content="饭馆油烟很大")
    decision = ticket_route(ticket=ticket)
    assert decision.model is None and decision.auto_dispatched is False
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RECEIVED


def test_a_crashing_router_never_loses_the_ticket(router, flow, monkeypatch):
    ticket = new_ticket(flow, title="油烟", content="饭馆油烟很大")

    def broken(*args, **kwargs):
        raise RuntimeError("model file corrupt")

    monkeypatch.setattr("routing.services.match_place", broken)
    assert ticket_route_safely(ticket=ticket) is None
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RECEIVED


def test_a_dispatchers_correction_becomes_a_training_example(router, flow, settings):
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_THRESHOLD": 1.01}
    ticket = new_ticket(flow, title="扰民", content="楼下饭馆油烟很大还很吵", address="望京")
    decision = ticket_route(ticket=ticket)
    predicted = decision.predictions[0]["category"]
    corrected = router.noise if predicted != "0601" else router.category
    ticket_dispatch_with_feedback(ticket=ticket, actor=router.dispatcher, lead_unit=router.street_b, category=corrected)
    example = TrainingExample.objects.get(ticket=ticket)
    assert example.source == TrainingExample.Source.CORRECTION
    assert example.label == corrected.code and example.predicted == predicted
    assert "饭馆" in example.text


def test_accepting_the_suggestion_is_recorded_as_confirmed(router, flow, settings):
    settings.HOTLINE = {**settings.HOTLINE, "AUTO_DISPATCH_THRESHOLD": 1.01}
    ticket = new_ticket(flow, title="油烟", content="楼下饭馆油烟很大，排烟管道对着窗户", address="望京西园社区")
    decision = ticket_route(ticket=ticket)
    ticket.refresh_from_db()
    ticket_dispatch_with_feedback(ticket=ticket, actor=router.dispatcher, lead_unit=router.street_a)
    assert decision.suggestions[0]["unit"] == "chaoyang-wangjing"
    assert TrainingExample.objects.get(ticket=ticket).source == TrainingExample.Source.CONFIRMED


def test_an_unloadable_model_degrades_to_manual_dispatch_and_shows_in_healthz(router, flow, client):
    from routing.models import ClassifierModel
    from routing.services import active_model

    ClassifierModel.objects.filter(pk=router.model_row.pk).update(blob=b"not a model")
    active_model.invalidate()
    ticket = new_ticket(flow, title="油烟", content="望京西园楼下饭馆油烟很大", address="望京西园社区")
    decision = ticket_route(ticket=ticket)
    assert decision.model is None and decision.auto_dispatched is False
    check = client.get("/healthz").json()["checks"]["routing"]
    assert check["ok"] is False and "无法加载" in check["error"]
