"""Routing a ticket: category, place, responsible unit, and auto-dispatch only when sure.

Every decision is stored with the model version, the keywords that drove it, the place
match and the rule that fired, so a dispatcher can see why and correct it. Corrections
become labelled training examples for the next train_router run.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from hotline import services as hotline_services
from hotline.choices import EventKind, Role, TicketStatus
from hotline.errors import DomainError
from hotline.models import Category, Ticket, Unit, User
from hotline.services.events import event_record
from routing.classifier import KeywordClassifier
from routing.models import ClassifierModel, RoutingDecision, TrainingExample
from routing.places import PlaceMatch, gazetteer, match_place
from routing.rules import rules
from routing.segmentation import tokens

logger = logging.getLogger(__name__)
ROUTER_USERNAME = "router"


@dataclass
class LoadedModel:
    row_id: int
    version: int
    classifier: KeywordClassifier


class ActiveModel:
    """The active classifier, loaded once per process and swapped when another version is activated."""

    CHECK_EVERY = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._checked_at = -self.CHECK_EVERY
        self.error = ""

    def invalidate(self) -> None:
        self._checked_at = -self.CHECK_EVERY

    def get(self) -> LoadedModel | None:
        if time.monotonic() - self._checked_at < self.CHECK_EVERY:
            return self._loaded
        with self._lock:
            active = ClassifierModel.objects.filter(is_active=True).values_list("id", "version").first()
            if active is None:
                self._loaded, self.error = None, "没有启用的分类模型"
            elif self._loaded is None or self._loaded.row_id != active[0]:
                blob = ClassifierModel.objects.values_list("blob", flat=True).get(pk=active[0])
                try:
                    self._loaded = LoadedModel(active[0], active[1], KeywordClassifier.from_bytes(bytes(blob)))
                    self.error = ""
                except Exception as exc:
                    # An artefact from an older release (or a damaged one) must not take the server down:
                    # tickets simply wait for a dispatcher until someone retrains (train_router --activate).
                    logger.error("routing model v%s cannot be loaded: %s", active[1], exc)
                    self._loaded, self.error = None, f"模型 v{active[1]} 无法加载：{exc}"
            self._checked_at = time.monotonic()
        return self._loaded


active_model = ActiveModel()


def router_user() -> User:
    """The system account that auto-dispatches (it cannot log in; events name it as the actor)."""
    user, _ = User.objects.get_or_create(
        username=ROUTER_USERNAME,
        defaults={"role": Role.DISPATCHER, "display_name": "智能分拨", "is_active": False},
    )
    return user


def _place_for(ticket: Ticket) -> PlaceMatch:
    """The operator's chosen place wins; otherwise read it from the address and the text."""
    found = match_place(address=ticket.address, text=f"{ticket.title} {ticket.content}")
    if ticket.street_id or ticket.district_id:
        gazetteer.ready()
        chosen = PlaceMatch(
            district=gazetteer.nodes.get(ticket.district_id),
            street=gazetteer.nodes.get(ticket.street_id),
            community=gazetteer.nodes.get(ticket.community_id),
            matched=[("（话务员选择）", ticket.place_name, "受理")],
        )
        return chosen if chosen.street or not found.street else found
    return found


def _suggest(ranked: list[tuple[Category, float]], place: PlaceMatch):
    suggestions, first_rule, seen = [], None, set()
    for rank, (category, score) in enumerate(ranked):
        resolution = rules.resolve(category, place)
        if rank == 0:
            first_rule = resolution
        if resolution.unit is None or resolution.unit.pk in seen:
            continue
        seen.add(resolution.unit.pk)
        suggestions.append(
            {
                "unit": resolution.unit.code,
                "name": str(resolution.unit),
                "score": round(score, 4),
                "category": category.code,
                "reason": resolution.reason,
                "assist": [u.code for u in resolution.assist],
            }
        )
    return suggestions, first_rule


def _record_place(ticket: Ticket, place: PlaceMatch) -> None:
    """Keep the place read from the address on the ticket: search by street, the same-street repeat
    check and the place statistics all need it, not only this decision."""
    fields = {
        "district_id": place.district.id if place.district else None,
        "street_id": place.street.id if place.street else None,
        "community_id": place.community.id if place.community else None,
    }
    # Only if nobody set a place meanwhile: an operator's choice always wins.
    if Ticket.objects.filter(pk=ticket.pk, district__isnull=True, street__isnull=True).update(**fields):
        for name, value in fields.items():
            setattr(ticket, name, value)
        event_record(
            ticket=ticket,
            kind=EventKind.EDITED,
            actor=None,
            from_status=ticket.status,
            reason=f"智能识别地点：{place.describe()}",
            payload={"field": "place", "to": place.describe()},
        )


