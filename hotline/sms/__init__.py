"""The SMS gateway interface. Chinese SMS gateways only send pre-approved templates with
parameters (and an approved signature), so a message is a template key plus parameters,
never free text. Backends are chosen by settings.HOTLINE_SMS["BACKEND"]."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """Sending failed."""


class TemporaryError(SmsError):
    """Worth retrying later: network trouble, the gateway's rate limit, a timeout."""


class PermanentError(SmsError):
    """Retrying cannot help: a bad number, a template the gateway does not know."""


@dataclass(frozen=True)
class Template:
    key: str
    text: str  # local rendering, for review and the development inbox
    params: tuple[str, ...]  # order matters for gateways with positional parameters (Tencent)


TEMPLATES = {
    "rating_link": Template(
        "rating_link",
        "您反映的问题（工单{number}）已有办理结果，请点击 {url} 查看并评价，{days}天内有效。",
        ("number", "url", "days"),
    ),
    "merged_outcome": Template(
        "merged_outcome",
        "您反映的问题（工单{number}）已并入同类诉求{master}统一办理，办理结果：{outcome}。感谢您的监督。",
        ("number", "master", "outcome"),
    ),
    "escalation": Template(
        "escalation",
        "工单{number}办结时限已超期，已升级至{rung}，请尽快办理。",
        ("number", "rung"),
    ),
}


@dataclass(frozen=True)
class SendResult:
    message_id: str


class SmsBackend:
    name = "base"

    def send(self, *, phone: str, template: Template, params: dict, reference: str) -> SendResult:
        raise NotImplementedError

    @staticmethod
    def provider_code(template: Template, provider: str) -> str:
        codes = settings.HOTLINE_SMS["TEMPLATE_CODES"].get(template.key, {})
        code = codes.get(provider)
        if not code:
            raise PermanentError(f"短信模板“{template.key}”未配置{provider}模板编号")
        return code


def render(template: Template, params: dict) -> str:
    sign = settings.HOTLINE_SMS["SIGN_NAME"]
    return f"【{sign}】" + template.text.format(**params)


def backend() -> SmsBackend:
    return import_string(settings.HOTLINE_SMS["BACKEND"])()
