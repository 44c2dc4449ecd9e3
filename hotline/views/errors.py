"""Error pages that know whether they answer a person or an API client."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "接口地址不存在或资源无权查看。", "code": "not_found"}, status=404)
    return page_not_found(request, exception)
