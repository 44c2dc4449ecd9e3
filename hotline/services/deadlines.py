"""The deadline engine: yellow warnings, red breaches and the escalation ladder.

One sweep claims due clocks in batches (``FOR UPDATE SKIP LOCKED`` through the partial
indexes on Clock), moves each by compare-and-set, and writes its ticket events and
notifications in the same transaction. Two workers take disjoint batches; a worker killed
mid-batch rolls back and the next sweep does the work; a redelivered task finds nothing left
to do. So every warning and breach fires exactly once, and a sweep after downtime catches up.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hotline.choices import AssignmentRole, ClockKind, ClockState, EventKind, Role
from hotline.models import Clock, Notification, NotificationLevel, Ticket, TicketEvent, User

KIND_LABEL = dict(ClockKind.choices)


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    notifications: int = 0
    batches: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict:
        return {
            "warned": self.warned,
            "breached": self.breached,
            "escalated": self.escalated,
            "notifications": self.notifications,
            "batches": self.batches,
        }


class _Recipients:
    """Who hears about a clock: looked up once per batch, not once per clock."""

    def __init__(self, clocks: list[Clock]) -> None:
        unit_ids = {c.assignment.unit_id for c in clocks if c.assignment_id}
        unit_ids |= {c.assignment.unit.parent_id for c in clocks if c.assignment_id and c.assignment.unit.parent_id}
        self.staff: dict[tuple[int, str], list[int]] = defaultdict(list)
        for uid, unit_id, role in User.objects.filter(
            unit_id__in=unit_ids, is_active=True, role__in=[Role.HANDLER, Role.MANAGER]
        ).values_list("id", "unit_id", "role"):
            self.staff[(unit_id, role)].append(uid)
        self._hub: dict[str, list[int]] = {}

    def hub(self, role: str) -> list[int]:
        if role not in self._hub:
            self._hub[role] = list(User.objects.filter(role=role, is_active=True).values_list("id", flat=True))
        return self._hub[role]

    def handlers(self, clock: Clock) -> list[int]:
        a = clock.assignment
        if a.signed_by_id:
            return [a.signed_by_id]
        return self.staff[(a.unit_id, Role.HANDLER)]

    def managers(self, unit_id: int | None) -> list[int]:
        return self.staff[(unit_id, Role.MANAGER)] if unit_id else []

    def for_step(self, clock: Clock, step: str) -> list[int]:
        if clock.assignment_id is None:  # the hub's own dispatch clock
            return self.hub(Role.DISPATCHER) if step != "hub" else self.hub(Role.SUPERVISOR)
        unit = clock.assignment.unit
        return {
            "handler": self.handlers(clock),
            "manager": self.managers(unit.id),
            "parent": self.managers(unit.parent_id),
            "hub": self.hub(Role.SUPERVISOR),
        }[step]


def _ladder() -> list[tuple[str, int]]:
    return [(name, int(minutes)) for name, minutes in settings.HOTLINE["ESCALATION_LADDER"]]


def _claim(qs, batch: int) -> list[Clock]:
    """Lock up to ``batch`` due clocks that no other sweep holds; others skip them, never wait."""
    return list(
        qs.select_for_update(skip_locked=True, of=("self",)).select_related("ticket", "assignment__unit")[:batch]
    )


def _message(clock: Clock, what: str) -> str:
    who = f"{clock.assignment.unit}" if clock.assignment_id else "热线中心"
    due = timezone.localtime(clock.due_at).strftime("%m-%d %H:%M")
    return f"工单{clock.ticket.number}（{who}）{KIND_LABEL[clock.kind]}{what}，到期时间{due}。"


def _event(clock: Clock, kind: str, reason: str, payload: dict) -> TicketEvent:
    return TicketEvent(
        ticket_id=clock.ticket_id,
        kind=kind,
        actor=None,
        actor_unit=None,
        unit=clock.assignment.unit if clock.assignment_id else None,
        from_status=clock.ticket.status,
        to_status=clock.ticket.status,
        reason=reason,
        payload={"clock": clock.kind, "clock_id": clock.pk, "due_at": clock.due_at.isoformat(), **payload},
    )


def _notes(user_ids, clock: Clock, level: str, kind: str, message: str) -> list[Notification]:
    return [
        Notification(user_id=uid, ticket_id=clock.ticket_id, level=level, kind=kind, message=message)
        for uid in dict.fromkeys(user_ids)
    ]


def _escalation_sms(clock: Clock, step: int, rung: str, user_ids: list[int]) -> None:
    """Where configured, escalations also reach staff by SMS (through the outbox, after commit)."""
    from hotline.services.sms import sms_enqueue

    for uid, mobile in User.objects.filter(pk__in=user_ids).exclude(mobile="").values_list("pk", "mobile"):
        sms_enqueue(
            phone=mobile,
            template="escalation",
            params={"number": clock.ticket.number, "rung": rung},
            dedupe_key=f"escalation:{clock.pk}:{step}:{uid}",
            ticket=clock.ticket,
        )


def _warn_batch(now: dt.datetime, batch: int, result: SweepResult) -> int:
    with transaction.atomic():
        clocks = _claim(Clock.objects.filter(state=ClockState.RUNNING, warn_at__lte=now).order_by("warn_at"), batch)
        if not clocks:
            return 0
        # Compare-and-set: only rows still running move; the lock makes this all of them.
        Clock.objects.filter(pk__in=[c.pk for c in clocks], state=ClockState.RUNNING).update(state=ClockState.WARNED)
        people = _Recipients(clocks)
        events, notes = [], []
        for c in clocks:
            message = _message(c, "即将到期（黄灯）")
            events.append(_event(c, EventKind.CLOCK_WARNED, message, {"level": "yellow"}))
            if c.assignment_id:
                targets = people.handlers(c) + people.managers(c.assignment.unit_id)
            else:
                targets = people.hub(Role.DISPATCHER)
            notes += _notes(targets, c, NotificationLevel.WARNING, "clock_warned", message)
            result.by_kind[f"warned:{c.kind}"] += 1
        TicketEvent.objects.bulk_create(events, batch_size=1000)
        Notification.objects.bulk_create(notes, batch_size=1000)
        result.warned += len(clocks)
        result.notifications += len(notes)
        return len(clocks)


def _breach_batch(now: dt.datetime, batch: int, result: SweepResult) -> int:
    ladder = _ladder()
    with transaction.atomic():
        clocks = _claim(
            Clock.objects.filter(state__in=[ClockState.RUNNING, ClockState.WARNED], due_at__lte=now).order_by("due_at"),
            batch,
        )
        if not clocks:
            return 0
        people = _Recipients(clocks)
        escalating = {
            c.pk
            for c in clocks
            if c.kind == ClockKind.REPLY and c.assignment_id and c.assignment.role == AssignmentRole.LEAD
        }
        Clock.objects.filter(pk__in=[c.pk for c in clocks if c.pk not in escalating]).update(state=ClockState.BREACHED)
        supervised: set[int] = set()
        if escalating:
            # The first rung fires now; each later rung waits its delay after the due time (the breach),
            # so a sweep catching up after downtime fires the overdue rungs too.
            next_at = F("due_at") + dt.timedelta(minutes=ladder[1][1]) if len(ladder) > 1 else None
            Clock.objects.filter(pk__in=escalating).update(
                state=ClockState.BREACHED, escalation_step=1, next_escalation_at=next_at
            )
            tickets = {c.ticket_id for c in clocks if c.pk in escalating}
            supervised = set(Ticket.objects.filter(pk__in=tickets, supervise_level__lt=1).values_list("pk", flat=True))
            Ticket.objects.filter(pk__in=supervised).update(supervise_level=1, updated_at=now)
        events, notes = [], []
        for c in clocks:
            message = _message(c, "已超期（红灯）")
            events.append(_event(c, EventKind.CLOCK_BREACHED, message, {"level": "red"}))
            if c.pk in escalating:
                targets = people.for_step(c, ladder[0][0])
                if c.ticket_id in supervised:
                    supervised.discard(c.ticket_id)  # one 督办 event per ticket, however many clocks
                    events.append(_event(c, EventKind.SUPERVISED, "办结时限超期，自动督办", {"from": 0, "to": 1}))
            elif c.assignment_id:
                targets = people.handlers(c) + people.managers(c.assignment.unit_id)
            else:
                targets = people.hub(Role.DISPATCHER)  # the dispatch clock alerts the dispatcher queue
            notes += _notes(targets, c, NotificationLevel.DANGER, "clock_breached", message)
            result.by_kind[f"breached:{c.kind}"] += 1
        TicketEvent.objects.bulk_create(events, batch_size=1000)
        Notification.objects.bulk_create(notes, batch_size=1000)
        result.breached += len(clocks)
        result.notifications += len(notes)
        return len(clocks)


def _escalate_batch(now: dt.datetime, batch: int, result: SweepResult) -> int:
    ladder = _ladder()
    with transaction.atomic():
        clocks = _claim(
            Clock.objects.filter(state=ClockState.BREACHED, next_escalation_at__lte=now).order_by("next_escalation_at"),
            batch,
        )
        if not clocks:
            return 0
        people = _Recipients(clocks)
        events, notes = [], []
        by_level: dict[int, list[int]] = defaultdict(list)
        for c in clocks:
            step = c.escalation_step  # index of the rung that fires now
            if step >= len(ladder):
                Clock.objects.filter(pk=c.pk).update(next_escalation_at=None)
                continue
            name = ladder[step][0]
            next_at = (c.due_at + dt.timedelta(minutes=ladder[step + 1][1])) if step + 1 < len(ladder) else None
            Clock.objects.filter(pk=c.pk, escalation_step=step).update(
                escalation_step=step + 1, next_escalation_at=next_at
            )
            level = min(3, 1 + max(0, step - 1))  # handler/manager: 1, parent: 2, hub: 3
            by_level[level].append(c.ticket_id)
            rung = {"handler": "承办人", "manager": "单位负责人", "parent": "上级单位", "hub": "热线中心督办"}[name]
            message = _message(c, f"超期未办结，已升级至{rung}")
            events.append(_event(c, EventKind.ESCALATED, message, {"escalation": name, "step": step + 1}))
            targets = people.for_step(c, name)
            notes += _notes(targets, c, NotificationLevel.DANGER, "escalated", message)
            if settings.HOTLINE_SMS["ESCALATION_SMS"]:
                _escalation_sms(c, step + 1, rung, targets)
            result.escalated += 1
        for level, ticket_ids in by_level.items():
            Ticket.objects.filter(pk__in=ticket_ids, supervise_level__lt=level).update(
                supervise_level=level, updated_at=now
            )
        TicketEvent.objects.bulk_create(events, batch_size=1000)
        Notification.objects.bulk_create(notes, batch_size=1000)
        result.notifications += len(notes)
        return len(clocks)


def clocks_sweep(
    *, now: dt.datetime | None = None, batch: int | None = None, budget_seconds: float | None = None
) -> SweepResult:
    """Fire everything that has fallen due by ``now``, batch by batch, within a time budget."""
    now = now or timezone.now()
    batch = batch or settings.HOTLINE["SWEEP_BATCH"]
    budget = budget_seconds if budget_seconds is not None else settings.HOTLINE["SWEEP_BUDGET_SECONDS"]
    started = time.monotonic()
    result = SweepResult()
    # Warnings first, so a clock that slept through both thresholds still gets its yellow, then its red.
    for step in (_warn_batch, _breach_batch, _escalate_batch):
        while time.monotonic() - started < budget:
            result.batches += 1
            if step(now, batch, result) < batch:
                break
    return result
