"""A trainable, explainable keyword classifier for ticket categories.

Features, each block TF-IDF weighted (sublinear tf, l2 per block):
  - jieba words (the weighted keyword list the issue asks for), scaled by WORD_WEIGHT;
  - character 1–3-grams of the whole text (robust to segmentation errors and new words);
  - character 1–3-grams of the *lead*: the first line, or the first LEAD_CHARS characters.
    A ticket stored as "title\\ncontent" leads with the operator's title, and a resident's
    message states its main problem before the asides ("另外…", "顺便说一句…") that pull a
    whole-text model towards another category. How much the lead counts is chosen per
    training set (below), and may be zero.
A linear SVM learns one weight per feature and category (a learned, not hand-picked,
keyword list), so every decision is a sum of feature contributions: the explanation lists
exactly the features that pushed the text to the chosen category.

Hyper-parameters (the SVM's C and the lead weight) are chosen on the training data only,
by inner stratified cross-validation: the same out-of-fold margins then fit the calibration,
a single softmax temperature (probabilities sum to one, and the ranking, hence the
explanation, is the SVM's own). No sklearn estimator is kept: the artefact holds the
vectorizers and plain weight arrays, and inference is a few array lookups.
"""

from __future__ import annotations

import io
import pickle
import re
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from routing.segmentation import clean, tokens_of_clean

FORMAT = 3
WORD_WEIGHT = 0.6
LEAD_CHARS = 100
# Inner-CV grid. Kept small: each point costs one SVM fit per inner fold.
C_GRID = (0.5, 1.0, 2.0)
LEAD_GRID = (0.0, 0.5)
INNER_FOLDS = 3
_WHITE = re.compile(r"\s\s+")


def _char_ngrams(text: str) -> list[str]:
    """Character 1–3-grams, exactly as sklearn's analyzer="char" makes them (whitespace runs collapsed)."""
    text = _WHITE.sub(" ", text)
    n = len(text)
    grams = list(text)
    grams += [text[i : i + 2] for i in range(n - 1)]
    grams += [text[i : i + 3] for i in range(n - 2)]
    return grams


def _lead(cleaned: str) -> str:
    return cleaned.split("\n", 1)[0][:LEAD_CHARS]


# Module-level analyzers (a trained model pickles by reference to these).
def word_features(text: str) -> list[str]:
    """jieba tokens. Token bigrams were tried and dropped: they lowered macro-F1 on the benchmark."""
    return tokens_of_clean(clean(text))


def char_features(text: str) -> list[str]:
    return _char_ngrams(clean(text))


def lead_features(text: str) -> list[str]:
    return _char_ngrams(_lead(clean(text, keep_lines=True)))


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float


@dataclass(frozen=True)
class Reason:
    feature: str
    weight: float
    kind: str  # "词" (jieba word), "字" (character n-gram), "标题" (character n-gram of the lead: title or opening)


