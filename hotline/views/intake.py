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
from routing.selectors import duplicates_for, knowledge_search
from routing.services import ticket_route_safely

# What the knowledge box sends is a few words; a pasted essay is cut rather than tokenised whole.
KNOWLEDGE_QUERY_MAX = 200


@role_required(*INTAKE_ROLES)
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "intake/intake.html", _context(IntakeForm()))
    form = IntakeForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        master = None
        if form.wants_merge:
            try:
                master = selectors.ticket_get_by_number(request.user, data["merge_into"])
            except NotFound:
                form.add_error("merge_into", f"未找到编号为 {data['merge_into']} 的工单，无法合并；请核对编号。")
        if not form.errors:
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
                    knowledge_article=form.article if form.wants_answer else None,
                    merge_into=master,
                )
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except DomainError as exc:
                apply_domain_error(form, exc)
                status = exc.status_code
            else:
                return _after_create(request, ticket, master=master, answered=form.wants_answer)
    # Everything typed stays in the form; each field's message sits next to it.
    return render(request, "intake/intake.html", _context(form), status=status)


def _after_create(request: HttpRequest, ticket, *, master, answered: bool) -> HttpResponse:
    if master is not None:
        # A repeat call is the master's business now: it is not routed and the desk goes to the master.
        messages.success(request, f"已受理工单 {ticket.number}，已作为重复来电并入工单 {master.number}。")
        return redirect("ticket_detail", pk=master.pk)
    if answered:
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


@role_required(*INTAKE_ROLES)
@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    """Possible repeat calls for what is being typed: same caller lately, or same street and similar words."""
    raw = request.GET.get("caller_phone", "").strip()
    try:
        phone = normalize_phone(raw)
    except PhoneError:
        phone = ""  # half-typed: the street and the text may still find something
    try:
        street_id: int | None = int(request.GET.get("street", ""))
    except ValueError:
        street_id = None
    text = f"{request.GET.get('title', '')} {request.GET.get('content', '')}".strip()
    found = duplicates_for(request.user, phone=phone, street_id=street_id, text=text) if phone or street_id else []
    if phone:
        # Looking tickets up by phone number is a search of personal data, as in caller_history.
        services.access_log_record(
            user=request.user,
            action=AccessAction.SEARCH,
            query=mask_phone(phone),
            row_count=sum(d.same_caller for d in found),
            request=request,
        )
    return render(
        request,
        "intake/_duplicates.html",
        {"duplicates": found, "asked": bool(phone or street_id), "mode": "intake"},
    )


@role_required(*INTAKE_ROLES)
@require_GET
def knowledge(request: HttpRequest) -> HttpResponse:
    """Knowledge-base answers for the operator's words, best first."""
    q = request.GET.get("q", "").strip()[:KNOWLEDGE_QUERY_MAX]
    return render(request, "intake/_knowledge.html", {"q": q, "hits": knowledge_search(q) if q else []})


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
