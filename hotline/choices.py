"""Every enumerated value in the ticket domain, with its Chinese label and its colour.

Templates read labels and colours from here (``ticket.status_colour``); they never
invent a status name or a colour of their own.
"""

from __future__ import annotations

from django.db import models


class Coloured:
    """Mixin for TextChoices whose members carry a CSS colour name."""

    COLOURS: dict[str, str] = {}

    @classmethod
    def colour_of(cls, value: str) -> str:
        return cls.COLOURS.get(value, "gray")


class Role(models.TextChoices):
    OPERATOR = "operator", "话务员"
    DISPATCHER = "dispatcher", "派单员"
    SUPERVISOR = "supervisor", "督办员"
    AUDITOR = "auditor", "审计员"
    HANDLER = "handler", "承办人"
    MANAGER = "manager", "承办单位负责人"
    ADMIN = "admin", "系统管理员"


HUB_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})
UNIT_ROLES = frozenset({Role.HANDLER, Role.MANAGER})


class UnitKind(Coloured, models.TextChoices):
    HUB = "hub", "热线中心"
    DISTRICT = "district", "区政府"
    STREET = "street", "街道"
    TOWNSHIP = "township", "乡镇"
    COMMUNITY = "community", "社区/村"
    BUREAU = "bureau", "委办局"
    ENTERPRISE = "enterprise", "公共服务企业"

    @classmethod
    def peer_group(cls, kind: str) -> str:
        """Rankings compare like with like: streets with townships, bureaus with bureaus."""
        return {cls.TOWNSHIP: cls.STREET}.get(kind, kind)


class Channel(models.TextChoices):
    PHONE = "phone", "电话"
    WEB = "web", "网站"
    APP = "app", "移动端/小程序"
    WECHAT = "wechat", "微博微信"
    LETTER = "letter", "信件"
    API = "api", "接口"


class RequestType(models.TextChoices):
    CONSULT = "consult", "咨询"
    HELP = "help", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGESTION = "suggestion", "建议"
    PRAISE = "praise", "表扬"


class Priority(Coloured, models.TextChoices):
    URGENT = "urgent", "紧急"
    UTILITY = "utility", "水电气热"
    GENERAL = "general", "一般"
    COMPLEX = "complex", "疑难"


Priority.COLOURS = {"urgent": "red", "utility": "orange", "general": "blue", "complex": "purple"}


class TicketStatus(Coloured, models.TextChoices):
    RECEIVED = "received", "待派单"
    DISPATCHED = "dispatched", "待签收"
    HANDLING = "handling", "办理中"
    RETURN_REQUESTED = "return_requested", "退单审核中"
    REPLIED = "replied", "已反馈待回访"
    REVIEW = "review", "差评复核"
    TERMINATION_REQUESTED = "termination_requested", "终止审核中"
    CLOSED = "closed", "已办结"
    TERMINATED = "terminated", "已终止"
    MERGED = "merged", "已合并"


TicketStatus.COLOURS = {
    "received": "blue",
    "dispatched": "indigo",
    "handling": "amber",
    "return_requested": "orange",
    "replied": "teal",
    "review": "red",
    "termination_requested": "gray",
    "closed": "green",
    "terminated": "gray",
    "merged": "gray",
}

# Tickets in these states are finished: no clock runs and no unit acts on them.
FINAL_STATUSES = frozenset({TicketStatus.CLOSED, TicketStatus.TERMINATED, TicketStatus.MERGED})
OPEN_STATUSES = frozenset(set(TicketStatus) - FINAL_STATUSES)


class AssignmentRole(Coloured, models.TextChoices):
    LEAD = "lead", "主办"
    ASSIST = "assist", "协办"
    COPY = "copy", "督办抄送"
    SUB = "sub", "下派"


AssignmentRole.COLOURS = {"lead": "blue", "assist": "teal", "copy": "gray", "sub": "purple"}


class AssignmentStatus(Coloured, models.TextChoices):
    DISPATCHED = "dispatched", "待签收"
    SIGNED = "signed", "办理中"
    RETURN_REQUESTED = "return_requested", "申请退单"
    REPLIED = "replied", "已反馈"
    RETURNED = "returned", "已退回"
    WITHDRAWN = "withdrawn", "已撤回"


AssignmentStatus.COLOURS = {
    "dispatched": "indigo",
    "signed": "amber",
    "return_requested": "orange",
    "replied": "green",
    "returned": "gray",
    "withdrawn": "gray",
}
# An ended assignment no longer gives its unit access to the ticket.
ACTIVE_ASSIGNMENT_STATUSES = frozenset(
    {
        AssignmentStatus.DISPATCHED,
        AssignmentStatus.SIGNED,
        AssignmentStatus.RETURN_REQUESTED,
        AssignmentStatus.REPLIED,
    }
)


