"""Reads: what a user may see, the work queues, search with keyset pagination."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from hotline import search
from hotline.choices import (
    ACTIVE_ASSIGNMENT_STATUSES,
    LIVE_CLOCK_STATES,
    AssignmentRole,
    AssignmentStatus,
    ClockKind,
    RequestStatus,
    Role,
    TicketStatus,
)
from hotline.errors import NotFound
from hotline.models import Assignment, Clock, Ticket, TicketRequest, User
from hotline.services.base import callback_recorded, visible_to
from hotline.workflow import TRANSITIONS, Action


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    """Hub roles see every ticket; a unit sees only tickets it holds a live part in."""
    qs = Ticket.objects.all()
    if user.is_hub:
        return qs
    if not user.is_unit_staff or user.unit_id is None:
        return qs.none()
    return qs.filter(
        Exists(
            Assignment.objects.filter(
                ticket=OuterRef("pk"), unit_id=user.unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES
            )
        )
    )


def ticket_get(user: User, pk: int | str) -> Ticket:
    """One ticket, or NotFound — the same answer whether it does not exist or is another unit's."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    ticket = (
        tickets_visible_to(user)
        .select_related("category__parent", "district", "street", "community", "lead_unit", "master", "created_by")
        .filter(pk=pk)
        .first()
    )
    if ticket is None:
        raise NotFound()
    return ticket


def ticket_get_by_number(user: User, number: str) -> Ticket:
    ticket = tickets_visible_to(user).filter(number=number.strip()).first()
    if ticket is None:
        raise NotFound()
    return ticket


def ticket_detail_related(ticket: Ticket):
    """Assignments (with clocks), requests and events for the ticket page, in a few queries."""
    assignments = (
        ticket.assignments.select_related("unit", "signed_by", "replied_by", "parent__unit")
        .prefetch_related(Prefetch("clocks", queryset=Clock.objects.order_by("kind", "id")))
        .order_by("id")
    )
    requests = ticket.requests.select_related(
        "assignment__unit", "requested_by", "decided_by", "suggested_unit"
    ).order_by("-id")
    events = ticket.events.select_related("actor", "actor_unit", "unit").order_by("id")
    return assignments, requests, events


def ticket_allowed_actions(ticket: Ticket, user: User) -> list[str]:
    """Actions this user could take now; the page offers exactly these."""
    if not visible_to(ticket, user):
        return []
    allowed: list[str] = []
    own = None
    if user.is_unit_staff:
        own = (
            ticket.assignments.filter(unit_id=user.unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES)
            .exclude(role=AssignmentRole.COPY)
            .first()
        )
    pending = set(ticket.requests.filter(status=RequestStatus.PENDING).values_list("kind", flat=True))
    for action, rule in TRANSITIONS.items():
        if user.role not in rule.roles:
            continue
        if rule.assignment_sources and user.is_unit_staff:
            if own is None or own.status not in rule.assignment_sources:
                continue
            sources = rule.sources if own.role == AssignmentRole.LEAD else (rule.assist_sources or rule.sources)
            if own.role == AssignmentRole.SUB and action not in (Action.SIGN, Action.CONTACT, Action.REPLY):
                continue
            if action == Action.CONTACT and own.contacted_at:
                continue
            if action == Action.REQUEST_TERMINATION and own.role != AssignmentRole.LEAD:
                continue
            if action == Action.SUBDISPATCH and not user.unit.children.filter(is_active=True).exists():
                continue
        else:
            sources = rule.sources
        if ticket.status not in sources:
            continue
        if action in (Action.APPROVE_RETURN, Action.REJECT_RETURN) and "return" not in pending:
            continue
        if action in (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION) and "extension" not in pending:
            continue
        if action == Action.REQUEST_EXTENSION and "extension" in pending:
            continue
        if action == Action.CALLBACK and callback_recorded(ticket):
            continue
        if (
            action == Action.CLOSE
            and ticket.status == TicketStatus.REVIEW
            and user.role not in (Role.SUPERVISOR, Role.ADMIN)
        ):
            continue
        allowed.append(action)
    return allowed


