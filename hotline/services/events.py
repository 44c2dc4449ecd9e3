"""Writing the ticket trail. Every service calls this inside its own transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from hotline import refcache
from hotline.models import Ticket, TicketEvent, Unit, User


def _unit_of(actor: User) -> Unit | None:
    """The actor's unit without a query: already loaded on the user, or the cached reference row."""
    if actor.unit_id is None:
        return None
    if User.unit.is_cached(actor):
        return actor.unit
    return refcache.units.get(actor.unit_id) or actor.unit


def event_build(
    *,
    ticket: Ticket,
    kind: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    unit: Unit | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    """An unsaved event: services that write several at once save them with one bulk_create."""
    return TicketEvent(
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_unit=_unit_of(actor) if actor is not None else None,
        unit=unit,
        from_status=from_status,
        to_status=to_status or from_status,
        reason=reason,
        payload=payload or {},
        created_at=at or timezone.now(),
    )


def event_record(
    *,
    ticket: Ticket,
    kind: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    unit: Unit | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    event = event_build(
        ticket=ticket,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        unit=unit,
        reason=reason,
        payload=payload,
        at=at,
    )
    event.save(force_insert=True)
    return event
