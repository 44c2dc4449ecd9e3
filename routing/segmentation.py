"""Chinese text in, clean tokens out. The one module that owns jieba's segmentation.

Segmentation is exactly jieba's ``lcut(text, HMM=False)`` over jieba's own dictionary plus the
domain words (unit names, place names, hotline vocabulary), but the dictionary is held in a
compact form. jieba keeps it as a Python dict of every word and every prefix of a word (~580,000
keys, ~63 MiB in each web worker, plus ~19 MiB for importing jieba's HMM tables that HMM=False
never uses). Here it is a MARISA trie and an array of log-probabilities, built once per machine
into a cache file (keyed by the dictionary file and the domain words) and memory-mapped by every
process: ~4 MiB, shared between processes, and loaded in milliseconds. Each process loads it at
start-up (``warm_up`` from wsgi.py and from every Celery worker process); no request pays for it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import math
import mmap
import os
import re
import tempfile
import threading
import unicodedata
from array import array
from collections.abc import Iterator
from pathlib import Path

import marisa_trie

logger = logging.getLogger(__name__)
DATA = Path(__file__).parent / "data"

# Exported spreadsheets leave Excel's carriage-return escape in text: "第一行_x000D_第二行".
_EXCEL_ARTEFACT = re.compile(r"_x000[dDaA]_")
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)")
_MASKED_PHONE = re.compile(r"1[3-9]\d\*{4}\d{4}")
_SPACE = re.compile(r"\s+")
_LINES = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x1c-\x1e\x85]+")
# Tokens that carry no routing signal: punctuation, filler, and words in nearly every ticket.
_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "在",
        "是",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "它",
        "他们",
        "这",
        "那",
        "这个",
        "那个",
        "就",
        "都",
        "也",
        "还",
        "又",
        "和",
        "与",
        "及",
        "或",
        "但",
        "而",
        "被",
        "把",
        "给",
        "让",
        "向",
        "从",
        "到",
        "对",
        "为",
        "啊",
        "呀",
        "吧",
        "呢",
        "吗",
        "嘛",
        "哦",
        "呗",
        "么",
        "着",
        "过",
        "得",
        "地",
        "之",
        "其",
        "并",
        "等",
        "一个",
        "一些",
        "有",
        "没有",
        "没",
        "不",
        "很",
        "太",
        "非常",
        "特别",
        "已经",
        "现在",
        "目前",
        "一直",
        "总是",
        "每次",
        "来电",
        "来电人",
        "市民",
        "反映",
        "称",
        "表示",
        "要求",
        "希望",
        "诉求",
        "请求",
        "请",
        "尽快",
        "处理",
        "解决",
        "问题",
        "情况",
        "相关",
        "部门",
        "有关",
        "核实",
        "帮忙",
        "一下",
        "谢谢",
        "您好",
        "你好",
        "某",
        "某某",
        "先生",
        "女士",
        "附近",
        "这边",
        "那边",
        "这里",
        "那里",
        "时候",
        "今天",
        "昨天",
        "每天",
        "天天",
        "多次",
        "几次",
    ]
)
# ASCII placeholders: jieba keeps a latin word whole, and _keep() drops them from the features.
PHONE_TOKEN = "PHONENUM"
ID_TOKEN = "IDNUM"

_dictionary: Dictionary | None = None
_lock = threading.Lock()


def clean(text: str, *, keep_lines: bool = False) -> str:
    """Normalise width and whitespace, drop export artefacts, and mask phone and ID numbers.

    Numbers are masked so they never become features (they identify people, not problems).
    ``keep_lines`` keeps line breaks (one per run; Excel's escaped carriage return counts as one)
    for callers that need the first line, e.g. a ticket's title; clean(clean(t, keep_lines=True)) == clean(t).
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = _EXCEL_ARTEFACT.sub("\n" if keep_lines else " ", text)
    text = _ID_NUMBER.sub(f" {ID_TOKEN} ", text)
    text = _MOBILE.sub(f" {PHONE_TOKEN} ", text)
    text = _MASKED_PHONE.sub(f" {PHONE_TOKEN} ", text)
    text = _LANDLINE.sub(f" {PHONE_TOKEN} ", text)
    if keep_lines:
        lines = (_SPACE.sub(" ", line).strip() for line in _LINES.split(text))
        return "\n".join(line for line in lines if line)
    return _SPACE.sub(" ", text).strip()


def _domain_words() -> list[tuple[str, int]]:
    words: list[tuple[str, int]] = []
    for line in (DATA / "hotline_words.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            parts = line.split()
            words.append((parts[0], int(parts[1]) if len(parts) > 1 else 20000))
    try:
        from django.db import DatabaseError

        from hotline.models import Unit
        from routing.models import Place

        for name, aliases in Place.objects.values_list("name", "aliases"):
            words += [(w, 30000) for w in [name, *aliases] if len(w) >= 2]
        for short, aliases in Unit.objects.values_list("short_name", "aliases"):
            words += [(w, 30000) for w in [short, *aliases] if w and len(w) >= 2]
    except (DatabaseError, ImportError, RuntimeError) as exc:
        # Before migrations, or where the database may not be touched (a test without DB access):
        # the file vocabulary still applies; reload() adds the gazetteer later.
        logger.info("segmentation: gazetteer words not loaded (%s)", exc)
    return words


class Dictionary:
    """jieba's word frequencies as a MARISA trie (word → id) and log-probabilities by id.

    Built from the same entries in the same order as ``jieba.Tokenizer.initialize`` followed by
    ``add_word`` for each domain word, with the same arithmetic: a word's frequency is its last
    entry's, the total counts every entry, and a word whose frequency ends at 0 is no word.
    """

    # Marks an id whose word ended with frequency 0 (jieba's way of deleting a word).
    NOT_A_WORD = -math.inf

    def __init__(self, trie: marisa_trie.Trie, table: memoryview, keep: object, domain: list[tuple[str, int]]) -> None:
        self.domain = domain  # the words added to jieba's, with their frequencies
        self.trie = trie
        self.prefixes = trie.iter_prefixes_with_ids
        self.logp = table[:-2]  # indexing a memoryview of doubles gives plain floats, fast
        self.missing = table[-2]  # what a character that is no word scores: log(1 / total)
        self.longest = int(table[-1])
        self._keep = keep  # the mapped file behind ``table``

    def is_word(self, word: str) -> bool:
        k = self.trie.get(word)
        return k is not None and self.logp[k] != self.NOT_A_WORD

    # -- building -----------------------------------------------------------------------------
    @staticmethod
    def jieba_dict() -> Path:
        """jieba's bundled dictionary, found without importing jieba (whose import alone loads
        ~19 MiB of HMM tables this module never uses)."""
        spec = importlib.util.find_spec("jieba")
        return Path(next(iter(spec.submodule_search_locations))) / "dict.txt"

    @classmethod
    def entries(cls, domain: list[tuple[str, int]]) -> Iterator[tuple[str, int]]:
        """(word, frequency) in jieba's order: dict.txt as ``gen_pfdict`` reads it, then add_word's."""
        path = cls.jieba_dict()
        with path.open("rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                line = raw.strip().decode("utf-8")
                try:
                    word, freq = line.split(" ")[:2]
                    yield word, int(freq)
                except ValueError as exc:
                    raise ValueError(f"invalid dictionary entry in {path} at line {lineno}: {line}") from exc
        yield from domain

    @classmethod
    def cache_path(cls, domain: list[tuple[str, int]]) -> Path:
        path = cls.jieba_dict()
        stat = path.stat()
        key = hashlib.sha256(
            repr((importlib.metadata.version("jieba"), stat.st_size, stat.st_mtime_ns, domain)).encode()
        ).hexdigest()[:20]
        from django.conf import settings

        folder = Path(settings.HOTLINE_CACHE_DIR or tempfile.gettempdir()) / "hotline-segmentation"
        return folder / f"dict-{key}"

    @classmethod
    def build(cls, domain: list[tuple[str, int]], base: Path) -> None:
        """Write ``base``.trie and ``base``.logp. Two streaming passes over the entries, so the
        building process never holds the whole vocabulary as Python objects."""
        trie = marisa_trie.Trie(word for word, _ in cls.entries(domain))
        freq = [0] * len(trie)
        total = longest = 0
        for word, f in cls.entries(domain):
            freq[trie.key_id(word)] = f
            total += f
            longest = max(longest, len(word))
        log_total = math.log(total)
        table = [math.log(f) - log_total if f > 0 else cls.NOT_A_WORD for f in freq]
        table += [-log_total, float(longest)]
        base.parent.mkdir(parents=True, exist_ok=True)
        # Written under temporary names and renamed: a process starting meanwhile sees either
        # nothing (and builds too) or complete files, never half of one.
        tmp = f".{os.getpid()}.{threading.get_ident()}.tmp"
        trie.save(str(base) + ".trie" + tmp)
        with open(str(base) + ".logp" + tmp, "wb") as fh:
            fh.write(array("d", table).tobytes())
        os.replace(str(base) + ".trie" + tmp, str(base) + ".trie")
        os.replace(str(base) + ".logp" + tmp, str(base) + ".logp")

    @classmethod
    def load(cls, domain: list[tuple[str, int]]) -> Dictionary:
        base = cls.cache_path(domain)
        if not (Path(str(base) + ".trie").exists() and Path(str(base) + ".logp").exists()):
            cls.build(domain, base)
        trie = marisa_trie.Trie()
        trie.mmap(str(base) + ".trie")
        with open(str(base) + ".logp", "rb") as fh:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return cls(trie, memoryview(mapped).cast("d"), mapped, domain)


def dictionary() -> Dictionary:
    """The process's dictionary, loaded on first use if warm_up() was not called."""
    global _dictionary
    if _dictionary is None:
        with _lock:
            if _dictionary is None:
                _dictionary = Dictionary.load(_domain_words())
    return _dictionary


def warm_up() -> None:
    """Load the dictionary now, so no request pays for it."""
    dictionary()


def reload() -> None:
    """Reload with the current gazetteer (after places or units change)."""
    global _dictionary
    with _lock:
        _dictionary = None
        _recent.clear()
    dictionary()


def _keep(token: str) -> bool:
    token = token.strip()
    if not token or token in _STOPWORDS:
        return False
    if token in (PHONE_TOKEN, ID_TOKEN):
        return False
    if len(token) == 1 and not ("\u4e00" <= token <= "\u9fff"):
        return False  # punctuation and stray latin letters
    return not token.isdigit()


def tokens(text: str) -> list[str]:
    """Meaningful jieba tokens of a cleaned text, in order (duplicates kept)."""
    return tokens_of_clean(clean(text))


def tokens_of_clean(cleaned: str) -> list[str]:
    """tokens() for a text that has already been through clean() (callers that need both save a pass).

    The last few results are kept: routing segments a ticket for the classifier and again for the
    tokens it stores with the decision, and the second call should not pay twice.
    """
    hit = _recent.get(cleaned)
    if hit is not None:
        return list(hit)
    result = [t for t in _cut(cleaned) if _keep(t)]
    with _lock:
        if len(_recent) >= _RECENT_SIZE:
            _recent.pop(next(iter(_recent)))
        _recent[cleaned] = tuple(result)
    return result


# jieba's own block splitting (jieba/__init__.py: re_han_default, re_skip_default, re_eng).
_RE_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_RE_SKIP = re.compile("(\r\n|\\s)", re.U)
_RE_ENG1 = re.compile("[a-zA-Z0-9]", re.U)
_RECENT_SIZE = 64
_recent: dict[str, tuple[str, ...]] = {}


def _cut(text: str) -> list[str]:
    """Exactly jieba's ``Tokenizer.lcut(text, HMM=False)``, about twice as fast.

    jieba builds a dict of candidate word ends per position, then finds the most probable path
    with a generator of tuples per position; here both happen in one backward pass over plain
    lists. Same dictionary, same scores, same tie-breaking (the longer word wins a tie), so the
    output is identical (tests/routing/test_segmentation.py compares the two on the corpora).
    """
    d = dictionary()
    prefixes, logp, missing, longest, not_a_word = d.prefixes, d.logp, d.missing, d.longest, d.NOT_A_WORD
    out: list[str] = []
    for block in _RE_HAN.split(text):
        if not block:
            continue
        if not _RE_HAN.match(block):
            for part in _RE_SKIP.split(block):
                if _RE_SKIP.match(part):
                    out.append(part)
                else:
                    out.extend(part)
            continue
        n = len(block)
        score = [0.0] * (n + 1)
        end = [0] * n
        for i in range(n - 1, -1, -1):
            best, best_end = None, i
            # The dictionary words starting at i, shortest first (jieba extends a fragment while
            # it is a prefix of some word): on a tie the longer word wins, as in jieba.
            for word, k in prefixes(block[i : i + longest]):
                p = logp[k]
                if p != not_a_word:
                    j = i + len(word)
                    s = p + score[j]
                    if best is None or s >= best:
                        best, best_end = s, j - 1
            if best is None:  # no dictionary word starts here: the character stands alone
                best = missing + score[i + 1]
            score[i], end[i] = best, best_end
        i, buf = 0, ""
        while i < n:
            j = end[i] + 1
            word = block[i:j]
            if j - i == 1 and _RE_ENG1.match(word):
                buf += word  # jieba glues runs of single latin letters and digits back together
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(word)
            i = j
        if buf:
            out.append(buf)
    return out


def token_set(text: str) -> frozenset[str]:
    return frozenset(tokens(text))
