"""Sanity checks for the routing training / benchmark corpora.

Usage:  python routing/data/check_corpus.py      (from the repository root or anywhere)
Exits non-zero if a hard rule is broken (invalid label, cross-file or demo leakage,
duplicate texts, near-duplicates that the benchmark's 5-fold split would put on both sides of
a fold, real-looking phone numbers, missing columns, too few rows per class). It also reports,
without failing, how often sentences recur across texts (stock phrases, as operators write).

The two corpora are generated: edit corpus_core.csv / corpus_parts.py and run build_corpus.py.
"""

import collections
import csv
import json
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CATS = ROOT / "hotline" / "demo" / "data" / "categories.json"
DEMO = ROOT / "hotline" / "demo" / "data" / "tickets.json"
FILES = {"seed_corpus.csv": (12, 30), "bench_corpus.csv": (25, 30)}  # min per sub, per top-level
PREFIX = 30
BUCKETS = [(0, 20, "<20"), (20, 100, "20-99"), (100, 250, "100-249"), (250, 601, "250-600"), (601, 10**6, ">600")]
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
DISTRICTS = [
    "东城",
    "西城",
    "朝阳",
    "海淀",
    "丰台",
    "石景山",
    "门头沟",
    "房山",
    "通州",
    "顺义",
    "昌平",
    "大兴",
    "怀柔",
    "平谷",
    "密云",
    "延庆",
    "亦庄",
]
PLACE = re.compile(
    "|".join(DISTRICTS)
    + r"|[\u4e00-\u9fa5]{1,6}(?:路|大街|街道|胡同|小区|社区|镇|村|家园|花园|苑|号楼|地铁站|桥|里\d|公园|商场|医院|小学|中学|幼儿园)"
)


def load_categories():
    cats = json.loads(CATS.read_text(encoding="utf-8"))
    subs, tops = {}, {}
    for top in cats:
        tops[top["code"]] = top["name"]
        for ch in top["children"]:
            subs[ch["code"]] = ch["name"]
    return subs, tops


def ngrams(s, n=4):
    s = re.sub(r'[\s，。！？、；：“”"（）()]', "", s)
    return {s[i : i + n] for i in range(len(s) - n + 1)}


def bigrams(s):
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _gram_matrix(texts):
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(analyzer=lambda t: ngrams(t), binary=True, dtype=np.float32)
    return vec, vec.fit_transform(texts)


def similarity(texts_a, texts_b=None):
    """Char-4-gram Jaccard and containment (share of the shorter text's grams in the other), as dense arrays."""
    vec, a = _gram_matrix(texts_a)
    b = a if texts_b is None else vec.transform(texts_b)
    inter = (a @ b.T).toarray()
    na, nb = np.asarray(a.sum(1)).ravel(), np.asarray(b.sum(1)).ravel()
    union = na[:, None] + nb[None, :] - inter
    jaccard = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    smaller = np.minimum(na[:, None], nb[None, :])
    contain = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    return jaccard, contain


def near_dups(texts_a, texts_b=None, thr=0.5):
    """Pairs whose char-4gram Jaccard >= thr (coarse, catches rewrites that keep most wording)."""
    jaccard, _ = similarity(texts_a, texts_b)
    if texts_b is None:
        jaccard = np.triu(jaccard, 1)
    return [(int(i), int(j), float(jaccard[i, j])) for i, j in zip(*np.nonzero(jaccard >= thr), strict=True)]


def fold_leakage(texts, labels, folds=5, seed=12345, jac=0.5, contain=0.8):
    """Near-duplicate pairs that the benchmark's cross-validation puts in different folds.

    Uses the same StratifiedKFold as bench/bench_routing.py (top-level and sub-category splits).
    A pair counts when its 4-gram Jaccard >= jac, or when one text is mostly inside the other
    (containment >= contain): either way a test text would have been seen in training.
    """
    from sklearn.model_selection import StratifiedKFold

    jaccard, containment = similarity(texts)
    close = np.triu((jaccard >= jac) | (containment >= contain), 1)
    pairs = list(zip(*np.nonzero(close), strict=True))
    out = {}
    for name, y in (("top-level", [label[:2] for label in labels]), ("sub-category", labels)):
        fold = np.empty(len(texts), dtype=int)
        for k, (_, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y)):
            fold[test] = k
        out[name] = [(int(i), int(j)) for i, j in pairs if fold[i] != fold[j]]
    upper = np.triu(jaccard, 1)
    return out, len(pairs), float(upper.max()), int((upper >= 0.3).sum())


