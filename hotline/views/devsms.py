"""The development SMS inbox: what the gateway would have delivered, only in DEBUG or demo mode."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe

from hotline.models import SmsMessage
from hotline.phones import mask_phone


def _linkify(text: str) -> str:
    # Rendered SMS text is ours, but escape first anyway: a ticket title could end up in it.
    words = escape(text).split(" ")
    return " ".join(f'<a href="{w}">{w}</a>' if w.startswith(("http://", "https://", "/r/")) else w for w in words)


def sms_inbox(request: HttpRequest) -> HttpResponse:
    if not (settings.DEBUG or settings.DEMO_MODE):
        raise Http404("页面不存在。")
    rows = [
        {"message": m, "phone": mask_phone(m.phone), "html": mark_safe(_linkify(m.rendered))}
        for m in SmsMessage.objects.order_by("-id")[:100]
    ]
    return render(request, "dev/sms_inbox.html", {"rows": rows})
