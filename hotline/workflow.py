"""The one table of allowed transitions (domain.md §3).

Every service checks its move here before it writes; the UI and the API ask
``allowed_actions`` so they only offer what would succeed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from hotline.choices import AssignmentStatus as A
from hotline.choices import Role as R
from hotline.choices import TicketStatus as S
from hotline.errors import IllegalTransition


class Action(models.TextChoices):
    ANSWER = "answer", "直接答复"
    DISPATCH = "dispatch", "派单"
    SUBDISPATCH = "subdispatch", "下派"
    SIGN = "sign", "签收"
    CONTACT = "contact", "联系诉求人"
    REPLY = "reply", "反馈办理结果"
    REQUEST_RETURN = "request-return", "申请退单"
    APPROVE_RETURN = "approve-return", "同意退单"
    REJECT_RETURN = "reject-return", "驳回退单"
    REQUEST_EXTENSION = "request-extension", "申请延期"
    APPROVE_EXTENSION = "approve-extension", "同意延期"
    REJECT_EXTENSION = "reject-extension", "驳回延期"
    CALLBACK = "callback", "登记回访"
    CLOSE = "close", "办结"
    REOPEN = "reopen", "重办"
    MERGE = "merge", "合并"
    REQUEST_TERMINATION = "request-termination", "申请终止"
    APPROVE_TERMINATION = "approve-termination", "同意终止"
    REJECT_TERMINATION = "reject-termination", "驳回终止"
    SUPERVISE = "supervise", "督办"
    CONFIDENTIAL = "confidential", "保密设置"


# Ticket states in which units are at work and their clocks run.
WORKING = frozenset({S.DISPATCHED, S.HANDLING, S.RETURN_REQUESTED, S.TERMINATION_REQUESTED})
OPEN = frozenset(set(S) - {S.CLOSED, S.TERMINATED, S.MERGED})
HUB_DESK = frozenset({R.OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.ADMIN})
UNIT = frozenset({R.HANDLER, R.MANAGER})
CREATE_ROLES = frozenset({R.OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.ADMIN})


@dataclass(frozen=True)
class Rule:
    sources: frozenset[str]  # ticket statuses the action may start from
    roles: frozenset[str]  # who may take it
    # For unit actions: the acting unit's assignment statuses it may start from.
    assignment_sources: frozenset[str] = frozenset()
    # Assisting units act inside a ticket whose lead may be elsewhere in the flow.
    assist_sources: frozenset[str] = frozenset()


TRANSITIONS: dict[str, Rule] = {
    Action.ANSWER: Rule(frozenset({S.RECEIVED}), frozenset({R.OPERATOR, R.DISPATCHER, R.ADMIN})),
    Action.DISPATCH: Rule(frozenset({S.RECEIVED}), frozenset({R.DISPATCHER, R.SUPERVISOR, R.ADMIN})),
    Action.SUBDISPATCH: Rule(
        frozenset({S.DISPATCHED, S.HANDLING}), frozenset({R.MANAGER}), frozenset({A.DISPATCHED, A.SIGNED}), WORKING
    ),
    Action.SIGN: Rule(frozenset({S.DISPATCHED}), UNIT, frozenset({A.DISPATCHED}), WORKING),
    Action.CONTACT: Rule(frozenset({S.HANDLING}), UNIT, frozenset({A.SIGNED}), WORKING),
    Action.REPLY: Rule(frozenset({S.HANDLING}), UNIT, frozenset({A.SIGNED}), WORKING),
    Action.REQUEST_RETURN: Rule(
        frozenset({S.DISPATCHED, S.HANDLING}), UNIT, frozenset({A.DISPATCHED, A.SIGNED}), WORKING
    ),
    Action.APPROVE_RETURN: Rule(
        frozenset({S.RETURN_REQUESTED}) | WORKING, frozenset({R.DISPATCHER, R.SUPERVISOR, R.ADMIN})
    ),
    Action.REJECT_RETURN: Rule(
        frozenset({S.RETURN_REQUESTED}) | WORKING, frozenset({R.DISPATCHER, R.SUPERVISOR, R.ADMIN})
    ),
    Action.REQUEST_EXTENSION: Rule(
        frozenset({S.DISPATCHED, S.HANDLING}), UNIT, frozenset({A.DISPATCHED, A.SIGNED}), WORKING
    ),
    Action.APPROVE_EXTENSION: Rule(WORKING, frozenset({R.SUPERVISOR, R.ADMIN})),
    Action.REJECT_EXTENSION: Rule(WORKING, frozenset({R.SUPERVISOR, R.ADMIN})),
    Action.CALLBACK: Rule(frozenset({S.REPLIED, S.CLOSED}), frozenset({R.OPERATOR, R.SUPERVISOR, R.ADMIN})),
    Action.CLOSE: Rule(frozenset({S.REPLIED, S.REVIEW}), frozenset({R.OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.ADMIN})),
    Action.REOPEN: Rule(frozenset({S.REPLIED, S.REVIEW, S.CLOSED}), frozenset({R.SUPERVISOR, R.ADMIN})),
    Action.MERGE: Rule(
        frozenset({S.RECEIVED, S.DISPATCHED, S.HANDLING}), frozenset({R.OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.ADMIN})
    ),
    Action.REQUEST_TERMINATION: Rule(
        frozenset({S.RECEIVED, S.DISPATCHED, S.HANDLING}), HUB_DESK | UNIT, frozenset({A.DISPATCHED, A.SIGNED})
    ),
    Action.APPROVE_TERMINATION: Rule(frozenset({S.TERMINATION_REQUESTED}), frozenset({R.SUPERVISOR, R.ADMIN})),
    Action.REJECT_TERMINATION: Rule(frozenset({S.TERMINATION_REQUESTED}), frozenset({R.SUPERVISOR, R.ADMIN})),
    Action.SUPERVISE: Rule(OPEN, frozenset({R.SUPERVISOR, R.ADMIN})),
    Action.CONFIDENTIAL: Rule(OPEN, frozenset({R.OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.ADMIN})),
}


def status_label(status: str) -> str:
    return S(status).label if status in S.values else status


def check(action: str, *, status: str, assignment_status: str | None = None, as_assist: bool = False) -> None:
    """Raise IllegalTransition unless ``action`` may start from these states."""
    rule = TRANSITIONS[action]
    label = Action(action).label
    sources = rule.assist_sources if as_assist and rule.assist_sources else rule.sources
    if status not in sources:
        raise IllegalTransition(f"工单当前状态为“{status_label(status)}”，不能{label}。")
    if rule.assignment_sources and assignment_status is not None and assignment_status not in rule.assignment_sources:
        current = A(assignment_status).label if assignment_status in A.values else assignment_status
        raise IllegalTransition(f"本单位承办状态为“{current}”，不能{label}。")
