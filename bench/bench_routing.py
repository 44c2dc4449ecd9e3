"""Routing quality and speed against the standard baselines.

Targets (issue: routing): macro-F1 ≥ 0.94 on full texts; ≥ 0.83 on title-only texts;
p99 ≤ 5 ms per ticket for classification plus place matching; auto-dispatch precision ≥ 98%
at the shipped threshold. Baselines: jieba word TF-IDF + linear SVM; character 1–3-gram TF-IDF
+ linear SVM. All on the same stratified 5-fold split of routing/data/{seed,bench}_corpus.csv,
plus a check on the demo tickets (written separately, never trained on).

Our model chooses its own hyper-parameters (the mix of plain SVM and NBSVM, C, lead weight) by
inner cross-validation on each training fold, so every figure below is measured on texts the
model and its tuning never saw. (The design itself, e.g. which mixes the grid offers and that the
inner score also counts a ticket's title line alone, was settled by looking at this benchmark;
see routing/classifier.py. The per-fold choices are not.)
Latency is measured in three passes over all texts, as wall time and as the thread's CPU time
(the machine may be shared: CPU time shows the work, wall time what a caller waited).

Run: make bench (or .venv/bin/python bench/bench_routing.py). Prints figures; asserts nothing.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import numpy as np
from _setup import ROOT, django_setup, percentile

django_setup()

from django.conf import settings  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from routing import segmentation  # noqa: E402
from routing.classifier import KeywordClassifier  # noqa: E402
from routing.places import match_place  # noqa: E402
from routing.segmentation import clean, tokens  # noqa: E402
from routing.training import read_corpus  # noqa: E402

DATA = ROOT / "routing" / "data"
CATEGORIES = json.loads((ROOT / "hotline" / "demo" / "data" / "categories.json").read_text(encoding="utf-8"))
# Where a category's tickets go: the street of the place (属地) or a named unit.
TARGET = {
    sub["code"]: ("street" if sub["scope"] == "territorial" else sub["unit"])
    for top in CATEGORIES
    for sub in top["children"]
}


def load() -> tuple[list[str], list[str], list[str]]:
    texts, titles, labels = [], [], []
    for name in ("seed_corpus.csv", "bench_corpus.csv"):
        corpus = read_corpus(DATA / name)
        import csv

        with (DATA / name).open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        texts += corpus.texts
        titles += [r.get("title") or t[:20] for r, t in zip(rows, corpus.texts, strict=True)]
        labels += corpus.labels
    return texts, titles, labels


def baseline(kind: str):
    if kind == "word":
        vec = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
    else:
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), preprocessor=clean, sublinear_tf=True)
    return vec, LinearSVC(C=1.0)


def cross_validate(texts, labels, folds=5, train_texts=None, also=None):
    """Out-of-fold predictions for ours and both baselines, plus our confidences and chosen settings.

    ``train_texts`` (same order as ``texts``) lets every model learn from a richer form of the same
    tickets than it is tested on, e.g. title + text for a title-only test. ``also`` (same order)
    is another form of the test tickets our models are tested on as well: predictions and
    confidences for it come back in ``extra``.
    """
    train_texts = texts if train_texts is None else train_texts
    y = np.array(labels)
    chosen = []
    ours = np.empty(len(y), dtype=object)
    conf = np.zeros(len(y))
    extra = {"pred": np.empty(len(y), dtype=object), "conf": np.zeros(len(y))}
    base = {"word": np.empty(len(y), dtype=object), "char": np.empty(len(y), dtype=object)}
    skf = StratifiedKFold(folds, shuffle=True, random_state=12345)
    for train, test in skf.split(texts, y):
        tr_x, te_x = [train_texts[i] for i in train], [texts[i] for i in test]
        clf = KeywordClassifier().fit(tr_x, list(y[train]))
        chosen.append((clf.selection["nb_mix"], clf.selection["c"], clf.selection["lead_weight"]))
        proba = clf.predict_proba(te_x)
        ours[test] = [clf.labels[i] for i in proba.argmax(1)]
        conf[test] = proba.max(1)
        if also is not None:
            proba = clf.predict_proba([also[i] for i in test])
            extra["pred"][test] = [clf.labels[i] for i in proba.argmax(1)]
            extra["conf"][test] = proba.max(1)
        for kind in base:
            vec, svm = baseline(kind)
            svm.fit(vec.fit_transform(tr_x), y[train])
            base[kind][test] = svm.predict(vec.transform(te_x))
    return y, ours, conf, base, chosen, extra


def scores(y, pred) -> str:
    return f"accuracy {accuracy_score(y, pred):.3f}  macro-F1 {f1_score(y, pred, average='macro'):.4f}"


def gate(y, pred, conf, threshold: float) -> str:
    """Coverage and unit/category precision of the tickets at or above ``threshold``."""
    sel = conf >= threshold
    if not sel.any():
        return "coverage   0.0%"
    unit_true = np.array([TARGET.get(c, "?") for c in y[sel]])
    unit_pred = np.array([TARGET.get(c, "?") for c in pred[sel]])
    return (
        f"coverage {sel.mean():6.1%}  unit precision {(unit_pred == unit_true).mean():6.1%}  "
        f"category precision {(pred[sel] == y[sel]).mean():6.1%}"
    )


def main() -> None:
    texts, titles, labels = load()
    top = [label[:2] for label in labels]
    print(
        f"routing corpus: {len(texts):,} labelled tickets, {len(set(labels))} sub-categories in "
        f"{len(set(top))} top-level categories; text lengths: "
        f"{sum(len(t) < 100 for t in texts)} under 100 / {sum(100 <= len(t) < 250 for t in texts)} 100-249 / "
        f"{sum(len(t) >= 250 for t in texts)} 250+ characters (median {sorted(map(len, texts))[len(texts) // 2]}); "
        f"titles median {sorted(map(len, titles))[len(titles) // 2]} characters"
    )
    routed = [f"{title}\n{text}" for title, text in zip(titles, texts, strict=True)]  # as services routes a ticket
    print(
        "5-fold cross-validation (same folds for every model; ours tunes the NB mix, C and the lead weight "
        "inside each training fold):"
    )
    tasks = (
        ("top-level, full text (the issue's 'full texts')", texts, top, None, None),
        ("top-level, title only (trained on titles)", titles, top, None, None),
        ("top-level, title only (trained on title + text of the training tickets)", titles, top, routed, None),
        ("sub-category, title + text (as tickets are routed; feeds the gate below)", routed, labels, None, titles),
    )
    for name, x, y_labels, train_x, also in tasks:
        y, ours, conf, base, chosen, extra = cross_validate(x, y_labels, train_texts=train_x, also=also)
        print(f"  {name}")
        print(
            f"    ours (words+chars+lead, SVM+NBSVM)  {scores(y, ours)}   (NB mix, C, lead weight) per fold: {chosen}"
        )
        print(f"    baseline jieba words + SVM          {scores(y, base['word'])}")
        print(f"    baseline char 1-3-grams + SVM       {scores(y, base['char'])}")
        sub_y, sub_pred, sub_conf, sub_extra = y, ours, conf, extra
    # What the shipped kind of model (sub-categories, title + text) makes of the same tickets'
    # titles alone: a ticket may arrive with no more than a title.
    shipped = settings.HOTLINE["AUTO_DISPATCH_THRESHOLD"]
    print(
        f"  the sub-category models above on the test tickets' titles alone: {scores(sub_y, sub_extra['pred'])}; "
        f"top-level macro-F1 {f1_score(top, [c[:2] for c in sub_extra['pred']], average='macro'):.4f}; "
        f"at {shipped:.2f}: {gate(sub_y, sub_extra['pred'], sub_extra['conf'], shipped)}"
    )

    print(
        "auto-dispatch gate on sub-categories (out-of-fold): a wrong category is harmless when it leads to "
        "the same unit"
    )
    unit_true = np.array([TARGET.get(c, "?") for c in sub_y])
    unit_pred = np.array([TARGET.get(c, "?") for c in sub_pred])
    for threshold in sorted({0.5, 0.6, 0.7, 0.75, 0.8, shipped, 0.85, 0.9, 0.95, 0.97}):
        if not (sub_conf >= threshold).any():
            continue
        mark = "  ← shipped" if threshold == shipped else ""
        print(f"    threshold {threshold:.2f}: {gate(sub_y, sub_pred, sub_conf, threshold)}{mark}")

    # The lowest threshold whose selection still reaches 98% unit precision (read off the same
    # out-of-fold predictions, so an estimate for choosing the setting, not a held-out figure).
    order = np.argsort(-sub_conf, kind="stable")
    hits = np.cumsum(unit_pred[order] == unit_true[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(hits >= 0.98)
    if len(ok):
        k = ok.max()
        print(
            f"    98% unit precision holds down to confidence {sub_conf[order][k]:.3f} "
            f"(coverage {(k + 1) / len(order):.1%})"
        )

    # The same gate by text length (characters after cleaning, spaces and line breaks not
    # counted), over the routed texts and the titles alone: one temperature calibrates every
    # length, and a short text's confidence is the one to distrust.
    print(f"auto-dispatch gate at {shipped:.2f} by text length (sub-category models, out-of-fold)")
    forms = (
        ("title + text", routed, sub_pred, sub_conf),
        ("title alone", titles, sub_extra["pred"], sub_extra["conf"]),
    )
    for form, shown, pred, conf in forms:
        size = np.array([len(clean(t).replace(" ", "").replace("\n", "")) for t in shown])
        for lo, hi in ((0, 30), (30, 60), (60, 100), (100, 200), (200, 100_000)):
            band = (size >= lo) & (size < hi)
            if band.any():
                label = f"{lo}–{hi - 1}" if hi < 100_000 else f"{lo}+"
                print(
                    f"    {form:13s} {label:>8s} characters ({band.sum():4d} tickets): "
                    f"{gate(sub_y[band], pred[band], conf[band], shipped)}"
                )

    # Independent check: the seed model's recipe (all tickets, title + text), tested on the demo
    # tickets written by someone else.
    clf = KeywordClassifier().fit(routed, labels)
    demo = json.loads((ROOT / "hotline" / "demo" / "data" / "tickets.json").read_text(encoding="utf-8"))
    demo_text = [f"{d['title']}\n{d['content']}" for d in demo]
    demo_y = [d["category"] for d in demo]
    demo_pred = clf.predict(demo_text)
    print(
        f"demo tickets ({len(demo)}, never trained on): sub-category {scores(demo_y, demo_pred)}; top-level "
        f"accuracy {accuracy_score([c[:2] for c in demo_y], [c[:2] for c in demo_pred]):.3f}"
    )

    # Like a server process: the model was loaded at start-up, its objects frozen out of the GC's way.
    # Per ticket, what routing does: classify + explain, the tokens it stores, the place match.
    gc.collect()
    gc.freeze()
    jobs = [(d["address"], text) for d, text in zip(demo, demo_text, strict=True)] + [("", t) for t in texts]
    walls, cpus = [], []
    for _ in range(3):
        segmentation._recent.clear()  # nothing segmented before the pass counts
        wall, cpu = [], []
        for address, text in jobs:
            start, start_cpu = time.perf_counter(), time.thread_time()
            clf.analyse(text, 3)
            tokens(text)
            match_place(address=address, text=text)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
        walls.append(wall)
        cpus.append(cpu)
    print(
        f"classification + explanation + place matching, in-process, {len(jobs):,} tickets x 3 passes "
        f"(target p99 ≤ 5 ms):"
    )
    for name, runs in (("wall", walls), ("CPU ", cpus)):
        p50s = ", ".join(f"{percentile(r, 50):.2f}" for r in runs)
        p99s = ", ".join(f"{percentile(r, 99):.2f}" for r in runs)
        print(f"    {name}: p50 {p50s} ms   p99 {p99s} ms   max {max(max(r) for r in runs):.1f} ms")
    print(f"model artefact: {len(clf.to_bytes()) / 1024 / 1024:.1f} MiB")


if __name__ == "__main__":
    Path(ROOT / "var").mkdir(exist_ok=True)
    main()
