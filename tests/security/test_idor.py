"""Unit isolation (IDOR) on every route that takes an object's id, for every role.

The oracle does not depend on what a route does: asking for an object that belongs to someone else
must be indistinguishable from asking for one that does not exist (same status, same redirect), must
change nothing and must leave no access-log row. Anything else either leaks that the object exists
or, worse, acts on it.

`test_every_id_route_is_covered` walks Django's URL resolver: a new route that takes an id fails
until it is classified below, and every classified route is exercised by the checks (new API
actions under /api/tickets/{id}/ are picked up with no change here).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from hotline import services
from hotline.choices import ExemptionReason
from hotline.models import AccessLog, Exemption, Notification, Ticket, TicketEvent, User
from hotline.services.deadlines import clocks_sweep
from hotline.views.actions import ACTIONS

MISSING = 987654321  # an id no test row will ever have

# route (as the resolver spells it) → what its id names. First match wins.
ID_ROUTES: list[tuple[str, str]] = [
    (r"^api/tickets/<int:pk>/", "ticket"),
    (r"^api/\^tickets/\(\?P<pk>", "ticket"),
    (r"^tickets/<int:pk>/", "ticket"),
    (r"^callbacks/<int:pk>/", "ticket"),
    (r"^api/stats/units/<int:pk>/", "unit"),
    (r"^scores/units/<int:pk>/", "unit"),
    (r"^api/exemptions/<int:pk>/", "exemption"),
    (r"^scores/exemptions/<int:pk>/", "exemption"),
    (r"^notifications/<int:pk>/", "notification"),
    (r"^admin/", "admin"),
]
# Routes whose parameter is deliberately not scoped to a unit, and why.
NOT_SCOPED: list[tuple[str, str]] = [
    (r"^api/\^(units|categories)/\(\?P<pk>", "reference data every signed-in user reads (units, categories)"),
    (r"^r/<str:token>", "the resident's rating link: the token is the key (test_rating_tokens.py)"),
    (r"^places/<slug:level>/", "a level name (streets/communities), not an object"),
]
NOT_AN_ID = {"format"}  # DRF's format suffix


def iter_routes(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from iter_routes(pattern, route)
        else:
            yield route


def params_of(route: str) -> list[str]:
    return [a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)]


def kind_of(route: str) -> str | None:
    for pattern, kind in ID_ROUTES:
        if re.search(pattern, route):
            return kind
    return None


def routes_of(kind: str) -> list[str]:
    return [r for r in iter_routes() if kind_of(r) == kind and set(params_of(r)) - NOT_AN_ID]


def concrete(route: str, values: dict) -> str:
    """A URL for the route with the given parameter values (both path() and regex routes)."""

    def value(match):
        name = match.group(1) or match.group(2)
        return str(values[name])

    # DRF's suffix converter includes the dot itself (/api/.json).
    route = route.replace("<drf_format_suffix:format>", ".<format>")
    url = re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", value, route)
    url = url.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    return "/" + url


def urls_for(route: str, pk) -> list[str]:
    """Every concrete URL of the route for the id; `action` runs over every workflow action."""
    choices = {
        "action": sorted(ACTIONS),
        "decision": ["approve", "reject"],
        "format": ["json"],
    }
    combos = [{"pk": pk}]
    for name in params_of(route):
        if name in choices:
            combos = [{**c, name: v} for c in combos for v in choices[name]]
    return [concrete(route, c) for c in combos]


# --- the walk ----------------------------------------------------------------------------------------


def test_every_id_route_is_covered():
    unclassified = []
    for route in iter_routes():
        names = set(params_of(route)) - NOT_AN_ID
        if not names:
            continue
        if kind_of(route) is None and not any(re.search(p, route) for p, _ in NOT_SCOPED):
            unclassified.append((route, sorted(names)))
    assert not unclassified, (
        "routes taking an id that the IDOR checks do not know; add them to ID_ROUTES (and check them) "
        f"or to NOT_SCOPED with the reason: {unclassified}"
    )
    # And no stale entry: every rule still names a real route.
    for pattern, _ in ID_ROUTES + NOT_SCOPED:
        assert any(re.search(pattern, r) for r in iter_routes()), f"no route matches {pattern}"


def test_concrete_urls_resolve_to_the_route_they_came_from():
    """The generator itself: a URL that resolved elsewhere would make the IDOR checks vacuous."""
    from django.urls import resolve

    for kind in ("ticket", "unit", "exemption", "notification"):
        for route in routes_of(kind):
            for url in urls_for(route, 42):
                match = resolve(url)
                assert str(match.kwargs.get("pk")) == "42", (route, url, match)
                assert match.route == re.sub(r"(^|/)\^", r"\1", route), (route, url, match.route)


# --- the world ---------------------------------------------------------------------------------------


@dataclass
class Scene:
    world: object
    street_a: Ticket  # held by 望京街道 (handling)
    street_b: Ticket  # held by 三里屯街道 (dispatched)
    bureau: Ticket  # held by 市住建委 (dispatched)
    exemption_b: Exemption  # filed by 三里屯街道


@pytest.fixture
def scene(world, flow) -> Scene:
    c = world.city
    bureau = flow.new(title="住建委的工单", caller_phone="13600003333")
    services.ticket_dispatch(ticket=bureau, actor=c.dispatcher, lead_unit=c.bureau)
    exemption = services.exemption_request(
        ticket=world.street_b_ticket,
        actor=c.handler_b,
        reason_kind=ExemptionReason.values[0],
        reason="诉求人要求明显超出政策范围",
    )
    # Notifications come from the deadline engine: let two clocks fall due and sweep.
    past = timezone.now() - dt.timedelta(days=3)
    for ticket in (world.by_status["handling"], world.by_status["received"]):
        ticket.clocks.update(warn_at=past - dt.timedelta(hours=1), due_at=past)
    clocks_sweep()
    assert Notification.objects.values("user").distinct().count() >= 2
    return Scene(world, world.by_status["handling"], world.street_b_ticket, flow.reload(bureau), exemption)


# Each unit role and unit kind, with tickets the rules say it must not see.
OUTSIDERS = {
    "handler_b": ("street_a", "bureau"),
    "manager_b": ("street_a", "bureau"),
    "handler_a": ("street_b",),
    "district_manager": ("bureau",),
    "community_handler": ("street_a", "street_b", "bureau"),
    "bureau_handler": ("street_a", "street_b"),
    "utility_handler": ("street_b", "bureau"),
}
HUB = ["operator", "dispatcher", "supervisor", "auditor"]
POST_DATA = {
    "reason": "越权尝试",
    "text": "越权反馈内容足够长",
    "result": "resolved",
    "contacted": "1",
    "days": "3",
    "level": "2",
    "confidential": "1",
    "master": "x",
    "satisfaction": "satisfied",
    "resolved": "1",
    "outcome": "no_answer",
    "ctx": "detail",
}


def clients(user) -> tuple[Client, APIClient]:
    web = Client()
    web.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    return web, api


def answer(client, method: str, url: str) -> tuple[int, str, str]:
    """What a caller can observe: the status, where a redirect goes, and the body."""
    if method == "GET":
        response = client.get(url)
    elif isinstance(client, APIClient):
        response = client.post(url, POST_DATA, format="json")
    else:
        response = client.post(url, POST_DATA)
    return response.status_code, response.get("Location", ""), response.content.decode(errors="replace")


def assert_indistinguishable(
    user, kind: str, foreign_pk: int, *, leak: tuple[str, ...] = (), baselines: dict | None = None
) -> int:
    """Every route of the kind, GET and POST: the foreign object answers exactly like a missing one.

    `baselines` keeps the answers for the missing id across calls for the same user (they do not
    depend on the foreign object), which halves the requests when a persona has several.
    """
    baselines = {} if baselines is None else baselines
    web, api = clients(user)
    checked = 0
    for route in routes_of(kind):
        client = api if route.startswith("api/") else web
        for url, missing_url in zip(urls_for(route, foreign_pk), urls_for(route, MISSING), strict=True):
            for method in ("GET", "POST"):
                got = answer(client, method, url)
                key = (user.pk, method, missing_url)
                if key not in baselines:
                    baselines[key] = answer(client, method, missing_url)
                baseline = baselines[key]
                where = (user.username, method, url, got[:2], baseline[:2])
                assert got[0] == baseline[0], where
                assert got[1].replace(str(foreign_pk), "ID") == baseline[1].replace(str(MISSING), "ID"), where
                assert got[0] in (302, 403, 404, 405), where
                assert not any(secret in got[2] for secret in leak), where
                checked += 1
    return checked


# One test per kind of id, looping over the personas: the world is built once, not once per persona.

# --- tickets -----------------------------------------------------------------------------------------


def test_another_units_ticket_is_indistinguishable_from_a_missing_one(scene):
    baselines: dict = {}
    for persona in sorted(OUTSIDERS):
        user = getattr(scene.world.city, persona)
        for name in OUTSIDERS[persona]:
            ticket = getattr(scene, name)
            ticket.refresh_from_db()
            before = (ticket.status, TicketEvent.objects.filter(ticket=ticket).count(), ticket.supervise_level)
            checked = assert_indistinguishable(
                user, "ticket", ticket.pk, leak=(ticket.number, ticket.title), baselines=baselines
            )
            assert checked > 50  # every transition, web and API, with and without the format suffix
            ticket.refresh_from_db()
            after = (ticket.status, TicketEvent.objects.filter(ticket=ticket).count(), ticket.supervise_level)
            assert after == before, (persona, name)
        # Nothing was seen, so nothing was logged as seen.
        assert not AccessLog.objects.filter(user=user).exists(), persona


def test_the_oracle_can_tell_a_visible_ticket_from_a_missing_one(scene):
    """Positive control: the same probes, by the owner, do tell the difference."""
    web, api = clients(scene.world.city.handler_a)
    assert answer(web, "GET", f"/tickets/{scene.street_a.pk}/")[0] == 200
    assert answer(web, "GET", f"/tickets/{MISSING}/")[0] == 404
    assert answer(api, "GET", f"/api/tickets/{scene.street_a.pk}/")[0] == 200
    assert answer(api, "GET", f"/api/tickets/{MISSING}/")[0] == 404


def test_lists_and_search_never_carry_another_units_ticket(scene):
    """Pages that list tickets (not by id): search, workbench and the API list, for every outsider."""
    for persona, names in OUTSIDERS.items():
        web, api = clients(getattr(scene.world.city, persona))
        pages = [web.get("/tickets/").content.decode(), web.get("/workbench/").content.decode()]
        api_rows = api.get("/api/tickets/?page_size=100").json()["results"]
        for name in names:
            ticket = getattr(scene, name)
            for body in pages:
                assert ticket.number not in body, (persona, name)
            assert ticket.pk not in [row["id"] for row in api_rows], (persona, name)
            by_number = api.get(f"/api/tickets/?number={ticket.number}").json()["results"]
            assert by_number == [], (persona, name)


# --- units' score cards, exemptions, notifications ------------------------------------------------------

FOREIGN_UNIT = {
    "handler_a": "street_b",
    "manager_b": "street_a",
    "district_manager": "bureau",
    "bureau_handler": "district",
}


def test_another_units_score_card_is_indistinguishable_from_a_missing_one(scene):
    city = scene.world.city
    for persona, foreign_unit in FOREIGN_UNIT.items():
        user = getattr(city, persona)
        assert_indistinguishable(user, "unit", getattr(city, foreign_unit).pk)
        # Positive control: its own card answers.
        web, _ = clients(user)
        assert web.get(f"/scores/units/{user.unit_id}/").status_code == 200, persona


def test_the_stats_unit_parameter_is_scoped_like_a_path_id(scene):
    """?unit=<id> on every statistics endpoint: another unit's figures answer like a missing unit's."""
    city = scene.world.city
    figures = [r for r in iter_routes() if r.startswith("api/stats/") and not params_of(r)]
    assert len(figures) >= 5
    for persona, foreign_unit in FOREIGN_UNIT.items():
        user = getattr(city, persona)
        _, api = clients(user)
        foreign = getattr(city, foreign_unit).pk
        for route in figures:
            url = "/" + route
            got, missing = api.get(url, {"unit": foreign}), api.get(url, {"unit": MISSING})
            assert got.status_code == missing.status_code, (persona, url, got.status_code, missing.status_code)
            if got.status_code == 200:  # an endpoint that takes no unit (rankings) ignores it entirely
                assert got.content == missing.content, (persona, url)
            else:
                assert got.status_code in (403, 404), (persona, url, got.status_code)
        # Positive control: its own unit's summary answers.
        assert api.get("/api/stats/summary/", {"unit": user.unit_id}).status_code == 200, persona


def test_another_units_exemption_cannot_be_decided(scene):
    # Hub roles read every exemption (they are not outsiders); a non-supervisor is refused by role.
    exemption = scene.exemption_b
    for persona in ("handler_a", "manager_a", "district_manager", "bureau_handler"):
        assert_indistinguishable(getattr(scene.world.city, persona), "exemption", exemption.pk)
    exemption.refresh_from_db()
    assert exemption.status == "pending" and exemption.decided_by is None


def test_someone_elses_notification_is_indistinguishable_from_a_missing_one(scene):
    for persona in [*HUB, *sorted(OUTSIDERS)]:
        user = getattr(scene.world.city, persona)
        theirs = Notification.objects.exclude(user=user).order_by("id").first()
        assert_indistinguishable(user, "notification", theirs.pk)
        theirs.refresh_from_db()
        assert theirs.read_at is None, persona  # opening it did not mark it read for its owner


# --- the admin site ------------------------------------------------------------------------------------


def test_admin_pages_with_an_id_are_staff_only(scene):
    ticket_type = ContentType.objects.get_for_model(Ticket).pk
    routes = routes_of("admin")
    assert len(routes) > 20
    for persona in [*HUB, "handler_a", "manager_a", "district_manager"]:
        user: User = getattr(scene.world.city, persona)
        assert not user.is_staff
        web, _ = clients(user)
        values = {"object_id": scene.street_a.pk, "id": user.pk, "app_label": "hotline", "content_type_id": ticket_type}
        values["url"] = "hotline/ticket/"
        for route in routes:
            url = concrete(route, values)
            response = web.get(url)
            assert response.status_code == 302, (persona, url, response.status_code)
            assert response["Location"].startswith("/admin/login/"), (persona, url, response["Location"])
