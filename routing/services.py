"""Routing a ticket: category, place, responsible unit, and auto-dispatch only when sure.

Every decision is stored with the model version, the keywords that drove it, the place
match and the rule that fired, so a dispatcher can see why and correct it. Corrections
become labelled training examples for the next train_router run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hotline import refcache
from hotline import services as hotline_services
from hotline.choices import ClockKind, ClockState, EventKind, Role, TicketStatus
from hotline.errors import DomainError, InvalidInput
from hotline.models import Assignment, Category, Clock, Ticket, TicketEvent, Unit, User
from hotline.services.base import require
from hotline.services.clocks import clock_build, clocks_build_for_assignment
from hotline.services.dispatch import dispatch_plan, mark_dispatched
from hotline.services.events import event_build
from hotline.services.tickets import created_event, ticket_insert, ticket_prepare, ticket_reserve_id
from hotline.text import clean_text
from hotline.workflow import Action, check
from routing.classifier import KeywordClassifier
from routing.models import ClassifierModel, RoutingDecision, TrainingExample
from routing.places import PlaceMatch, gazetteer, match_place
from routing.rules import Resolution, rules
from routing.segmentation import clean, tokens

logger = logging.getLogger(__name__)
ROUTER_USERNAME = refcache.ROUTER_USERNAME


@dataclass
class LoadedModel:
    row_id: int
    version: int
    classifier: KeywordClassifier


BLOB_CHUNK = 1 << 20


def read_blob(pk: int) -> bytearray:
    """A model artefact read in 1 MiB slices into one buffer of its final size.

    Read whole, the ~20 MB blob crossed the driver as a 40 MB hex string, then bytes, then a copy,
    and the allocator kept ~20 MiB of those transients in every web worker for good (a worker's
    RSS budget is 200 MiB). Slices keep each transient small, and nothing is resized.
    """
    table = connection.ops.quote_name(ClassifierModel._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT length(blob) FROM {table} WHERE id = %s", [pk])
        row = cursor.fetchone()
        if row is None:
            raise ClassifierModel.DoesNotExist(pk)
        buf = bytearray(row[0])
        for start in range(0, len(buf), BLOB_CHUNK):
            # substr() counts from 1, on bytea (PostgreSQL) and on blobs (SQLite) alike.
            cursor.execute(f"SELECT substr(blob, %s, %s) FROM {table} WHERE id = %s", [start + 1, BLOB_CHUNK, pk])
            part = cursor.fetchone()[0]
            buf[start : start + len(part)] = part
    return buf


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
                try:
                    blob = read_blob(active[0])
                    self._loaded = LoadedModel(active[0], active[1], KeywordClassifier.from_bytes(blob))
                    del blob
                    self.error = ""
                except Exception as exc:
                    # An artefact from an older release (or a damaged one) must not take the server down:
                    # tickets simply wait for a dispatcher until someone retrains (train_router --activate).
                    logger.error("routing model v%s cannot be loaded: %s", active[1], exc)
                    self._loaded, self.error = None, f"模型 v{active[1]} 无法加载：{exc}"
            self._checked_at = time.monotonic()
        return self._loaded


active_model = ActiveModel()


class _RouterAccount(refcache.ReferenceCache):
    """The router's account row, read once per process (it is written only when first created)."""

    def __init__(self) -> None:
        super().__init__()
        self.user: User | None = None

    def _load(self) -> None:
        self.user, _ = User.objects.get_or_create(
            username=ROUTER_USERNAME,
            defaults={"role": Role.DISPATCHER, "display_name": "智能分拨", "is_active": False},
        )


router_account = _RouterAccount()


def router_user() -> User:
    """The system account that auto-dispatches (it cannot log in; events name it as the actor)."""
    return router_account.ready().user


