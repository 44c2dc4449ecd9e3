"""Reads for the intake screen: likely repeat calls and knowledge-base answers."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from hotline.choices import TicketStatus
from hotline.models import Ticket, User
from hotline.selectors import tickets_visible_to
from routing.models import KnowledgeArticle, RoutingDecision
from routing.segmentation import token_set, tokens


@dataclass
class Duplicate:
    ticket: Ticket
    reason: str
    similarity: float
    same_caller: bool


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def duplicates_for(
    user: User,
    *,
    phone: str = "",
    street_id: int | None = None,
    text: str = "",
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[Duplicate]:
    """Possible repeat calls: the same caller lately, or the same street and similar words this week."""
    cfg = settings.HOTLINE
    now = timezone.now()
    words = token_set(text) if text else frozenset()
    found: dict[int, Duplicate] = {}
    visible = tickets_visible_to(user).exclude(status=TicketStatus.MERGED).select_related("lead_unit", "street")
    if exclude_id:
        visible = visible.exclude(pk=exclude_id)
    latest_tokens = Subquery(RoutingDecision.objects.filter(ticket=OuterRef("pk")).order_by("-id").values("tokens")[:1])
    if phone:
        since = now - dt.timedelta(days=cfg["DUPLICATE_SAME_CALLER_DAYS"])
        for t in (
            visible.filter(caller_phone=phone, created_at__gte=since)
            .annotate(toks=latest_tokens)
            .order_by("-created_at")[:20]
        ):
            sim = _jaccard(words, frozenset((t.toks or "").split()) or token_set(f"{t.title} {t.content}"))
            found[t.pk] = Duplicate(t, f"同一来电人{cfg['DUPLICATE_SAME_CALLER_DAYS']}天内来电", sim, True)
    if street_id and words:
        since = now - dt.timedelta(days=cfg["DUPLICATE_SAME_PLACE_DAYS"])
        for t in (
            visible.filter(street_id=street_id, created_at__gte=since)
            .annotate(toks=latest_tokens)
            .order_by("-created_at")[:200]
        ):
            if t.pk in found:
                continue
            sim = _jaccard(words, frozenset((t.toks or "").split()) or token_set(f"{t.title} {t.content}"))
            if sim >= cfg["DUPLICATE_MIN_SIMILARITY"]:
                found[t.pk] = Duplicate(t, f"同一街道{cfg['DUPLICATE_SAME_PLACE_DAYS']}天内相似诉求", sim, False)
    ranked = sorted(found.values(), key=lambda d: (d.similarity, d.ticket.created_at), reverse=True)
    return ranked[:limit]


@dataclass
class KnowledgeHit:
    article: KnowledgeArticle
    score: float
    matched: list[str]


class KnowledgeIndex:
    """Token sets of the active articles with IDF weights, rebuilt every minute (hundreds of rows)."""

    TTL = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded_at = -self.TTL
        self.entries: list[tuple[int, Counter]] = []
        self.idf: dict[str, float] = {}

    def invalidate(self) -> None:
        self._loaded_at = -self.TTL

    def ready(self) -> KnowledgeIndex:
        if time.monotonic() - self._loaded_at >= self.TTL:
            with self._lock:
                entries, df = [], Counter()
                for a in KnowledgeArticle.objects.filter(is_active=True):
                    bag = Counter(tokens(f"{a.title} {a.question}"))
                    for kw in a.keywords:  # an editor's keywords count double
                        bag.update({t: 2 for t in tokens(kw)} | {kw: 2})
                    entries.append((a.pk, bag))
                    df.update(set(bag))
                n = max(1, len(entries))
                self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
                self.entries = entries
                self._loaded_at = time.monotonic()
        return self

    def search(self, query: str, limit: int = 5) -> list[tuple[int, float, list[str]]]:
        self.ready()
        words = set(tokens(query))
        if not words:
            return []
        scored = []
        for pk, bag in self.entries:
            matched = [w for w in words if w in bag]
            if matched:
                score = sum(self.idf[w] * bag[w] for w in matched)
                scored.append((pk, score, sorted(matched, key=lambda w: -self.idf[w])[:6]))
        scored.sort(key=lambda row: row[1], reverse=True)
        return scored[:limit]


knowledge_index = KnowledgeIndex()


def knowledge_search(query: str, *, limit: int = 5) -> list[KnowledgeHit]:
    rows = knowledge_index.search(query, limit)
    articles = KnowledgeArticle.objects.in_bulk([pk for pk, _, _ in rows])
    return [KnowledgeHit(articles[pk], round(score, 3), matched) for pk, score, matched in rows if pk in articles]
