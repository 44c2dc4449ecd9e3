"""考核 pages: the city dashboard, a unit's score card, peer rankings and exemption review.

Figures come from hotline.stats (rollups only). The dashboard's charts fetch the same JSON the
API serves, so what a person sees and what an integration reads cannot disagree.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from hotline import services
from hotline.choices import ExemptionReason, RequestStatus, UnitKind
from hotline.errors import DomainError, NotFound
from hotline.models import Exemption, Unit
from hotline.rollups import month_start
from hotline.scores import RANKED_GROUPS
from hotline.selectors import tickets_visible_to
from hotline.stats import Period, Stats, scoped_unit
from hotline.views.helpers import SUPERVISE_ROLES, role_required

FILTER_KINDS = [UnitKind.DISTRICT, UnitKind.STREET, UnitKind.TOWNSHIP, UnitKind.BUREAU, UnitKind.ENTERPRISE]


def _period(request: HttpRequest) -> Period:
    try:
        return Period.parse(request.GET.get("month"), request.GET.get("year"))
    except DomainError:
        return Period.parse()  # a mistyped filter falls back to this month rather than an error page


def _months_choice() -> list[str]:
    """The last 24 months for the filter, newest first."""
    period, out = Period.parse(), []
    month = period.first
    for _ in range(24):
        out.append(month.strftime("%Y-%m"))
        month = month_start(month - dt.timedelta(days=1))
    return out


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The city view for hub roles; unit staff land on their own unit's card."""
    if not request.user.is_hub:
        if request.user.unit_id is None:
            raise Http404("页面不存在。")
        return redirect("score_unit", pk=request.user.unit_id)
    period = _period(request)
    try:
        unit = scoped_unit(request.user, request.GET.get("unit"))
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    stats = Stats(period, unit)
    units = Unit.objects.filter(kind__in=FILTER_KINDS, is_active=True).order_by("kind", "code")
    return render(
        request,
        "scores/dashboard.html",
        {
            "period": period,
            "unit": unit,
            "units": units,
            "months": _months_choice(),
            "summary": stats.summary(),
            "districts": stats.district_table() if unit is None else [],
            "problems": stats.problems() if unit is None else [],
            "query": request.GET.urlencode(),
        },
    )


class ExemptionRequestForm(forms.Form):
    ticket = forms.CharField(label="工单编号", max_length=16)
    reason_kind = forms.ChoiceField(label="免责类型", choices=ExemptionReason.choices)
    reason = forms.CharField(label="申请理由", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


@require_http_methods(["GET", "POST"])
@login_required
def unit_card(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        unit = scoped_unit(request.user, pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    period = _period(request)
    stats = Stats(period, unit)
    can_request = request.user.is_unit_staff and request.user.unit_id == unit.pk
    form = ExemptionRequestForm(initial={"ticket": request.GET.get("ticket", "")}) if can_request else None
    if request.method == "POST":
        if not can_request:
            raise Http404("页面不存在。")
        form = ExemptionRequestForm(request.POST)
        if form.is_valid():
            ticket = tickets_visible_to(request.user).filter(number=form.cleaned_data["ticket"].strip()).first()
            if ticket is None:
                form.add_error("ticket", "工单不存在或不是本单位承办的工单。")
            else:
                try:
                    services.exemption_request(
                        ticket=ticket,
                        actor=request.user,
                        reason_kind=form.cleaned_data["reason_kind"],
                        reason=form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    for name, errors in exc.fields.items():
                        for error in errors:
                            form.add_error(name if name in form.fields else None, error)
                    if not exc.fields:
                        form.add_error(None, exc.message)
                else:
                    messages.success(request, f"已提交工单 {ticket.number} 的考核免责申请，等待督办员审核。")
                    return redirect(f"{reverse('score_unit', args=[unit.pk])}?{request.GET.urlencode()}")
    return render(
        request,
        "scores/unit.html",
        {
            "unit": unit,
            "period": period,
            "months": _months_choice(),
            "summary": stats.summary(),
            "rank": stats.unit_rank(),
            "bad_ratings": stats.bad_ratings(),
            "exemptions": stats.exemptions(),
            "form": form,
            "query": request.GET.urlencode(),
        },
    )


@login_required
def rankings(request: HttpRequest) -> HttpResponse:
    period = _period(request)
    group = request.GET.get("group", UnitKind.STREET)
    if group not in RANKED_GROUPS:
        group = UnitKind.STREET
    stats = Stats(period)
    table = stats.ranking_table(group)
    # Hundreds of streets have no ticket in a quiet month: list them as a count, not as empty rows
    # (the export keeps every unit).
    shown = [r for r in table if r["ranked"] or r["volume"] or r["rated"]]
    return render(
        request,
        "scores/rankings.html",
        {
            "period": period,
            "group": group,
            "groups": [(g, UnitKind(g).label if g != UnitKind.STREET else "街道乡镇") for g in RANKED_GROUPS],
            "months": _months_choice(),
            "table": shown,
            "idle": len(table) - len(shown),
            "min_volume": stats.book.for_month(period.last_month).min_volume,
            "query": request.GET.urlencode(),
        },
    )


class DecisionForm(forms.Form):
    reason = forms.CharField(label="审核意见", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


@role_required(*SUPERVISE_ROLES)
def exemption_list(request: HttpRequest) -> HttpResponse:
    pending = (
        Exemption.objects.filter(status=RequestStatus.PENDING)
        .select_related("ticket", "unit", "requested_by")
        .order_by("requested_at")[:200]
    )
    decided = (
        Exemption.objects.exclude(status=RequestStatus.PENDING)
        .select_related("ticket", "unit", "decided_by")
        .order_by("-decided_at")[:50]
    )
    return render(request, "scores/exemptions.html", {"pending": pending, "decided": decided, "form": DecisionForm()})


@require_POST
@role_required(*SUPERVISE_ROLES)
def exemption_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in ("approve", "reject"):
        raise Http404("页面不存在。")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写审核意见。")
        return redirect("exemption_list")
    try:
        exemption = services.exemption_decide(
            exemption=pk, actor=request.user, approve=decision == "approve", reason=form.cleaned_data["reason"]
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"工单 {exemption.ticket.number} 的免责申请{exemption.get_status_display()}。")
    return redirect("exemption_list")
