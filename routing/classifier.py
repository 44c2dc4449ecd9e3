"""A trainable, explainable keyword classifier for ticket categories.

Features are jieba words plus character 1–3-grams, each TF-IDF weighted (the word block scaled
by WORD_WEIGHT, which measured best against the character block);
a linear SVM learns one weight per feature and category (a weighted keyword list, learned
rather than hand-picked), and sigmoid calibration turns its margins into probabilities.
The explanation for a prediction is the features that pushed it there: their TF-IDF value
times the category's weight, so it is exactly what the model used.
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from routing.segmentation import clean, tokens

FORMAT = 2
WORD_WEIGHT = 0.6


def word_features(text: str) -> list[str]:
    """jieba tokens (module level so a trained model pickles).

    Token bigrams were tried and dropped: on the benchmark corpus they lowered macro-F1 on
    full texts, titles and sub-categories alike (bench/bench_routing.py, November 2026).
    """
    return tokens(text)


def char_text(text: str) -> str:
    return clean(text)


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float


@dataclass(frozen=True)
class Reason:
    feature: str
    weight: float
    kind: str  # "词" (jieba word or word pair) or "字" (character n-gram)


class KeywordClassifier:
    def __init__(self, *, c: float = 1.0, min_df: int = 1, max_char_features: int = 300_000) -> None:
        self.c = c
        self.words = TfidfVectorizer(analyzer=word_features, sublinear_tf=True, min_df=min_df)
        self.chars = TfidfVectorizer(
            analyzer="char",
            ngram_range=(1, 3),
            preprocessor=char_text,
            sublinear_tf=True,
            min_df=min_df,
            max_features=max_char_features,
        )
        self.word_weight = WORD_WEIGHT
        self.model: CalibratedClassifierCV | None = None
        self.labels: list[str] = []
        self.trained_on = 0
        self.label_counts: dict[str, int] = {}

    # -- training ------------------------------------------------------------------
    def _matrix(self, texts: list[str], *, fit: bool = False):
        if fit:
            words, chars = self.words.fit_transform(texts), self.chars.fit_transform(texts)
        else:
            words, chars = self.words.transform(texts), self.chars.transform(texts)
        return sparse.hstack([words * self.word_weight, chars]).tocsr()

    def fit(self, texts: list[str], labels: list[str]) -> KeywordClassifier:
        counts = Counter(labels)
        if len(counts) < 2:
            raise ValueError("训练数据至少需要两个类别。")
        x = self._matrix(texts, fit=True)
        # Calibration needs a few examples of every class in every fold.
        folds = max(2, min(5, min(counts.values())))
        if min(counts.values()) < 2:
            rare = "、".join(sorted(label for label, n in counts.items() if n < 2)[:5])
            raise ValueError(f"每个类别至少需要两条训练数据（不足的类别：{rare}）。")
        svm = LinearSVC(C=self.c, class_weight="balanced")
        self.model = CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False)
        self.model.fit(x, labels)
        # float32 weights halve the artefact and the memory; predictions do not change in practice.
        base = self._base()
        base.coef_ = base.coef_.astype(np.float32)
        self.labels = [str(label) for label in self.model.classes_]
        self.trained_on = len(texts)
        self.label_counts = dict(counts)
        return self

    # -- inference -------------------------------------------------------------------
    def _base(self):
        return self.model.calibrated_classifiers_[0].estimator

    def _fast(self) -> tuple:
        """Weights split by vectorizer and the calibrators' sigmoid parameters, as arrays.

        sklearn's calibrated predict_proba loops over classes in Python (~8 ms for 58 classes);
        the same arithmetic on arrays takes microseconds. Computed once per loaded model.
        """
        cached = getattr(self, "_fast_cache", None)
        if cached is None:
            calibrated = self.model.calibrated_classifiers_[0]
            base = calibrated.estimator
            n_words = len(self.words.vocabulary_)
            coef = base.coef_
            a = np.array([c.a_ for c in calibrated.calibrators])
            b = np.array([c.b_ for c in calibrated.calibrators])
            cached = (coef[:, :n_words].T.copy(), coef[:, n_words:].T.copy(), base.intercept_.copy(), a, b)
            self._fast_cache = cached
        return cached

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        w_words, w_chars, intercept, a, b = self._fast()
        decision = (self.words.transform(texts) * self.word_weight) @ w_words + self.chars.transform(texts) @ w_chars
        decision = decision + intercept
        if len(self.labels) == 2:
            # Binary: one calibrator on the positive class's margin, as in sklearn.
            p1 = 1.0 / (1.0 + np.exp(a[0] * decision[:, 0] + b[0]))
            return np.column_stack([1.0 - p1, p1])
        proba = 1.0 / (1.0 + np.exp(a * decision + b))
        total = proba.sum(axis=1, keepdims=True)
        uniform = np.full_like(proba, 1.0 / proba.shape[1])
        return np.where(total > 0, proba / np.where(total > 0, total, 1.0), uniform)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_fast_cache", None)  # derived; rebuilt on first use after loading
        state.pop("_char_analyzer", None)
        state.pop("_names_cache", None)
        return state

    @staticmethod
    def _doc(vectorizer: TfidfVectorizer, features) -> tuple[np.ndarray, np.ndarray]:
        """One document's TF-IDF entries (indices, values), as TfidfVectorizer(sublinear_tf, l2) makes them."""
        vocab = vectorizer.vocabulary_
        pairs = [(vocab[f], n) for f, n in Counter(features).items() if f in vocab]  # Counter runs in C
        if not pairs:
            return np.empty(0, dtype=np.intp), np.empty(0)
        idx = np.fromiter((i for i, _ in pairs), dtype=np.intp, count=len(pairs))
        counts = np.fromiter((n for _, n in pairs), dtype=float, count=len(pairs))
        values = (1.0 + np.log(counts)) * vectorizer.idf_[idx]
        return idx, values / np.sqrt(values @ values)

    def _vectors(self, text: str):
        analyzer = getattr(self, "_char_analyzer", None)
        if analyzer is None:
            analyzer = self._char_analyzer = self.chars.build_analyzer()
        wi, wv = self._doc(self.words, word_features(text))
        return (wi, wv * self.word_weight), self._doc(self.chars, analyzer(text))

    def _calibrate(self, decision: np.ndarray) -> np.ndarray:
        _, _, _, a, b = self._fast()
        if len(self.labels) == 2:
            p1 = 1.0 / (1.0 + np.exp(a[0] * decision[0] + b[0]))
            return np.array([1.0 - p1, p1])
        proba = 1.0 / (1.0 + np.exp(a * decision + b))
        total = proba.sum()
        return proba / total if total > 0 else np.full_like(proba, 1.0 / proba.size)

    def proba_one(self, text: str) -> np.ndarray:
        """Calibrated probabilities for one text without building sparse matrices (the per-ticket path)."""
        w_words, w_chars, intercept, _, _ = self._fast()
        (wi, wv), (ci, cv) = self._vectors(text)
        return self._calibrate(wv @ w_words[wi] + cv @ w_chars[ci] + intercept)

    def top(self, text: str, k: int = 3) -> list[Prediction]:
        return self.analyse(text, k, reasons=0)[0]

    def predict(self, texts: list[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.labels[i] for i in proba.argmax(axis=1)]

    def _names(self) -> tuple[list[str], list[str]]:
        cached = getattr(self, "_names_cache", None)
        if cached is None:
            words = [""] * len(self.words.vocabulary_)
            for name, i in self.words.vocabulary_.items():
                words[i] = name
            chars = [""] * len(self.chars.vocabulary_)
            for name, i in self.chars.vocabulary_.items():
                chars[i] = name
            cached = self._names_cache = (words, chars)
        return cached

    def analyse(self, text: str, k: int = 3, reasons: int = 8) -> tuple[list[Prediction], list[Reason]]:
        """Top-k categories and, for the first, the features that pushed the text there (one pass)."""
        w_words, w_chars, intercept, _, _ = self._fast()
        (wi, wv), (ci, cv) = self._vectors(text)
        proba = self._calibrate(wv @ w_words[wi] + cv @ w_chars[ci] + intercept)
        order = np.argsort(proba)[::-1][:k]
        top = [Prediction(self.labels[i], float(proba[i])) for i in order]
        if not reasons or not top:
            return top, []
        return top, self._reasons(top[0].label, (wi, wv), (ci, cv), reasons)

    def explain(self, text: str, label: str, n: int = 8) -> list[Reason]:
        """The features that pushed ``text`` towards ``label``, strongest first."""
        return self._reasons(label, *self._vectors(text), n)

    def _reasons(self, label: str, words, chars, n: int) -> list[Reason]:
        w_words, w_chars, _, _, _ = self._fast()
        if w_words.shape[1] == 1:  # binary: one weight column, pointing at the second label
            col, sign = 0, (1.0 if self.labels.index(label) == 1 else -1.0)
        else:
            col, sign = self.labels.index(label), 1.0
        word_names, char_names = self._names()
        contributions: dict[tuple[str, str], float] = {}
        for (idx, values), weights, names, kind in (
            (words, w_words, word_names, "词"),
            (chars, w_chars, char_names, "字"),
        ):
            if not len(idx):
                continue
            parts = values * weights[idx, col] * sign
            # Only the strongest few can make the list: name just those (a long text has ~1,000 features).
            keep = np.flatnonzero(parts > 0)
            if len(keep) > 3 * n:
                keep = keep[np.argpartition(parts[keep], -3 * n)[-3 * n :]]
            for j in keep:
                name = names[idx[j]].strip()
                if name:
                    key = (name, kind)
                    contributions[key] = contributions.get(key, 0.0) + float(parts[j])
        ranked = sorted(contributions.items(), key=lambda kv: kv[1], reverse=True)[:n]
        return [Reason(feature, round(weight, 4), kind) for (feature, kind), weight in ranked]

    # -- artefact --------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        pickle.dump({"format": FORMAT, "classifier": self}, buf, protocol=pickle.HIGHEST_PROTOCOL)
        return zlib.compress(buf.getvalue(), 6)

    @staticmethod
    def from_bytes(blob: bytes) -> KeywordClassifier:
        # Artefacts come only from this project's own train_router (admins' database rows, files they pass).
        data = pickle.loads(zlib.decompress(blob))
        if data.get("format") != FORMAT:
            raise ValueError("模型文件格式不兼容，请重新训练。")
        return data["classifier"]
