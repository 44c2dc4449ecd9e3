"""Keyword search over tickets (关键词查询): jieba words in a GIN-indexed tsvector column.

Chinese is written without spaces, so PostgreSQL's text-search parser would take a whole clause
for one "word", and trigram indexes cannot answer two-character words (most Chinese words).
Instead each ticket stores the words jieba finds in its title, content and address (the same
segmentation the router uses, routing.segmentation.tokens) as ``strip(to_tsvector('simple', …))``:
'simple' keeps every word as it is (lower-cased), ``strip`` drops positions because results are
listed newest first, never ranked, and a lexeme list is about half the size.

The column is filled by the field itself (``TicketSearchVectorField.pre_save``), so every ticket
written through the ORM gets one however it was created: the services, the admin, the demo
loader, ``bulk_create``. On the create path this costs no extra statement (the vector is part of
the INSERT) and almost no extra segmentation: the router segments "title\\ncontent" right after
the ticket is created and finds those words in segmentation's small cache of recent texts.
A save signal that ran an UPDATE would write every new ticket twice (and update all of its
indexes twice); a trigger cannot segment Chinese. Rows written by raw SQL (bench/load/data.py,
imports) get theirs from ``manage.py reindex_search``.

Queries are segmented the same way and every word must match (AND). An unknown word is cut
into single characters by jieba (HMM is off), both in the ticket and in the query, so those
match too; but a name the dictionary knows only as part of a longer word (驼房营 in 驼房营西里)
would not, so a run of single characters also matches as a prefix of a longer word. Ticket
numbers keep their exact (prefix) match on the indexed number column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db.models import Func, QuerySet, Value

from routing.segmentation import dictionary, tokens

CONFIG = "simple"
# A query that is a ticket number (YYYYMMDD + sequence, or an imported/generated number with a
# one-letter prefix) is looked up on the number column, not among the words.
_NUMBER = re.compile(r"[A-Za-z]?\d{6,16}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ALL_HAN = re.compile(r"[\u4e00-\u9fff]+")


def _expand(words: Iterable[str]) -> list[str]:
    """The words plus the dictionary words inside the longer ones, as jieba's search mode does
    (``cut_for_search``): 酒仙桥街道 also yields 街道 and 酒仙桥, so a search for the short form
    finds the long one. Order kept, duplicates dropped."""
    is_word = dictionary().is_word  # once per document, not once per candidate part
    seen: dict[str, None] = {}
    for word in words:
        n = len(word) if _ALL_HAN.fullmatch(word) else 0  # latin words are not made of dictionary words
        for size in (2, 3):
            if n > size:
                for i in range(n - size + 1):
                    part = word[i : i + size]
                    if is_word(part):
                        seen.setdefault(part, None)
        seen.setdefault(word, None)
    return list(seen)


def document(title: str, content: str, address: str = "") -> str:
    """The space-separated words stored for a ticket.

    ``title\\ncontent`` is segmented exactly as the router segments it, so on the create path the
    router's own call finds the result in segmentation's cache instead of cutting the text again.
    """
    return " ".join(_expand([*tokens(f"{title}\n{content}"), *tokens(address or "")]))


class ToSearchVector(Func):
    """strip(to_tsvector('simple', words)): the stored form of a ticket's words."""

    template = f"strip(to_tsvector('{CONFIG}'::regconfig, %(expressions)s))"
    output_field = SearchVectorField()


def vector_for(title: str, content: str, address: str = "") -> ToSearchVector:
    return ToSearchVector(Value(document(title, content, address)))


class TicketSearchVectorField(SearchVectorField):
    """A ticket's search words, computed whenever the row is inserted or saved whole.

    Saves that name their fields (``save(update_fields=[...])``, as every service does) skip it:
    they never change the title, content or address. A full save (the admin) recomputes it.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        return vector_for(model_instance.title, model_instance.content, model_instance.address)


def keyword_query(q: str) -> SearchQuery | None:
    """The tsquery for a user's keywords, or None when nothing searchable is left (only filler
    words such as 问题/处理, punctuation or digits, which are not stored either)."""
    words = tokens(q)
    if not words:
        return None
    whole: list[str] = []
    parts: list[SearchQuery] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) > 1:
            # 彩钢房 (not in the dictionary) is cut into 彩/钢/房 in the query and in most tickets;
            # inside a known longer word (驼房营西里) only the prefix form matches. Pure Han
            # characters need no quoting in the raw tsquery.
            joined = "".join(run)
            parts.append(_plain(" ".join(run)) | SearchQuery(f"'{joined}':*", search_type="raw", config=CONFIG))
        elif run:
            whole.append(run[0])
        run.clear()

    for word in words:
        if len(word) == 1 and _HAN.match(word):
            run.append(word)
        else:
            flush()
            whole.append(word)
    flush()
    if whole:
        parts.insert(0, _plain(" ".join(dict.fromkeys(whole))))
    query = parts[0]
    for part in parts[1:]:
        query &= part
    return query


def _plain(text: str) -> SearchQuery:
    # plainto_tsquery: the words are parsed like the stored ones and joined with AND; no syntax
    # in user input is interpreted.
    return SearchQuery(text, search_type="plain", config=CONFIG)


def filter_keyword(qs: QuerySet, q: str) -> QuerySet:
    """Tickets matching every keyword (or a ticket number prefix); the caller's visibility stays."""
    q = (q or "").strip()
    if not q:
        return qs
    if _NUMBER.fullmatch(q):
        return qs.filter(number__startswith=q.upper())
    query = keyword_query(q)
    if query is None:
        return qs.none()
    return qs.filter(search_vector=query)


def is_searchable(q: str) -> bool:
    """False for keywords that can match nothing (only filler words), so the page can say so."""
    q = (q or "").strip()
    return not q or bool(_NUMBER.fullmatch(q)) or keyword_query(q) is not None


# --- filling the column for rows written without the ORM ------------------------------------

_UPDATE = (
    "UPDATE hotline_ticket AS t SET search_vector = strip(to_tsvector('" + CONFIG + "'::regconfig, v.doc))"
    " FROM (VALUES {rows}) AS v(id, doc) WHERE t.id = v.id"
)


def store_documents(cursor, docs: list[tuple[int, str]]) -> None:
    """Write many tickets' words in one statement (one round trip per batch, not per ticket)."""
    if docs:
        rows = ", ".join(["(%s::bigint, %s::text)"] * len(docs))
        cursor.execute(_UPDATE.format(rows=rows), [value for pair in docs for value in pair])


def read_batch(cursor, *, after: int, size: int, missing_only: bool) -> list[tuple[int, str, str, str]]:
    """The next ``size`` tickets by id after ``after``: (id, title, content, address)."""
    cursor.execute(
        "SELECT id, title, content, address FROM hotline_ticket WHERE id > %s"
        + (" AND search_vector IS NULL" if missing_only else "")
        + " ORDER BY id LIMIT %s",
        [after, size],
    )
    return cursor.fetchall()


def documents(rows: Iterable[tuple[int, str, str, str]]) -> list[tuple[int, str]]:
    return [(pk, document(title, content, address)) for pk, title, content, address in rows]
