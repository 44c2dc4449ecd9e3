"""Login lockout (django-axes) on the web login and the API token endpoint, for every role.

Already covered: the Chinese lockout page after AXES_FAILURE_LIMIT wrong passwords on the web
(test_views.py::test_lockout_page_after_repeated_failures) and the JSON 429 with the right password
on the API (test_api.py::test_token_endpoint_locks_out_after_repeated_failures). Here: the right
password is refused on the web too and no session starts; the web and the API share one counter;
a lock is per account; a spoofed X-Forwarded-For does not buy new attempts; a success resets the
count; the lock lifts after the cool-off.
"""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

PASSWORD = "pw-for-tests-123"


def web_login(client: Client, username: str, password: str, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def api_login(username: str, password: str, **extra):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def lock(username: str, limit: int) -> None:
    client = Client()
    for _ in range(limit):
        web_login(client, username, "wrong-password")


@pytest.mark.parametrize(
    "persona",
    ["operator", "dispatcher", "supervisor", "auditor", "handler_a", "manager_a", "district_manager", "bureau_handler"],
)
def test_every_role_is_locked_on_web_and_api_even_with_the_right_password(persona, city, settings):
    user = getattr(city, persona)
    lock(user.username, settings.AXES_FAILURE_LIMIT)

    client = Client()
    response = web_login(client, user.username, PASSWORD)
    assert response.status_code == 429
    assert "账号已暂时锁定" in response.content.decode()
    assert not signed_in(client)
    response = api_login(user.username, PASSWORD)
    assert response.status_code == 429 and response.json()["code"] == "locked_out"
    assert "token" not in response.json()


def test_web_and_api_failures_count_together(city, settings):
    limit = settings.AXES_FAILURE_LIMIT
    web_failures = limit // 2
    for _ in range(web_failures):
        assert web_login(Client(), "operator1", "wrong-password").status_code == 200
    for _ in range(limit - web_failures - 1):
        assert api_login("operator1", "wrong-password").status_code == 400
    # The limit-th failure, counted across both doors, is the one that locks.
    assert api_login("operator1", "wrong-password").status_code == 429
    # Neither door has attempts left.
    assert api_login("operator1", PASSWORD).status_code == 429
    assert web_login(Client(), "operator1", PASSWORD).status_code == 429


def test_a_lock_is_per_account(city, settings):
    lock("operator1", settings.AXES_FAILURE_LIMIT)
    client = Client()
    response = web_login(client, "dispatcher1", PASSWORD)
    assert response.status_code == 302 and signed_in(client)
    assert api_login("dispatcher1", PASSWORD).status_code == 200


def test_a_forged_forwarded_for_header_buys_no_new_attempts(city, settings):
    """Attempts are counted by the address the connection comes from, not a header the client writes."""
    for i in range(settings.AXES_FAILURE_LIMIT):
        web_login(Client(), "operator1", "wrong-password", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    response = web_login(Client(), "operator1", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert response.status_code == 429
    response = api_login("operator1", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.78")
    assert response.status_code == 429


def test_a_successful_login_resets_the_count(city, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        web_login(Client(), "operator1", "wrong-password")
    assert web_login(Client(), "operator1", PASSWORD).status_code == 302
    for _ in range(limit - 1):
        web_login(Client(), "operator1", "wrong-password")
    client = Client()
    assert web_login(client, "operator1", PASSWORD).status_code == 302 and signed_in(client)


def test_the_lock_lifts_after_the_cool_off(city, settings):
    lock("operator1", settings.AXES_FAILURE_LIMIT)
    assert api_login("operator1", PASSWORD).status_code == 429
    # Let the cool-off pass (AXES_COOLOFF_TIME is in hours).
    passed = timezone.now() - dt.timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
    AccessAttempt.objects.filter(username="operator1").update(attempt_time=passed)
    client = Client()
    assert web_login(client, "operator1", PASSWORD).status_code == 302 and signed_in(client)


def test_lockout_page_names_the_configured_cool_off(city, settings):
    """The JSON message is built from AXES_COOLOFF_MINUTES; the page must not promise a different wait."""
    settings.AXES_COOLOFF_TIME = 0.5  # 30 minutes
    lock("operator1", settings.AXES_FAILURE_LIMIT)
    assert "30分钟" in api_login("operator1", PASSWORD).json()["detail"]
    body = web_login(Client(), "operator1", PASSWORD).content.decode()
    assert "30分钟" in body and "15分钟" not in body
