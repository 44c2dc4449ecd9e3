"""The load benchmark's city: Beijing's reference data and 1,000,000 tickets with their history.

Generated once into its own database (HOTLINE_BENCH_LOAD_DB, default hotline_bench_load) and
reused: the load benchmark adds tickets on every run, which must not disturb the deadline
benchmark's figures in hotline_bench. Tickets are written by SQL, not through the services (the
services would take hours for a million); the shapes are those the services write: every ticket
has its lead assignment and reply clock, closed ones are replied, the newest 3% are open.
Texts, categories and units come from the 260 demo tickets; places are spread over all streets.
"""

from __future__ import annotations

import json
import time

from django.db import connection, transaction

TICKETS = 1_000_000
OPEN_SHARE = 0.03
MARK = "L"  # generated ticket numbers: L000000000001 … (live numbers are YYYYMMDD#####)


def generated() -> int:
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM hotline_ticket WHERE number LIKE %s", [MARK + "%"])
        return c.fetchone()[0]


def ensure_reference() -> None:
    """Places, units, categories, accounts, dispatch rules and the seed routing model (idempotent)."""
    from hotline.demo.loader import load_accounts, load_reference
    from routing.demo import load_routing

    quiet = lambda line: None  # noqa: E731
    load_reference(quiet)
    load_accounts(quiet)
    load_routing(quiet)


def _texts() -> list[tuple]:
    from hotline.demo.loader import DATA
    from hotline.models import Category, Unit

    categories = dict(Category.objects.values_list("code", "pk"))
    units = dict(Unit.objects.values_list("code", "pk"))
    rows = []
    for i, item in enumerate(json.loads((DATA / "tickets.json").read_text(encoding="utf-8"))):
        unit = None if item["expected_unit"] == "street" else units.get(item["expected_unit"])
        rows.append(
            (
                i,
                item["title"],
                item["content"],
                item["address"],
                item["request_type"],
                item["priority"],
                categories.get(item["category"]),
                unit,
            )
        )
    return rows


def generate(log=print) -> None:
    if generated() >= TICKETS:
        return
    log(f"generating {TICKETS:,} tickets with assignments and clocks (once; several minutes) …")
    started = time.perf_counter()
    texts = _texts()
    open_from = int(TICKETS * (1 - OPEN_SHARE))
    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            "DELETE FROM hotline_clock WHERE ticket_id IN (SELECT id FROM hotline_ticket WHERE number LIKE 'L%%')"
        )
        c.execute(
            "DELETE FROM hotline_assignment WHERE ticket_id IN (SELECT id FROM hotline_ticket WHERE number LIKE 'L%%')"
        )
        c.execute("DELETE FROM hotline_ticket WHERE number LIKE 'L%%'")
        c.execute(
            "CREATE TEMP TABLE bench_text (i int PRIMARY KEY, title text, content text, address text,"
            " request_type text, priority text, category_id bigint, unit_id bigint) ON COMMIT DROP"
        )
        c.executemany("INSERT INTO bench_text VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", texts)
        # Streets numbered 0..n-1 with their district and their street office (the territorial lead unit).
        c.execute(
            "CREATE TEMP TABLE bench_street ON COMMIT DROP AS SELECT (row_number() OVER (ORDER BY p.id)) - 1 AS i,"
            " p.id AS street_id, p.parent_id AS district_id, u.id AS unit_id FROM routing_place p"
            " JOIN hotline_unit u ON u.place_id = p.id WHERE p.level = 'street'"
        )
        c.execute("SELECT count(*) FROM bench_street")
        streets = c.fetchone()[0]
        c.execute("SELECT id FROM hotline_user WHERE username = 'operator1'")
        operator = c.fetchone()[0]
        # One ticket a minute going back ~1.9 years; ids ascend with time, as in production.
        c.execute(
            "INSERT INTO hotline_ticket (number, channel, request_type, priority, category_id, title, content,"
            " caller_name, caller_phone, caller_phone_raw, caller_id, address, district_id, street_id, status,"
            " confidential, supervise_level, lead_unit_id, repeat_count, answer_text, close_reason, created_by_id,"
            " created_at, dispatched_at, signed_at, replied_at, closed_at, updated_at) "
            "SELECT 'L' || lpad(g::text, 12, '0'), 'phone', x.request_type, x.priority, x.category_id, x.title,"
            " x.content, '', '13' || lpad(((g::bigint * 7919) %% 1000000000)::text, 9, '0'), '', '', x.address,"
            " s.district_id, s.street_id,"
            " CASE WHEN g <= %(open_from)s THEN 'closed' WHEN g %% 3 = 0 THEN 'dispatched'"
            " WHEN g %% 3 = 1 THEN 'handling' ELSE 'replied' END,"
            " false, 0, coalesce(x.unit_id, s.unit_id), 0, '', '', %(operator)s, ts, ts + interval '20 minutes',"
            " CASE WHEN g <= %(open_from)s OR g %% 3 <> 0 THEN ts + interval '2 hours' END,"
            " CASE WHEN g <= %(open_from)s OR g %% 3 = 2 THEN ts + interval '3 days' END,"
            " CASE WHEN g <= %(open_from)s THEN ts + interval '5 days' END, ts "
            "FROM generate_series(1, %(n)s) g"
            " CROSS JOIN LATERAL (SELECT now() - (%(n)s - g) * interval '1 minute' AS ts) t"
            " JOIN bench_text x ON x.i = g %% %(texts)s"
            " JOIN bench_street s ON s.i = (g::bigint * 7 + g / %(texts)s) %% %(streets)s",
            {"n": TICKETS, "open_from": open_from, "operator": operator, "texts": len(texts), "streets": streets},
        )
        c.execute(
            "INSERT INTO hotline_assignment (ticket_id, unit_id, role, status, dispatched_by_id, dispatched_at, note,"
            " signed_at, replied_at, reply_contacted, reply_result, reply_text, extended_days, contacted_at) "
            "SELECT id, lead_unit_id, 'lead', CASE status WHEN 'dispatched' THEN 'dispatched' WHEN 'handling'"
            " THEN 'signed' ELSE 'replied' END, %s, dispatched_at, '', signed_at, replied_at,"
            " CASE WHEN replied_at IS NOT NULL THEN true END, CASE WHEN replied_at IS NOT NULL THEN 'resolved'"
            " ELSE '' END, CASE WHEN replied_at IS NOT NULL THEN '已处理并告知诉求人。' ELSE '' END, 0, signed_at "
            "FROM hotline_ticket WHERE number LIKE 'L%%'",
            [operator],
        )
        # The reply clock of every assignment: met when replied, running (7 days from dispatch) when open.
        c.execute(
            "INSERT INTO hotline_clock (ticket_id, assignment_id, kind, state, started_at, warn_at, due_at,"
            " stopped_at, limit_value, limit_unit, calendar_estimated, escalation_step) "
            "SELECT a.ticket_id, a.id, 'reply', CASE WHEN a.replied_at IS NULL THEN 'running' ELSE 'met' END,"
            " a.dispatched_at, a.dispatched_at + interval '5 days', a.dispatched_at + interval '7 days',"
            " a.replied_at, 7, 'workdays', false, 0 FROM hotline_assignment a"
            " JOIN hotline_ticket t ON t.id = a.ticket_id WHERE t.number LIKE 'L%%'"
        )
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE hotline_ticket")
        c.execute("VACUUM ANALYZE hotline_assignment")
        c.execute("VACUUM ANALYZE hotline_clock")
    log(f"  generated in {time.perf_counter() - started:.0f} s")
