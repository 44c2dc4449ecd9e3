"""Writing the ticket trail. Every service calls this inside its own transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from hotline.models import Ticket, TicketEvent, Unit, User


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
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_unit=getattr(actor, "unit", None) if actor is not None else None,
        unit=unit,
        from_status=from_status,
        to_status=to_status or from_status,
        reason=reason,
        payload=payload or {},
        created_at=at or timezone.now(),
    )
