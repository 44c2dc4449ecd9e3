"""Keyword search on jieba words (hotline/search.py): what it finds, who may see it, how the
column is filled, and that the queries behind the ticket list can use their indexes."""

from __future__ import annotations

import importlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from hotline import search, selectors, services
from hotline.models import Ticket


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def api_numbers(user, query: str) -> set[str]:
    response = api(user).get("/api/tickets/" + query)
    assert response.status_code == 200, response.content
    return {row["number"] for row in response.json()["results"]}


def web_numbers(user, **params) -> set[str]:
    return {t.number for t in selectors.tickets_search(user, **params).items}


@pytest.fixture
def tickets(flow):
    fumes = flow.new()  # 楼下饭馆油烟扰民 / 望京西园三区楼下饭馆油烟很大，晚上十点后还在营业。
    shed = flow.new(
        title="楼顶私搭彩钢房", content="邻居在楼顶私搭彩钢房，影响采光和安全。", address="朝阳区望京某小区"
    )
    heating = flow.new(
        title="暖气不热", content="家里暖气只有十六度。<script>alert(1)</script>", address="朝阳区三里屯"
    )
    return fumes, shed, heating


def test_a_new_ticket_gets_its_words_in_the_same_insert(flow):
    with CaptureQueriesContext(connection) as ctx:
        ticket = flow.new()
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "hotline_ticket"')]
    assert len(inserts) == 1 and "to_tsvector" in inserts[0]
    assert not [q for q in ctx.captured_queries if "search_vector" in q["sql"] and q["sql"].startswith("UPDATE")]
    stored = Ticket.objects.values_list("search_vector", flat=True).get(pk=ticket.pk)
    for word in ("油烟", "扰民", "饭馆", "营业"):
        assert f"'{word}'" in stored
    assert "'的'" not in stored  # filler words are not stored (and not searched)


def test_two_character_words_are_found_and_all_keywords_must_match(city, tickets):
    fumes, heating = tickets[0], tickets[2]
    assert api_numbers(city.operator, "?q=油烟") == {fumes.number}
    assert web_numbers(city.operator, q="油烟") == {fumes.number}
    assert api_numbers(city.operator, "?q=油烟 营业") == {fumes.number}
    assert api_numbers(city.operator, "?q=油烟扰民") == {fumes.number}  # segmented into 油烟 + 扰民
    assert api_numbers(city.operator, "?q=油烟 暖气") == set()  # AND, not OR
    assert api_numbers(city.operator, "?q=无此词语") == set()
    assert api_numbers(city.operator, "?q=ALERT") == {heating.number}  # latin words ignore case


def test_words_jieba_does_not_know_match_character_by_character(city, tickets):
    shed = tickets[1]
    # 彩钢房 is not in the dictionary: 彩/钢/房 in the ticket and in the query.
    assert api_numbers(city.operator, "?q=彩钢房") == {shed.number}
    assert api_numbers(city.operator, "?q=钢房彩") == {shed.number}  # every character present


def test_short_forms_find_the_long_words_they_are_part_of(city, flow):
    # 中华人民共和国 is one dictionary word; search mode also stores 人民 and 共和国 inside it.
    long_word = flow.new(title="咨询中华人民共和国护照办理", content="想了解护照办理流程。")
    assert api_numbers(city.operator, "?q=人民") == {long_word.number}
    # 东交民巷 is one word, but 东交民 is not: its characters match the word as a prefix.
    lane = flow.new(title="东交民巷路面破损", content="路面坑洼，车辆通行困难。")
    assert search.keyword_query("东交民") is not None
    assert api_numbers(city.operator, "?q=东交民") == {lane.number}


def test_a_ticket_number_is_matched_on_the_number_column(city, tickets):
    shed = tickets[1]
    assert api_numbers(city.operator, f"?q={shed.number}") == {shed.number}
    assert web_numbers(city.operator, q=shed.number[:-1]) >= {shed.number}


def test_keywords_with_nothing_searchable_find_nothing_and_the_page_says_why(client, city, tickets):
    assert search.keyword_query("问题") is None
    assert api_numbers(city.operator, "?q=问题") == set()
    client.force_login(city.operator)
    body = client.get(reverse("ticket_search"), {"q": "问题"}).content.decode()
    assert "不含可检索的词" in body
    body = client.get(reverse("ticket_search"), {"q": "油烟"}).content.decode()
    assert "不含可检索的词" not in body and tickets[0].number in body


def test_a_unit_finds_only_its_own_tickets_by_keyword(city, flow):
    mine = flow.dispatched()
    theirs = flow.new(street=city.sanlitun)
    services.ticket_dispatch(ticket=theirs, actor=city.dispatcher, lead_unit=city.street_b)
    assert api_numbers(city.operator, "?q=油烟") == {mine.number, theirs.number}
    assert api_numbers(city.handler_a, "?q=油烟") == {mine.number}
    assert web_numbers(city.handler_a, q="油烟") == {mine.number}
    assert api_numbers(city.handler_b, "?q=油烟") == {theirs.number}
    assert api_numbers(city.bureau_handler, "?q=油烟") == set()
    body = Client()
    body.force_login(city.handler_b)
    page = body.get(reverse("ticket_search"), {"q": "油烟"}).content.decode()
    assert theirs.number in page and mine.number not in page


