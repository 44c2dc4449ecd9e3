"""Fuzz the REST API from its own live OpenAPI schema, as each kind of user.

The schema is fetched from /api/schema/ on pytest-django's live server (so what is checked is what
clients are told), every operation is called with schemathesis-generated input, authenticated by a
DRF token obtained from /api/auth/token/ like an integration would, against a world with tickets in
every state. Path ids (three times in four), unit and category codes and ticket numbers (every other
time) are drawn from the real rows, so transitions actually run instead of all ending in 404 or 400.

Checks: no 5xx, every status code is documented, the content type and the body match the schema;
for deliberately invalid input (negative mode) also that the API rejects it.

The run is repeatable (a fixed seed, no example database) and bounded so the file stays within
two minutes on two cores; HOTLINE_FUZZ_EXAMPLES raises the budget for a longer local hunt, and
HOTLINE_FUZZ_SEED varies the inputs.
"""

from __future__ import annotations

import os
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from hotline.models import Category, Ticket, Unit
from routing.models import Place
from tests.security.conftest import build_world, clear_own_cache

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "4"))
SEED = int(os.environ.get("HOTLINE_FUZZ_SEED", "12345"))
PASSWORD = "pw-for-tests-123"  # tests/conftest.py City

POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]

# The token endpoint is fuzzed by its own test: a flood of wrong passwords locks the account
# (that is the point of django-axes) and would turn the persona's later calls into noise.
TOKEN_PATH = "/api/auth/token/"


def _token(base_url: str, username: str) -> str:
    response = requests.post(base_url + TOKEN_PATH, json={"username": username, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]


class Pools:
    """Real identifiers to mix into generated input."""

    def __init__(self) -> None:
        self.ticket_ids = list(Ticket.objects.values_list("pk", flat=True))
        self.ticket_numbers = list(Ticket.objects.values_list("number", flat=True))
        self.unit_ids = list(Unit.objects.values_list("pk", flat=True))
        self.unit_codes = list(Unit.objects.values_list("code", flat=True))
        self.category_ids = list(Category.objects.values_list("pk", flat=True))
        self.category_codes = list(Category.objects.values_list("code", flat=True))
        self.district_codes = list(Place.objects.filter(level="district").values_list("code", flat=True))
        self.street_codes = list(Place.objects.filter(level="street").values_list("code", flat=True))
        self.community_codes = list(Place.objects.filter(level="community").values_list("code", flat=True))

    def ids_for(self, path: str) -> list[int]:
        if path.startswith(("/api/units/", "/api/stats/units/")):
            return self.unit_ids
        if path.startswith("/api/categories/"):
            return self.category_ids
        return self.ticket_ids

    def values_for(self, name: str, current) -> list | None:
        if isinstance(current, int) and not isinstance(current, bool):
            # Integer-typed references (the stats endpoints' ?unit=) take ids, not codes.
            return self.unit_ids if name == "unit" else None
        return {
            "lead_unit": self.unit_codes,
            "unit": self.unit_codes,
            "new_unit": self.unit_codes,
            "suggested_unit": self.unit_codes,
            "category": self.category_codes,
            "district": self.district_codes,
            "street": self.street_codes,
            "community": self.community_codes,
            "master": self.ticket_numbers,
            "number": self.ticket_numbers,
        }.get(name)


def realistic(operation, mode, pools: Pools):
    """The generated case, with real ids and codes swapped in.

    Invalid input goes into the query and the body only: an id that does not fit a route's URL
    pattern (1.5, "abc") never reaches the API and gets Django's HTML 404 page, a known gap tracked by
    test_malformed_ids_are_answered_in_json below.
    """
    if mode.is_negative:
        ids = pools.ids_for(operation.path)
        if len(operation.path_parameters):
            return st.sampled_from(ids).flatmap(
                lambda pk: operation.as_strategy(generation_mode=mode, path_parameters={"id": pk})
            )
        return operation.as_strategy(generation_mode=mode)
    base = operation.as_strategy(generation_mode=mode)

    @st.composite
    def build(draw):
        case = draw(base)
        # Mostly real ids: a random one only proves 404 again, which the negative run covers too.
        if "id" in (case.path_parameters or {}) and draw(st.integers(0, 3)):
            case.path_parameters["id"] = draw(st.sampled_from(pools.ids_for(operation.path)))
        for container in (case.body, case.query):
            if not isinstance(container, dict):
                continue
            for name in list(container):
                pool = pools.values_for(name, container[name])
                if pool and draw(st.booleans()):
                    container[name] = draw(st.sampled_from(pool))
            if isinstance(container.get("assist_units"), list) and draw(st.booleans()):
                container["assist_units"] = draw(st.lists(st.sampled_from(pools.unit_codes), max_size=2, unique=True))
        return case

    return build()


def _settings(examples: int):
    return hsettings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written into the shared checkout; the seed makes runs repeatable
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )


