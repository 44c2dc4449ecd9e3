"""Residents rate an outcome through an SMS link: invitations, token checks and the rating itself."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hotline.choices import CallbackChannel, EventKind, TicketStatus
from hotline.errors import Conflict, IllegalTransition, InvalidInput
from hotline.models import Callback, CallbackAttempt, RatingToken, Ticket
from hotline.phones import is_mobile
from hotline.services.base import require, ticket_lock
from hotline.services.closing import ticket_record_callback
from hotline.services.events import event_record
from hotline.services.sms import sms_enqueue
from hotline.text import clean_text
from hotline.workflow import Action


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rating_invite(*, ticket: Ticket, now: dt.datetime | None = None) -> RatingToken | None:
    """Create a fresh link for the ticket's current outcome and queue its SMS (call inside the transaction).

    Earlier unused links are revoked: they would rate an outcome that no longer stands.
    """
    now = now or timezone.now()
    RatingToken.objects.filter(ticket=ticket, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    if not is_mobile(ticket.caller_phone):
        return None  # a landline or no number: the operators' phone callback covers it
    token = secrets.token_urlsafe(16)  # 128 random bits: not guessable, carries no ticket number
    days = settings.HOTLINE["RATING_LINK_DAYS"]
    row = RatingToken.objects.create(ticket=ticket, token_hash=_hash(token), expires_at=now + dt.timedelta(days=days))
    url = f"{settings.HOTLINE['PUBLIC_BASE_URL'].rstrip('/')}/r/{token}"
    sms_enqueue(
        phone=ticket.caller_phone,
        template="rating_link",
        params={"number": ticket.number, "url": url, "days": days},
        dedupe_key=f"rating:{row.pk}",
        ticket=ticket,
    )
    return row


@dataclass(frozen=True)
class TokenState:
    row: RatingToken | None
    problem: str  # "" when the link can be used; else "unknown" | "expired" | "used" | "revoked"


def rating_token_check(token: str, *, now: dt.datetime | None = None) -> TokenState:
    now = now or timezone.now()
    if not token or len(token) > 64:
        return TokenState(None, "unknown")
    row = RatingToken.objects.select_related("ticket").filter(token_hash=_hash(token)).first()
    if row is None:
        return TokenState(None, "unknown")
    if row.used_at:
        return TokenState(row, "used")
    if row.revoked_at:
        return TokenState(row, "revoked")
    if row.expires_at <= now:
        return TokenState(row, "expired")
    return TokenState(row, "")


@transaction.atomic
def rating_submit(*, token: str, contacted: bool, resolved: bool, satisfaction: str, comment: str = "") -> Callback:
    """Record the resident's rating once. The token is spent by compare-and-set with the callback."""
    state = rating_token_check(token)
    if state.problem:
        raise IllegalTransition(
            {
                "used": "您已评价过，感谢您的反馈。",
                "expired": "评价链接已过期。",
                "revoked": "该评价链接已失效，工单正在重新办理。",
            }.get(state.problem, "评价链接无效。"),
            code=f"token_{state.problem}",
        )
    spent = RatingToken.objects.filter(
        pk=state.row.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now())
    if not spent:  # a double submit or a second tab got there first
        raise Conflict("您已评价过，感谢您的反馈。", code="token_used")
    return ticket_record_callback(
        ticket=state.row.ticket,
        actor=None,
        contacted=contacted,
        resolved=resolved,
        satisfaction=satisfaction,
        comment=comment,
        channel=CallbackChannel.SMS,
    )


@transaction.atomic
def ticket_callback_unreachable(*, ticket: Ticket, actor, outcome: str, note: str = "") -> CallbackAttempt:
    """An operator's call reached nobody. The N-th such call closes the ticket as 无效回访 (excluded from rates)."""
    ticket = ticket_lock(ticket)
    require(Action.CALLBACK, ticket=ticket, actor=actor)
    if ticket.status != TicketStatus.REPLIED:
        raise IllegalTransition("只有已反馈待回访的工单需要电话回访。")
    if outcome not in CallbackAttempt.Outcome.values:
        raise InvalidInput.field("outcome", "请选择未接通的原因。")
    attempt = CallbackAttempt.objects.create(
        ticket=ticket, operator=actor, outcome=outcome, note=clean_text(note)[:200]
    )
    count = ticket.callback_attempts.count()
    limit = settings.HOTLINE["CALLBACK_MAX_ATTEMPTS"]
    event_record(
        ticket=ticket,
        kind=EventKind.CALLBACK_ATTEMPT,
        actor=actor,
        from_status=ticket.status,
        reason=attempt.note,
        payload={"outcome": outcome, "attempt": count, "limit": limit},
    )
    if count >= limit or outcome == CallbackAttempt.Outcome.WRONG_NUMBER:
        ticket_record_callback(
            ticket=ticket,
            actor=actor,
            contacted=None,
            resolved=None,
            satisfaction="",
            comment=f"{attempt.get_outcome_display()}，共回访{count}次，记为无效回访",
            channel=CallbackChannel.PHONE,
            valid=False,
        )
    return attempt