def shared_sentences(texts, labels, min_len=12):
    """Sentences (>= min_len chars, punctuation ignored) that occur in more than one text."""
    seen = collections.defaultdict(set)
    for i, t in enumerate(texts):
        for sentence in re.split(r"[。！？!?\n]", t):
            key = re.sub(r'[\s，。！？、；：“”"（）()]', "", sentence)
            if len(key) >= min_len:
                seen[key].add(i)
    shared = {k: v for k, v in seen.items() if len(v) > 1}
    same_label = sum(1 for v in shared.values() if len({labels[i] for i in v}) == 1)
    return shared, same_label


def main():
    subs, tops = load_categories()
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    demo_texts = [t["content"] for t in demo]
    demo_blob = "\n".join(demo_texts)
    demo_prefixes = {t[:PREFIX] for t in demo_texts}
    demo_titles = {t["title"] for t in demo}
    errors = []
    data = {}

    for name, (min_sub, min_top) in FILES.items():
        path = HERE / name
        if not path.exists():
            errors.append(f"{name}: missing")
            continue
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != ["text", "label", "title"]:
                errors.append(f"{name}: header is {reader.fieldnames}")
            rows = list(reader)
        data[name] = rows
        print(f"\n=== {name}: {len(rows)} rows ===")

        bad = [r for r in rows if r["label"] not in subs]
        for r in bad:
            errors.append(f"{name}: invalid label {r['label']!r}: {r['text'][:20]}")

        per_sub = collections.Counter(r["label"] for r in rows)
        per_top = collections.Counter(r["label"][:2] for r in rows)
        print("per top-level:")
        for code, tname in tops.items():
            n = per_top[code]
            flag = "" if n >= min_top else "  <-- too few"
            print(f"  {code} {tname:<8} {n:4d}{flag}")
            if n < min_top:
                errors.append(f"{name}: top-level {code} has {n} < {min_top}")
        print("per sub-category:")
        line = []
        for code, sname in subs.items():
            n = per_sub[code]
            line.append(f"{code} {sname}:{n}")
            if n < min_sub:
                errors.append(f"{name}: {code} {sname} has {n} < {min_sub}")
        for i in range(0, len(line), 5):
            print("  " + "  ".join(line[i : i + 5]))

        lens = [len(r["text"]) for r in rows]
        print("length buckets:")
        for lo, hi, lab in BUCKETS:
            n = sum(lo <= x < hi for x in lens)
            print(f"  {lab:>8}: {n:4d} ({n / len(rows):.0%})")
        print(f"  min {min(lens)}, max {max(lens)}, mean {sum(lens) / len(lens):.0f}")

        tl = [len(r["title"]) for r in rows]
        odd_titles = [r["title"] for r in rows if not 8 <= len(r["title"]) <= 28]
        print(f"title length: min {min(tl)}, max {max(tl)}; outside 8-28 chars: {len(odd_titles)} {odd_titles[:5]}")
        empty = [r for r in rows if not r["text"].strip() or not r["title"].strip()]
        if empty:
            errors.append(f"{name}: {len(empty)} empty text/title")

        named = [r for r in rows if subs.get(r["label"], "#") in r["text"]]
        print(f"rows containing their sub-category name: {len(named)} ({len(named) / len(rows):.1%})")
        by = collections.Counter(r["label"] for r in named)
        heavy = [f"{c} {subs[c]} {by[c]}/{per_sub[c]}" for c in by if by[c] / per_sub[c] > 0.3]
        if heavy:
            print("  sub-categories where >30% of rows use the name:", "; ".join(heavy))

        noplace = [r for r in rows if not PLACE.search(r["text"])]
        print(f"rows with no recognisable place (heuristic): {len(noplace)} ({len(noplace) / len(rows):.0%})")

        phones = [r["text"][:30] for r in rows if PHONE.search(r["text"])]
        if phones:
            errors.append(f"{name}: full phone numbers in {phones[:3]}")

        texts = [r["text"] for r in rows]
        exact = [t for t, c in collections.Counter(texts).items() if c > 1]
        pref = [p for p, c in collections.Counter(t[:PREFIX] for t in texts).items() if c > 1]
        print(f"duplicates within file: exact {len(exact)}, same first {PREFIX} chars {len(pref)}")
        if exact or pref:
            errors.append(f"{name}: duplicates within file: {(exact + pref)[:3]}")
        nd = near_dups(texts)
        print(f"near-duplicate pairs within file (4-gram Jaccard>=0.5): {len(nd)}")
        for i, j, s in nd[:5]:
            print(f"    {s:.2f} {texts[i][:25]} | {texts[j][:25]}")

        leak = [t[:PREFIX] for t in texts if t[:PREFIX] in demo_blob or t[:PREFIX] in demo_prefixes]
        leak += [t[:PREFIX] for t in texts for d in demo_prefixes if d in t]
        title_leak = [r["title"] for r in rows if r["title"] in demo_titles]
        nd_demo = near_dups(texts, demo_texts, thr=0.4)
        print(
            f"demo leakage: text prefixes {len(leak)}, identical titles {len(title_leak)}, "
            f"near-duplicates (Jaccard>=0.4) {len(nd_demo)}"
        )
        if leak or nd_demo:
            errors.append(f"{name}: overlaps demo tickets: {leak[:3]} {[texts[i][:20] for i, _, _ in nd_demo[:3]]}")
        if title_leak:
            print("  (identical titles are only a warning):", title_leak[:5])
        demo_tg = [(bigrams(t), t) for t in demo_titles]
        close = []
        for r in rows:
            g = bigrams(r["title"])
            best = max((len(g & h) / len(g | h), t) for h, t in demo_tg if g | h)
            if best[0] >= 0.5:
                close.append((r["title"], best[1]))
        print(f"titles very close to a demo title (bigram Jaccard>=0.5, warning): {len(close)} {close[:3]}")

    if len(data) == 2:
        a, b = (data[n] for n in FILES)
        ta, tb = [r["text"] for r in a], [r["text"] for r in b]
        cross_exact = set(ta) & set(tb)
        cross_pref = {t[:PREFIX] for t in ta} & {t[:PREFIX] for t in tb}
        cross_nd = near_dups(ta, tb, thr=0.5)
        print(
            f"\n=== across files ===\nexact {len(cross_exact)}, same first {PREFIX} chars {len(cross_pref)}, "
            f"near-duplicates (Jaccard>=0.5) {len(cross_nd)}"
        )
        for i, j, s in cross_nd[:5]:
            print(f"    {s:.2f} {ta[i][:25]} | {tb[j][:25]}")
        if cross_exact or cross_pref or cross_nd:
            errors.append(f"cross-file overlap: {list(cross_pref)[:3]}")
        tt = set(r["title"] for r in a) & set(r["title"] for r in b)
        print(f"identical titles across files: {len(tt)}")

    if len(data) == 2:
        rows = [r for name in FILES for r in data[name]]  # the benchmark's order: seed, then bench
        texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
        crossing, n_close, top_jaccard, n_similar = fold_leakage(texts, labels)
        print(
            f"\n=== leakage across the benchmark's 5 folds ({len(rows)} texts) ===\n"
            f"near-duplicate pairs (4-gram Jaccard>=0.5 or containment>=0.8): {n_close}; "
            f"split across folds: top-level {len(crossing['top-level'])}, sub-category {len(crossing['sub-category'])}"
        )
        print(f"highest pairwise Jaccard {top_jaccard:.2f}; pairs >= 0.3: {n_similar}")
        for i, j in crossing["top-level"][:5]:
            print(f"    {texts[i][:25]} | {texts[j][:25]}")
        if crossing["top-level"] or crossing["sub-category"]:
            errors.append(f"fold leakage: {len(crossing['top-level'])} + {len(crossing['sub-category'])} pairs")
        shared, same_label = shared_sentences(texts, labels)
        biggest = sorted(shared.items(), key=lambda kv: -len(kv[1]))[:3]
        print(
            f"sentences (>=12 chars) shared by several texts: {len(shared)}, of which {same_label} only within one "
            f"label; most repeated: " + "; ".join(f"{len(v)}x {k[:16]}" for k, v in biggest)
        )

    print("\n=== result ===")
    if errors:
        for e in errors[:40]:
            print("ERROR", e)
        print(f"{len(errors)} problem(s)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
