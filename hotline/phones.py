"""Phone numbers: normalise what an operator types or the switch sends, and mask it for units."""

from __future__ import annotations

import phonenumbers
from django.conf import settings

PHONE_HELP = "请输入有效的手机号（11位）或带区号的固定电话，如 13812345678、010-65121234。"


class PhoneError(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """Digits only, national form: mobiles as 11 digits, landlines with their 0-prefixed area code."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, settings.HOTLINE["PHONE_REGION"])
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(PHONE_HELP) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(PHONE_HELP)
    national = str(number.national_number)
    if number.country_code != 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if (
        phonenumbers.number_type(number)
        in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        and len(national) == 11
        and national.startswith("1")
    ):
        return national
    return "0" + national


def is_mobile(phone: str) -> bool:
    """A normalised mainland mobile number: the only kind an SMS can reach."""
    return len(phone) == 11 and phone.startswith("1") and phone.isdigit()


def mask_phone(phone: str) -> str:
    """138****5678; 010****1234 for landlines: enough to recognise, not enough to call."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 2) + phone[-1:]
    return phone[:3] + "****" + phone[-4:]


def mask_name(name: str) -> str:
    """Surname only: 张三丰 → 张**, 王女士 stays 王女士 (it already is a surname with a title)."""
    name = (name or "").strip()
    if not name:
        return ""
    if name.endswith(("先生", "女士", "小姐", "师傅", "老师", "阿姨")) or name in {"匿名", "不愿透露"}:
        return name
    return name[0] + "*" * max(1, len(name) - 1)
