"""Deadline sweep at city scale.

Targets (issue: deadlines): with 1,000,000 tickets of which ~5% are open,
  - one sweep claim query ≤ 50 ms, through the partial index (no sequential scan);
  - marking a backlog of 50,000 newly overdue clocks ≤ 60 s on 2 cores.

Run: make bench  (or .venv/bin/python bench/bench_clocks.py). Data is generated once into the
benchmark database (HOTLINE_BENCH_DB, default hotline_bench) and reused; each run resets the
backlog. Figures are printed, not asserted.
"""

from __future__ import annotations

import datetime as dt
import time

from _setup import django_setup, percentile

django_setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from hotline.models import Clock  # noqa: E402
from hotline.services.deadlines import clocks_sweep  # noqa: E402

TICKETS = 1_000_000
OPEN_EVERY = 20  # 5% open
UNITS = 300


def generate() -> None:
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM hotline_ticket WHERE number LIKE 'B%%'")
        if c.fetchone()[0] >= TICKETS:
            return
        print(
            f"generating {TICKETS:,} tickets, their clocks and {TICKETS // OPEN_EVERY:,} open assignments …", flush=True
        )
        t = time.perf_counter()
        c.execute(
            "TRUNCATE hotline_notification, hotline_ticketevent, hotline_clock, hotline_assignment, "
            "hotline_ticketrequest, hotline_callback, hotline_accesslog, hotline_ticket CASCADE"
        )
        c.execute("DELETE FROM hotline_user WHERE username LIKE 'bench-%%'")
        c.execute("DELETE FROM hotline_unit WHERE code LIKE 'bench-%%'")
        c.execute(
            "INSERT INTO hotline_unit (code, name, short_name, kind, is_active, aliases) "
            "SELECT 'bench-' || g, '基准街道' || g, '基准' || g, 'street', true, '[]' FROM generate_series(1, %s) g",
            [UNITS],
        )
        c.execute(
            "INSERT INTO hotline_user (password, is_superuser, username, first_name, last_name, email, is_staff,"
            " is_active, date_joined, role, unit_id, display_name) "
            "SELECT '!', false, 'bench-' || u.code || '-' || r, '', '', '', false, true, now(), r, u.id, '' "
            "FROM hotline_unit u CROSS JOIN (VALUES ('handler'), ('manager')) AS roles(r) "
            "WHERE u.code LIKE 'bench-%%'"
        )
        c.execute(
            "INSERT INTO hotline_ticket (number, channel, request_type, priority, title, content, caller_name,"
            " caller_phone, caller_phone_raw, caller_id, address, status, confidential, supervise_level,"
            " repeat_count, answer_text, close_reason, created_at, updated_at) "
            "SELECT 'B' || lpad(g::text, 12, '0'), 'phone', 'complaint', 'general', '基准工单' || g, '内容', '',"
            " '138' || lpad((g %% 100000000)::text, 8, '0'), '', '', '', "
            " CASE WHEN g %% %s = 0 THEN 'handling' ELSE 'closed' END, false, 0, 0, '', '',"
            " now() - (g || ' seconds')::interval, now() FROM generate_series(1, %s) g",
            [OPEN_EVERY, TICKETS],
        )
        c.execute(
            "INSERT INTO hotline_assignment (ticket_id, unit_id, role, status, dispatched_at, note, reply_text,"
            " reply_result, extended_days) "
            "SELECT t.id, (SELECT id FROM hotline_unit WHERE code = 'bench-' || (1 + t.id %% %s)), 'lead', 'signed',"
            " t.created_at, '', '', '', 0 FROM hotline_ticket t WHERE t.status = 'handling'",
            [UNITS],
        )
        # Every ticket: a finished dispatch clock. Closed ones: a finished reply clock. Open ones: a live one.
        c.execute(
            "INSERT INTO hotline_clock (ticket_id, kind, state, started_at, warn_at, due_at, stopped_at, limit_value,"
            " limit_unit, calendar_estimated, escalation_step) "
            "SELECT id, 'dispatch', 'met', created_at, created_at + interval '18 hours', created_at + interval"
            " '24 hours', created_at + interval '1 hour', 1440, 'minutes', false, 0 FROM hotline_ticket"
        )
        c.execute(
            "INSERT INTO hotline_clock (ticket_id, kind, state, started_at, warn_at, due_at, stopped_at, limit_value,"
            " limit_unit, calendar_estimated, escalation_step) "
            "SELECT id, 'reply', 'met', created_at, created_at + interval '5 days', created_at + interval '7 days',"
            " created_at + interval '3 days', 7, 'workdays', false, 0 FROM hotline_ticket WHERE status = 'closed'"
        )
        c.execute(
            "INSERT INTO hotline_clock (ticket_id, assignment_id, kind, state, started_at, warn_at, due_at,"
            " limit_value, limit_unit, calendar_estimated, escalation_step) "
            "SELECT a.ticket_id, a.id, 'reply', 'running', now(), now() + interval '5 days', now() + interval"
            " '7 days', 7, 'workdays', false, 0 FROM hotline_assignment a"
        )
        c.execute("ANALYZE")
        print(f"  generated in {time.perf_counter() - t:.0f} s", flush=True)


