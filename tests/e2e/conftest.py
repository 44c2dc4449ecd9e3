"""Browser end-to-end fixtures: Debian's chromium (Playwright, sync API) drives the real server
(pytest-django ``live_server``, so the database is transactional) while a real Celery worker
process sends what the server queues, against the test PostgreSQL database and Redis.

The browser and the worker live as long as this package (starting them per test would cost
seconds each on a 2-core machine); the data does not: every test seeds its own small city, and
pytest-django empties the tables after it.
"""

from __future__ import annotations

import pytest

from hotline import services
from tests.e2e.harness import CHROMIUM, LAUNCH_ARGS, NO_CHROMIUM, Session
from tests.flow import Flow
from tests.routing.conftest import router  # noqa: F401  (the trained tiny router; a fixture)


def pytest_configure(config):
    # pyproject.toml runs with --strict-markers; the marker is registered here, next to its tests.
    config.addinivalue_line(
        "markers", "e2e: browser end-to-end test (Debian chromium via Playwright, live server, real Celery worker)"
    )


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as mp:
        # Playwright's sync API keeps an asyncio loop running in this thread, and Django refuses ORM
        # calls under a running loop. Here that is safe: the loop only drives the browser and no
        # coroutine touches the database. Set for this package only, and dropped with the loop.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture(scope="package")
def e2e_worker(django_db_setup):
    """One real worker for the package, on the test database and the test broker."""
    from hotline.celery import app
    from tests.worker import WorkerProcess

    app.control.purge()  # a task left by an aborted run must not fire into this one
    worker = WorkerProcess(name="e2e-worker").start()
    yield worker
    worker.stop()


class World:
    """The shared test City with a trained router, plus a little background traffic so lists are not
    trivially empty (a test that asserts a ticket is absent from a list must see that list work)."""

    def __init__(self, city) -> None:
        c = self.city = city
        self.flow = Flow(city)
        # 三里屯's own ticket, in hand there: what its manager should see instead of 望京's.
        self.sanlitun_ticket = self.flow.new(
            title="三里屯路口共享单车堆积",
            content="三里屯太古里北门路口共享单车堆积，行人无法通行。",
            caller_name="周女士",
            caller_phone="13700001111",
            address="朝阳区三里屯路",
            street=c.sanlitun,
            category=None,
        )
        services.ticket_dispatch(ticket=self.sanlitun_ticket, actor=c.dispatcher, lead_unit=c.street_b)
        services.ticket_sign(ticket=self.sanlitun_ticket, actor=c.handler_b)
        # Another 望京 ticket waiting to be signed, and one waiting for a dispatcher.
        self.wangjing_waiting = self.flow.dispatched(
            title="望京西园三区门口早市占道",
            content="望京西园三区门口早市摊贩占道，早上车辆无法通行。",
            caller_name="陈先生",
            caller_phone="13600002222",
        )
        self.unrouted = self.flow.new(
            title="小区门口路灯不亮",
            content="望京西园二区门口路灯坏了一周，晚上很黑。",
            caller_name="刘女士",
            caller_phone="13500003333",
            category=None,
        )


@pytest.fixture
def world(router, settings):  # noqa: F811  (router is the imported fixture above)
    # The dev SMS inbox (/dev/sms/) stands in for the resident's phone, as in demo mode, and the
    # link in the SMS must point at this live server, not the production default.
    settings.DEMO_MODE = True
    return World(router)


@pytest.fixture
def session(browser, e2e_worker, live_server, world, settings):
    settings.HOTLINE = {**settings.HOTLINE, "PUBLIC_BASE_URL": live_server.url}
    s = Session(browser, live_server.url)
    yield s
    s.close()
    s.assert_no_problems()
