"""CSRF on every state-changing request, found by walking the URL resolver rather than listed by hand.

A POST without the token, from a signed-in browser session, must be refused by Django's CSRF check
(or, for the API, by DRF's session authentication) before any view runs, on every route: a view
someone marks csrf_exempt, or a new route, fails here. Every POST form the pages render carries the
token, and htmx requests carry it in the X-CSRFToken header. Token-authenticated API calls need no
CSRF token (no cookie is involved), which test_api.py already exercises.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from hotline.models import AccessLog, Notification, Ticket, TicketEvent
from tests.security.test_idor import concrete, iter_routes, params_of, urls_for

CSRF_PAGE_MARK = "安全校验失败（CSRF）"  # templates/403_csrf.html
# Routes where a tokenless POST is accepted on purpose, and why.
NO_CSRF = {
    "api/auth/token/": "exchanges a password for a token in the response body; no cookie, no ambient authority",
}


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def route_urls(route: str, world) -> list[str]:
    ticket = world.by_status["handling"]
    values = {
        "pk": ticket.pk,
        "object_id": ticket.pk,
        "id": world.city.operator.pk,
        "app_label": "hotline",
        "content_type_id": 1,
        "url": "hotline/ticket/",
        "token": "forged-token-for-csrf",
        "level": "streets",
        "format": "json",
    }
    names = params_of(route)
    if "action" in names or "decision" in names:
        return urls_for(route, ticket.pk)
    return [concrete(route, values)]


def is_csrf_refusal(response) -> bool:
    if response.status_code != 403:
        return False
    # DRF views refuse through SessionAuthentication; an HTML-rendered one (the Swagger page) keeps
    # the reason in response.data only.
    detail = str((getattr(response, "data", None) or {}).get("detail", ""))
    return CSRF_PAGE_MARK in response.content.decode(errors="replace") or detail.startswith("CSRF Failed")


@pytest.mark.parametrize("persona", ["operator", "dispatcher", "supervisor", "auditor", "handler_a", "manager_a"])
def test_every_route_refuses_a_post_without_the_csrf_token(persona, world):
    user = getattr(world.city, persona)
    client = signed_in(user)
    ticket = world.by_status["handling"]
    events = TicketEvent.objects.count()
    checked = 0
    for route in iter_routes():
        if route in NO_CSRF:
            continue
        for url in route_urls(route, world):
            response = client.post(url, {"reason": "跨站请求", "text": "跨站请求伪造的答复内容", "ctx": "detail"})
            assert is_csrf_refusal(response), (persona, route, url, response.status_code)
            checked += 1
    assert checked > 150
    # Nothing happened anywhere: no event, no log row, the ticket where it was, the user still signed in.
    assert TicketEvent.objects.count() == events
    assert not AccessLog.objects.filter(user=user).exists()
    assert Ticket.objects.get(pk=ticket.pk).status == "handling"
    assert client.get("/").status_code == 302 and client.get("/notifications/").status_code == 200


def test_anonymous_posts_need_the_token_too(world):
    """Login (login CSRF) and the resident's rating page have no session to protect, but still check."""
    client = Client(enforce_csrf_checks=True)
    assert is_csrf_refusal(client.post("/login/", {"username": "operator1", "password": "pw-for-tests-123"}))
    assert "_auth_user_id" not in client.session
    assert is_csrf_refusal(client.post("/r/some-token", {"contacted": "1"}))


def test_the_same_post_with_the_token_goes_through(world):
    """Positive control: the refusals above are CSRF, not something else that would also say 403."""
    client = signed_in(world.city.handler_a)
    page = client.get(f"/tickets/{world.by_status['handling'].pk}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post("/notifications/read-all/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    response = client.post("/notifications/read-all/", {}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302
    assert not Notification.objects.filter(user=world.city.handler_a, read_at__isnull=True).exists()


def _post_forms(html: str) -> list[str]:
    return re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", html, flags=re.S | re.I)


def test_every_post_form_on_every_page_carries_the_token(world, flow):
    c = world.city
    pages = {
        c.operator: ["/intake/", "/tickets/", "/callbacks/", "/notifications/"],
        c.dispatcher: ["/dispatch/", f"/tickets/{world.by_status['received'].pk}/"],
        c.supervisor: ["/supervise/", f"/tickets/{world.by_status['review'].pk}/", "/scores/exemptions/"],
        c.handler_a: [
            "/workbench/",
            f"/tickets/{world.by_status['dispatched'].pk}/",
            f"/tickets/{world.by_status['handling'].pk}/",
            f"/scores/units/{c.street_a.pk}/",
        ],
        c.manager_a: ["/workbench/", f"/tickets/{world.by_status['handling'].pk}/"],
    }
    forms = 0
    for user, urls in pages.items():
        client = signed_in(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (user, url)
            html = response.content.decode()
            # htmx requests send the token from the body's hx-headers.
            assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", html), url
            for form in _post_forms(html):
                assert 'name="csrfmiddlewaretoken"' in form, (user.username, url, form[:200])
                forms += 1
    anonymous = Client(enforce_csrf_checks=True)
    for form in _post_forms(anonymous.get("/login/").content.decode()):
        assert 'name="csrfmiddlewaretoken"' in form
        forms += 1
    assert forms > 30
