"""Chinese text in, clean tokens out. The one module that owns jieba.

jieba's dictionary takes ~0.6 s to load, so each process loads it once at start-up
(``warm_up`` from wsgi.py and from every Celery worker process) and every request reuses it.
The domain words (unit names, place names, hotline vocabulary) are added at the same time.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from pathlib import Path

import jieba

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

_tokenizer: jieba.Tokenizer | None = None
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


def tokenizer() -> jieba.Tokenizer:
    """The process's tokenizer, loaded on first use if warm_up() was not called."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                tk = jieba.Tokenizer()
                tk.initialize()
                for word, freq in _domain_words():
                    tk.add_word(word, freq)
                _tokenizer = tk
    return _tokenizer


def warm_up() -> None:
    """Load the dictionary now, so no request pays for it."""
    tokenizer()


def reload() -> None:
    """Rebuild with the current gazetteer (after places or units change)."""
    global _tokenizer
    with _lock:
        _tokenizer = None
        _recent.clear()
    tokenizer()


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
    tk = tokenizer()
    freq, logtotal = tk.FREQ, math.log(tk.total)
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
            j, frag = i, block[i]
            while j < n and frag in freq:
                f = freq[frag]
                if f:
                    s = math.log(f) - logtotal + score[j + 1]
                    if best is None or s >= best:
                        best, best_end = s, j
                j += 1
                frag = block[i : j + 1]
            if best is None:  # no dictionary word starts here: the character stands alone
                best = math.log(freq.get(block[i]) or 1) - logtotal + score[i + 1]
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
