"""Reading labelled CSV files, evaluating a classifier, and storing versioned artefacts."""

from __future__ import annotations

import csv
import hashlib
import io
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from routing.classifier import KeywordClassifier
from routing.models import ClassifierModel, TrainingExample

MAX_TEXT = 20_000


class CorpusError(ValueError):
    """A labelled file that cannot be used, with the row to fix."""


@dataclass
class Corpus:
    texts: list[str]
    labels: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.texts)


def read_corpus(
    path: str | Path, *, text_column: str = "text", label_column: str = "label", title_column: str | None = None
) -> Corpus:
    """A UTF-8 CSV with a header; every row needs a text and a label. Errors name the row (1 = header).

    With ``title_column`` (the file must have it), each text with a title becomes "title\ntext": the
    form routing sees at run time (services.ticket_route classifies f"{title}\n{content}"); a row
    whose title is empty keeps its text alone. The classifier learns the title line as the text's
    lead, and its inner cross-validation also scores the titles alone (see KeywordClassifier.fit).
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"找不到文件：{path}")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{path.name} 第{line}行不是UTF-8编码（请另存为UTF-8 CSV）。") from exc
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if not header:
        raise CorpusError(f"{path.name} 是空文件，需要表头（例如 text,label）。")
    header = [h.strip() for h in header]
    missing = [c for c in (text_column, label_column, title_column) if c and c not in header]
    if missing:
        raise CorpusError(f"{path.name} 缺少列：{'、'.join(missing)}（表头是：{','.join(header)}）。")
    ti, li = header.index(text_column), header.index(label_column)
    hi = header.index(title_column) if title_column else None
    texts, labels = [], []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            raise CorpusError(f"{path.name} 第{line}行是空行，请删除。")
        if len(row) <= max(ti, li):
            raise CorpusError(f"{path.name} 第{line}行列数不足（{len(row)}列，需要至少{max(ti, li) + 1}列）。")
        text, label = row[ti].strip(), row[li].strip()
        if not text:
            raise CorpusError(f"{path.name} 第{line}行的“{text_column}”为空。")
        if not label:
            raise CorpusError(f"{path.name} 第{line}行的“{label_column}”为空。")
        if len(text) > MAX_TEXT:
            raise CorpusError(f"{path.name} 第{line}行文本超过{MAX_TEXT}字。")
        if hi is not None and len(row) > hi and row[hi].strip():
            text = f"{row[hi].strip()}\n{text}"
        texts.append(text)
        labels.append(label)
    if not texts:
        raise CorpusError(f"{path.name} 只有表头，没有数据行。")
    return Corpus(texts, labels, str(path))


def corrections_corpus() -> Corpus:
    rows = TrainingExample.objects.values_list("text", "label")
    return Corpus([t for t, _ in rows], [label for _, label in rows], "派单员纠正/确认样本")


def evaluate(clf: KeywordClassifier, corpus: Corpus, *, threshold: float) -> dict:
    """The figures evaluate_router prints: accuracy, macro-F1, per class, coverage at the threshold, latency."""
    # Imported here, not at module level: this module also stores and activates models, which
    # must not pull scikit-learn into a process that only serves.
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    latencies, predicted, confidence = [], [], []
    for text in corpus.texts:
        start = time.perf_counter()
        best = clf.top(text, 1)[0]
        latencies.append((time.perf_counter() - start) * 1000)
        predicted.append(best.label)
        confidence.append(best.probability)
    y = corpus.labels
    labels = sorted(set(y) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=labels, zero_division=0)
    confident = [i for i, c in enumerate(confidence) if c >= threshold]
    lat = np.array(latencies)
    return {
        "n": len(y),
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "macro_f1": round(float(f1_score(y, predicted, average="macro", labels=sorted(set(y)), zero_division=0)), 4),
        "per_class": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
            if s or p
        },
        "threshold": threshold,
        "coverage_at_threshold": round(len(confident) / len(y), 4),
        "accuracy_at_threshold": round(sum(predicted[i] == y[i] for i in confident) / len(confident), 4)
        if confident
        else None,
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
    }


def train(corpus: Corpus, *, c: float | None = None) -> KeywordClassifier:
    """A classifier for ``corpus``; ``c=None`` lets inner cross-validation choose the SVM's C."""
    counts = Counter(corpus.labels)
    rare = sorted(label for label, n in counts.items() if n < 2)
    if rare:
        raise CorpusError(f"以下类别少于2条样本，无法训练：{'、'.join(rare[:10])}")
    return KeywordClassifier(c=c).fit(corpus.texts, corpus.labels)


@transaction.atomic
def store_model(
    clf: KeywordClassifier, *, name: str, source: str, metrics: dict, activate: bool, user=None
) -> ClassifierModel:
    blob = clf.to_bytes()
    version = (ClassifierModel.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0) + 1
    row = ClassifierModel.objects.create(
        version=version,
        name=name,
        blob=blob,
        sha256=hashlib.sha256(blob).hexdigest(),
        labels=clf.labels,
        metrics=metrics,
        trained_on=clf.trained_on,
        source=source[:300],
        created_by=user,
    )
    if activate:
        model_activate(row)
    return row


@transaction.atomic
def model_activate(row: ClassifierModel) -> ClassifierModel:
    """Make ``row`` the one active model; every routing decision from now on records it."""
    ClassifierModel.objects.select_for_update().filter(is_active=True).exclude(pk=row.pk).update(is_active=False)
    ClassifierModel.objects.filter(pk=row.pk).update(is_active=True, activated_at=timezone.now())
    row.refresh_from_db()
    from routing.services import active_model

    transaction.on_commit(active_model.invalidate)
    return row


def model_rollback() -> ClassifierModel:
    """Re-activate the version that was active before the current one."""
    current = ClassifierModel.objects.filter(is_active=True).first()
    previous = (
        ClassifierModel.objects.exclude(pk=getattr(current, "pk", None))
        .filter(activated_at__isnull=False)
        .order_by("-activated_at")
        .first()
    )
    if previous is None:
        raise CorpusError("没有可回滚的历史版本。")
    return model_activate(previous)
