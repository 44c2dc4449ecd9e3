"""Turn TicketEvent payloads into short Chinese lines for the timeline.

Payloads store codes (unit codes, choice values, ISO times) so they stay valid when a name
changes; here they become what a person reads. Unknown keys are shown as they are rather than
dropped, so nothing in the trail is hidden from the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from hotline.choices import (
    AssignmentRole,
    CallbackChannel,
    Channel,
    ClockKind,
    EventKind,
    HandlingResult,
    Priority,
    RequestType,
    Satisfaction,
)
from hotline.models import TicketEvent, Unit

UNIT_KEYS = ("lead", "copy", "returned_by", "suggested_unit", "unit")
CHOICE_KEYS = {
    "channel": ("来源渠道", Channel),
    "request_type": ("诉求类型", RequestType),
    "priority": ("紧急程度", Priority),
    "result": ("办理结果", HandlingResult),
    "satisfaction": ("满意度", Satisfaction),
    "role": ("承办角色", AssignmentRole),
    "clock": ("时限", ClockKind),
}
LABELS = {
    "lead": "主办",
    "assist": "协办",
    "copy": "督办抄送",
    "returned_by": "退单单位",
    "suggested_unit": "建议单位",
    "unit": "承办单位",
    "days": "工作日",
    "due_at": "新时限",
    "contacted": "已联系",
    "resolved": "已解决",
    "valid": "有效回访",
    "master": "主工单",
    "child": "并入工单",
    "repeat_count": "重复来电数",
    "confidential": "保密",
}
SKIP = {"request"}
KEY_ORDER = [
    "request_type",
    "channel",
    "priority",
    "lead",
    "assist",
    "copy",
    "returned_by",
    "suggested_unit",
    "unit",
    "role",
    "result",
    "contacted",
    "resolved",
    "satisfaction",
    "valid",
    "days",
    "due_at",
    "clock",
]  # internal ids, meaningless on the page


@dataclass
class TimelineRow:
    event: TicketEvent
    details: list[str]


def _when(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.strftime("%Y-%m-%d %H:%M")


def _yes_no(value) -> str:
    return {True: "是", False: "否", None: "未答"}.get(value, str(value))


def _unit_codes(events: Iterable[TicketEvent]) -> set[str]:
    codes: set[str] = set()
    for event in events:
        payload = event.payload or {}
        for key in UNIT_KEYS:
            if isinstance(payload.get(key), str):
                codes.add(payload[key])
        codes.update(c for c in payload.get("assist") or [] if isinstance(c, str))
        if event.kind == EventKind.SUBDISPATCHED:
            codes.update(payload.get(k) for k in ("from", "to") if isinstance(payload.get(k), str))
    return codes


def _details(event: TicketEvent, names: dict[str, str]) -> list[str]:
    payload = event.payload or {}

    def unit(code) -> str:
        return names.get(code, code)

    lines: list[str] = []
    # jsonb does not keep key order; show the keys in a fixed, readable one.
    for key in sorted(payload, key=lambda k: (KEY_ORDER.index(k) if k in KEY_ORDER else len(KEY_ORDER), k)):
        value = payload[key]
        if key in SKIP or value in (None, "", []):
            continue
        if key in ("from", "to"):
            continue  # handled below, their meaning depends on the event kind
        if key == "channel" and event.kind == EventKind.CALLBACK:
            label = CallbackChannel(value).label if value in CallbackChannel.values else value
            lines.append(f"方式：{label}")
        elif key in UNIT_KEYS:
            lines.append(f"{LABELS[key]}：{unit(value)}")
        elif key == "assist":
            lines.append(f"{LABELS[key]}：{'、'.join(unit(c) for c in value)}")
        elif key in CHOICE_KEYS:
            label, enum = CHOICE_KEYS[key]
            lines.append(f"{label}：{enum(value).label if value in enum.values else value}")
        elif key in ("contacted", "resolved", "valid", "confidential"):
            lines.append(f"{LABELS[key]}：{_yes_no(value)}")
        elif key == "due_at":
            lines.append(f"{LABELS[key]}：{_when(value)}")
        else:
            lines.append(f"{LABELS.get(key, key)}：{value}")
    if "from" in payload or "to" in payload:
        old, new = payload.get("from"), payload.get("to")
        if event.kind == EventKind.SUBDISPATCHED:
            lines.append(f"{unit(old)} → {unit(new)}")
        elif event.kind == EventKind.SUPERVISED:
            lines.append(f"督办级别：{old} → {new}")
        elif event.kind == EventKind.DUE_CHANGED:
            lines.append(f"时限：{_when(old)} → {_when(new)}")
        else:
            lines.append(f"{old} → {new}")
    return lines


def timeline(events: Iterable[TicketEvent]) -> list[TimelineRow]:
    events = list(events)
    codes = _unit_codes(events)
    names = {u.code: str(u) for u in Unit.objects.filter(code__in=codes)} if codes else {}
    return [TimelineRow(event, _details(event, names)) for event in events]
