"""Operator intake (受理): phone first, the caller's recent tickets, then the request itself."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from hotline import selectors, services
from hotline.choices import AccessAction
from hotline.errors import DomainError, NotFound
from hotline.forms import IntakeForm, places_under
from hotline.phones import PhoneError, mask_phone, normalize_phone
from hotline.views.helpers import INTAKE_ROLES, apply_domain_error, role_required
from routing.models import PlaceLevel
from routing.services import ticket_route_safely


@role_required(*INTAKE_ROLES)
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "intake/intake.html", _context(IntakeForm()))
    form = IntakeForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=request.user,
                title=data["title"],
                content=data["content"],
                request_type=data["request_type"],
                channel=data["channel"],
                priority=data["priority"],
                category=data["category"],
                caller_name=data["caller_name"],
                caller_phone=data["caller_phone"],
                address=data["address"],
                district=data["district"],
                street=data["street"],
                community=data["community"],
                confidential=data["confidential"],
                answer=data["answer"] if form.wants_answer else "",
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = exc.status_code
        else:
            if form.wants_answer:
                messages.success(request, f"已直接答复办结，工单编号 {ticket.number}。")
            else:
                decision = ticket_route_safely(ticket=ticket)
                if decision is not None and decision.auto_dispatched:
                    unit = decision.suggestions[0]["name"]
                    messages.success(request, f"已受理，工单编号 {ticket.number}，已智能派单至{unit}。")
                else:
                    why = f"（{decision.hold_reason}）" if decision is not None and decision.hold_reason else ""
                    messages.success(request, f"已受理，工单编号 {ticket.number}，已转入派单队列{why}。")
            return redirect("ticket_detail", pk=ticket.pk)
    # Everything typed stays in the form; each field's message sits next to it.
    return render(request, "intake/intake.html", _context(form), status=status)


def _context(form: IntakeForm) -> dict:
    return {
        "form": form,
        "text_max": settings.HOTLINE["TICKET_TEXT_MAX"],
        "recent_days": settings.HOTLINE["RECENT_CALLER_DAYS"],
    }


@role_required(*INTAKE_ROLES)
@require_GET
def caller_history(request: HttpRequest) -> HttpResponse:
    """The caller's tickets of the last days, fetched while the operator is still typing."""
    raw = request.GET.get("caller_phone", "").strip()
    ctx: dict = {"raw": raw, "recent_days": settings.HOTLINE["RECENT_CALLER_DAYS"]}
    try:
        phone = normalize_phone(raw)
    except PhoneError:
        phone = ""
        ctx["incomplete"] = bool(raw)
    if phone:
        tickets = list(
            selectors.caller_recent_tickets(request.user, phone, days=settings.HOTLINE["RECENT_CALLER_DAYS"])
        )
        # A lookup by phone number is a search of personal data: logged, with the number masked.
        services.access_log_record(
            user=request.user,
            action=AccessAction.SEARCH,
            query=mask_phone(phone),
            row_count=len(tickets),
            request=request,
        )
        ctx.update(phone=phone, tickets=tickets)
    return render(request, "intake/_caller_history.html", ctx)


@login_required
@require_GET
def place_options(request: HttpRequest, level: str) -> HttpResponse:
    """<option>s for the street (given a district) or community (given a street) select."""
    param, child_level = {
        "streets": ("district", PlaceLevel.STREET),
        "communities": ("street", PlaceLevel.COMMUNITY),
    }.get(level, (None, None))
    if param is None:
        raise Http404()
    try:
        parent_id = int(request.GET.get(param, ""))
    except ValueError:
        parent_id = None
    return render(
        request,
        "intake/_place_options.html",
        {
            "places": places_under(parent_id, child_level),
            "empty_label": "— 街道/乡镇 —" if child_level == PlaceLevel.STREET else "— 社区/村 —",
            # Changing the district empties the community list too (only where the page has one).
            "reset_community": child_level == PlaceLevel.STREET and request.GET.get("with_community") == "1",
        },
    )
