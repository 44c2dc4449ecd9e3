"""考核免责 / 申诉: a unit asks that a ticket not count against its 三率; a supervisor decides.

Both steps are ticket events (the trail shows who asked, who decided and why), and the decision
marks every day of the ticket for the rollups, so the unit's past month changes at the next refresh.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.choices import AssignmentRole, EventKind, ExemptionReason, RequestStatus, Role
from hotline.errors import Conflict, InvalidInput, NotAllowed, NotFound
from hotline.models import Assignment, Exemption, Ticket, User
from hotline.services.base import require_reason, ticket_lock, visible_to
from hotline.services.events import event_record
from hotline.tasks import refresh_rollups_soon
from hotline.text import clean_text

DECIDERS = (Role.SUPERVISOR, Role.ADMIN)


@transaction.atomic
def exemption_request(*, ticket: Ticket, actor: User, reason_kind: str, reason: str) -> Exemption:
    ticket = ticket_lock(ticket)
    if not actor.is_unit_staff or not visible_to(ticket, actor):
        raise NotFound()
    is_lead = Assignment.objects.filter(ticket=ticket, unit_id=actor.unit_id, role=AssignmentRole.LEAD).exists()
    if not is_lead or ticket.lead_unit_id != actor.unit_id:
        raise NotAllowed("只有主办单位可以对该工单申请考核免责。")
    if reason_kind not in ExemptionReason.values:
        raise InvalidInput.field("reason_kind", "请选择免责类型（不合理诉求/非本单位职责/恶意评价/其他）。")
    reason = require_reason(clean_text(reason), what="申请理由")
    earlier = set(Exemption.objects.filter(ticket=ticket, unit_id=actor.unit_id).values_list("status", flat=True))
    if RequestStatus.APPROVED in earlier:
        raise Conflict("该工单已批准免责，无需再次申请。", code="already_exempted")
    if RequestStatus.PENDING in earlier:
        raise Conflict("该工单已有待审核的免责申请。", code="already_requested")
    if RequestStatus.REJECTED in earlier:
        # One decision per ticket: a rejected request is final, or units would simply ask again.
        raise Conflict("该工单的免责申请已被驳回，不能重复申请。", code="already_rejected")
    try:
        with transaction.atomic():
            exemption = Exemption.objects.create(
                ticket=ticket, unit_id=actor.unit_id, reason_kind=reason_kind, reason=reason, requested_by=actor
            )
    except IntegrityError as exc:  # a double click that slipped past the checks above
        raise Conflict("该工单已有待审核的免责申请。", code="already_requested") from exc
    event_record(
        ticket=ticket,
        kind=EventKind.EXEMPTION_REQUESTED,
        actor=actor,
        from_status=ticket.status,
        unit=actor.unit,
        reason=reason,
        payload={"exemption": exemption.pk, "reason_kind": reason_kind},
    )
    return exemption


@transaction.atomic
def exemption_decide(*, exemption: Exemption | int, actor: User, approve: bool, reason: str) -> Exemption:
    if actor.role not in DECIDERS:
        raise NotAllowed("只有督办员可以审核考核免责申请。")
    pk = exemption.pk if isinstance(exemption, Exemption) else exemption
    try:
        exemption = Exemption.objects.select_for_update().select_related("unit").get(pk=pk)
    except Exemption.DoesNotExist as exc:
        raise NotFound("免责申请不存在。") from exc
    ticket = ticket_lock(exemption.ticket_id)
    if exemption.status != RequestStatus.PENDING:
        raise Conflict(f"该申请已{exemption.get_status_display()}，不能重复审核。", code="already_decided")
    reason = require_reason(clean_text(reason), what="审核意见")
    exemption.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    exemption.decided_by = actor
    exemption.decided_at = timezone.now()
    exemption.decision_reason = reason
    exemption.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    event_record(
        ticket=ticket,
        kind=EventKind.EXEMPTION_APPROVED if approve else EventKind.EXEMPTION_REJECTED,
        actor=actor,
        from_status=ticket.status,
        unit=exemption.unit,
        reason=reason,
        payload={"exemption": exemption.pk, "reason_kind": exemption.reason_kind},
    )
    transaction.on_commit(refresh_rollups_soon)
    return exemption
