"""The numpy serving path (FORMAT 4) gives exactly what the sklearn-based FORMAT 3 path gave.

The reference below is FORMAT 3's inference, kept here as the oracle: sklearn's own
TfidfVectorizer.transform for the features, the dense float32 weight blocks, SciPy's softmax,
and the old explanation code. Both sides come from one fit (``keep_fitted``), since two
LinearSVC fits need not agree to the last bit.

One deliberate difference: features that always occur together (小卖/卖部/小卖部) get exactly
equal contributions, and FORMAT 3 ordered such ties by set iteration order, i.e. by string
hashes that change from process to process. Both sides here break ties by feature instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax

from routing.classifier import KeywordClassifier, Reason
from routing.training import read_corpus

DATA = Path(__file__).resolve().parents[2] / "routing" / "data"
EDGE_CASES = [
    "",
    "完全无关的一句话",
    "暖气不热\n另外楼下饭馆油烟很大",
    "电话13812345678 _x000D_ 暖气",
    "a\x00b 油烟\x00",  # NUL characters: numpy strings drop trailing ones
    "ＫＴＶ　噪音　　太吵！！",
    "x" * 500,
]


class ReferenceV3:
    """FORMAT 3 inference, written against the fitted sklearn vectorizers."""

    def __init__(self, clf: KeywordClassifier) -> None:
        self.clf = clf
        self.vectorizers = clf.fitted["vectorizers"]
        self.coef = clf.fitted["coef"]
        self.names = []
        for vectorizer in self.vectorizers:
            names = [""] * len(vectorizer.vocabulary_)
            for name, i in vectorizer.vocabulary_.items():
                names[i] = name
            self.names.append(names)

    def vectors(self, text: str) -> list[tuple[np.ndarray, np.ndarray]]:
        used = self.vectorizers if self.clf.lead_weight else self.vectorizers[:2]
        out = []
        for vectorizer in used:
            row = vectorizer.transform([text])
            out.append((row.indices.astype(np.intp), row.data))
        return out

    def analyse(self, text: str, k: int = 3, n: int = 8):
        vectors = self.vectors(text)
        d = self.clf.intercept.copy()
        for (idx, values), weights in zip(vectors, self.coef, strict=False):
            if len(idx):
                d += values @ weights[idx]
        proba = scipy_softmax(self.clf.temperature * d)
        order = np.argsort(proba)[::-1][:k]
        top = [(self.clf.labels[i], float(proba[i])) for i in order]
        col = int(order[0])
        contributions: dict[tuple[str, str], float] = {}
        for (idx, values), weights, names, kind in zip(
            vectors, self.coef, self.names, ("词", "字", "标题"), strict=False
        ):
            if not len(idx):
                continue
            parts = values * weights[idx, col]
            keep = np.flatnonzero(parts > 0)
            if len(keep) > 3 * n:
                keep = keep[np.lexsort((idx[keep], -parts[keep]))[: 3 * n]]
            for j in keep:
                name = names[idx[j]].strip()
                if name:
                    contributions[(name, kind)] = contributions.get((name, kind), 0.0) + float(parts[j])
        ranked = sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return top, [Reason(f, round(w, 4), kind) for (f, kind), w in ranked]


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(DATA / "bench_corpus.csv", title_column="title")


@pytest.fixture(scope="module")
def trained(corpus):
    # Half the corpus trains (hyper-parameters fixed to keep the test quick; a mix of plain SVM and
    # NBSVM, so both kinds of weights are served); the other half is held out.
    clf = KeywordClassifier(c=2.0, lead_weight=0.5, nb_mix=0.5).fit(
        corpus.texts[::2], corpus.labels[::2], keep_fitted=True
    )
    return clf, ReferenceV3(clf)


def assert_same(clf: KeywordClassifier, reference: ReferenceV3, texts: list[str]) -> None:
    for text in texts:
        top, reasons = clf.analyse(text, 3)
        ref_top, ref_reasons = reference.analyse(text, 3)
        assert [p.label for p in top] == [label for label, _ in ref_top], text
        assert np.allclose([p.probability for p in top], [p for _, p in ref_top], rtol=0, atol=1e-6), text
        assert [(r.feature, r.kind) for r in reasons] == [(r.feature, r.kind) for r in ref_reasons], text
        # Weights are rounded to 4 places: a last-bit difference may flip the rounding, no more.
        assert np.allclose([r.weight for r in reasons], [r.weight for r in ref_reasons], rtol=0, atol=1.01e-4), text


def test_serving_equals_format3_on_the_whole_corpus(corpus, trained):
    clf, reference = trained
    assert_same(clf, reference, corpus.texts + EDGE_CASES)


def test_serving_equals_format3_after_a_round_trip(corpus, trained):
    clf, reference = trained
    loaded = KeywordClassifier.from_bytes(clf.to_bytes())
    assert not hasattr(loaded, "fitted")  # the sklearn objects are not saved
    assert_same(loaded, reference, corpus.texts[1::10] + EDGE_CASES)


def test_serving_equals_format3_without_a_lead_block(corpus):
    texts, labels = corpus.texts[::5], corpus.labels[::5]
    clf = KeywordClassifier(c=1.0, lead_weight=0.0, nb_mix=1.0).fit(texts, labels, keep_fitted=True)
    assert len(clf.blocks[2]) == 0
    assert_same(clf, ReferenceV3(clf), corpus.texts[1::5] + EDGE_CASES)


def test_weights_are_stored_losslessly(trained):
    clf, reference = trained
    for block, dense, vectorizer in zip(clf.blocks, reference.coef, reference.vectorizers, strict=True):
        if not len(block):
            continue
        # The block's rows are sorted by feature; the reference's follow the vectorizer's indices.
        rows = [vectorizer.vocabulary_[name] for name in block.names()]
        assert np.array_equal(block.dense(len(clf.labels)), dense[rows])
        assert np.array_equal(block.idf, vectorizer.idf_[rows])


def test_a_feature_ending_in_nul_is_found():
    clf = KeywordClassifier(c=1.0, lead_weight=0.0, nb_mix=0.0).fit(
        ["油烟\x00很大", "油烟太大\x00", "暖气不热", "暖气很凉"], ["油烟", "油烟", "供暖", "供暖"], keep_fitted=True
    )
    reference = ReferenceV3(clf)
    assert any(name.endswith("\x00") for name in clf.blocks[1].names())
    assert_same(clf, reference, ["油烟\x00", "大\x00", "暖气\x00"])


def test_serving_a_model_imports_neither_sklearn_nor_scipy(tmp_path, trained):
    clf, _ = trained
    path = tmp_path / "model.bin"
    path.write_bytes(clf.to_bytes())
    script = textwrap.dedent(
        f"""
        import sys
        import django
        django.setup()
        from routing.classifier import KeywordClassifier
        clf = KeywordClassifier.from_bytes(open({str(path)!r}, "rb").read())
        top, reasons = clf.analyse("楼下饭馆油烟很大，晚上还在烧烤", 3)
        assert top and reasons, (top, reasons)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy"))
        print(",".join(loaded))
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hotline.settings", "HOTLINE_TESTING": "1"}
    out = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", out.stdout
