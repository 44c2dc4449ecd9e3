"""Production settings: `manage.py check --deploy` is clean, HTTPS is the default outside
development, and development (`make run`) and the tests keep working over plain HTTP."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from tests.deploy.conftest import VENV_BIN, production_env, run

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({k: getattr(s, k) for k in ('DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_PROXY_SSL_HEADER', "
    "'SECURE_REDIRECT_EXEMPT', 'SESSION_COOKIE_HTTPONLY', 'X_FRAME_OPTIONS')}))"
)


def settings_under(env: dict) -> dict:
    result = run(
        [str(VENV_BIN / "python"), "-c", PRINT_SETTINGS], env={**env, "DJANGO_SETTINGS_MODULE": "hotline.settings"}
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_under_production_settings():
    result = run(
        [str(VENV_BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stderr


def test_check_deploy_fails_when_production_is_configured_insecurely():
    """The test above can fail: switching a protection off is reported."""
    env = production_env(SECURE_COOKIES="false", SECURE_HSTS_SECONDS="0")
    result = run([str(VENV_BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env)
    assert result.returncode != 0
    for code in ("security.W004", "security.W012", "security.W016"):
        assert code in result.stderr


def test_production_is_https_only_by_default():
    values = settings_under(production_env(BEHIND_PROXY="true"))
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["X_FRAME_OPTIONS"] == "DENY"


def test_the_forwarded_proto_header_is_trusted_only_behind_the_proxy():
    assert settings_under(production_env(BEHIND_PROXY="false"))["SECURE_PROXY_SSL_HEADER"] is None


def test_development_keeps_plain_http():
    """`make run` sets DEBUG=1 and HOTLINE_DEMO=1 (hotline/devrun.py) and serves http://127.0.0.1:8000."""
    env = production_env(DEBUG="1", HOTLINE_DEMO="1")
    env.pop("SECRET_KEY")
    values = settings_under(env)
    assert values["SESSION_COOKIE_SECURE"] is False and values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    env.pop("SECRET_KEY")
    result = run([str(VENV_BIN / "python"), "manage.py", "migrate", "--check"], env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


@pytest.mark.django_db
def test_health_checks_are_not_redirected_but_everything_else_is():
    """Load balancers probe nodes over plain HTTP on the private network."""
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^healthz$"]):
        from django.conf import settings

        exempt = settings.SECURE_REDIRECT_EXEMPT
        client = Client()
        assert client.get("/healthz").status_code in (200, 503)
        response = client.get("/login/")
        assert response.status_code == 301 and response["Location"].startswith("https://")
    # The exemption the test used is the one production has.
    assert settings_under(production_env())["SECURE_REDIRECT_EXEMPT"] == exempt
