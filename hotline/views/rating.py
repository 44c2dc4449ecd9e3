"""The resident's rating page, opened from the SMS link: no login, no JavaScript, fast on a cheap phone."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hotline.choices import AssignmentRole, Satisfaction
from hotline.errors import DomainError
from hotline.services.rating import rating_submit, rating_token_check

YES_NO = [("1", "是"), ("0", "否")]
RESOLVED = [("1", "已解决"), ("0", "未解决")]
PROBLEMS = {
    "unknown": (404, "链接无效", "这个评价链接不存在。请核对短信中的链接是否完整，或拨打12345反映。"),
    "expired": (410, "链接已过期", "评价链接的有效期已过。如需评价或继续反映，请拨打12345。"),
    "used": (410, "您已评价", "感谢您的评价！每个办理结果只需评价一次。"),
    "revoked": (410, "链接已失效", "该工单正在重新办理，办结后我们会再次请您评价。"),
    "throttled": (429, "访问太频繁", "请稍后再试。"),
}


class RatingForm(forms.Form):
    contacted = forms.ChoiceField(
        label="承办单位是否联系过您",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择是否联系过您。"},
    )
    resolved = forms.ChoiceField(
        label="您的问题是否已解决",
        choices=RESOLVED,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择问题是否解决。"},
    )
    satisfaction = forms.ChoiceField(
        label="您对办理结果是否满意",
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择满意程度。"},
    )
    comment = forms.CharField(
        label="其他意见（选填）",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )


def _client_ip(request: HttpRequest) -> str:
    """The address to count guesses against. X-Forwarded-For is written by whoever sends the
    request, so it is read only behind our own proxy, and then its last entry: the one that proxy
    appended (or wrote) itself."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or "?"
    return request.META.get("REMOTE_ADDR", "") or "?"


def _throttled(request: HttpRequest) -> bool:
    """Guessing tokens is hopeless (128 bits), and this keeps anyone from trying at scale."""
    key = f"rating-lookups:{_client_ip(request)}"
    try:
        cache.add(key, 0, timeout=60)
        return cache.incr(key) > settings.HOTLINE["RATING_LOOKUPS_PER_MINUTE"]
    except Exception:  # no cache: do not lock residents out
        return False


def _problem(request: HttpRequest, kind: str) -> HttpResponse:
    status, title, text = PROBLEMS[kind]
    return render(request, "rating/problem.html", {"title": title, "text": text}, status=status)


def _reply_of(ticket) -> tuple[str, str]:
    """What the unit told the resident (or the operator's direct answer), and who said it."""
    lead = ticket.assignments.filter(role=AssignmentRole.LEAD).exclude(reply_text="").select_related("unit")
    lead = lead.order_by("-replied_at").first()
    if lead is not None:
        return lead.reply_text, str(lead.unit)
    return ticket.answer_text, "12345热线"


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    if _throttled(request):
        return _problem(request, "throttled")
    state = rating_token_check(token)
    if state.problem:
        return _problem(request, state.problem)
    ticket = state.row.ticket
    form = RatingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                rating_submit(
                    token=token,
                    contacted=data["contacted"] == "1",
                    resolved=data["resolved"] == "1",
                    satisfaction=data["satisfaction"],
                    comment=data["comment"],
                )
            except DomainError as exc:
                return render(
                    request, "rating/problem.html", {"title": "未能提交", "text": exc.message}, status=exc.status_code
                )
            return render(request, "rating/thanks.html", {"ticket": ticket})
        status = 400
    reply, replier = _reply_of(ticket)
    return render(
        request, "rating/rate.html", {"ticket": ticket, "reply": reply, "replier": replier, "form": form}, status=status
    )