def run_operation(strategy, *, examples: int, call) -> str | None:
    """Run one operation's examples; the failure report (with a curl line to reproduce) or None."""

    @seed(SEED)
    @_settings(examples)
    @given(case=strategy)
    def run(case):
        call(case)

    try:
        run()
    except BaseExceptionGroup as exc:  # schemathesis: a FailureGroup of every check that failed
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def has_input(operation) -> bool:
    """Something negative mode may make invalid (path ids excepted, see realistic())."""
    return bool(len(operation.query) or len(operation.body))


def fuzz(schema, base_url: str, token: str, pools: Pools, *, modes, skip=()) -> tuple[dict[str, int], list[str]]:
    """Run every operation in every mode; return the status codes seen and every failure report."""
    headers = {"Authorization": f"Token {token}"}
    statuses: dict[str, int] = {}
    failures: list[str] = []
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in skip:
            continue
        for mode in modes:
            if mode.is_negative and not has_input(operation):
                continue
            checks = NEGATIVE_CHECKS if mode.is_negative else POSITIVE_CHECKS

            def call(case, checks=checks):
                response = case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=checks)
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1

            examples = EXAMPLES if mode.is_positive else max(2, EXAMPLES - 1)
            report = run_operation(realistic(operation, mode, pools), examples=examples, call=call)
            if report:
                failures.append(f"{operation.label} [{mode.value}]\n{report}")
    return statuses, failures


@pytest.fixture
def fuzz_world(city, flow):
    from hotline.celery import app

    clear_own_cache()
    world = build_world(city, flow)
    yield world
    clear_own_cache()
    # Committed SMS hand-offs queued for a worker this test never runs: leave the broker empty.
    app.control.purge()


@pytest.fixture
def api_schema(live_server):
    return schemathesis.openapi.from_url(live_server.url + "/api/schema/")


# Every persona gets schema-valid input on every operation (what it may do differs by role); invalid
# input, refused before or after the role check, is sent as one hub and one unit persona. The
# personas share one world (each acts on what the previous ones left, as on a real day) so the
# file sets it up once and stays within two minutes on two cores.
PERSONAS = {
    "operator": (GenerationMode.POSITIVE,),
    "dispatcher": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    "supervisor": (GenerationMode.POSITIVE,),
    "auditor": (GenerationMode.POSITIVE,),
    "handler_a": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
}


def test_api_holds_its_schema_for_every_role(fuzz_world, api_schema, live_server):
    failures: list[str] = []
    for persona, modes in PERSONAS.items():
        started = time.monotonic()
        user = getattr(fuzz_world.city, persona)
        token = _token(live_server.url, user.username)
        # Fresh pools: earlier personas created and merged tickets.
        statuses, found = fuzz(api_schema, live_server.url, token, Pools(), modes=modes, skip={TOKEN_PATH})
        print(f"{persona}: {statuses} in {time.monotonic() - started:.1f}s")
        failures += [f"as {persona}: {report}" for report in found]
        # Not a vacuous pass: the fuzzer got through to real handlers, not only to 404s and 400s.
        assert statuses.get("200", 0) > 20, (persona, statuses)
    assert not failures, "\n\n".join(failures)


def test_token_endpoint_holds_its_schema(fuzz_world, api_schema, live_server):
    operation = api_schema[TOKEN_PATH]["POST"]
    statuses: dict[str, int] = {}
    failures = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        checks = NEGATIVE_CHECKS if mode.is_negative else POSITIVE_CHECKS

        def call(case, checks=checks):
            response = case.call_and_validate(base_url=live_server.url, checks=checks)
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1

        report = run_operation(operation.as_strategy(generation_mode=mode), examples=EXAMPLES * 3, call=call)
        if report:
            failures.append(f"{operation.label} [{mode.value}]\n{report}")
    assert not failures, "\n\n".join(failures)
    assert statuses.get("400", 0) > 0, statuses

    # Anonymous callers: every other operation answers a documented, schema-shaped 401.
    session = requests.Session()
    refused = []
    for result in api_schema.get_all_operations():
        op = result.ok()
        if op.path == TOKEN_PATH:
            continue

        def anonymous(case, op=op):
            response = case.call_and_validate(base_url=live_server.url, session=session, checks=POSITIVE_CHECKS)
            assert response.status_code == 401, (op.label, response.status_code, response.text[:200])
            refused.append(op.label)

        report = run_operation(op.as_strategy(), examples=1, call=anonymous)
        if report:
            failures.append(f"{op.label} [anonymous]\n{report}")
    assert not failures, "\n\n".join(failures)
    assert len(refused) > 30, refused


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/tickets/1.5/sign/", "/api/tickets/-1/routing/", "/api/tickets/x.y/reply/"])
def test_malformed_ids_are_answered_in_json(path, city, client):
    client.force_login(city.dispatcher)
    response = client.get(path) if path.endswith("routing/") else client.post(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