# --- queues ---------------------------------------------------------------------------------


def dispatcher_queue() -> QuerySet[Ticket]:
    """Tickets waiting for the hub: new ones and those whose unit asked to return them."""
    return (
        Ticket.objects.filter(status__in=[TicketStatus.RECEIVED, TicketStatus.RETURN_REQUESTED])
        .select_related("category__parent", "district", "street", "lead_unit")
        .annotate(
            dispatch_due=Subquery(
                Clock.objects.filter(ticket=OuterRef("pk"), kind=ClockKind.DISPATCH, state__in=LIVE_CLOCK_STATES)
                .order_by("-id")
                .values("due_at")[:1]
            )
        )
        .order_by("id")
    )


WORKBENCH_TABS = {
    "to_sign": "待签收",
    "in_hand": "办理中",
    "due_soon": "即将到期",
    "overdue": "已超期",
    "replied": "已反馈",
}
WORKBENCH_PAGE_SIZE = 50
# Tab counts stop here and read "999+": a city bureau holds tens of thousands of replied
# assignments, and nobody needs their exact number on every page view.
WORKBENCH_COUNT_CAP = 999

_OPEN_TAB_STATUSES = {
    "to_sign": [AssignmentStatus.DISPATCHED],
    "in_hand": [AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED],
    "due_soon": [AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED],
    "overdue": [AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED],
}
_OPEN_STATUSES = sorted({s for statuses in _OPEN_TAB_STATUSES.values() for s in statuses})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _reply_clock(field: str) -> Subquery:
    """The assignment's latest reply clock's ``field`` (a reopened ticket starts a new one)."""
    return Subquery(
        Clock.objects.filter(assignment=OuterRef("pk"), kind=ClockKind.REPLY).order_by("-id").values(field)[:1]
    )


def _workbench_rows(user: User, tab: str, now: dt.datetime) -> QuerySet[Assignment]:
    """One tab's assignments: filters only, no joins, so a page of ids is cheap to pick.

    Open tabs read the unit's open assignments through assignment_unit_status_idx (a few
    thousand at most, however long the unit's history); the replied tab walks
    assignment_unit_replied_idx newest first and stops after one page.
    """
    qs = Assignment.objects.filter(unit_id=user.unit_id).exclude(role=AssignmentRole.COPY)
    if tab == "replied":
        return qs.filter(status=AssignmentStatus.REPLIED)
    if tab not in _OPEN_TAB_STATUSES:
        raise NotFound("没有这个工作台分页。")
    qs = qs.filter(status__in=_OPEN_TAB_STATUSES[tab]).annotate(reply_due=_reply_clock("due_at"))
    if tab == "due_soon":
        qs = qs.filter(reply_due__gt=now, reply_due__lte=now + dt.timedelta(hours=24))
    elif tab == "overdue":
        qs = qs.filter(reply_due__lte=now)
    return qs


_WORKBENCH_FIELDS = (
    "ticket_id",
    "unit_id",
    "role",
    "status",
    "replied_at",
    "ticket__number",
    "ticket__title",
    "ticket__supervise_level",
    "ticket__category__name",
    "ticket__category__parent__name",
    "ticket__district__name",
    "ticket__street__name",
    "ticket__community__name",
)


