"""Intake and ticket-wide actions: create, direct answer, merge, confidential, supervise."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from hotline.choices import (
    AssignmentStatus,
    Channel,
    ClockKind,
    EventKind,
    Priority,
    RequestStatus,
    RequestType,
    TicketStatus,
)
from hotline.errors import IllegalTransition, InvalidInput, NotAllowed
from hotline.models import Category, Clock, Ticket, User
from hotline.phones import PhoneError, normalize_phone
from hotline.services.base import require, require_reason, ticket_lock
from hotline.services.clocks import clock_start, clocks_finish, clocks_stop
from hotline.services.events import event_build, event_record
from hotline.services.rating import rating_invite
from hotline.text import clean_text
from hotline.workflow import CREATE_ROLES, Action, check
from routing.models import Place, PlaceLevel


def ticket_number_next(day: dt.date | None = None) -> str:
    """YYYYMMDD + a 5-digit daily sequence, handed out atomically (an upsert, no lock held)."""
    day = day or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO hotline_ticketcounter (day, last) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = hotline_ticketcounter.last + 1 RETURNING last",
            [day],
        )
        seq = cursor.fetchone()[0]
    return f"{day:%Y%m%d}{seq:05d}"


def _validate_choice(field: str, value: str, choices, label: str) -> str:
    if value not in choices.values:
        raise InvalidInput.field(field, f"{label}无效：{value!r}。")
    return value


def _validate_places(district: Place | None, street: Place | None, community: Place | None):
    if community is not None:
        if community.level != PlaceLevel.COMMUNITY:
            raise InvalidInput.field("community", "所选社区无效。")
        street = street or community.parent
        if community.parent_id != getattr(street, "pk", None):
            raise InvalidInput.field("community", f"社区“{community}”不属于所选街道/乡镇。")
    if street is not None:
        if street.level != PlaceLevel.STREET:
            raise InvalidInput.field("street", "所选街道/乡镇无效。")
        district = district or street.parent
        if street.parent_id != getattr(district, "pk", None):
            raise InvalidInput.field("street", f"“{street}”不属于所选的区。")
    if district is not None and district.level != PlaceLevel.DISTRICT:
        raise InvalidInput.field("district", "所选区无效。")
    return district, street, community


def ticket_prepare(
    *,
    actor: User,
    title: str,
    content: str,
    request_type: str,
    channel: str = Channel.PHONE,
    priority: str = Priority.GENERAL,
    category: Category | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    caller_id: str = "",
    address: str = "",
    district: Place | None = None,
    street: Place | None = None,
    community: Place | None = None,
    confidential: bool = False,
    now: dt.datetime | None = None,
) -> Ticket:
    """Check and clean an intake. The unsaved ticket returned is exactly what ``ticket_insert`` writes;
    nothing is written (and no number used up) when the intake is refused."""
    if actor.role not in CREATE_ROLES:
        raise NotAllowed("只有话务员、派单员可以受理工单。")
    now = now or timezone.now()
    title, content = clean_text(title), clean_text(content)
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = ["请填写标题（一句话概括诉求）。"]
    elif len(title) > 100:
        errors["title"] = ["标题不能超过100字。"]
    limit = settings.HOTLINE["TICKET_TEXT_MAX"]
    if not content:
        errors["content"] = ["请填写诉求内容。"]
    elif len(content) > limit:
        errors["content"] = [f"诉求内容不能超过{limit}字（当前{len(content)}字），请精简后再保存。"]
    try:
        phone = normalize_phone(clean_text(caller_phone))
    except PhoneError as exc:
        errors["caller_phone"] = [str(exc)]
        phone = ""
    caller_name = clean_text(caller_name)
    if len(caller_name) > 50:
        errors["caller_name"] = ["诉求人姓名不能超过50字。"]
    address = clean_text(address)
    if len(address) > 200:
        errors["address"] = ["地址不能超过200字。"]
    if errors:
        raise InvalidInput("工单信息有误，请按提示修改。", fields=errors)
    _validate_choice("request_type", request_type, RequestType, "诉求类型")
    _validate_choice("channel", channel, Channel, "来源渠道")
    _validate_choice("priority", priority, Priority, "紧急程度")
    district, street, community = _validate_places(district, street, community)
    return Ticket(
        channel=channel,
        request_type=request_type,
        priority=priority,
        category=category,
        title=title,
        content=content,
        caller_name=caller_name,
        caller_phone=phone,
        caller_phone_raw=clean_text(caller_phone)[:40],
        caller_id=clean_text(caller_id)[:40],
        address=address,
        district=district,
        street=street,
        community=community,
        confidential=confidential,
        created_by=actor,
        status=TicketStatus.RECEIVED,
        created_at=now,
    )


def ticket_reserve_id() -> int | None:
    """The id the next ticket will have, taken now (PostgreSQL only, else None).

    Sequences are outside transactions and never wait, so a create can write the rows that point at
    a ticket first and the ticket row itself last: foreign keys are checked at commit (Django creates
    them DEFERRABLE INITIALLY DEFERRED). Numbering locks the day's counter row until the commit and
    every other create queues for it; numbered last, a create holds it for little more than the
    commit itself.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Ticket._meta.db_table])
        return cursor.fetchone()[0]