def ticket_route(*, ticket: Ticket, auto_dispatch: bool = True) -> RoutingDecision:
    """Classify, locate and route a received ticket; dispatch it when confident and the place is known."""
    started = time.perf_counter()
    text = f"{ticket.title}\n{ticket.content}"
    loaded = active_model.get()
    predictions, explanation = [], []
    categories = {c.code: c for c in Category.objects.filter(is_active=True).select_related("parent")}
    if loaded is not None:
        top, reasons = loaded.classifier.analyse(text, 3)
        predictions = [
            {
                "category": p.label,
                "name": categories[p.label].full_name if p.label in categories else p.label,
                "probability": round(p.probability, 4),
            }
            for p in top
        ]
        explanation = [{"feature": r.feature, "weight": r.weight, "kind": r.kind} for r in reasons]
    operator_chose = ticket.category_id is not None
    if operator_chose:
        ranked = [(ticket.category, 1.0)] + [
            (categories[p["category"]], p["probability"])
            for p in predictions
            if p["category"] in categories and p["category"] != ticket.category.code
        ]
        confidence = 1.0
    else:
        ranked = [(categories[p["category"]], p["probability"]) for p in predictions if p["category"] in categories]
        confidence = ranked[0][1] if ranked else 0.0
    place = _place_for(ticket)
    suggestions, first = _suggest(ranked, place)
    threshold = settings.HOTLINE["AUTO_DISPATCH_THRESHOLD"]

    hold = ""
    if not ranked:
        hold = "没有可用的分类模型，也未选择分类"
    elif confidence < threshold:
        hold = f"分类置信度{confidence:.1%}低于自动派单阈值{threshold:.1%}"
    elif place.ambiguous and not place.street:
        hold = f"地点有重名：{'、'.join(place.ambiguous)}"
    elif first is None or first.unit is None:
        hold = first.reason if first else "未找到承办单位"
    elif ticket.status != TicketStatus.RECEIVED:
        hold = "工单已不在待派单状态"
    elif not settings.HOTLINE["AUTO_DISPATCH"]:
        hold = "自动派单已关闭"

    with transaction.atomic():
        if not (ticket.district_id or ticket.street_id) and (place.district or place.street):
            _record_place(ticket, place)
        if not operator_chose and ranked:
            hotline_services.ticket_categorize(
                ticket=ticket, actor=None, category=ranked[0][0], reason=f"智能分类（置信度{confidence:.0%}）"
            )
        decision = RoutingDecision.objects.create(
            ticket=ticket,
            model_id=loaded.row_id if loaded else None,
            tokens=" ".join(tokens(text)),
            predictions=predictions,
            explanation=explanation,
            category_source="operator" if operator_chose else "model",
            place={
                "status": place.status,
                "description": place.describe(),
                "matched": place.matched,
                "ambiguous": place.ambiguous,
                "district": place.district.code if place.district else None,
                "street": place.street.code if place.street else None,
                "community": place.community.code if place.community else None,
            },
            rule=first.rule if first else None,
            suggestions=suggestions,
            confidence=round(confidence, 4),
            threshold=threshold,
            hold_reason=hold,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    if auto_dispatch and not hold:
        unit = first.unit
        try:
            hotline_services.ticket_dispatch(
                ticket=ticket,
                actor=router_user(),
                lead_unit=unit,
                assist_units=list(first.assist),
                note=f"智能派单：{first.reason}",
            )
        except DomainError as exc:  # a dispatcher got there first, or the unit was just deactivated
            RoutingDecision.objects.filter(pk=decision.pk).update(hold_reason=f"自动派单未执行：{exc.message}"[:200])
        else:
            RoutingDecision.objects.filter(pk=decision.pk).update(auto_dispatched=True)
            decision.auto_dispatched = True
    return decision


def ticket_route_safely(*, ticket: Ticket) -> RoutingDecision | None:
    """Routing must never cost a ticket: on any failure the ticket simply waits in the dispatcher queue."""
    try:
        return ticket_route(ticket=ticket)
    except Exception:
        logger.exception("routing failed for ticket %s; left for manual dispatch", ticket.pk)
        return None


def latest_decision(ticket: Ticket) -> RoutingDecision | None:
    # The model row is wanted for its version only: never drag its multi-megabyte blob along.
    return (
        ticket.routing_decisions.select_related("model", "rule").defer("model__blob", "tokens").order_by("-id").first()
    )


@transaction.atomic
def ticket_dispatch_with_feedback(
    *, ticket: Ticket, actor: User, lead_unit: Unit, assist_units=(), note: str = "", category: Category | None = None
) -> Ticket:
    """A dispatcher's dispatch; a changed category or a unit other than the suggestion becomes training data."""
    if category is not None and category.pk != ticket.category_id:
        hotline_services.ticket_categorize(ticket=ticket, actor=actor, category=category, reason="派单员修正分类")
        ticket.refresh_from_db()
    decision = latest_decision(ticket)
    ticket = hotline_services.ticket_dispatch(
        ticket=ticket, actor=actor, lead_unit=lead_unit, assist_units=assist_units, note=note
    )
    if decision is not None and ticket.category_id:
        predicted = decision.predictions[0]["category"] if decision.predictions else ""
        suggested = decision.suggestions[0]["unit"] if decision.suggestions else ""
        # Compare only what the router actually proposed (no model means no category proposal).
        corrected = bool(predicted and predicted != ticket.category.code) or bool(
            suggested and suggested != lead_unit.code
        )
        TrainingExample.objects.update_or_create(
            ticket=ticket,
            defaults={
                "text": f"{ticket.title}\n{ticket.content}",
                "label": ticket.category.code,
                "source": TrainingExample.Source.CORRECTION if corrected else TrainingExample.Source.CONFIRMED,
                "predicted": predicted,
                "created_by": actor,
            },
        )
    return ticket
