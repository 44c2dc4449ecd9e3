"""Personal data: what each role sees, the logged reveal, and the access log (domain.md §7)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from hotline.choices import AccessAction
from hotline.errors import IllegalTransition, NotAllowed, NotFound
from hotline.models import AccessLog, Ticket, User
from hotline.phones import mask_name, mask_phone
from hotline.services.base import require_reason, visible_to

PII_FIELDS = ("caller_name", "caller_phone")
CONFIDENTIAL_MARK = "保密"


@dataclass(frozen=True)
class CallerView:
    name: str
    phone: str
    masked: bool
    can_reveal: bool


def sees_full_pii(user: User) -> bool:
    """Hub roles call residents back and audit; units see a masked number unless they reveal it."""
    return user.is_hub


def caller_view(user: User, ticket: Ticket, *, revealed: bool = False) -> CallerView:
    if sees_full_pii(user):
        return CallerView(ticket.caller_name, ticket.caller_phone, masked=False, can_reveal=False)
    if ticket.confidential:
        return CallerView(CONFIDENTIAL_MARK, CONFIDENTIAL_MARK, masked=True, can_reveal=False)
    phone = ticket.caller_phone if revealed else mask_phone(ticket.caller_phone)
    return CallerView(
        mask_name(ticket.caller_name), phone, masked=not revealed, can_reveal=bool(ticket.caller_phone) and not revealed
    )


def _meta(request) -> dict:
    if request is None:
        return {}
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
    return {"ip_address": ip or None, "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300]}


def access_log_record(
    *,
    user: User,
    action: str,
    ticket: Ticket | None = None,
    fields=PII_FIELDS,
    masked: bool = True,
    reason: str = "",
    query: str = "",
    row_count: int = 0,
    channel: str = "web",
    request=None,
) -> AccessLog:
    return AccessLog.objects.create(
        user=user,
        unit=user.unit,
        ticket=ticket,
        action=action,
        fields=list(fields),
        masked=masked,
        reason=reason[:200],
        query=query[:300],
        row_count=row_count,
        channel=channel,
        **_meta(request),
    )


def ticket_view_logged(*, user: User, ticket: Ticket, channel: str = "web", request=None) -> CallerView:
    """What the caller block shows this user, with the view written to the access log."""
    view = caller_view(user, ticket)
    access_log_record(
        user=user, action=AccessAction.VIEW, ticket=ticket, masked=view.masked, channel=channel, request=request
    )
    return view


@transaction.atomic
def ticket_reveal_phone(*, ticket: Ticket, actor: User, reason: str, channel: str = "web", request=None) -> CallerView:
    """显示完整号码: a unit user states why; impossible on confidential tickets. Always logged."""
    if not visible_to(ticket, actor):
        raise NotFound()
    if sees_full_pii(actor):
        raise IllegalTransition("您的角色已可查看完整号码，无需申请显示。")
    if ticket.confidential:
        raise NotAllowed("该工单为保密工单，承办单位不能查看诉求人身份。")
    if not ticket.caller_phone:
        raise IllegalTransition("该工单没有留联系电话。")
    reason = require_reason(reason, what="查看完整号码的理由")
    access_log_record(
        user=actor,
        action=AccessAction.REVEAL,
        ticket=ticket,
        fields=["caller_phone"],
        masked=False,
        reason=reason,
        channel=channel,
        request=request,
    )
    return caller_view(actor, ticket, revealed=True)