def test_saving_a_ticket_whole_recomputes_its_words(city, tickets):
    fumes = tickets[0]
    fumes.title, fumes.content = "路灯不亮", "小区门口路灯坏了一周。"
    fumes.save()
    assert api_numbers(city.operator, "?q=路灯") == {fumes.number}
    assert api_numbers(city.operator, "?q=油烟") == set()


def test_reindex_search_fills_rows_written_without_the_orm(city, tickets):
    Ticket.objects.update(search_vector=None)  # as bench/load/data.py or an import leaves them
    assert api_numbers(city.operator, "?q=油烟") == set()
    call_command("reindex_search", "--missing", "--batch", "2", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not Ticket.objects.filter(search_vector__isnull=True).exists()
    assert api_numbers(city.operator, "?q=油烟") == {tickets[0].number}
    assert api_numbers(city.operator, "?q=彩钢房") == {tickets[1].number}


def test_the_migration_fills_a_small_database_and_leaves_a_large_one_to_the_command(city, tickets, monkeypatch):
    backfill = importlib.import_module("hotline.migrations.0021_search_vector_backfill")
    Ticket.objects.update(search_vector=None)
    monkeypatch.setattr(backfill, "LIMIT", 2)
    with connection.schema_editor(atomic=False) as editor:
        backfill.backfill(None, editor)
    assert Ticket.objects.filter(search_vector__isnull=True).count() == 3  # too many: left alone
    monkeypatch.setattr(backfill, "LIMIT", 3)
    monkeypatch.setattr(backfill, "BATCH", 2)
    with connection.schema_editor(atomic=False) as editor:
        backfill.backfill(None, editor)
    assert not Ticket.objects.filter(search_vector__isnull=True).exists()
    assert api_numbers(city.operator, "?q=油烟") == {tickets[0].number}


# --- the SQL behind the list: indexable, no DISTINCT, no cast of created_at -------------------


def plan(sql: str, params) -> str:
    """EXPLAIN with sequential and plain index-order scans priced out: a tiny test table would
    otherwise be read whole, and the question here is whether the index *can* answer."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def list_sql(user, query: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert api(user).get("/api/tickets/" + query).status_code == 200
    return [q["sql"] for q in ctx.captured_queries if 'FROM "hotline_ticket"' in q["sql"]]


def test_keyword_search_can_use_the_gin_index(city, tickets):
    qs = search.filter_keyword(Ticket.objects.all(), "油烟 彩钢房").order_by("-id")
    assert "ticket_search_idx" in plan(*qs.query.sql_with_params())


def test_status_filter_has_no_distinct_and_can_use_its_index(city, tickets):
    sql = list_sql(city.operator, "?status=received")
    assert sql and not any("DISTINCT" in s for s in sql)
    qs = Ticket.objects.filter(status="received").order_by("-id")[:26]
    assert "ticket_status_recent_idx" in plan(*qs.query.sql_with_params())


def test_date_filters_compare_created_at_itself(city, tickets):
    for s in list_sql(city.operator, "?created_after=2026-01-01&created_before=2026-12-31"):
        assert "AT TIME ZONE" not in s and "::date" not in s
    today = tickets[0].created_at.date()
    assert api_numbers(city.operator, f"?created_after={today}&created_before={today}") == {t.number for t in tickets}
    with CaptureQueriesContext(connection) as ctx:
        found = web_numbers(city.operator, date_from=today, date_to=today)
    assert found == {t.number for t in tickets}
    assert not any("AT TIME ZONE" in q["sql"] for q in ctx.captured_queries)


def test_creating_and_routing_a_ticket_segments_its_text_once(city, monkeypatch):
    """The search words cost the create path no second jieba pass: the router finds the text
    the search column just segmented in segmentation's cache of recent texts."""
    from routing import segmentation

    cut = segmentation._cut
    seen: list[str] = []

    def counting(text):
        seen.append(text)
        return cut(text)

    monkeypatch.setattr(segmentation, "_cut", counting)
    response = api(city.operator).post(
        "/api/tickets/",
        {
            "title": "小区门口烧烤摊油烟扰民",
            "content": "每天晚上烧烤摊油烟很大，窗户都不敢开。",
            "request_type": "complaint",
            "caller_phone": "13700001111",
            "address": "朝阳区望京西园四区",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert sum("小区门口烧烤摊油烟扰民" in text for text in seen) == 1, seen
    assert api_numbers(city.operator, "?q=烧烤摊") == {response.json()["number"]}
