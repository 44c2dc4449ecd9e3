"""Models of the ticket domain, split by concern; import them from here."""

from hotline.models.audit import AccessLog, AppendOnlyError, TicketEvent
from hotline.models.calendar import CalendarDay, CalendarYear
from hotline.models.notifications import Notification, NotificationLevel
from hotline.models.org import Unit, User
from hotline.models.rating import CallbackAttempt, RatingToken
from hotline.models.rollups import (
    BatchEvent,
    HourStat,
    IntakeDayStat,
    IntakeMonthStat,
    ProblemCandidate,
    RollupQueue,
    UnitDayStat,
    UnitMonthStat,
)
from hotline.models.scores import Exemption, ScoreWeights
from hotline.models.sla import LimitUnit, SlaPolicy
from hotline.models.sms import SmsMessage, SmsStatus
from hotline.models.taxonomy import Category, CategoryScope
from hotline.models.tickets import Assignment, Callback, Clock, Ticket, TicketCounter, TicketRequest

__all__ = [
    "AccessLog",
    "AppendOnlyError",
    "Assignment",
    "BatchEvent",
    "CalendarDay",
    "CalendarYear",
    "Callback",
    "CallbackAttempt",
    "Category",
    "CategoryScope",
    "Clock",
    "Exemption",
    "HourStat",
    "IntakeDayStat",
    "IntakeMonthStat",
    "LimitUnit",
    "Notification",
    "NotificationLevel",
    "ProblemCandidate",
    "RatingToken",
    "RollupQueue",
    "ScoreWeights",
    "SlaPolicy",
    "SmsMessage",
    "SmsStatus",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketRequest",
    "Unit",
    "UnitDayStat",
    "UnitMonthStat",
    "User",
]
