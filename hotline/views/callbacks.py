"""The operators' phone-callback queue (电话回访): residents who did not rate by SMS."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hotline import selectors
from hotline.errors import DomainError
from hotline.models import CallbackAttempt, SmsMessage, SmsStatus
from hotline.services.rating import ticket_callback_unreachable
from hotline.views.helpers import role_required, ticket_or_404
from hotline.workflow import TRANSITIONS, Action

CALLBACK_ROLES = tuple(TRANSITIONS[Action.CALLBACK].roles)


@role_required(*CALLBACK_ROLES)
def callback_queue(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.callback_queue())
    failed = set(
        SmsMessage.objects.filter(ticket__in=rows, template="rating_link", status=SmsStatus.FAILED).values_list(
            "ticket_id", flat=True
        )
    )
    sent = set(SmsMessage.objects.filter(ticket__in=rows, template="rating_link").values_list("ticket_id", flat=True))
    for t in rows:
        t.queue_reason = (
            "评价短信发送失败"
            if t.pk in failed
            else "无手机号，无法短信评价"
            if t.pk not in sent
            else f"{settings.HOTLINE['CALLBACK_AFTER_HOURS']}小时内未评价"
        )
    return render(
        request,
        "callbacks/queue.html",
        {
            "rows": rows,
            "outcomes": CallbackAttempt.Outcome.choices,
            "max_attempts": settings.HOTLINE["CALLBACK_MAX_ATTEMPTS"],
        },
    )


@role_required(*CALLBACK_ROLES)
@require_POST
def callback_unreachable(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_or_404(request.user, pk)
    try:
        ticket_callback_unreachable(
            ticket=ticket,
            actor=request.user,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        messages.error(request, f"工单 {ticket.number}：{exc.message}")
        return redirect("callback_queue")
    ticket.refresh_from_db()
    if ticket.status == "closed":
        messages.success(request, f"工单 {ticket.number} 已记为无效回访并办结（不计入满意率）。")
    else:
        messages.success(request, f"已登记工单 {ticket.number} 未接通，请稍后再拨。")
    return redirect("callback_queue")