def ticket_insert(ticket: Ticket) -> Ticket:
    """Number a prepared ticket and insert it as it stands (call inside a transaction).

    created_at is the moment of the call (or a backdated import's), not of the insert. auto_now_add
    would overwrite it, and writing it back cost an UPDATE of the fresh row and of every index on it
    (the search vector's GIN index among them). So the row is saved raw (values exactly as given),
    after every other field's pre_save has run as a normal insert runs it.
    """
    computed = {}  # values a field's pre_save returns without putting them on the instance
    for field in Ticket._meta.concrete_fields:
        if field.primary_key or field.attname == "created_at":
            continue
        value = field.pre_save(ticket, True)  # auto_now (updated_at) sets the attribute itself
        if value is not getattr(ticket, field.attname):
            computed[field.attname] = value
    kept = {name: getattr(ticket, name) for name in computed}
    # Numbered last, just before the insert: the day's counter row stays locked until the commit,
    # and every other create waits for it (the search words above are computed outside that wait).
    ticket.number = ticket_number_next(timezone.localtime(ticket.created_at).date())
    ticket.__dict__.update(computed)
    try:
        ticket.save_base(raw=True, force_insert=True)
    finally:
        ticket.__dict__.update(kept)  # as after a normal save: the expression is not left behind
    return ticket


def created_event(ticket: Ticket, actor: User):
    """The trail's first entry (unsaved)."""
    return event_build(
        at=ticket.created_at,
        ticket=ticket,
        kind=EventKind.CREATED,
        actor=actor,
        to_status=TicketStatus.RECEIVED,
        payload={"channel": ticket.channel, "request_type": ticket.request_type, "priority": ticket.priority},
    )


