"""The workbench in pages (keyset, not OFFSET), its capped tab counts, a fixed number of queries
whatever the page holds, and indexes its queries can use."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hotline import selectors, services
from hotline.choices import ClockKind
from hotline.models import Assignment, Clock


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def walk(user, tab: str, size: int) -> list[int]:
    """Every page of a tab, following the cursors; the assignment ids in page order."""
    seen: list[int] = []
    after = None
    for _ in range(100):
        page = selectors.workbench_page(user, tab, after=after, size=size)
        assert len(page.rows) <= size
        seen += [a.pk for a in page.rows]
        if page.next_cursor is None:
            return seen
        after = page.next_cursor
    raise AssertionError("the cursor never reached the end")


@pytest.fixture
def dispatched(flow):
    return [flow.dispatched(title=f"望京第{i}号油烟工单") for i in range(7)]


def test_pages_cover_every_row_once_in_urgency_order_even_with_equal_due_times(flow, dispatched):
    user = flow.city.handler_a
    lead = Assignment.objects.filter(unit=flow.city.street_a, role="lead")
    due = timezone.now() + dt.timedelta(days=3)
    # Three share one due time (ties are broken by id), two have no reply clock at all (last).
    ids = sorted(lead.values_list("pk", flat=True))
    Clock.objects.filter(assignment_id__in=ids[:3], kind=ClockKind.REPLY).update(due_at=due)
    Clock.objects.filter(assignment_id__in=ids[3:5], kind=ClockKind.REPLY).update(due_at=due - dt.timedelta(hours=1))
    Clock.objects.filter(assignment_id__in=ids[5:], kind=ClockKind.REPLY).delete()
    expected = ids[3:5] + ids[:3] + ids[5:]
    for size in (1, 2, 3, 50):
        assert walk(user, "to_sign", size) == expected
    assert [a.pk for a in selectors.workbench(user, "to_sign")] == expected


def test_replied_tab_pages_newest_reply_first(flow):
    replied = [flow.replied(title=f"已反馈{i}") for i in range(5)]
    user = flow.city.handler_a
    rows = Assignment.objects.filter(ticket__in=replied, role="lead")
    ids = sorted(rows.values_list("pk", flat=True))
    same = timezone.now() - dt.timedelta(hours=2)
    Assignment.objects.filter(pk__in=ids[:3]).update(replied_at=same)
    Assignment.objects.filter(pk=ids[3]).update(replied_at=same + dt.timedelta(minutes=5))
    Assignment.objects.filter(pk=ids[4]).update(replied_at=None)  # never happens, but must not break paging
    expected = [ids[4], ids[3], ids[2], ids[1], ids[0]]
    for size in (1, 2, 4, 50):
        assert walk(user, "replied", size) == expected


def test_the_page_links_to_the_next_page_and_back_to_the_first(client, flow, dispatched, monkeypatch):
    monkeypatch.setattr(selectors, "WORKBENCH_PAGE_SIZE", 3)
    client = client_for(flow.city.handler_a)
    body = client.get(reverse("workbench")).content.decode()
    assert body.count('class="number"') == 3
    cursor = re.search(r'after=([0-9.]+)"', body).group(1)
    seen = set(re.findall(r'class="number" href="/tickets/(\d+)/"', body))
    body = client.get(reverse("workbench"), {"tab": "to_sign", "after": cursor}).content.decode()
    assert "第一页" in body and body.count('class="number"') == 3
    later = set(re.findall(r'class="number" href="/tickets/(\d+)/"', body))
    assert not seen & later
    # A cursor that does not parse starts from the top instead of failing.
    assert client.get(reverse("workbench"), {"after": "garbage"}).status_code == 200


def test_another_units_cursor_shows_nothing_of_theirs(flow, dispatched):
    theirs = flow.new(street=flow.city.sanlitun, title="三里屯独有油烟工单")
    services.ticket_dispatch(ticket=theirs, actor=flow.city.dispatcher, lead_unit=flow.city.street_b)
    a_page = selectors.workbench_page(flow.city.handler_a, "to_sign", size=2)
    b_page = selectors.workbench_page(flow.city.handler_b, "to_sign", after=a_page.next_cursor, size=50)
    assert all(a.unit_id == flow.city.street_b.pk for a in b_page.rows)
    body = client_for(flow.city.handler_b).get(reverse("workbench"), {"after": a_page.next_cursor}).content.decode()
    assert all(t.number not in body for t in dispatched)


def test_counts_per_tab_and_the_cap(client, flow, dispatched, monkeypatch):
    c = flow.city
    services.ticket_sign(ticket=dispatched[0], actor=c.handler_a)
    lead = Assignment.objects.get(ticket=dispatched[1], role="lead")
    Clock.objects.filter(assignment=lead, kind=ClockKind.REPLY).update(due_at=timezone.now() - dt.timedelta(hours=1))
    soon = Assignment.objects.get(ticket=dispatched[2], role="lead")
    Clock.objects.filter(assignment=soon, kind=ClockKind.REPLY).update(due_at=timezone.now() + dt.timedelta(hours=3))
    flow.replied()
    counts = selectors.workbench_counts(c.handler_a)
    assert counts == {"to_sign": 6, "in_hand": 1, "due_soon": 1, "overdue": 1, "replied": 1}
    assert selectors.workbench_counts(c.handler_b) == dict.fromkeys(counts, 0)
    monkeypatch.setattr(selectors, "WORKBENCH_COUNT_CAP", 2)
    capped = selectors.workbench_counts(c.handler_a)
    assert capped["to_sign"] == 3 and capped["in_hand"] == 1
    body = client_for(c.handler_a).get(reverse("workbench")).content.decode()
    assert '待签收 <span class="count">2+</span>' in body
    assert '办理中 <span class="count">1</span>' in body


def test_the_page_runs_the_same_queries_for_two_rows_as_for_seven(flow, monkeypatch):
    c = flow.city
    first = [flow.dispatched(community=c.xiyuan, title="社区工单甲"), flow.dispatched(title="工单乙")]
    client = client_for(c.handler_a)
    client.get(reverse("workbench"))  # session and caches warm
    with CaptureQueriesContext(connection) as two:
        body = client.get(reverse("workbench")).content.decode()
    assert all(t.number in body for t in first) and "望京西园社区" in body
    for i in range(5):
        flow.dispatched(community=c.xiyuan, title=f"社区工单{i}")
    with CaptureQueriesContext(connection) as seven:
        body = client.get(reverse("workbench")).content.decode()
    assert body.count('class="number"') == 7
    assert len(seven) == len(two), [q["sql"][:120] for q in seven.captured_queries]
    # One query for every count and the page's ids, one for the page's rows.
    assert sum('FROM "hotline_assignment"' in q["sql"] for q in seven.captured_queries) == 2


def test_the_redrawn_row_after_signing_is_the_units_own(client, flow):
    ticket = flow.dispatched()
    response = client_for(flow.city.handler_a).post(
        reverse("ticket_action", args=[ticket.pk, "sign"]), {"ctx": "workbench"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="wb-{ticket.pk}"' in body and "办理中" in body and "签收</button>" not in body


# --- the indexes the workbench queries can use ------------------------------------------------


def plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_replied_tab_reads_its_partial_index_in_order(flow):
    flow.replied()
    ids = (
        selectors._workbench_rows(flow.city.handler_a, "replied", timezone.now())
        .order_by(*selectors._workbench_order("replied"))
        .values("pk")[:51]
    )
    text = plan(ids)
    assert "assignment_unit_replied_idx" in text and "Sort" not in text


def test_reply_clock_lookup_reads_the_assignment_kind_index(flow):
    flow.dispatched()
    qs = Clock.objects.filter(assignment_id=1, kind=ClockKind.REPLY).order_by("-id").values("due_at")[:1]
    text = plan(qs)
    assert "clock_assignment_kind_idx" in text and "Sort" not in text