def reset_backlog(now: dt.datetime) -> int:
    """All 50,000 open reply clocks become warned and newly overdue (due a minute ago)."""
    with connection.cursor() as c:
        c.execute("TRUNCATE hotline_notification, hotline_ticketevent")
        c.execute("UPDATE hotline_ticket SET supervise_level = 0 WHERE status = 'handling' AND supervise_level > 0")
        c.execute(
            "UPDATE hotline_clock SET state = 'warned', warn_at = %s - interval '1 day', due_at = %s - interval"
            " '1 minute', escalation_step = 0, next_escalation_at = NULL WHERE assignment_id IS NOT NULL",
            [now, now],
        )
        c.execute("ANALYZE hotline_clock")
    return Clock.objects.filter(state="warned", due_at__lte=now).count()


def time_queries(now: dt.datetime) -> None:
    claims = {
        "warn claim": Clock.objects.filter(state="running", warn_at__lte=now).order_by("warn_at")[:1000],
        "breach claim": Clock.objects.filter(state__in=["running", "warned"], due_at__lte=now).order_by("due_at")[
            :1000
        ],
        "escalation claim": Clock.objects.filter(state="breached", next_escalation_at__lte=now).order_by(
            "next_escalation_at"
        )[:1000],
    }
    for name, qs in claims.items():
        with transaction.atomic():
            sql, params = qs.select_for_update(skip_locked=True, of=("self",)).query.sql_with_params()
        runs = []
        with connection.cursor() as c:
            c.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(r[0] for r in c.fetchall())
            for _ in range(30):
                t = time.perf_counter()
                c.execute("BEGIN")
                c.execute(sql, params)
                c.fetchall()
                c.execute("ROLLBACK")
                runs.append((time.perf_counter() - t) * 1000)
        index = next((w for w in plan.split() if w.startswith("clock_")), "none")
        seq = "SEQ SCAN!" if "Seq Scan" in plan else "no seq scan"
        print(
            f"  {name:17s} p50 {percentile(runs, 50):6.1f} ms  p95 {percentile(runs, 95):6.1f} ms   "
            f"index {index}, {seq}   (target ≤ 50 ms)"
        )


def main() -> None:
    generate()
    now = timezone.now()
    with connection.cursor() as c:
        c.execute("SELECT count(*), count(*) FILTER (WHERE status <> 'closed') FROM hotline_ticket")
        total, open_ = c.fetchone()
        c.execute("SELECT count(*) FROM hotline_clock")
        clocks = c.fetchone()[0]
    print(f"deadline sweep on {total:,} tickets ({open_:,} open) and {clocks:,} clocks")
    backlog = reset_backlog(now)
    print("sweep claim queries with a full backlog (1,000 rows, FOR UPDATE SKIP LOCKED):")
    time_queries(now)
    t = time.perf_counter()
    result = clocks_sweep(now=now, budget_seconds=600)
    elapsed = time.perf_counter() - t
    print(
        f"backlog: {backlog:,} newly overdue clocks marked in {elapsed:.1f} s "
        f"({result.breached / elapsed:,.0f} clocks/s; {result.notifications:,} notifications, "
        f"{result.batches} batches)   (target ≤ 60 s)"
    )
    print("sweep claim queries after the backlog is cleared:")
    time_queries(now)


if __name__ == "__main__":
    main()