def _workbench_display(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """What a workbench row shows, fetched with the row: ticket, category, places and the reply
    clock (due, state, warning time), so the template runs no query of its own."""
    return (
        qs.select_related("ticket__category__parent", "ticket__district", "ticket__street", "ticket__community")
        # Only what a row shows: a ticket's content and search words are about 2 KB, and the
        # places' and categories' other columns cost a JSON parse and a model field each, per row.
        .only(*_WORKBENCH_FIELDS)
        .annotate(
            reply_due=_reply_clock("due_at"),
            reply_state=_reply_clock("state"),
            reply_warn=_reply_clock("warn_at"),
        )
    )


def _workbench_order(tab: str) -> tuple[str, str]:
    # Most urgent first on the open tabs (no reply clock, e.g. a sub-dispatch, last); the latest
    # replies first on the replied tab. The id breaks ties, so every row has one place.
    return ("-replied_at", "-id") if tab == "replied" else ("reply_due", "id")


def workbench(user: User, tab: str, *, now: dt.datetime | None = None) -> QuerySet[Assignment]:
    """A unit's assignments for one workbench tab, the most urgent first (all of them)."""
    now = now or timezone.now()
    return _workbench_display(_workbench_rows(user, tab, now)).order_by(*_workbench_order(tab))


@dataclass(frozen=True)
class WorkbenchCursor:
    """Where a workbench page ended: the sort key (reply due time, or reply time) and the id.

    Written into the next-page link as "<microseconds since 1970, empty for none>.<id>".
    """

    key: dt.datetime | None
    pk: int

    def encode(self) -> str:
        micros = "" if self.key is None else str((self.key - _EPOCH) // dt.timedelta(microseconds=1))
        return f"{micros}.{self.pk}"

    @classmethod
    def decode(cls, raw: str | None) -> WorkbenchCursor | None:
        """None for a missing or malformed cursor: the page then starts from the top."""
        micros, sep, pk = (raw or "").partition(".")
        try:
            key = None if micros == "" else _EPOCH + dt.timedelta(microseconds=int(micros))
            return cls(key, int(pk)) if sep and int(pk) > 0 else None
        except (ValueError, OverflowError):
            return None


def _replied_after(cursor: WorkbenchCursor) -> Q:
    """Replied rows after the cursor, newest reply first (keyset: no OFFSET, however deep).

    The redundant "replied_at <= cursor" bound lets the index scan start at the cursor instead of
    filtering its way there. NULLs sort first descending, as PostgreSQL (and the index) order them.
    """
    key, pk = cursor.key, cursor.pk
    if key is None:
        return Q(replied_at__isnull=True, pk__lt=pk) | Q(replied_at__isnull=False)
    return Q(replied_at__lte=key) & (Q(replied_at__lt=key) | Q(pk__lt=pk))


def _open_after_sql(cursor: WorkbenchCursor) -> tuple[str, list]:
    """Open rows after the cursor in (reply_due, id) order; no reply clock (NULL) sorts last."""
    if cursor.key is None:
        return "(reply_due IS NULL AND id > %s)", [cursor.pk]
    return "((reply_due >= %s AND (reply_due > %s OR id > %s)) OR reply_due IS NULL)", [
        cursor.key,
        cursor.key,
        cursor.pk,
    ]


def _open_tab_sql(tab: str, now: dt.datetime) -> tuple[str, list]:
    """The open tab's condition on (status, reply_due); the same rules as _workbench_rows."""
    sql, params = "status = ANY(%s)", [list(_OPEN_TAB_STATUSES[tab])]
    if tab == "due_soon":
        sql += " AND reply_due > %s AND reply_due <= %s"
        params += [now, now + dt.timedelta(hours=24)]
    elif tab == "overdue":
        sql += " AND reply_due <= %s"
        params.append(now)
    return sql, params


def _counts_and_ids(
    user: User, tab: str, cursor: WorkbenchCursor | None, size: int, now: dt.datetime
) -> tuple[dict[str, int], list[int] | None]:
    """Every tab's count and, for an open tab, the ids of its next page, in one statement.

    The unit's open assignments (a few thousand at most, however long its history) are read once
    through assignment_unit_status_idx, each with its latest reply clock (clock_assignment_kind_idx),
    into a materialised CTE: the counts and the open tab's page both come from it, so no row's
    clock is looked up twice. The replied count reads at most cap + 1 entries of its partial index,
    so 84,000 replied assignments cost no more than 1,000.
    """
    cap = WORKBENCH_COUNT_CAP + 1
    D, S, R = AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED
    open_rows = (
        Assignment.objects.filter(unit_id=user.unit_id, status__in=_OPEN_STATUSES)
        .exclude(role=AssignmentRole.COPY)
        .annotate(reply_due=_reply_clock("due_at"))
        .values("id", "status", "reply_due")
    )
    replied = (
        Assignment.objects.filter(unit_id=user.unit_id, status=AssignmentStatus.REPLIED)
        .exclude(role=AssignmentRole.COPY)
        .values("pk")[:cap]
    )
    open_sql, params = open_rows.query.sql_with_params()
    replied_sql, replied_params = replied.query.sql_with_params()
    # MATERIALIZED: inlined, PostgreSQL would run the clock lookup again in every FILTER.
    sql = (
        f"WITH open_rows AS MATERIALIZED ({open_sql}) SELECT"
        " count(*) FILTER (WHERE status = %s),"
        " count(*) FILTER (WHERE status IN (%s, %s)),"
        " count(*) FILTER (WHERE status IN (%s, %s) AND reply_due > %s AND reply_due <= %s),"
        " count(*) FILTER (WHERE reply_due <= %s),"
        f" (SELECT count(*) FROM ({replied_sql}) AS replied)"
    )
    params = [*params, D, S, R, D, S, now, now + dt.timedelta(hours=24), now, *replied_params]
    if tab in _OPEN_TAB_STATUSES:
        where, where_params = _open_tab_sql(tab, now)
        if cursor is not None:
            after, after_params = _open_after_sql(cursor)
            where, where_params = f"{where} AND {after}", where_params + after_params
        sql += f", ARRAY(SELECT id FROM open_rows WHERE {where} ORDER BY reply_due, id LIMIT %s)"
        params += [*where_params, size + 1]
    sql += " FROM open_rows"
    with connection.cursor() as db:
        db.execute(sql, params)
        row = db.fetchone()
    counts = dict(zip(("to_sign", "in_hand", "due_soon", "overdue", "replied"), row[:5], strict=True))
    return {name: min(n, cap) for name, n in counts.items()}, (row[5] if len(row) > 5 else None)


@dataclass
class WorkbenchPage:
    rows: list[Assignment]
    next_cursor: str | None


def _page(rows: list[Assignment], size: int, key) -> WorkbenchPage:
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = WorkbenchCursor(key(rows[-1]), rows[-1].pk).encode() if more else None
    return WorkbenchPage(rows=rows, next_cursor=next_cursor)


def workbench_overview(
    user: User,
    tab: str,
    *,
    after: str | None = None,
    size: int = WORKBENCH_PAGE_SIZE,
    now: dt.datetime | None = None,
) -> tuple[WorkbenchPage, dict[str, int]]:
    """One page of a tab (keyset-paginated from ``after``) and every tab's count, in two queries:
    the counts with the page's ids, then only those rows joined to their ticket, category and
    places. Counts above WORKBENCH_COUNT_CAP come back as cap + 1 ("999+")."""
    if tab not in WORKBENCH_TABS:
        raise NotFound("没有这个工作台分页。")
    now = now or timezone.now()
    cursor = WorkbenchCursor.decode(after)
    counts, ids = _counts_and_ids(user, tab, cursor, size, now)
    if ids is None:  # replied: newest first straight off assignment_unit_replied_idx
        qs = _workbench_rows(user, tab, now)
        if cursor is not None:
            qs = qs.filter(_replied_after(cursor))
        order = _workbench_order(tab)
        page_ids = qs.order_by(*order).values("pk")[: size + 1]
        rows = list(_workbench_display(Assignment.objects.filter(pk__in=page_ids)).order_by(*order))
        return _page(rows, size, key=lambda a: a.replied_at), counts
    by_id = {a.pk: a for a in _workbench_display(Assignment.objects.filter(pk__in=ids))}
    rows = [by_id[pk] for pk in ids if pk in by_id]
    return _page(rows, size, key=lambda a: a.reply_due), counts


def workbench_page(
    user: User,
    tab: str,
    *,
    after: str | None = None,
    size: int = WORKBENCH_PAGE_SIZE,
    now: dt.datetime | None = None,
) -> WorkbenchPage:
    return workbench_overview(user, tab, after=after, size=size, now=now)[0]


def workbench_counts(user: User, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Rows per tab, capped: a value above WORKBENCH_COUNT_CAP means "more than the cap"."""
    return _counts_and_ids(user, "replied", None, 0, now or timezone.now())[0]


def workbench_row(user: User, ticket_id: int) -> Assignment | None:
    """The unit's own live row for one ticket (the row a workbench action redraws in place)."""
    return (
        _workbench_display(
            Assignment.objects.filter(
                unit_id=user.unit_id, ticket_id=ticket_id, status__in=ACTIVE_ASSIGNMENT_STATUSES
            ).exclude(role=AssignmentRole.COPY)
        )
        .order_by("-id")
        .first()
    )


def pending_requests(kind: str | None = None) -> QuerySet[TicketRequest]:
    qs = TicketRequest.objects.filter(status=RequestStatus.PENDING).select_related(
        "ticket", "assignment__unit", "requested_by", "suggested_unit"
    )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("requested_at")


def caller_recent_tickets(user: User, phone: str, *, days: int = 30, limit: int = 10) -> QuerySet[Ticket]:
    since = timezone.now() - dt.timedelta(days=days)
    return (
        tickets_visible_to(user)
        .filter(caller_phone=phone, created_at__gte=since)
        .select_related("category", "lead_unit")
        .order_by("-created_at")[:limit]
    )


# --- search with keyset pagination ---------------------------------------------------------


@dataclass
class Page:
    items: list
    next_cursor: int | None


def local_day_start(day: dt.date) -> dt.datetime:
    """Local midnight: a date filter compares the indexed created_at itself, never a cast of it."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def tickets_search(
    user: User,
    *,
    q: str = "",
    number: str = "",
    phone: str = "",
    status: str = "",
    unit: int | None = None,
    category: int | None = None,
    district: int | None = None,
    street: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    before: int | None = None,
    size: int = 25,
) -> Page:
    """Newest first, keyed on id: the next page is WHERE id < last_id, so no COUNT(*) and no OFFSET."""
    qs = tickets_visible_to(user)
    if number:
        qs = qs.filter(number__startswith=number.strip())
    if phone:
        qs = qs.filter(caller_phone=phone)
        if not user.is_hub:
            # A unit must not learn which confidential tickets a number made (GB/T 33358).
            qs = qs.exclude(confidential=True)
    if status:
        qs = qs.filter(status=status)
    if unit:
        qs = qs.filter(
            Q(lead_unit_id=unit)
            | Exists(
                Assignment.objects.filter(ticket=OuterRef("pk"), unit_id=unit, status__in=ACTIVE_ASSIGNMENT_STATUSES)
            )
        )
    if category:
        qs = qs.filter(Q(category_id=category) | Q(category__parent_id=category))
    if district:
        qs = qs.filter(district_id=district)
    if street:
        qs = qs.filter(street_id=street)
    if date_from:
        qs = qs.filter(created_at__gte=local_day_start(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=local_day_start(date_to + dt.timedelta(days=1)))
    if q:
        qs = search.filter_keyword(qs, q)
    if before:
        qs = qs.filter(id__lt=before)
    rows = list(
        qs.select_related("category__parent", "district", "street", "lead_unit")
        .defer("search_vector")  # about 1 KB per ticket that no list shows
        .order_by("-id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=rows[-1].id if more and rows else None)


def callback_queue(*, now: dt.datetime | None = None, limit: int = 200) -> QuerySet[Ticket]:
    """Replied tickets the operators must phone: no SMS rating within the window, the rating SMS
    failed, or no mobile number to send it to. Oldest reply first."""
    from django.conf import settings

    from hotline.models import SmsMessage, SmsStatus

    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.HOTLINE["CALLBACK_AFTER_HOURS"])
    failed_sms = SmsMessage.objects.filter(ticket=OuterRef("pk"), template="rating_link", status=SmsStatus.FAILED)
    any_sms = SmsMessage.objects.filter(ticket=OuterRef("pk"), template="rating_link")
    return (
        Ticket.objects.filter(status=TicketStatus.REPLIED)
        .filter(Q(replied_at__lte=cutoff) | Exists(failed_sms) | ~Exists(any_sms))
        .select_related("lead_unit", "category__parent")
        .annotate(attempts=Count("callback_attempts"))
        .order_by("replied_at")[:limit]
    )
