"""The ticket page, the logged phone reveal and the one view every workflow action posts to."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from hotline import selectors
from hotline.choices import TicketStatus
from hotline.errors import DomainError, NotFound
from hotline.forms import RevealForm
from hotline.models import Ticket
from hotline.services import privacy
from hotline.views import dispatch, supervisor, workbench
from hotline.views.actions import ACTIONS, Outcome, build_form, button_of, fixed_request_for, label_of, perform
from hotline.views.helpers import apply_domain_error, is_htmx, percent, ticket_or_404
from hotline.views.timeline import timeline
from hotline.workflow import Action
from routing.models import RoutingDecision
from routing.selectors import duplicates_for

PRIMARY = (
    Action.DISPATCH,
    Action.REPLY,
    Action.CALLBACK,
    Action.APPROVE_RETURN,
    Action.APPROVE_EXTENSION,
    Action.APPROVE_TERMINATION,
)


# --- the ticket page ------------------------------------------------------------------------------


def panel_context(ticket: Ticket, user, *, failed: Outcome | None = None, notice: str = "") -> dict:
    """One small form per action the user may take now (exactly what the services would accept)."""
    allowed = selectors.ticket_allowed_actions(ticket, user)
    # With nothing to re-show, unfold the step the desk most likely takes next.
    unfold = failed.slug if failed is not None else next((s for s in PRIMARY if s in allowed), None)
    items = []
    for slug in allowed:
        mine = failed is not None and failed.slug == slug
        items.append(
            {
                "slug": slug,
                "label": label_of(slug),
                "button": button_of(slug),
                "form": failed.form if mine else build_form(slug, ticket=ticket, user=user),
                "open": slug == unfold,
                "has_fields": ACTIONS[slug].has_fields,
            }
        )
    # A refused action that is no longer offered (someone else moved the ticket) still says why.
    error = ""
    if failed is not None and not failed.ok and failed.slug not in allowed:
        error = failed.message
    return {"ticket": ticket, "action_forms": items, "panel_error": error, "notice": notice}


def trail_context(ticket: Ticket) -> dict:
    assignments, requests, events = selectors.ticket_detail_related(ticket)
    return {"assignments": assignments, "ticket_requests": requests, "timeline": timeline(events)}


def detail_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    caller: privacy.CallerView,
    failed: Outcome | None = None,
    reveal_form: RevealForm | None = None,
    revealed: bool = False,
) -> dict:
    user = request.user
    ctx = {
        "caller": caller,
        "revealed": revealed,
        "reveal_form": reveal_form or RevealForm(auto_id="id_reveal_%s"),
        "callbacks": ticket.callbacks.select_related("recorded_by").order_by("id"),
        # Child numbers help the hub trace repeat calls; units get only the count.
        "merged_children": ticket.merged_children.only("id", "number").order_by("id")[:50] if user.is_hub else [],
    }
    ctx.update(trail_context(ticket))
    panel = panel_context(ticket, user, failed=failed)
    ctx.update(panel)
    if user.is_hub:  # the router's reasoning is the hub's working tool; units never see it
        ctx.update(routing_context(ticket, user, allowed={a["slug"] for a in panel["action_forms"]}))
    return ctx


def routing_context(ticket: Ticket, user, *, allowed: set[str]) -> dict:
    # Not routing.services.latest_decision: that would load the classifier's blob (megabytes) with
    # decision.model just to print its version number.
    decision = (
        RoutingDecision.objects.filter(ticket=ticket)
        .select_related("model", "rule")
        .defer("model__blob", "tokens")
        .order_by("-id")
        .first()
    )
    ctx: dict = {"routing": decision, "show_routing": decision is not None or ticket.status == TicketStatus.RECEIVED}
    if decision is not None:
        ctx["routing_pct"] = {"confidence": percent(decision.confidence), "threshold": percent(decision.threshold)}
        ctx["routing_predictions"] = [{**p, "pct": percent(p["probability"])} for p in decision.predictions[:3]]
    if ticket.status == TicketStatus.RECEIVED:
        ctx["duplicates"] = duplicates_for(
            user,
            exclude_id=ticket.pk,
            phone=ticket.caller_phone,
            street_id=ticket.street_id,
            text=f"{ticket.title} {ticket.content}",
        )
        ctx["can_merge"] = Action.MERGE in allowed
        ctx["show_duplicates"] = True
    return ctx


@login_required
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_or_404(request.user, pk)
    # Logged on every render: who saw this caller's data, masked or not (domain.md §7).
    caller = privacy.ticket_view_logged(user=request.user, ticket=ticket, request=request)
    return render(request, "tickets/detail.html", detail_context(request, ticket, caller=caller))


@login_required
@require_POST
def ticket_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """显示完整号码: a unit user gives a reason; the service refuses confidential tickets and logs the rest."""
    ticket = ticket_or_404(request.user, pk)
    form = RevealForm(request.POST, auto_id="id_reveal_%s")
    status, caller = 400, None
    if form.is_valid():
        try:
            caller = privacy.ticket_reveal_phone(
                ticket=ticket, actor=request.user, reason=form.cleaned_data["reason"], request=request
            )
            status = 200
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = exc.status_code
    if is_htmx(request):
        return render(
            request,
            "tickets/_reveal_box.html",
            {"ticket": ticket, "caller": caller, "reveal_form": form, "revealed": caller is not None},
            status=status,
        )
    if caller is None:
        caller = privacy.ticket_view_logged(user=request.user, ticket=ticket, request=request)
    # On success the REVEAL row written by the service is this page view's log entry.
    ctx = detail_context(request, ticket, caller=caller, reveal_form=form, revealed=status == 200)
    return render(request, "tickets/detail.html", ctx, status=status)


# --- actions ----------------------------------------------------------------------------------------


def _render_detail_panel(request: HttpRequest, ticket: Ticket, outcome: Outcome) -> HttpResponse:
    user = request.user
    if not outcome.ok:
        return render(
            request, "tickets/_actions.html", panel_context(ticket, user, failed=outcome), status=outcome.status
        )
    try:
        fresh = selectors.ticket_get(user, ticket.pk)
    except NotFound:
        # The action ended this user's part in the ticket: nothing left to show here.
        messages.success(request, outcome.message)
        return HttpResponseClientRedirect(reverse("home"))
    # The panel plus out-of-band copies of everything the action may have changed; the caller
    # block is left alone so an action never writes a second access-log row.
    ctx = panel_context(fresh, user, notice=outcome.message)
    ctx.update(trail_context(fresh))
    return render(request, "tickets/_actions_response.html", ctx)


RENDERERS = {
    "detail": _render_detail_panel,
    "queue": dispatch.render_queue_item,
    "workbench": workbench.render_workbench_row,
    "supervise": supervisor.render_supervise_item,
}
RETURN_TO = {"queue": "dispatch_queue", "workbench": "workbench", "supervise": "supervise"}


def _auto_id(ctx: str, ticket: Ticket, slug: str, fixed) -> str:
    if ctx == "detail":
        return f"id_{slug}_%s"
    key = f"r{fixed.pk}" if fixed is not None else f"t{ticket.pk}"
    return f"id_{ctx}_{key}_{slug}_%s"


@login_required
@require_http_methods(["GET", "POST"])
def ticket_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """POST /tickets/<id>/<action>/ → the service; GET shows that action's form on its own."""
    if action not in ACTIONS:
        raise Http404("没有这个操作。")
    ticket = ticket_or_404(request.user, pk)
    params = request.POST if request.method == "POST" else request.GET
    ctx = params.get("ctx", "detail")
    if ctx not in RENDERERS:
        ctx = "detail"
    fixed = fixed_request_for(action, ticket, params.get("request_id"))
    auto_id = _auto_id(ctx, ticket, action, fixed)
    if request.method == "POST":
        outcome = perform(
            action, ticket=ticket, user=request.user, data=request.POST, fixed_request=fixed, auto_id=auto_id
        )
    else:
        outcome = Outcome(
            action, build_form(action, ticket=ticket, user=request.user, fixed_request=fixed, auto_id=auto_id)
        )
    if is_htmx(request):
        return RENDERERS[ctx](request, ticket, outcome)
    if outcome.ok:
        messages.success(request, outcome.message)
        if ctx in RETURN_TO:
            return redirect(RETURN_TO[ctx])
        return redirect("ticket_detail", pk=ticket.pk)
    if ctx == "detail" and outcome.submitted:
        caller = privacy.ticket_view_logged(user=request.user, ticket=ticket, request=request)
        return render(
            request,
            "tickets/detail.html",
            detail_context(request, ticket, caller=caller, failed=outcome),
            status=outcome.status,
        )
    # Without JavaScript (or from a bookmark) the action gets a page of its own.
    return render(
        request,
        "tickets/action_page.html",
        {
            "ticket": ticket,
            "slug": action,
            "label": label_of(action),
            "button": button_of(action),
            "form": outcome.form,
            "ctx": ctx,
            "error": outcome.message if outcome.submitted else "",
            "fixed_request": fixed,
        },
        status=outcome.status,
    )
