"""A demo-like world for the security tests: the shared small city, a trained router, a knowledge
article, and tickets in every state, each held by a known unit, so every role has something of its
own and something that belongs to someone else."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.core.cache import cache

from hotline import services
from hotline.choices import TicketStatus
from hotline.models import Ticket
from routing.models import DispatchRule, KnowledgeArticle, RuleTarget
from routing.places import gazetteer
from routing.rules import rules
from routing.selectors import knowledge_index
from routing.services import active_model
from routing.training import Corpus, store_model, train
from tests.routing.conftest import CORPUS


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: schemathesis fuzzing against the live server (part of make test)")


@dataclass
class World:
    city: object
    by_status: dict[str, Ticket] = field(default_factory=dict)
    street_b_ticket: Ticket | None = None
    confidential: Ticket | None = None

    @property
    def tickets(self) -> list[Ticket]:
        extra = [t for t in (self.street_b_ticket, self.confidential) if t is not None]
        return [*self.by_status.values(), *extra]


def build_world(city, flow) -> World:
    """Real services only: every row is what production would have written."""
    from hotline.models import Category

    top_pub = Category.objects.create(code="03", name="公共服务")
    heating = Category.objects.create(code="0301", name="供暖", parent=top_pub, scope="utility")
    noise = Category.objects.create(code="0601", name="噪声扰民", parent=city.category.parent, scope="territorial")
    DispatchRule.objects.create(name="油烟属地", category=city.category, target=RuleTarget.PLACE_STREET)
    DispatchRule.objects.create(name="噪声属地", category=noise, target=RuleTarget.PLACE_STREET)
    DispatchRule.objects.create(name="供暖归热力", category=heating, target=RuleTarget.UNIT, unit=city.utility)
    texts = [t for texts in CORPUS.values() for t in texts]
    labels = [label for label, texts in CORPUS.items() for _ in texts]
    store_model(train(Corpus(texts, labels, "tests")), name="安全测试模型", source="tests", metrics={}, activate=True)
    KnowledgeArticle.objects.create(
        title="供暖时间",
        question="北京什么时候开始供暖？",
        answer="北京市供暖季为每年11月15日至次年3月15日。",
        keywords=["供暖", "暖气"],
        category=heating,
    )
    for c in (rules, gazetteer, active_model, knowledge_index):
        c.invalidate()

    world = World(city=city)
    for status in TicketStatus.values:
        world.by_status[status] = flow.in_status(status)
    b = flow.new(title="三里屯的工单", street=city.sanlitun, caller_phone="13900001111")
    services.ticket_dispatch(ticket=b, actor=city.dispatcher, lead_unit=city.street_b)
    world.street_b_ticket = flow.reload(b)
    world.confidential = flow.dispatched(title="保密工单", confidential=True, caller_phone="13700002222")
    return world


def clear_own_cache() -> None:
    """Forget rate-limit counters of earlier tests. Not cache.clear(): that flushes the whole Redis
    database, which other test runs and a developer's `make run` share (only the key prefix differs)."""
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = cache._cache.get_client(None, write=True)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _own_cache_cleared():
    clear_own_cache()
    yield
    clear_own_cache()


@pytest.fixture
def world(city, flow) -> World:
    yield build_world(city, flow)
    for c in (rules, gazetteer, active_model, knowledge_index):
        c.invalidate()
