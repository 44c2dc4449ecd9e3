"""Per-process caches of reference data, and the switch that makes every process drop them.

Categories, units, places, dispatch rules, SLA policies and the router account are read by every
ticket create and routed ticket, yet change a few times a day, through the admin. Each process
keeps a copy; a copy is reloaded when the *generation* it was loaded under has moved on:

- this process saved or deleted a reference row (the signals below): the local generation moves at
  once, so the very next read in this process sees the edit, and again when the transaction commits,
  so another thread that read the old rows just before the commit cannot keep them;
- another process committed such an edit: the commit writes a fresh token to the shared Django cache
  (Redis). The API's create reads it once at the start of every request (``sync``); other paths read
  it at most every ``CHECK_EVERY`` seconds;
- ``invalidate()`` was called on any reference cache (tests call it around every test; the admin
  after a policy edit): all of them reload, they are cheap and belong together;
- the cache's own TTL ran out: the backstop for writes no signal sees (``QuerySet.update()``, raw
  SQL, an edit read inside its own transaction and then rolled back, or Redis being unreachable).

A cache that was loaded while the generation moved keeps the older stamp, so it reloads next time:
an edit can make a cache reload once too often, never keep stale rows.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

logger = logging.getLogger(__name__)

SHARED_KEY = "refdata:generation"
CHECK_EVERY = 1.0  # seconds between reads of the shared token, for paths that do not sync per request
RETRY_AFTER = 5.0  # seconds without asking Redis after it failed (never slow every request down)

# Reference tables: an edit to any of them invalidates every cache here.
WATCHED = ("hotline.Category", "hotline.Unit", "hotline.SlaPolicy", "routing.Place", "routing.DispatchRule")
ROUTER_USERNAME = "router"  # the routing system account (routing.services); its row is cached too


class _Generation:
    def __init__(self) -> None:
        self.local = 0
        self.shared: str | None = None
        self.checked_at = -CHECK_EVERY
        self.failed_at = -RETRY_AFTER

    def stamp(self) -> tuple[int, str | None]:
        now = time.monotonic()
        if now - self.checked_at >= CHECK_EVERY:
            self.read_shared(now)
        return (self.local, self.shared)

    def read_shared(self, now: float) -> None:
        self.checked_at = now
        if now - self.failed_at < RETRY_AFTER:
            return
        try:
            self.shared = cache.get(SHARED_KEY)
        except Exception as exc:  # Redis down: the TTLs still bound how stale a copy can get
            self.failed_at = now
            logger.warning("reference-data generation unreadable (%s); caches fall back to their TTL", exc)


_generation = _Generation()


def stamp() -> tuple[int, str | None]:
    """The generation a cache must have been loaded under to be current."""
    return _generation.stamp()


def sync() -> None:
    """Read the shared token now: a request that starts after another process committed an edit
    must not route with the rows that edit replaced."""
    _generation.read_shared(time.monotonic())


def invalidate_local() -> None:
    """Every reference cache of this process reloads on its next use."""
    _generation.local += 1


def publish() -> None:
    """Every process reloads: this one at once, the others at their next read of the shared token."""
    invalidate_local()
    try:
        cache.set(SHARED_KEY, secrets.token_hex(8), timeout=None)
    except Exception as exc:
        logger.warning("reference-data change not published (%s); other processes catch up by TTL", exc)


def changed() -> None:
    """A reference row was written: drop this process's copies now, and everyone's once it commits."""
    invalidate_local()
    transaction.on_commit(publish)


def _on_write(sender, instance=None, **kwargs) -> None:
    changed()


def _on_user_write(sender, instance=None, **kwargs) -> None:
    if getattr(instance, "username", None) == ROUTER_USERNAME:
        changed()


def _on_m2m(sender, instance=None, action: str = "", **kwargs) -> None:
    # DispatchRule.assist_units: the through model has no label of its own worth listing.
    if action.startswith("post_") and instance is not None and instance._meta.label in WATCHED:
        changed()


for _label in WATCHED:
    post_save.connect(_on_write, sender=_label, dispatch_uid=f"refcache-save-{_label}", weak=False)
    post_delete.connect(_on_write, sender=_label, dispatch_uid=f"refcache-delete-{_label}", weak=False)
post_save.connect(_on_user_write, sender="hotline.User", dispatch_uid="refcache-save-user", weak=False)
post_delete.connect(_on_user_write, sender="hotline.User", dispatch_uid="refcache-delete-user", weak=False)
m2m_changed.connect(_on_m2m, dispatch_uid="refcache-m2m", weak=False)


class ReferenceCache:
    """One cached table (or a few read together). Subclasses implement ``_load``."""

    ttl = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[int, str | None] | None = None
        self._loaded_at = -self.ttl

    def invalidate(self) -> None:
        # Reference rows refer to each other (rules → units → places): reload them all together.
        invalidate_local()

    def _current(self, current: tuple[int, str | None]) -> bool:
        return self._stamp == current and time.monotonic() - self._loaded_at < self.ttl

    def ready(self) -> Any:
        if not self._current(stamp()):
            with self._lock:
                current = stamp()  # taken before reading: an edit committed meanwhile forces another load
                if not self._current(current):
                    self._load()
                    self._stamp, self._loaded_at = current, time.monotonic()
        return self

    def _load(self) -> None:
        raise NotImplementedError


class UnitBook(ReferenceCache):
    """Every unit (active or not) by id, each with its parent attached."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[int, Any] = {}

    def _load(self) -> None:
        from hotline.models import Unit

        by_id = {u.pk: u for u in Unit.objects.all()}
        for unit in by_id.values():
            if unit.parent_id in by_id:
                unit.parent = by_id[unit.parent_id]
        self.by_id = by_id

    def get(self, pk: int | None):
        return self.ready().by_id.get(pk) if pk is not None else None


class CategoryBook(ReferenceCache):
    """Every category by id, each with its parent attached; the active ones also by code."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[int, Any] = {}
        self.active_by_code: dict[str, Any] = {}

    def _load(self) -> None:
        from hotline.models import Category

        by_id = {c.pk: c for c in Category.objects.all()}
        for category in by_id.values():
            if category.parent_id in by_id:
                category.parent = by_id[category.parent_id]
        self.by_id = by_id
        self.active_by_code = {c.code: c for c in sorted(by_id.values(), key=lambda c: c.code) if c.is_active}

    def active(self) -> dict[str, Any]:
        return self.ready().active_by_code


units = UnitBook()
categories = CategoryBook()


def category_of(ticket):
    """A ticket's category, without a query when it is not loaded yet: the cached row (its id,
    parent and scope are what routing and deadline terms read)."""
    if ticket.category_id is None or type(ticket).category.is_cached(ticket):
        return ticket.category
    return categories.ready().by_id.get(ticket.category_id) or ticket.category