class KeywordClassifier:
    def __init__(
        self,
        *,
        c: float | None = None,
        lead_weight: float | None = None,
        min_df: int = 1,
        max_char_features: int = 300_000,
    ) -> None:
        self.c = c  # None: choose from C_GRID by inner cross-validation
        self.lead_weight = lead_weight  # None: choose from LEAD_GRID likewise
        self.word_weight = WORD_WEIGHT
        self.words = TfidfVectorizer(analyzer=word_features, sublinear_tf=True, min_df=min_df)
        self.chars = TfidfVectorizer(
            analyzer=char_features, sublinear_tf=True, min_df=min_df, max_features=max_char_features
        )
        self.leads = TfidfVectorizer(analyzer=lead_features, sublinear_tf=True, min_df=min_df)
        self.labels: list[str] = []
        self.coef: list[np.ndarray] = []  # per block (words, chars, lead): features × labels, float32
        self.intercept = np.zeros(0)
        self.temperature = 1.0
        self.selection: dict = {}
        self.trained_on = 0
        self.label_counts: dict[str, int] = {}

    # -- training ------------------------------------------------------------------
    def _blocks(self, texts: list[str], *, fit: bool = False) -> list:
        if fit:
            return [v.fit_transform(texts) for v in (self.words, self.chars, self.leads)]
        leads = self.leads.transform(texts) if self.lead_weight else None  # unused blocks keep no vocabulary
        return [self.words.transform(texts), self.chars.transform(texts), leads]

    def _stack(self, blocks: list, lead_weight: float):
        words, chars, leads = blocks
        parts = [words * self.word_weight, chars] + ([leads * lead_weight] if lead_weight else [])
        return sparse.hstack(parts).tocsr()

    @staticmethod
    def _svm(c: float) -> LinearSVC:
        return LinearSVC(C=c, class_weight="balanced")

    @staticmethod
    def _margins(svm: LinearSVC, x) -> np.ndarray:
        d = svm.decision_function(x)
        return np.column_stack([-d / 2, d / 2]) if d.ndim == 1 else d

    def fit(self, texts: list[str], labels: list[str]) -> KeywordClassifier:
        counts = Counter(labels)
        if len(counts) < 2:
            raise ValueError("训练数据至少需要两个类别。")
        if min(counts.values()) < 2:
            rare = "、".join(sorted(label for label, n in counts.items() if n < 2)[:5])
            raise ValueError(f"每个类别至少需要两条训练数据（不足的类别：{rare}）。")
        y = np.array([str(label) for label in labels])
        blocks = self._blocks(texts, fit=True)
        self.labels = sorted({str(label) for label in y})  # plain str: they go into JSON and the database
        grid = [
            (lw, c)
            for lw in (LEAD_GRID if self.lead_weight is None else (self.lead_weight,))
            for c in (C_GRID if self.c is None else (self.c,))
        ]
        # Out-of-fold margins for every grid point; the vocabulary is the full training set's
        # (labels play no part in it). The best point by macro-F1 is kept, and its margins calibrate.
        folds = StratifiedKFold(max(2, min(INNER_FOLDS, min(counts.values()))), shuffle=True, random_state=0)
        splits = list(folds.split(np.zeros(len(y)), y))
        best = None
        for lw, c in grid:
            x = self._stack(blocks, lw)
            oof = np.zeros((len(y), len(self.labels)))
            for train, test in splits:
                svm = self._svm(c).fit(x[train], y[train])
                cols = [self.labels.index(label) for label in svm.classes_]
                if len(cols) == len(self.labels):
                    oof[np.ix_(test, cols)] = self._margins(svm, x[test])
            score = f1_score(y, np.array(self.labels)[oof.argmax(1)], average="macro")
            if best is None or score > best[0] + 1e-9:
                best = (score, lw, c, oof)
        score, lw, c, oof = best
        x = self._stack(blocks, lw)
        svm = self._svm(c).fit(x, y)
        self._store(svm, lw)
        self.temperature = self._fit_temperature(oof, np.searchsorted(self.labels, y))
        self.selection = {"lead_weight": lw, "c": c, "inner_macro_f1": round(float(score), 4), "grid": grid}
        self.trained_on = len(texts)
        self.label_counts = dict(counts)
        return self

    def _store(self, svm: LinearSVC, lead_weight: float) -> None:
        coef, intercept = svm.coef_, svm.intercept_
        if coef.shape[0] == 1:  # binary: one weight vector for the second label; make it symmetric
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        coef = coef.T.astype(np.float32)  # features × labels: one row per feature for cheap lookups
        n_words, n_chars = len(self.words.vocabulary_), len(self.chars.vocabulary_)
        n_leads = len(self.leads.vocabulary_)
        word_block = coef[:n_words] * self.word_weight  # the block scaling folded into the weights
        char_block = coef[n_words : n_words + n_chars]
        lead_block = (
            coef[n_words + n_chars :] * lead_weight if lead_weight else np.zeros((0, coef.shape[1]), np.float32)
        )
        if not lead_weight:
            self.leads.vocabulary_ = {}  # unused: keep the artefact small and inference cheap
            self.leads.idf_ = np.zeros(0)
        elif lead_block.shape[0] != n_leads:
            raise AssertionError("lead block size mismatch")
        self.coef = [np.ascontiguousarray(b, dtype=np.float32) for b in (word_block, char_block, lead_block)]
        self.intercept = intercept.astype(np.float64)
        self.lead_weight = lead_weight

    @staticmethod
    def _fit_temperature(margins: np.ndarray, y: np.ndarray) -> float:
        """The softmax temperature that best predicts held-out labels from held-out margins.

        Targets are smoothed as in Platt's sigmoid calibration, (n + 1) / (n + 2) for the true
        class with n its training examples: with few examples the held-out margins often separate
        perfectly, and unsmoothed log-loss would then drive the temperature (and every confidence)
        to its limit. A model trained on eight texts per class must not claim 99.9%.
        """
        k = margins.shape[1]
        counts = np.bincount(y, minlength=k).astype(float)
        hit = (counts[y] + 1) / (counts[y] + 2)
        targets = np.repeat(((1 - hit) / max(k - 1, 1))[:, None], k, axis=1)
        targets[np.arange(len(y)), y] = hit

        def loss(log_t: float) -> float:
            return -float((targets * log_softmax(np.exp(log_t) * margins, axis=1)).sum(axis=1).mean())

        return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 5.0), method="bounded").x))

    # -- inference -------------------------------------------------------------------
    def _proba(self, decision: np.ndarray) -> np.ndarray:
        return softmax(self.temperature * decision, axis=-1)

    def decision_function(self, texts: list[str]) -> np.ndarray:
        """Margins for many texts (sparse matrices; for evaluation, not the per-ticket path)."""
        words, chars, leads = self._blocks(texts)
        d = words @ self.coef[0] + chars @ self.coef[1] + self.intercept
        if self.lead_weight:
            d = d + leads @ self.coef[2]
        return np.asarray(d)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self._proba(self.decision_function(texts))

    def predict(self, texts: list[str]) -> list[str]:
        return [self.labels[i] for i in self.decision_function(texts).argmax(axis=1)]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for derived in ("_names_cache",):
            state.pop(derived, None)
        return state

    @staticmethod
    def _doc(vectorizer: TfidfVectorizer, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One document's TF-IDF entries (indices, values), as TfidfVectorizer(sublinear_tf, l2) makes them."""
        vocab = vectorizer.vocabulary_
        counts_of = Counter(features)  # counting, the key intersection and the lookups all run in C
        known = counts_of.keys() & vocab.keys()
        if not known:
            return np.empty(0, dtype=np.intp), np.empty(0)
        idx = np.fromiter(map(vocab.__getitem__, known), dtype=np.intp, count=len(known))
        counts = np.fromiter(map(counts_of.__getitem__, known), dtype=float, count=len(known))
        values = (1.0 + np.log(counts)) * vectorizer.idf_[idx]
        return idx, values / np.sqrt(values @ values)

    def _vectors(self, text: str, words: list[str] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per block (indices, values) for one text; the text is cleaned once for all three blocks.

        ``words`` may pass jieba tokens already computed for this text (routing stores them too).
        """
        with_lines = clean(text, keep_lines=True)
        cleaned = clean(with_lines)
        if words is None:
            words = tokens_of_clean(cleaned)
        out = [self._doc(self.words, words), self._doc(self.chars, _char_ngrams(cleaned))]
        if self.lead_weight:
            out.append(self._doc(self.leads, _char_ngrams(_lead(with_lines))))
        return out

    def _decision_one(self, vectors) -> np.ndarray:
        d = self.intercept.copy()
        for (idx, values), weights in zip(vectors, self.coef, strict=False):
            if len(idx):
                d += values @ weights[idx]
        return d

    def proba_one(self, text: str) -> np.ndarray:
        """Calibrated probabilities for one text without building sparse matrices (the per-ticket path)."""
        return self._proba(self._decision_one(self._vectors(text)))

    def top(self, text: str, k: int = 3) -> list[Prediction]:
        return self.analyse(text, k, reasons=0)[0]

    def _names(self) -> list[list[str]]:
        cached = getattr(self, "_names_cache", None)
        if cached is None:
            cached = []
            for vectorizer in (self.words, self.chars, self.leads):
                names = [""] * len(vectorizer.vocabulary_)
                for name, i in vectorizer.vocabulary_.items():
                    names[i] = name
                cached.append(names)
            self._names_cache = cached
        return cached

    def analyse(
        self, text: str, k: int = 3, reasons: int = 8, words: list[str] | None = None
    ) -> tuple[list[Prediction], list[Reason]]:
        """Top-k categories and, for the first, the features that pushed the text there (one pass)."""
        vectors = self._vectors(text, words)
        proba = self._proba(self._decision_one(vectors))
        order = np.argsort(proba)[::-1][:k]
        top = [Prediction(self.labels[i], float(proba[i])) for i in order]
        if not reasons or not top:
            return top, []
        return top, self._reasons(top[0].label, vectors, reasons)

    def explain(self, text: str, label: str, n: int = 8) -> list[Reason]:
        """The features that pushed ``text`` towards ``label``, strongest first."""
        return self._reasons(label, self._vectors(text), n)

    def _reasons(self, label: str, vectors, n: int) -> list[Reason]:
        col = self.labels.index(label)
        contributions: dict[tuple[str, str], float] = {}
        for (idx, values), weights, names, kind in zip(
            vectors, self.coef, self._names(), ("词", "字", "标题"), strict=False
        ):
            if not len(idx):
                continue
            parts = values * weights[idx, col]
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
        try:
            data = pickle.loads(zlib.decompress(blob))
        except Exception as exc:
            # An artefact of an older release can reference code that no longer exists.
            raise ValueError(
                f"模型文件无法读取（{type(exc).__name__}），可能来自旧版本，请用 train_router 重新训练。"
            ) from exc
        found = data.get("format") if isinstance(data, dict) else None
        if found != FORMAT:
            raise ValueError(f"模型文件格式 v{found} 与当前版本 v{FORMAT} 不兼容，请用 train_router 重新训练。")
        return data["classifier"]
