"""The resident's rating link (/r/<token>): forgery, expiry, replay and brute force.

Already covered in tests/hotline/test_rating.py: only the token's hash is stored and the link carries
no ticket number (test_a_reply_sends_a_link_without_personal_data_or_ticket_number), forged and
guessed tokens get the friendly 404 (test_forged_and_guessed_links_get_a_friendly_page), an expired
link records nothing (test_an_expired_link_changes_nothing), a second submit is refused
(test_a_double_submit_is_harmless), GET lookups are limited per address
(test_lookups_are_rate_limited_per_address), and reopening revokes the link
(test_reopening_revokes_the_old_link_and_the_new_reply_sends_a_new_one). Here: near-miss forgeries,
the exact expiry instant, replay of a spent link and a race of two submits, the limit counting POSTs
and holding even for a valid token, the limit being per address, and the page leaking the token
nowhere (no cache, no referrer, no third-party resource).
"""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from hotline.models import Callback, RatingToken, SmsMessage
from hotline.services.rating import rating_token_check

GOOD = {"contacted": "1", "resolved": "1", "satisfaction": "satisfied", "comment": "满意"}


def link_of(ticket) -> str:
    message = SmsMessage.objects.filter(ticket=ticket, template="rating_link").latest("id")
    return "/r/" + message.params["url"].rsplit("/r/", 1)[1]


def from_address(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


@pytest.fixture
def replied(world):
    return world.by_status["replied"]


# --- forgery --------------------------------------------------------------------------------------


def test_near_miss_forgeries_are_unknown(replied):
    link = link_of(replied)
    token = link.removeprefix("/r/")
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    forgeries = [flipped, token[:-1], token + "x", token.swapcase(), token.upper(), f"{token}%00", " " + token]
    client = from_address("10.0.0.1")
    for forged in forgeries:
        assert forged != token
        response = client.get(f"/r/{forged}")
        assert response.status_code == 404, forged
        assert "链接无效" in response.content.decode()
        assert replied.title not in response.content.decode()  # nothing about any ticket
    assert not Callback.objects.filter(ticket=replied).exists()
    # The real one still works: the misses did not burn it.
    assert client.post(link, GOOD).status_code == 200


def test_the_token_is_random_not_derived_from_the_ticket(world, flow):
    tokens = {link_of(flow.replied()).removeprefix("/r/") for _ in range(5)}
    assert len(tokens) == 5
    for token in tokens:
        assert len(token) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", token)  # 128 bits, URL-safe
    stored = set(RatingToken.objects.values_list("token_hash", flat=True))
    assert stored.isdisjoint(tokens)


# --- expiry ---------------------------------------------------------------------------------------


def test_a_link_expires_at_the_exact_instant(replied):
    token = link_of(replied).removeprefix("/r/")
    row = RatingToken.objects.get(ticket=replied)
    assert rating_token_check(token, now=row.expires_at - row.expires_at.resolution).problem == ""
    assert rating_token_check(token, now=row.expires_at).problem == "expired"


def test_an_expired_link_shows_no_form_and_no_outcome(replied):
    link = link_of(replied)
    RatingToken.objects.filter(ticket=replied).update(expires_at=replied.created_at)
    response = from_address("10.0.0.2").get(link)
    body = response.content.decode()
    assert response.status_code == 410 and "过期" in body
    assert "<form" not in body and "已联系商户" not in body


# --- replay ---------------------------------------------------------------------------------------


def test_a_spent_link_replayed_later_shows_nothing_and_records_nothing(replied):
    link = link_of(replied)
    assert from_address("10.0.0.3").post(link, GOOD).status_code == 200
    for client in (from_address("10.0.0.3"), from_address("10.0.0.4")):  # same browser, or a copied link
        page = client.get(link)
        assert page.status_code == 410 and "<form" not in page.content.decode()
        assert client.post(link, {**GOOD, "satisfaction": "dissatisfied"}).status_code == 410
    assert Callback.objects.filter(ticket=replied).count() == 1
    assert Callback.objects.get(ticket=replied).level5 == 5


@pytest.mark.django_db(transaction=True)
def test_two_submits_racing_record_one_rating(flow):
    ticket = flow.replied()
    link = link_of(ticket)
    barrier = threading.Barrier(2)
    statuses = []

    def submit(satisfaction):
        try:
            barrier.wait(timeout=10)
            statuses.append(from_address("10.0.0.5").post(link, {**GOOD, "satisfaction": satisfaction}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(s,)) for s in ("satisfied", "dissatisfied")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) in ([200, 409], [200, 410]), statuses
    assert Callback.objects.filter(ticket=ticket).count() == 1


# --- brute force ----------------------------------------------------------------------------------


@pytest.fixture
def limit(settings):
    settings.HOTLINE = {**settings.HOTLINE, "RATING_LOOKUPS_PER_MINUTE": 5}
    return 5


def test_posts_count_towards_the_limit_and_it_holds_even_for_a_valid_link(replied, limit):
    client = from_address("10.0.0.6")
    for i in range(limit):
        assert client.post(f"/r/guess-{i}", GOOD).status_code == 404
    # The guesser has used the minute; a right guess now gets the same 429 and records nothing.
    response = client.post(link_of(replied), GOOD)
    assert response.status_code == 429 and "访问太频繁" in response.content.decode()
    assert not Callback.objects.filter(ticket=replied).exists()
    assert RatingToken.objects.get(ticket=replied).used_at is None


def test_the_limit_is_per_address(replied, limit):
    guesser = from_address("10.0.0.7")
    for i in range(limit + 1):
        guesser.get(f"/r/guess-{i}")
    assert guesser.get(link_of(replied)).status_code == 429
    # The resident, on another network, is not locked out by someone else's guessing.
    assert from_address("10.0.0.8").post(link_of(replied), GOOD).status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_limit(replied, limit):
    client = from_address("10.0.0.9")
    answers = [client.get(f"/r/guess-{i}", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(limit + 3)]
    assert 429 in answers


# --- the page leaks the token nowhere ---------------------------------------------------------------


def test_the_page_is_not_cached_and_sends_no_referrer(replied):
    response = from_address("10.0.0.10").get(link_of(replied))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")
    body = response.content.decode()
    # No third-party resource (or link) that would receive the URL with the token as its referrer.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", body)
    assert '<meta name="robots" content="noindex">' in body
