"""Shared fixtures: a small city (one district, two streets, a community, a bureau, a utility)
and named personas, like healthchecks' base test class."""

from __future__ import annotations

import pytest

from hotline.choices import Role, UnitKind
from hotline.models import Category, Unit, User
from routing.models import Place, PlaceLevel


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (policies, calendar overrides) must not outlive the rows a test wiped."""
    from hotline.sla import policies
    from hotline.workcalendar import calendar
    from routing.places import gazetteer
    from routing.rules import rules
    from routing.selectors import knowledge_index
    from routing.services import active_model

    caches = (policies, calendar, gazetteer, rules, knowledge_index, active_model)
    for cache in caches:
        cache.invalidate()
    yield
    for cache in caches:
        cache.invalidate()


class City:
    """Everything a test needs to move a ticket around, built once per test."""

    def __init__(self) -> None:
        self.chaoyang = Place.objects.create(code="chaoyang", name="朝阳区", level=PlaceLevel.DISTRICT)
        self.wangjing = Place.objects.create(
            code="chaoyang-wangjing", name="望京街道", level=PlaceLevel.STREET, parent=self.chaoyang, aliases=["望京"]
        )
        self.sanlitun = Place.objects.create(
            code="chaoyang-sanlitun", name="三里屯街道", level=PlaceLevel.STREET, parent=self.chaoyang
        )
        self.xiyuan = Place.objects.create(
            code="chaoyang-wangjing-xiyuan", name="望京西园社区", level=PlaceLevel.COMMUNITY, parent=self.wangjing
        )

        self.hub = Unit.objects.create(code="hub", name="12345热线中心", kind=UnitKind.HUB)
        self.district = Unit.objects.create(
            code="chaoyang", name="朝阳区人民政府", kind=UnitKind.DISTRICT, place=self.chaoyang
        )
        self.street_a = Unit.objects.create(
            code="chaoyang-wangjing",
            name="望京街道办事处",
            kind=UnitKind.STREET,
            parent=self.district,
            place=self.wangjing,
        )
        self.street_b = Unit.objects.create(
            code="chaoyang-sanlitun",
            name="三里屯街道办事处",
            kind=UnitKind.STREET,
            parent=self.district,
            place=self.sanlitun,
        )
        self.community = Unit.objects.create(
            code="chaoyang-wangjing-xiyuan",
            name="望京西园社区居委会",
            kind=UnitKind.COMMUNITY,
            parent=self.street_a,
            place=self.xiyuan,
        )
        self.bureau = Unit.objects.create(
            code="zjw", name="北京市住房和城乡建设委员会", short_name="市住建委", kind=UnitKind.BUREAU
        )
        self.utility = Unit.objects.create(
            code="heat", name="北京市热力集团", short_name="热力集团", kind=UnitKind.ENTERPRISE
        )

        top = Category.objects.create(code="06", name="环境保护")
        self.category = Category.objects.create(code="0602", name="餐饮油烟", parent=top, scope="territorial")

        def user(username: str, role: str, unit: Unit | None = None) -> User:
            return User.objects.create_user(
                username=username, password="pw-for-tests-123", role=role, unit=unit, display_name=username
            )

        self.operator = user("operator1", Role.OPERATOR, self.hub)
        self.dispatcher = user("dispatcher1", Role.DISPATCHER, self.hub)
        self.supervisor = user("supervisor1", Role.SUPERVISOR, self.hub)
        self.auditor = user("auditor1", Role.AUDITOR, self.hub)
        self.handler_a = user("wangjing-handler", Role.HANDLER, self.street_a)
        self.handler_a2 = user("wangjing-handler2", Role.HANDLER, self.street_a)
        self.manager_a = user("wangjing-manager", Role.MANAGER, self.street_a)
        self.handler_b = user("sanlitun-handler", Role.HANDLER, self.street_b)
        self.manager_b = user("sanlitun-manager", Role.MANAGER, self.street_b)
        self.district_manager = user("chaoyang-manager", Role.MANAGER, self.district)
        self.community_handler = user("xiyuan-handler", Role.HANDLER, self.community)
        self.bureau_handler = user("zjw-handler", Role.HANDLER, self.bureau)
        self.utility_handler = user("heat-handler", Role.HANDLER, self.utility)

    @property
    def all_users(self) -> list[User]:
        return [
            self.operator,
            self.dispatcher,
            self.supervisor,
            self.auditor,
            self.handler_a,
            self.handler_a2,
            self.manager_a,
            self.handler_b,
            self.manager_b,
            self.district_manager,
            self.community_handler,
            self.bureau_handler,
            self.utility_handler,
        ]


@pytest.fixture
def city(db) -> City:
    return City()


@pytest.fixture
def flow(city):
    from tests.flow import Flow

    return Flow(city)


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real worker against the test database; data must be committed for it to see (transactional_db)."""
    from hotline.celery import app
    from tests.worker import WorkerProcess

    app.control.purge()  # a task left by an earlier, aborted run must not leak into this test
    worker = WorkerProcess().start()
    yield worker
    worker.stop()
