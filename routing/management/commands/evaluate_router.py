"""Evaluate a routing model on a labelled CSV; the last line printed is one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from routing.classifier import KeywordClassifier
from routing.training import CorpusError, evaluate, read_corpus


class Command(BaseCommand):
    help = "evaluate_router --data FILE.csv --model MODEL_PATH: accuracy, macro-F1, per class, coverage, latency"

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True)
        parser.add_argument("--model", required=True)
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        parser.add_argument("--title-column", default=None, help='a column of titles: texts become "title\\ntext"')
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="confidence for coverage/accuracy at threshold (default: the auto-dispatch one)",
        )

    def handle(self, *args, **opts):
        try:
            corpus = read_corpus(
                opts["data"],
                text_column=opts["text_column"],
                label_column=opts["label_column"],
                title_column=opts["title_column"],
            )
        except CorpusError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(opts["model"])
        if not path.is_file():
            raise CommandError(f"找不到模型文件：{path}")
        try:
            clf = KeywordClassifier.from_bytes(path.read_bytes())
        except Exception as exc:
            raise CommandError(f"无法读取模型文件 {path}：{exc}") from exc
        threshold = opts["threshold"] if opts["threshold"] is not None else settings.HOTLINE["AUTO_DISPATCH_THRESHOLD"]
        result = evaluate(clf, corpus, threshold=threshold)
        unknown = sorted(set(corpus.labels) - set(clf.labels))
        if unknown:
            self.stderr.write(f"注意：数据中有模型未见过的类别：{'、'.join(unknown[:10])}")
        self.stdout.write(
            f"{result['n']}条：准确率 {result['accuracy']:.3f}，宏F1 {result['macro_f1']:.3f}，"
            f"阈值{threshold}覆盖率 {result['coverage_at_threshold']:.3f}"
        )
        self.stdout.write(json.dumps(result, ensure_ascii=False))