def _place_for(ticket: Ticket) -> PlaceMatch:
    """The operator's chosen place wins; otherwise read it from the address and the text."""
    found = match_place(address=ticket.address, text=f"{ticket.title} {ticket.content}")
    if ticket.street_id or ticket.district_id:
        gazetteer.ready()
        nodes = [gazetteer.nodes.get(pk) for pk in (ticket.district_id, ticket.street_id, ticket.community_id)]
        chosen = PlaceMatch(
            district=nodes[0],
            street=nodes[1],
            community=nodes[2],
            # ticket.place_name, from the cached names rather than three row reads
            matched=[("（话务员选择）", "".join(n.name for n in nodes if n is not None), "受理")],
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


@dataclass
class Analysis:
    """What the router concludes about a ticket, before anything is written."""

    started: float  # perf_counter at the start: the decision records the router's own time
    text: str
    loaded: LoadedModel | None
    predictions: list[dict]
    explanation: list[dict]
    operator_chose: bool
    ranked: list[tuple[Category, float]]
    confidence: float
    place: PlaceMatch
    suggestions: list[dict]
    first: Resolution | None
    threshold: float
    hold: str  # why it will not dispatch itself ("" = it will)

    @property
    def locates(self) -> bool:
        """The place read from the text goes onto a ticket that has none."""
        return bool(self.place.district or self.place.street)

    @property
    def category_reason(self) -> str:
        return f"智能分类（置信度{self.confidence:.0%}）"

    @property
    def dispatch_note(self) -> str:
        return f"智能派单：{self.first.reason}"


def _text_size(ticket: Ticket) -> int:
    """Characters of title and content after cleaning, spaces not counted; a content that only
    repeats the title counts once."""
    title, content = clean(ticket.title), clean(ticket.content)
    text = title if content == title else f"{title}{content}"
    return len("".join(text.split()))


def route_analyse(ticket: Ticket) -> Analysis:
    """Classify, locate and find the responsible unit. Reads only cached reference data and the
    ticket in hand (which need not be saved yet), writes nothing."""
    started = time.perf_counter()
    text = f"{ticket.title}\n{ticket.content}"
    loaded = active_model.get()
    predictions, explanation = [], []
    categories = refcache.categories.active()
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
        chosen = refcache.category_of(ticket)
        ranked = [(chosen, 1.0)] + [
            (categories[p["category"]], p["probability"])
            for p in predictions
            if p["category"] in categories and p["category"] != chosen.code
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
    elif not operator_chose and (size := _text_size(ticket)) < settings.HOTLINE["AUTO_DISPATCH_MIN_CHARS"]:
        hold = f"诉求文字过短（{size}字），智能分类把握不足，请派单员确认"
    elif place.ambiguous and not place.street:
        hold = f"地点有重名：{'、'.join(place.ambiguous)}"
    elif first is None or first.unit is None:
        hold = first.reason if first else "未找到承办单位"
    elif ticket.status != TicketStatus.RECEIVED:
        hold = "工单已不在待派单状态"
    elif not settings.HOTLINE["AUTO_DISPATCH"]:
        hold = "自动派单已关闭"
    return Analysis(
        started,
        text,
        loaded,
        predictions,
        explanation,
        operator_chose,
        ranked,
        confidence,
        place,
        suggestions,
        first,
        threshold,
        hold,
    )


def _decision(ticket: Ticket, a: Analysis, *, auto_dispatched: bool, hold: str, done: float) -> RoutingDecision:
    """The decision row. ``done`` (perf_counter) ends the router's own time: analysis and the place
    and category bookkeeping, not the dispatch, which is the dispatch service's."""
    place = a.place
    return RoutingDecision(
        ticket=ticket,
        model_id=a.loaded.row_id if a.loaded else None,
        tokens=" ".join(tokens(a.text)),
        predictions=a.predictions,
        explanation=a.explanation,
        category_source="operator" if a.operator_chose else "model",
        place={
            "status": place.status,
            "description": place.describe(),
            "matched": place.matched,
            "ambiguous": place.ambiguous,
            "district": place.district.code if place.district else None,
            "street": place.street.code if place.street else None,
            "community": place.community.code if place.community else None,
        },
        rule=a.first.rule if a.first else None,
        suggestions=a.suggestions,
        confidence=round(a.confidence, 4),
        threshold=a.threshold,
        auto_dispatched=auto_dispatched,
        hold_reason=hold,
        elapsed_ms=round((done - a.started) * 1000, 2),
    )


def _place_fields(place: PlaceMatch) -> dict:
    return {
        "district_id": place.district.id if place.district else None,
        "street_id": place.street.id if place.street else None,
        "community_id": place.community.id if place.community else None,
    }


def _place_event(ticket: Ticket, place: PlaceMatch):
    return event_build(
        ticket=ticket,
        kind=EventKind.EDITED,
        actor=None,
        from_status=ticket.status,
        reason=f"智能识别地点：{place.describe()}",
        payload={"field": "place", "to": place.describe()},
    )


def _record_place(ticket: Ticket, place: PlaceMatch) -> None:
    """Keep the place read from the address on the ticket: search by street, the same-street repeat
    check and the place statistics all need it, not only this decision."""
    fields = _place_fields(place)
    # Only if nobody set a place meanwhile: an operator's choice always wins.
    if Ticket.objects.filter(pk=ticket.pk, district__isnull=True, street__isnull=True).update(**fields):
        for name, value in fields.items():
            setattr(ticket, name, value)
        _place_event(ticket, place).save(force_insert=True)


def ticket_route(*, ticket: Ticket, auto_dispatch: bool = True) -> RoutingDecision:
    """Classify, locate and route a received ticket; dispatch it when confident and the place is known.

    Everything it writes (place, category, dispatch, decision) is one transaction: a failure leaves
    the ticket exactly as it was, waiting for a dispatcher.
    """
    a = route_analyse(ticket)
    dispatching = auto_dispatch and not a.hold
    # Before the transaction: the account's first creation must not vanish with a rolled-back route.
    router = router_user() if dispatching else None
    auto_dispatched, hold = False, a.hold
    with transaction.atomic():
        if not (ticket.district_id or ticket.street_id) and a.locates:
            _record_place(ticket, a.place)
        if not a.operator_chose and a.ranked:
            hotline_services.ticket_categorize(
                ticket=ticket, actor=None, category=a.ranked[0][0], reason=a.category_reason
            )
        done = time.perf_counter()
        if dispatching:
            try:
                hotline_services.ticket_dispatch(
                    ticket=ticket,
                    actor=router,
                    lead_unit=a.first.unit,
                    assist_units=list(a.first.assist),
                    note=a.dispatch_note,
                )
            except DomainError as exc:  # a dispatcher got there first, or the unit was just deactivated
                hold = f"自动派单未执行：{exc.message}"[:200]
            else:
                auto_dispatched = True
        decision = _decision(ticket, a, auto_dispatched=auto_dispatched, hold=hold, done=done)
        decision.save(force_insert=True)
    return decision


def ticket_route_safely(*, ticket: Ticket) -> RoutingDecision | None:
    """Routing must never cost a ticket: on any failure the ticket simply waits in the dispatcher queue."""
    try:
        return ticket_route(ticket=ticket)
    except Exception:
        logger.exception("routing failed for ticket %s; left for manual dispatch", ticket.pk)
        return None


# --- intake and routing in one go ------------------------------------------------------------


@dataclass
class Created:
    """A new ticket and every row written with it, in write order, for answering without a re-read.

    ``written_here`` is False when the ticket went through plain intake instead (direct answer,
    repeat call, or routing failed): the lists are then empty and the caller reads the ticket back.
    """

    ticket: Ticket
    decision: RoutingDecision | None = None
    assignments: list[Assignment] = field(default_factory=list)
    clocks: list[Clock] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)
    written_here: bool = False


@dataclass
class _NewTicketPlan:
    decision: RoutingDecision
    assignments: list[Assignment]
    clocks: list[Clock]  # the dispatch clock first, then each part's
    events: list[TicketEvent]


def _plan_new_ticket(ticket: Ticket, actor: User) -> _NewTicketPlan:
    """``ticket_create`` followed by ``ticket_route``, decided in memory for an unsaved ticket: the
    same checks, the same rows and the same trail, so they can be written in a handful of statements.

    The row is inserted in its final state (place, category, dispatch) rather than inserted and then
    updated three times under a lock that nobody else could contend: no other transaction can see a
    row before its transaction commits.
    """
    created_at = ticket.created_at
    events = [created_event(ticket, actor)]
    dispatch_clock = clock_build(ticket=ticket, kind=ClockKind.DISPATCH, start=created_at)
    a = route_analyse(ticket)
    if not (ticket.district_id or ticket.street_id) and a.locates:
        for name, value in _place_fields(a.place).items():
            setattr(ticket, name.removesuffix("_id"), gazetteer.place(value))
        events.append(_place_event(ticket, a.place))
    if not a.operator_chose and a.ranked:
        category = a.ranked[0][0]
        if not category.is_active:  # what ticket_categorize refuses: routing fails, the ticket waits
            raise InvalidInput.field("category", f"分类“{category}”已停用。")
        ticket.category = category
        events.append(
            event_build(
                ticket=ticket,
                kind=EventKind.EDITED,
                actor=None,
                from_status=ticket.status,
                reason=a.category_reason,
                payload={"field": "category", "from": None, "to": category.code},
            )
        )
    done = time.perf_counter()
    auto_dispatched, hold, assignments = False, a.hold, []
    if not a.hold:
        router = router_user()
        now = timezone.now()
        note = clean_text(a.dispatch_note)
        try:
            # ticket_dispatch's checks, on a ticket that has no parts yet.
            require(Action.DISPATCH, ticket=ticket, actor=router)
            check(Action.DISPATCH, status=ticket.status)
            plan = dispatch_plan(
                ticket=ticket,
                actor=router,
                lead_unit=a.first.unit,
                assist_units=list(a.first.assist),
                note=note,
                now=now,
                live={},
            )
        except DomainError as exc:
            hold = f"自动派单未执行：{exc.message}"[:200]
        else:
            before = ticket.status
            mark_dispatched(ticket, a.first.unit, now)
            assignments = plan.assignments
            dispatch_clock.state = ClockState.MET if now <= dispatch_clock.due_at else ClockState.LATE
            dispatch_clock.stopped_at = now
            events.append(
                event_build(
                    at=now,
                    ticket=ticket,
                    kind=EventKind.DISPATCHED,
                    actor=router,
                    from_status=before,
                    to_status=ticket.status,
                    unit=a.first.unit,
                    reason=note,
                    payload=plan.payload,
                )
            )
            auto_dispatched = True
    decision = _decision(ticket, a, auto_dispatched=auto_dispatched, hold=hold, done=done)
    # Each part's clocks too: saved after the parts, they pick up the parts' new ids then.
    clocks = [dispatch_clock] + [c for part in assignments for c in clocks_build_for_assignment(part)]
    return _NewTicketPlan(decision, assignments, clocks, events)


def _write_new_ticket(ticket: Ticket, plan: _NewTicketPlan, also_write: Callable[[Created], object] | None) -> Created:
    """Nothing but inserts, in one transaction. With a reserved id the rows that point at the ticket
    go first and the ticket itself last: numbering it locks the day's counter row until the commit,
    and every other create waits for that row, so it is taken as late as possible."""
    ticket.pk = ticket_reserve_id()
    if ticket.pk is None:  # no sequence to reserve from (SQLite in development): the ticket first
        ticket_insert(ticket)
    if plan.assignments:
        Assignment.objects.bulk_create(plan.assignments)
    Clock.objects.bulk_create(plan.clocks)
    TicketEvent.objects.bulk_create(plan.events)
    plan.decision.save(force_insert=True)
    created = Created(ticket, plan.decision, plan.assignments, plan.clocks, plan.events, written_here=True)
    if also_write is not None:
        also_write(created)
    if ticket._state.adding:
        ticket_insert(ticket)
    return created


def ticket_create_routed(
    *,
    actor: User,
    also_write: Callable[[Created], object] | None = None,
    answer: str = "",
    knowledge_article=None,
    merge_into: Ticket | None = None,
    **intake,
) -> Created:
    """Intake (``ticket_create``) and routing (``ticket_route``) of a new ticket in one transaction.

    ``intake`` is what ``ticket_prepare`` takes. ``also_write(created)`` writes the caller's own
    rows that point at the new ticket in the same transaction (the API's access-log row), so one
    commit covers the whole request; the ticket has its id then, but not always its number yet.
    Classification, place matching and everything else are worked out before the transaction
    opens, which then only inserts rows.

    Routing never costs a ticket: if it raises, here or when its rows are written, the ticket is
    saved as plain intake would save it and waits for a dispatcher. Direct answers and repeat calls
    are not routed (plain intake, as before).
    """
    if not (answer or merge_into is not None):
        ticket = ticket_prepare(actor=actor, **intake)  # refuses bad input, writes nothing
        try:
            plan = _plan_new_ticket(ticket, actor)
        except Exception:
            logger.exception("routing failed for a new ticket; saved for manual dispatch")
        else:
            try:
                with transaction.atomic():
                    return _write_new_ticket(ticket, plan, also_write)
            except Exception:
                logger.exception("routed intake failed to save; saving the ticket for manual dispatch")
    with transaction.atomic():
        ticket = hotline_services.ticket_create(
            actor=actor, answer=answer, knowledge_article=knowledge_article, merge_into=merge_into, **intake
        )
        created = Created(ticket)
        if also_write is not None:
            also_write(created)
    return created


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
