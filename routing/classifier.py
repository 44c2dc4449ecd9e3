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

Two linear SVMs are trained on the same features and their weights mixed: the plain multi-class
SVM, and an NBSVM (Wang & Manning 2012): one binary SVM per category, each on the features
scaled by their naive-Bayes log-count ratio for that category (how much more often documents
of the category contain the feature than the others do). The NB scaling is folded into the
stored weights, and a mix of two linear models is one linear model, so serving and explanations
are unchanged: still one weight per feature and category. NBSVM alone pays off when categories
have many examples each and costs when they have few (its ratios are noisy); the two models err
differently, and an even mix beat both on the benchmark's top-level tasks. The mix is chosen
like the other hyper-parameters (0 = plain SVM only, 1 = NBSVM only).

Hyper-parameters (the NB mix, the SVMs' C and the lead weight) are chosen on the training data
only, by inner stratified cross-validation: the same out-of-fold margins then fit the
calibration, a single softmax temperature (probabilities sum to one, and the ranking, hence the
explanation, is the linear model's own). The inner score is the held-out texts' macro-F1; when
texts lead with a line of their own (tickets routed as "title\\ncontent"), the macro-F1 of those
lines alone counts too, weighted by their share: a ticket may come with a title only, and
without this the choice ignores how the lead weight and the mix serve it.

Design notes. The grids and the scoring above were settled on bench/bench_routing.py (the
per-fold choices are not: they come from each training fold alone). Measured there and dropped,
top-level macro-F1 at fixed C (full texts; titles trained on titles): character 1–4-grams 0.925
vs 0.931; word weight 1.0 or 0.3 instead of 0.6: no gain; no class weighting: 0.930 vs 0.931;
LogisticRegression 0.915; NBSVM with smoothing 0.5 or 3: within noise / 0.926; char-n-gram
skip-grams, word bigrams, within-word character n-grams, a separate character-unigram block and
character 1–2-grams for titles: 0.777–0.800 vs 0.793; adding every training ticket's title (or
its clauses) as extra examples: +0.000 / +0.009 on titles (plain SVM), -0.016 with NBSVM;
C above 2: flat.

Training and serving are split. Training needs scikit-learn and SciPy; they are imported
inside the training code only, because a web worker that merely routes tickets would carry
~90 MiB of them for nothing. The saved artefact holds no sklearn object: per feature block a
sorted array of feature strings, their idf, and the SVM weights as a sparse feature × label
matrix (liblinear's dual solution leaves about half of the weights exactly zero), so
serving needs numpy alone and a few MiB instead of the fitted vectorizers' dictionaries.
"""

from __future__ import annotations

import io
import pickle
import re
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from routing.segmentation import clean, tokens_of_clean

# 4: compact serving blocks (sorted vocabulary arrays, sparse float32 weights), no sklearn objects.
FORMAT = 4
WORD_WEIGHT = 0.6
LEAD_CHARS = 100
# Inner-CV grid. Kept small: each (lead weight, C) costs two SVM fits per inner fold (plain and
# NBSVM); the mixes of the two come free from their out-of-fold margins. Simplest first: on a
# tie the plain SVM wins.
C_GRID = (0.5, 1.0, 2.0)
LEAD_GRID = (0.0, 0.5)
MIX_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
NB_ALPHA = 1.0  # add-one smoothing of the naive-Bayes document counts (Wang & Manning's choice)
INNER_FOLDS = 3
_WHITE = re.compile(r"\s\s+")
_EMPTY_IDX = np.empty(0, dtype=np.intp)


def _char_ngrams(text: str) -> list[str]:
    """Character 1–3-grams, exactly as sklearn's analyzer="char" makes them (whitespace runs collapsed)."""
    text = _WHITE.sub(" ", text)
    n = len(text)
    grams = list(text)
    grams += [text[i : i + 2] for i in range(n - 1)]
    grams += [text[i : i + 3] for i in range(n - 2)]
    return grams


def _share(mix: float, nb: bool) -> float:
    """The weight of the NBSVM (``nb``) or of the plain SVM in a mix."""
    return mix if nb else 1.0 - mix


def _lead(cleaned: str) -> str:
    return cleaned.split("\n", 1)[0][:LEAD_CHARS]


# Module-level analyzers (the training vectorizers refer to these).
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


def softmax(z: np.ndarray) -> np.ndarray:
    """As scipy.special.softmax: shift by the maximum so exp never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class FeatureBlock:
    """One feature block ready for serving: vocabulary, idf and weights, numpy arrays only.

    The vocabulary is one sorted fixed-width string array searched with ``np.searchsorted``: a
    Python dict of ~240,000 short strings costs ~40 MiB in every worker, the array a few MiB.
    numpy drops trailing NUL characters from its strings, so the (in practice absent) features
    ending in one are kept in a small dict instead; their indices follow the array's.
    Weights are a CSR matrix, one row per feature: ``cols``/``vals`` of row i are
    ``indptr[i]:indptr[i+1]``; a weight that is not stored is exactly zero.
    """

    __slots__ = ("_names", "cols", "extra", "idf", "indptr", "vals", "vocab")

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, weights: np.ndarray) -> None:
        """``vocabulary`` maps features to rows of ``idf`` and ``weights`` (features × labels)."""
        plain = sorted(f for f in vocabulary if not f.endswith("\x00"))
        odd = sorted(f for f in vocabulary if f.endswith("\x00"))
        order = np.array([vocabulary[f] for f in plain + odd], dtype=np.intp)
        width = max((len(f) for f in plain), default=1)
        self.vocab = np.array(plain, dtype=f"<U{width}")
        self.extra = {f: len(plain) + i for i, f in enumerate(odd)}
        self.idf = np.ascontiguousarray(np.asarray(idf, dtype=np.float64)[order]) if len(order) else np.zeros(0)
        dense = np.asarray(weights, dtype=np.float32)[order] if len(order) else np.zeros((0, 0), np.float32)
        rows, cols = np.nonzero(dense)
        self.indptr = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(order)), out=self.indptr[1:])
        self.cols = cols.astype(np.uint8 if dense.shape[1] <= 256 else np.uint16)
        self.vals = dense[rows, cols]
        self._names = None

    def __len__(self) -> int:
        return len(self.vocab) + len(self.extra)

    def __getstate__(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__ if name != "_names"}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._names = None

    def lookup(self, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One document's TF-IDF entries (indices, values), as TfidfVectorizer(sublinear_tf, l2) makes them."""
        counts_of = Counter(features)
        if not counts_of:
            return _EMPTY_IDX, np.empty(0)
        width = self.vocab.dtype.itemsize // 4
        # Longer keys cannot be in the array, and casting them to its width would truncate them
        # into false matches; keys ending in NUL live in ``extra``.
        keys = [f for f in counts_of if len(f) <= width and not f.endswith("\x00")]
        idx = np.empty(0, dtype=np.intp)
        found: list[str] = []
        if keys and len(self.vocab):
            probe = np.array(keys, dtype=self.vocab.dtype)
            pos = np.searchsorted(self.vocab, probe)
            pos[pos == len(self.vocab)] = 0
            hit = self.vocab[pos] == probe
            idx = pos[hit].astype(np.intp)
            found = [k for k, h in zip(keys, hit.tolist(), strict=True) if h]
        if self.extra:
            odd = [f for f in counts_of if f in self.extra]
            if odd:
                idx = np.concatenate([idx, np.array([self.extra[f] for f in odd], dtype=np.intp)])
                found += odd
        if not found:
            return _EMPTY_IDX, np.empty(0)
        counts = np.fromiter(map(counts_of.__getitem__, found), dtype=float, count=len(found))
        values = (1.0 + np.log(counts)) * self.idf[idx]
        return idx, values / np.sqrt(values @ values)

    def entries(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stored weights of rows ``idx``: (position in ``idx``, label column, weight)."""
        starts = self.indptr[idx]
        lengths = self.indptr[idx + 1] - starts
        owner = np.repeat(np.arange(len(idx)), lengths)
        # Flat positions of every stored weight of those rows, without a Python loop.
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        pos = np.arange(int(lengths.sum())) + offsets
        return owner, self.cols[pos], self.vals[pos]

    def dense(self, n_labels: int) -> np.ndarray:
        """The full feature × label weight matrix (for tests and analysis, not for serving)."""
        out = np.zeros((len(self), n_labels), dtype=np.float32)
        out[np.repeat(np.arange(len(self)), np.diff(self.indptr)), self.cols] = self.vals
        return out

    def names(self) -> list[str]:
        if self._names is None:
            names = self.vocab.tolist()
            names += sorted(self.extra, key=self.extra.__getitem__)
            self._names = names
        return self._names

    def name(self, i: int) -> str:
        return str(self.vocab[i]) if i < len(self.vocab) else self.names()[i]


class KeywordClassifier:
    # Class-level default: artefacts saved before the NBSVM mix have no such attribute.
    nb_mix: float | None = None

    def __init__(
        self,
        *,
        c: float | None = None,
        lead_weight: float | None = None,
        nb_mix: float | None = None,
        min_df: int = 1,
        max_char_features: int = 300_000,
    ) -> None:
        self.c = c  # None: choose from C_GRID by inner cross-validation
        self.lead_weight = lead_weight  # None: choose from LEAD_GRID likewise
        self.nb_mix = nb_mix  # None: choose from MIX_GRID likewise (0: plain SVM only, 1: NBSVM only)
        self.word_weight = WORD_WEIGHT
        self.min_df = min_df
        self.max_char_features = max_char_features
        self.labels: list[str] = []
        self.blocks: list[FeatureBlock] = []  # words, chars, lead (empty when the lead weight is zero)
        self.intercept = np.zeros(0)
        self.temperature = 1.0
        self.selection: dict = {}
        self.trained_on = 0
        self.label_counts: dict[str, int] = {}

    # -- training (the only code that needs scikit-learn and SciPy) ---------------------
    def _vectorizers(self) -> tuple:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return (
            TfidfVectorizer(analyzer=word_features, sublinear_tf=True, min_df=self.min_df),
            TfidfVectorizer(
                analyzer=char_features, sublinear_tf=True, min_df=self.min_df, max_features=self.max_char_features
            ),
            TfidfVectorizer(analyzer=lead_features, sublinear_tf=True, min_df=self.min_df),
        )

    def _stack(self, blocks: list, lead_weight: float):
        from scipy import sparse

        words, chars, leads = blocks
        parts = [words * self.word_weight, chars] + ([leads * lead_weight] if lead_weight else [])
        return sparse.hstack(parts).tocsr()

    @staticmethod
    def _linear(x, y: np.ndarray, n_labels: int, c: float, nb: bool) -> tuple[np.ndarray, np.ndarray]:
        """Fit on ``x`` (CSR) and label indices ``y``: weights (labels × features) and intercepts.

        Margins are ``x @ coef.T + intercept`` in both modes. Plain: one multi-class LinearSVC
        (one-vs-rest). NBSVM: per label, a binary LinearSVC on the features scaled by their
        log-count ratio r; since (x * r) @ w == x @ (r * w), the stored weight is r * w.
        With two labels one weight vector decides, split symmetrically between them. liblinear
        visits the examples in random order: a fixed seed makes the same data give the same model.
        """
        from scipy import sparse
        from sklearn.svm import LinearSVC

        coef = np.zeros((n_labels, x.shape[1]))
        intercept = np.full(n_labels, -1.0)  # a label absent from ``y`` (never with stratified folds)
        if not nb:
            svm = LinearSVC(C=c, class_weight="balanced", random_state=0).fit(x, y)
            if len(svm.classes_) == 2:
                w, b = svm.coef_[0], svm.intercept_[0]
                coef[svm.classes_], intercept[svm.classes_] = np.vstack([-w / 2, w / 2]), np.array([-b / 2, b / 2])
            else:
                coef[svm.classes_], intercept[svm.classes_] = svm.coef_, svm.intercept_
            return coef, intercept
        present = x.copy()
        present.data[:] = 1.0
        onehot = sparse.csr_matrix((np.ones(len(y)), (y, np.arange(len(y)))), shape=(n_labels, len(y)))
        docs = (onehot @ present).tocsr()  # per label: in how many of its documents each feature occurs
        total = np.asarray(docs.sum(axis=0)).ravel()
        found = np.unique(y)
        for label in found[1:] if len(found) == 2 else found:
            p = NB_ALPHA + docs[label].toarray().ravel()
            q = NB_ALPHA + total - (p - NB_ALPHA)
            ratio = np.log(p / p.sum()) - np.log(q / q.sum())
            scaled = x.copy()
            scaled.data *= ratio[scaled.indices]
            svm = LinearSVC(C=c, class_weight="balanced", random_state=0).fit(scaled, y == label)
            coef[label], intercept[label] = svm.coef_[0] * ratio, svm.intercept_[0]
        if len(found) == 2:
            low, high = found
            coef[high] /= 2
            intercept[high] /= 2
            coef[low], intercept[low] = -coef[high], -intercept[high]
        return coef, intercept

    def fit(self, texts: list[str], labels: list[str], *, keep_fitted: bool = False) -> KeywordClassifier:
        """Train on ``texts``. ``keep_fitted`` keeps the sklearn vectorizers and dense weights in
        ``self.fitted`` (never saved) so tests can compare serving with sklearn's own transforms."""
        from sklearn.metrics import f1_score
        from sklearn.model_selection import StratifiedKFold

        counts = Counter(labels)
        if len(counts) < 2:
            raise ValueError("训练数据至少需要两个类别。")
        if min(counts.values()) < 2:
            rare = "、".join(sorted(label for label, n in counts.items() if n < 2)[:5])
            raise ValueError(f"每个类别至少需要两条训练数据（不足的类别：{rare}）。")
        self.labels = sorted({str(label) for label in labels})  # plain str: they go into JSON and the database
        y = np.searchsorted(self.labels, [str(label) for label in labels])
        k = len(self.labels)
        vectorizers = self._vectorizers()
        blocks = [v.fit_transform(texts) for v in vectorizers]
        mixes = MIX_GRID if self.nb_mix is None else (float(self.nb_mix),)
        points = [
            (lw, c)
            for lw in (LEAD_GRID if self.lead_weight is None else (self.lead_weight,))
            for c in (C_GRID if self.c is None else (self.c,))
        ]
        # Texts led by a line of their own (a ticket routed as "title\ncontent"): the model also
        # meets that line alone (a ticket with a title only), so the inner cross-validation scores
        # both forms of the held-out texts, the lead lines weighted by their share of the texts.
        lead_rows, lead_texts = [], []
        for i, text in enumerate(texts):
            with_lines = clean(text, keep_lines=True)
            if "\n" in with_lines:
                lead_rows.append(i)
                lead_texts.append(_lead(with_lines))
        lead_rows = np.array(lead_rows, dtype=np.intp)
        lead_blocks = [v.transform(lead_texts) for v in vectorizers] if len(lead_rows) else None
        lead_share = len(lead_rows) / len(y)
        lead_labels = np.unique(y[lead_rows])
        # Out-of-fold margins of both SVMs for every (lead weight, C); the vocabulary is the full
        # training set's (labels play no part in it; the naive-Bayes ratios do, so they come from
        # the inner training part only). The best point is kept, and its margins calibrate.
        folds = StratifiedKFold(max(2, min(INNER_FOLDS, min(counts.values()))), shuffle=True, random_state=0)
        splits = list(folds.split(np.zeros(len(y)), y))
        models = [nb for nb in (False, True) if any(_share(mix, nb) for mix in mixes)]
        best = None
        for lw, c in points:
            x = self._stack(blocks, lw)
            x_lead = self._stack(lead_blocks, lw) if lead_blocks else None
            oof = {nb: np.zeros((len(y), k)) for nb in models}
            oof_lead = {nb: np.zeros((len(lead_rows), k)) for nb in models}
            for train, test in splits:
                held = np.isin(lead_rows, test)
                for nb in models:
                    coef, intercept = self._linear(x[train], y[train], k, c, nb)
                    oof[nb][test] = np.asarray(x[test] @ coef.T) + intercept
                    if held.any():
                        oof_lead[nb][held] = np.asarray(x_lead[held] @ coef.T) + intercept
            for mix in mixes:
                margins = sum(_share(mix, nb) * oof[nb] for nb in models)
                score = f1_score(y, margins.argmax(1), average="macro")
                lead_score = None
                if lead_share:
                    lead_margins = sum(_share(mix, nb) * oof_lead[nb] for nb in models)
                    lead_score = f1_score(
                        y[lead_rows], lead_margins.argmax(1), labels=lead_labels, average="macro", zero_division=0
                    )
                combined = (score + lead_share * (lead_score or 0.0)) / (1 + lead_share)
                if best is None or combined > best[0] + 1e-9:
                    best = (combined, score, lead_score, mix, lw, c, margins)
        _, score, lead_score, mix, lw, c, oof_margins = best
        x = self._stack(blocks, lw)
        coef, intercept = 0.0, 0.0
        for nb in models:
            if _share(mix, nb):
                part_coef, part_intercept = self._linear(x, y, k, c, nb)
                coef, intercept = coef + _share(mix, nb) * part_coef, intercept + _share(mix, nb) * part_intercept
        dense = self._store(coef, intercept, lw, vectorizers)
        if keep_fitted:
            self.fitted = {"vectorizers": vectorizers, "coef": dense}
        self.temperature = self._fit_temperature(oof_margins, y)
        self.nb_mix = mix
        self.selection = {
            "nb_mix": mix,
            "lead_weight": lw,
            "c": c,
            "inner_macro_f1": round(float(score), 4),
            # macro-F1 of the held-out texts' lead lines alone (None: no text has one)
            "inner_lead_macro_f1": None if lead_score is None else round(float(lead_score), 4),
            "lead_share": round(lead_share, 4),
            "grid": [(mix, lw, c) for lw, c in points for mix in mixes],
        }
        self.trained_on = len(texts)
        self.label_counts = dict(counts)
        return self

    def _store(self, coef: np.ndarray, intercept: np.ndarray, lead_weight: float, vectorizers: tuple) -> list:
        """Keep the weights (labels × stacked features) as serving blocks; returns the dense
        per-block weights (vectorizer order)."""
        words, chars, leads = vectorizers
        coef = coef.T.astype(np.float32)  # features × labels: one row per feature for cheap lookups
        n_words, n_chars = len(words.vocabulary_), len(chars.vocabulary_)
        word_block = coef[:n_words] * self.word_weight  # the block scaling folded into the weights
        char_block = coef[n_words : n_words + n_chars]
        if lead_weight:
            lead_block = coef[n_words + n_chars :] * lead_weight
            if lead_block.shape[0] != len(leads.vocabulary_):
                raise AssertionError("lead block size mismatch")
            lead_vocab, lead_idf = leads.vocabulary_, leads.idf_
        else:  # unused: keep the artefact small and inference cheap
            lead_block = np.zeros((0, coef.shape[1]), np.float32)
            lead_vocab, lead_idf = {}, np.zeros(0)
        dense = [np.ascontiguousarray(b, dtype=np.float32) for b in (word_block, char_block, lead_block)]
        self.blocks = [
            FeatureBlock(words.vocabulary_, words.idf_, dense[0]),
            FeatureBlock(chars.vocabulary_, chars.idf_, dense[1]),
            FeatureBlock(lead_vocab, lead_idf, dense[2]),
        ]
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.lead_weight = lead_weight
        return dense

    @staticmethod
    def _fit_temperature(margins: np.ndarray, y: np.ndarray) -> float:
        """The softmax temperature that best predicts held-out labels from held-out margins.

        Targets are smoothed as in Platt's sigmoid calibration, (n + 1) / (n + 2) for the true
        class with n its training examples: with few examples the held-out margins often separate
        perfectly, and unsmoothed log-loss would then drive the temperature (and every confidence)
        to its limit. A model trained on eight texts per class must not claim 99.9%.
        """
        from scipy.optimize import minimize_scalar
        from scipy.special import log_softmax

        k = margins.shape[1]
        counts = np.bincount(y, minlength=k).astype(float)
        hit = (counts[y] + 1) / (counts[y] + 2)
        targets = np.repeat(((1 - hit) / max(k - 1, 1))[:, None], k, axis=1)
        targets[np.arange(len(y)), y] = hit

        def loss(log_t: float) -> float:
            return -float((targets * log_softmax(np.exp(log_t) * margins, axis=1)).sum(axis=1).mean())

        return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 5.0), method="bounded").x))

    # -- inference (numpy only) --------------------------------------------------------
    def _proba(self, decision: np.ndarray) -> np.ndarray:
        return softmax(self.temperature * decision)

    def decision_function(self, texts: list[str]) -> np.ndarray:
        """Margins for many texts (texts × labels)."""
        out = np.zeros((len(texts), len(self.labels)))
        for row, text in enumerate(texts):
            out[row] = self._decision_one(self._vectors(text))
        return out

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self._proba(self.decision_function(texts))

    def predict(self, texts: list[str]) -> list[str]:
        return [self.labels[i] for i in self.decision_function(texts).argmax(axis=1)]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("fitted", None)  # sklearn objects stay in the training process
        return state

    def _vectors(self, text: str, words: list[str] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per block (indices, values) for one text; the text is cleaned once for all three blocks.

        ``words`` may pass jieba tokens already computed for this text (routing stores them too).
        """
        with_lines = clean(text, keep_lines=True)
        cleaned = clean(with_lines)
        if words is None:
            words = tokens_of_clean(cleaned)
        out = [self.blocks[0].lookup(words), self.blocks[1].lookup(_char_ngrams(cleaned))]
        if self.lead_weight:
            out.append(self.blocks[2].lookup(_char_ngrams(_lead(with_lines))))
        return out

    def _decision_one(self, vectors) -> np.ndarray:
        d = self.intercept.copy()
        for (idx, values), block in zip(vectors, self.blocks, strict=False):
            if len(idx):
                owner, cols, vals = block.entries(idx)
                d += np.bincount(cols, weights=values[owner] * vals, minlength=len(d))
        return d

    def proba_one(self, text: str) -> np.ndarray:
        """Calibrated probabilities for one text (the per-ticket path)."""
        return self._proba(self._decision_one(self._vectors(text)))

    def top(self, text: str, k: int = 3) -> list[Prediction]:
        return self.analyse(text, k, reasons=0)[0]

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
        for (idx, values), block, kind in zip(vectors, self.blocks, ("词", "字", "标题"), strict=False):
            if not len(idx):
                continue
            owner, cols, vals = block.entries(idx)
            mine = cols == col
            parts = np.zeros(len(idx))
            parts[owner[mine]] = values[owner[mine]] * vals[mine]
            # Only the strongest few can make the list: name just those (a long text has ~1,000 features).
            # Features that always occur together get exactly equal contributions; ties go to the
            # feature that sorts first (a row's index is its feature's sorted position), so the
            # explanation does not depend on hash order.
            keep = np.flatnonzero(parts > 0)
            if len(keep) > 3 * n:
                keep = keep[np.lexsort((idx[keep], -parts[keep]))[: 3 * n]]
            for j in keep:
                name = block.name(int(idx[j])).strip()
                if name:
                    key = (name, kind)
                    contributions[key] = contributions.get(key, 0.0) + float(parts[j])
        ranked = sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
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
