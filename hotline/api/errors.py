"""One JSON error shape for the API: {"detail": …, "code": …, "errors": {field: [..]}}."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hotline.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            {"detail": "输入有误。", "code": "invalid", "errors": fields}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, Http404):
        # Reference data says what is missing; everything else is about tickets, and for those the
        # answer is the same whether the ticket does not exist or belongs to another unit.
        view = context.get("view")
        exc = exceptions.NotFound(getattr(view, "not_found_message", "工单不存在或无权查看。"))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        data = response.data
        response.data = {
            "detail": "输入有误，请按字段提示修改。",
            "code": "invalid",
            "errors": data if isinstance(data, dict) else {"non_field_errors": data},
        }
    elif isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(exc, "default_code", "error")
        if hasattr(exc, "get_codes"):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else code
        response.data = {"detail": str(response.data["detail"]), "code": code}
    return response