@transaction.atomic
def ticket_create(
    *,
    actor: User,
    title: str,
    content: str,
    request_type: str,
    channel: str = Channel.PHONE,
    priority: str = Priority.GENERAL,
    category: Category | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    caller_id: str = "",
    address: str = "",
    district: Place | None = None,
    street: Place | None = None,
    community: Place | None = None,
    confidential: bool = False,
    answer: str = "",
    knowledge_article=None,
    merge_into: Ticket | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Receive a request (受理). With ``answer`` it is answered on the call and closes at once;
    with ``merge_into`` it is saved as a repeat call of that master ticket, in one transaction."""
    prepared = ticket_prepare(
        actor=actor,
        title=title,
        content=content,
        request_type=request_type,
        channel=channel,
        priority=priority,
        category=category,
        caller_name=caller_name,
        caller_phone=caller_phone,
        caller_id=caller_id,
        address=address,
        district=district,
        street=street,
        community=community,
        confidential=confidential,
        now=now,
    )
    ticket = ticket_insert(prepared)
    now = ticket.created_at
    created_event(ticket, actor).save(force_insert=True)
    clock_start(ticket=ticket, kind=ClockKind.DISPATCH, start=now)
    if answer:
        ticket_answer(ticket=ticket, actor=actor, answer=answer, article=knowledge_article, now=now)
        ticket.refresh_from_db()
    elif merge_into is not None:
        ticket_merge(ticket=ticket, master=merge_into, actor=actor, reason="受理时识别为重复来电")
        ticket.refresh_from_db()
    return ticket


@transaction.atomic
def ticket_answer(*, ticket: Ticket, actor: User, answer: str, article=None, now: dt.datetime | None = None) -> Ticket:
    """直接答复: a consultation answered on the call closes at once (it is still rated later).

    ``article`` is the knowledge-base entry the operator read from; the ticket records it.
    """
    ticket = ticket_lock(ticket)
    require(Action.ANSWER, ticket=ticket, actor=actor)
    check(Action.ANSWER, status=ticket.status)
    answer = require_reason(clean_text(answer), "answer", what="答复内容")
    now = now or timezone.now()
    before = ticket.status
    ticket.status = TicketStatus.CLOSED
    ticket.answer_text = answer
    ticket.close_reason = "直接答复"
    ticket.closed_at = now
    ticket.knowledge_article = article
    ticket.save(update_fields=["status", "answer_text", "close_reason", "closed_at", "knowledge_article", "updated_at"])
    if article is not None:
        type(article).objects.filter(pk=article.pk).update(use_count=F("use_count") + 1)
    rating_invite(ticket=ticket, now=now)  # a direct answer is rated too (domain.md §3)
    clocks_finish(ticket.clocks.filter(kind=ClockKind.DISPATCH), at=now)
    event_record(
        at=now,
        ticket=ticket,
        kind=EventKind.ANSWERED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        reason=answer,
        payload={"knowledge_article": article.pk, "title": article.title} if article is not None else {},
    )
    return ticket


@transaction.atomic
def ticket_merge(*, ticket: Ticket, master: Ticket, actor: User, reason: str = "") -> Ticket:
    """Make a repeat call a child of its master ticket; the master counts the calls."""
    if ticket.pk == master.pk:
        raise InvalidInput.field("master", "不能把工单合并到它自己。")
    # Lock both rows in id order so two merges of the same pair cannot deadlock.
    first, second = sorted([ticket.pk, master.pk])
    locked = {first: ticket_lock(first), second: ticket_lock(second)}
    ticket, master = locked[ticket.pk], locked[master.pk]
    require(Action.MERGE, ticket=ticket, actor=actor)
    check(Action.MERGE, status=ticket.status)
    if master.status == TicketStatus.MERGED:
        raise IllegalTransition(f"工单 {master.number} 已合并到其他工单，请合并到它的主单。")
    if ticket.merged_children.exists():
        raise IllegalTransition(f"工单 {ticket.number} 本身是主单，不能再并入其他工单。")
    reason = clean_text(reason) or "重复来电"
    before = ticket.status
    now = timezone.now()
    ticket.status = TicketStatus.MERGED
    ticket.master = master
    ticket.closed_at = now
    ticket.save(update_fields=["status", "master", "closed_at", "updated_at"])
    clocks_stop(Clock.objects.filter(ticket=ticket), at=now)
    # The child's pending returns and extensions die with it; the master carries the matter on.
    ticket.requests.filter(status=RequestStatus.PENDING).update(
        status=RequestStatus.CANCELLED, decided_at=now, decision_reason="工单已合并"
    )
    ticket.assignments.exclude(status__in=[AssignmentStatus.RETURNED, AssignmentStatus.WITHDRAWN]).update(
        status=AssignmentStatus.WITHDRAWN, ended_at=now
    )
    master.repeat_count += 1 + ticket.repeat_count
    master.save(update_fields=["repeat_count", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.MERGED,
        actor=actor,
        from_status=before,
        to_status=ticket.status,
        reason=reason,
        payload={"master": master.number},
    )
    event_record(
        ticket=master,
        kind=EventKind.MERGED_CHILD,
        actor=actor,
        from_status=master.status,
        reason=reason,
        payload={"child": ticket.number, "repeat_count": master.repeat_count},
    )
    return ticket


@transaction.atomic
def ticket_categorize(*, ticket: Ticket, actor: User | None, category: Category, reason: str) -> Ticket:
    """Set or correct the category. ``actor`` None is the router classifying a new ticket."""
    ticket = ticket_lock(ticket)
    if actor is not None:
        if actor.role not in CREATE_ROLES:
            raise NotAllowed("只有话务员、派单员和督办员可以修改分类。")
        require(Action.CONFIDENTIAL, ticket=ticket, actor=actor)  # same audience: hub desk roles
    if ticket.is_final:
        raise IllegalTransition("工单已办结或终止，不能再修改分类。")
    if not category.is_active:
        raise InvalidInput.field("category", f"分类“{category}”已停用。")
    if ticket.category_id == category.pk:
        return ticket
    old = ticket.category.code if ticket.category_id else None
    ticket.category = category
    ticket.save(update_fields=["category", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.EDITED,
        actor=actor,
        from_status=ticket.status,
        reason=reason,
        payload={"field": "category", "from": old, "to": category.code},
    )
    return ticket


@transaction.atomic
def ticket_set_confidential(*, ticket: Ticket, actor: User, confidential: bool, reason: str) -> Ticket:
    ticket = ticket_lock(ticket)
    require(Action.CONFIDENTIAL, ticket=ticket, actor=actor)
    check(Action.CONFIDENTIAL, status=ticket.status)
    reason = require_reason(reason)
    if ticket.confidential == confidential:
        return ticket  # a double click changes nothing and writes nothing
    ticket.confidential = confidential
    ticket.save(update_fields=["confidential", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.CONFIDENTIAL,
        actor=actor,
        from_status=ticket.status,
        reason=reason,
        payload={"confidential": confidential},
    )
    return ticket


@transaction.atomic
def ticket_supervise(*, ticket: Ticket, actor: User | None, level: int, reason: str) -> Ticket:
    """督办: a flag with a level (0 clears it). It never changes the status."""
    ticket = ticket_lock(ticket)
    if actor is not None:  # None is the deadline engine escalating on its own
        require(Action.SUPERVISE, ticket=ticket, actor=actor)
    check(Action.SUPERVISE, status=ticket.status)
    if level not in (0, 1, 2, 3):
        raise InvalidInput.field("level", "督办级别应为0（取消）至3。")
    reason = require_reason(reason)
    if ticket.supervise_level == level:
        return ticket
    old = ticket.supervise_level
    ticket.supervise_level = level
    ticket.save(update_fields=["supervise_level", "updated_at"])
    event_record(
        ticket=ticket,
        kind=EventKind.SUPERVISED,
        actor=actor,
        from_status=ticket.status,
        reason=reason,
        payload={"from": old, "to": level},
    )
    return ticket
