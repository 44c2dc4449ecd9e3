"""Tickets (工单), their unit assignments, clocks, pending requests and callbacks."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hotline.choices import (
    ACTIVE_ASSIGNMENT_STATUSES,
    FINAL_STATUSES,
    LIVE_CLOCK_STATES,
    AssignmentRole,
    AssignmentStatus,
    CallbackChannel,
    Channel,
    ClockKind,
    ClockState,
    HandlingResult,
    Level5,
    Priority,
    RequestKind,
    RequestStatus,
    RequestType,
    Satisfaction,
    TicketStatus,
)
from hotline.search import TicketSearchVectorField


class TicketCounter(models.Model):
    """The last ticket number handed out on a day; numbers are YYYYMMDD + a 5-digit sequence."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "工单编号计数器"

    def __str__(self) -> str:
        return f"{self.day:%Y%m%d}: {self.last}"


class Ticket(models.Model):
    """One citizen request (工单) from intake to closure."""

    number = models.CharField("工单编号", max_length=16, unique=True)
    channel = models.CharField("来源渠道", max_length=10, choices=Channel.choices, default=Channel.PHONE)
    request_type = models.CharField("诉求类型", max_length=12, choices=RequestType.choices)
    priority = models.CharField("紧急程度", max_length=10, choices=Priority.choices, default=Priority.GENERAL)
    category = models.ForeignKey(
        "hotline.Category",
        verbose_name="诉求分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    title = models.CharField("标题", max_length=100)
    content = models.TextField("诉求内容")

    # Personal data: units see these masked; every full view is written to AccessLog.
    caller_name = models.CharField("诉求人", max_length=50, blank=True)
    caller_phone = models.CharField(
        "联系电话", max_length=20, blank=True, db_index=True, help_text="规范化后的号码（手机11位，固话带区号）。"
    )
    caller_phone_raw = models.CharField("原始号码", max_length=40, blank=True)
    caller_id = models.CharField("来电号码", max_length=40, blank=True, help_text="话务系统送来的主叫号码。")

    address = models.CharField("地址", max_length=200, blank=True)
    district = models.ForeignKey(
        "routing.Place", verbose_name="区", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    street = models.ForeignKey(
        "routing.Place", verbose_name="街道/乡镇", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    community = models.ForeignKey(
        "routing.Place", verbose_name="社区/村", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    status = models.CharField("状态", max_length=24, choices=TicketStatus.choices, default=TicketStatus.RECEIVED)
    confidential = models.BooleanField(
        "保密", default=False, help_text="应诉求人要求保密办理（GB/T 33358）：承办单位看不到诉求人身份。"
    )
    supervise_level = models.PositiveSmallIntegerField("督办级别", default=0)
    # Kept in step with the lead Assignment by the services, so lists filter without a join.
    lead_unit = models.ForeignKey(
        "hotline.Unit", verbose_name="主办单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    master = models.ForeignKey(
        "self", verbose_name="主工单", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_children"
    )
    repeat_count = models.PositiveIntegerField("重复来电数", default=0)

    answer_text = models.TextField("直接答复内容", blank=True)
    knowledge_article = models.ForeignKey(
        "routing.KnowledgeArticle",
        verbose_name="引用知识库",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    close_reason = models.CharField("办结说明", max_length=200, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="受理人", null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("受理时间", auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField("派单时间", null=True, blank=True)
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    replied_at = models.DateTimeField("反馈时间", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    # jieba words of title, content and address for keyword search (hotline/search.py).
    search_vector = TicketSearchVectorField("检索词")

    class Meta:
        verbose_name = "工单"
        verbose_name_plural = "工单"
        indexes = [
            # The dispatcher queue: SELECT … WHERE status IN ('received','return_requested') ORDER BY id
            models.Index(
                fields=["id"], name="ticket_queue_idx", condition=Q(status__in=["received", "return_requested"])
            ),
            # Search by phone, newest first: caller history on the intake screen.
            models.Index(fields=["caller_phone", "-created_at"], name="ticket_phone_recent_idx"),
            models.Index(fields=["lead_unit", "status"], name="ticket_lead_status_idx"),
            models.Index(fields=["district", "-created_at"], name="ticket_district_recent_idx"),
            # Duplicate suggestions: recent tickets at the same street.
            models.Index(fields=["street", "-created_at"], name="ticket_street_recent_idx"),
            # Lists filtered by status, newest first: WHERE status = … ORDER BY id DESC LIMIT 26.
            models.Index(fields=["status", "-id"], name="ticket_status_recent_idx"),
            # Keyword search: search_vector @@ tsquery. New entries queue in a pending list that
            # the insert which overflows it merges into the index; 1 MB (not 4) keeps that one
            # create's extra wait under ~0.1 s (measured on 1,000,000 tickets).
            GinIndex(fields=["search_vector"], name="ticket_search_idx", gin_pending_list_limit=1024),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def status_colour(self) -> str:
        return TicketStatus.colour_of(self.status)

    @property
    def priority_colour(self) -> str:
        return Priority.colour_of(self.priority)

    @property
    def place_name(self) -> str:
        return "".join(p.name for p in (self.district, self.street, self.community) if p is not None)


class Assignment(models.Model):
    """One unit's part in a ticket: lead (主办), assisting (协办), supervising copy or sub-dispatch."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(
        "hotline.Unit", verbose_name="承办单位", on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField("角色", max_length=8, choices=AssignmentRole.choices)
    status = models.CharField(
        "状态", max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.DISPATCHED
    )
    parent = models.ForeignKey(
        "self", verbose_name="下派自", null=True, blank=True, on_delete=models.PROTECT, related_name="sub_assignments"
    )
    dispatched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    dispatched_at = models.DateTimeField("派单时间")
    note = models.TextField("派单意见", blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    contacted_at = models.DateTimeField("联系诉求人时间", null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replied_at = models.DateTimeField("反馈时间", null=True, blank=True)
    reply_contacted = models.BooleanField("已联系诉求人", null=True, blank=True)
    reply_result = models.CharField("办理结果", max_length=14, choices=HandlingResult.choices, blank=True)
    reply_text = models.TextField("答复内容", blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    # Extension already granted, in working days, to enforce the total cap.
    extended_days = models.PositiveSmallIntegerField("已延期工作日", default=0)

    class Meta:
        verbose_name = "承办记录"
        verbose_name_plural = "承办记录"
        indexes = [
            # The workbench's open tabs and their counts: WHERE unit_id = … AND status IN (…).
            models.Index(fields=["unit", "status"], name="assignment_unit_status_idx"),
            # The workbench's replied tab, newest reply first, a page at a time: a city bureau holds
            # tens of thousands of replied assignments, and this reads only the page (and "999+").
            models.Index(
                fields=["unit", "-replied_at", "-id"],
                name="assignment_unit_replied_idx",
                condition=Q(status="replied") & ~Q(role="copy"),
            ),
        ]
        constraints = [
            # A ticket has at most one live lead unit at a time.
            models.UniqueConstraint(
                fields=["ticket"],
                name="one_active_lead_per_ticket",
                condition=Q(role="lead", status__in=sorted(ACTIVE_ASSIGNMENT_STATUSES)),
            ),
            # A unit holds at most one live part in a ticket.
            models.UniqueConstraint(
                fields=["ticket", "unit"],
                name="one_active_assignment_per_unit",
                condition=Q(status__in=sorted(ACTIVE_ASSIGNMENT_STATUSES)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number} → {self.unit} ({self.get_role_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ASSIGNMENT_STATUSES

    @property
    def status_colour(self) -> str:
        return AssignmentStatus.colour_of(self.status)


class Clock(models.Model):
    """One deadline of a ticket or assignment; the due and warning times are fixed when it starts."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="clocks")
    # Indexed by clock_assignment_kind_idx below (assignment first), which replaces the plain FK index.
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="clocks", db_index=False
    )
    kind = models.CharField("时限", max_length=10, choices=ClockKind.choices)
    state = models.CharField("状态", max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField("开始")
    warn_at = models.DateTimeField("预警时间")
    due_at = models.DateTimeField("到期时间")
    stopped_at = models.DateTimeField("停止时间", null=True, blank=True)
    limit_value = models.PositiveIntegerField("时限数值")
    limit_unit = models.CharField("时限单位", max_length=12)  # "minutes" (clock time) or "workdays"
    policy = models.ForeignKey(
        "hotline.SlaPolicy", verbose_name="时限规则", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Escalation ladder after a reply breach: the step reached and when the next one is due.
    escalation_step = models.PositiveSmallIntegerField("升级级别", default=0)
    next_escalation_at = models.DateTimeField("下次升级时间", null=True, blank=True)
    # True when the due time fell beyond the calendar's known years (weekends-only rule used).
    calendar_estimated = models.BooleanField("节假日数据缺失", default=False)

    class Meta:
        verbose_name = "时限"
        verbose_name_plural = "时限"
        indexes = [
            # An assignment's latest clock of a kind (the workbench reads the reply clock of every
            # open assignment): WHERE assignment_id = … AND kind = … ORDER BY id DESC LIMIT 1.
            models.Index(fields=["assignment", "kind", "-id"], name="clock_assignment_kind_idx"),
            # Sweep: SELECT … FROM clock WHERE state IN ('running','warned') AND due_at <= now
            models.Index(fields=["due_at"], name="clock_live_due_idx", condition=Q(state__in=["running", "warned"])),
            # Sweep: SELECT … FROM clock WHERE state = 'running' AND warn_at <= now
            models.Index(fields=["warn_at"], name="clock_running_warn_idx", condition=Q(state="running")),
            # Sweep: SELECT … FROM clock WHERE state = 'breached' AND next_escalation_at <= now
            models.Index(
                fields=["next_escalation_at"],
                name="clock_escalation_idx",
                condition=Q(state="breached", next_escalation_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number} {self.get_kind_display()} {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_CLOCK_STATES

    @property
    def state_colour(self) -> str:
        return ClockState.colour_of(self.state)


class TicketRequest(models.Model):
    """A request that needs a decision: return (退单), extension (延期) or termination (终止)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="requests")
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField("类型", max_length=12, choices=RequestKind.choices)
    status = models.CharField("状态", max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    reason = models.TextField("理由")
    # Ticket status before the request, restored when it is rejected.
    from_status = models.CharField(max_length=24, choices=TicketStatus.choices, blank=True)
    requested_days = models.PositiveSmallIntegerField("申请延期工作日", null=True, blank=True)
    suggested_unit = models.ForeignKey(
        "hotline.Unit", verbose_name="建议承办单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_reason = models.TextField("审核意见", blank=True)

    class Meta:
        verbose_name = "审核申请"
        verbose_name_plural = "审核申请"
        indexes = [
            models.Index(fields=["kind", "requested_at"], name="request_pending_idx", condition=Q(status="pending")),
        ]
        constraints = [
            # Double clicks and racing colleagues cannot open two pending requests of one kind.
            models.UniqueConstraint(
                fields=["assignment", "kind"],
                name="one_pending_request_per_assignment",
                condition=Q(status="pending", assignment__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["ticket"],
                name="one_pending_termination_per_ticket",
                condition=Q(status="pending", kind="termination"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number} {self.get_kind_display()} {self.get_status_display()}"

    @property
    def status_colour(self) -> str:
        return RequestStatus.colour_of(self.status)


class Callback(models.Model):
    """The resident's verdict on a reply (回访), by SMS link or by an operator's phone call."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="callbacks")
    channel = models.CharField("方式", max_length=6, choices=CallbackChannel.choices)
    contacted = models.BooleanField("是否联系", null=True)
    resolved = models.BooleanField("是否解决", null=True)
    satisfaction = models.CharField("满意度", max_length=12, choices=Satisfaction.choices, blank=True)
    comment = models.TextField("评价意见", blank=True)
    # The national 好差评 scale (国办发〔2019〕51号): 5 非常满意 … 1 非常不满意, for reporting.
    level5 = models.PositiveSmallIntegerField("好差评等级", choices=Level5.choices, null=True, blank=True)
    # False for 无效回访 (unreachable after the configured attempts): excluded from the rates.
    valid = models.BooleanField("有效回访", default=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Settable (not auto_now_add) so an import or the demo can record when the resident answered.
    created_at = models.DateTimeField("回访时间", default=timezone.now)

    class Meta:
        verbose_name = "回访记录"
        verbose_name_plural = "回访记录"

    def __str__(self) -> str:
        return f"{self.ticket.number} {self.get_channel_display()} {self.get_satisfaction_display()}"

    @property
    def is_bad(self) -> bool:
        return self.valid and (self.resolved is False or self.satisfaction == Satisfaction.DISSATISFIED)
