"""Login lockout responses (django-axes): JSON for API clients, the Chinese page for people."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

LOCKED_MESSAGE = "登录失败次数过多，账号已暂时锁定，请{minutes}分钟后再试或联系管理员。"


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    message = LOCKED_MESSAGE.format(minutes=minutes)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    return render(request, "registration/locked_out.html", {"message": message, "minutes": minutes}, status=429)