class HandlingResult(models.TextChoices):
    RESOLVED = "resolved", "已解决"
    PARTLY = "partly", "部分解决"
    EXPLAINED = "explained", "已解释说明"
    UNRESOLVABLE = "unresolvable", "无法解决"


class RequestKind(models.TextChoices):
    RETURN = "return", "退单"
    EXTENSION = "extension", "延期"
    TERMINATION = "termination", "终止"


class RequestStatus(Coloured, models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"
    CANCELLED = "cancelled", "已撤销"


RequestStatus.COLOURS = {"pending": "orange", "approved": "green", "rejected": "red", "cancelled": "gray"}


class ClockKind(models.TextChoices):
    DISPATCH = "dispatch", "派单时限"
    SIGN = "sign", "签收时限"
    CONTACT = "contact", "首次联系时限"
    REPLY = "reply", "办结反馈时限"


class ClockState(Coloured, models.TextChoices):
    RUNNING = "running", "计时中"
    WARNED = "warned", "黄灯预警"
    BREACHED = "breached", "已超期"
    MET = "met", "按时完成"
    LATE = "late", "超期完成"
    STOPPED = "stopped", "已停止"


ClockState.COLOURS = {
    "running": "green",
    "warned": "amber",
    "breached": "red",
    "met": "green",
    "late": "red",
    "stopped": "gray",
}
LIVE_CLOCK_STATES = frozenset({ClockState.RUNNING, ClockState.WARNED, ClockState.BREACHED})


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASIC = "basic", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"


class ExemptionReason(models.TextChoices):
    """Why a unit asks that a ticket not count against its 三率 (domain §6)."""

    UNREASONABLE = "unreasonable", "不合理诉求"
    NOT_DUTY = "not_duty", "非本单位职责"
    MALICIOUS = "malicious", "恶意评价"
    OTHER = "other", "其他"


class Level5(models.IntegerChoices):
    """The national 好差评 scale (国办发〔2019〕51号)."""

    VERY_SATISFIED = 5, "非常满意"
    SATISFIED = 4, "满意"
    BASIC = 3, "基本满意"
    DISSATISFIED = 2, "不满意"
    VERY_DISSATISFIED = 1, "非常不满意"


class CallbackChannel(models.TextChoices):
    SMS = "sms", "短信评价"
    PHONE = "phone", "电话回访"


class AccessAction(models.TextChoices):
    VIEW = "view", "查看"
    REVEAL = "reveal", "显示号码"
    EXPORT = "export", "导出"
    SEARCH = "search", "按号码检索"


class EventKind(models.TextChoices):
    CREATED = "created", "受理"
    ANSWERED = "answered", "直接答复"
    DISPATCHED = "dispatched", "派单"
    SUBDISPATCHED = "subdispatched", "下派"
    SIGNED = "signed", "签收"
    CONTACTED = "contacted", "联系诉求人"
    REPLIED = "replied", "反馈"
    RETURN_REQUESTED = "return_requested", "申请退单"
    RETURN_APPROVED = "return_approved", "同意退单"
    RETURN_REJECTED = "return_rejected", "驳回退单"
    EXTENSION_REQUESTED = "extension_requested", "申请延期"
    EXTENSION_APPROVED = "extension_approved", "同意延期"
    EXTENSION_REJECTED = "extension_rejected", "驳回延期"
    CALLBACK = "callback", "回访"
    CALLBACK_ATTEMPT = "callback_attempt", "回访未接通"
    CLOSED = "closed", "办结"
    REOPENED = "reopened", "重办"
    MERGED = "merged", "合并"
    MERGED_CHILD = "merged_child", "并入重复来电"
    TERMINATION_REQUESTED = "termination_requested", "申请终止"
    TERMINATION_APPROVED = "termination_approved", "同意终止"
    TERMINATION_REJECTED = "termination_rejected", "驳回终止"
    SUPERVISED = "supervised", "督办"
    CONFIDENTIAL = "confidential", "保密设置"
    DUE_CHANGED = "due_changed", "时限变更"
    EDITED = "edited", "修改工单"
    CLOCK_WARNED = "clock_warned", "时限预警"
    CLOCK_BREACHED = "clock_breached", "超期"
    ESCALATED = "escalated", "超期升级"
    EXEMPTION_REQUESTED = "exemption_requested", "申请考核免责"
    EXEMPTION_APPROVED = "exemption_approved", "同意考核免责"
    EXEMPTION_REJECTED = "exemption_rejected", "驳回考核免责"
