"""Train the routing classifier on a labelled CSV (any label set) and save the artefact."""

from __future__ import annotations

import random
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from routing.training import Corpus, CorpusError, corrections_corpus, evaluate, read_corpus, store_model, train


class Command(BaseCommand):
    help = (
        "Train the routing classifier: train_router --data FILE.csv --out MODEL_PATH [--text-column text] "
        "[--label-column label] [--title-column title] [--activate]"
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="UTF-8 CSV with a header, e.g. text,label")
        parser.add_argument("--out", required=True, help="where to write the model artefact")
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        parser.add_argument(
            "--title-column",
            default=None,
            help='a column of ticket titles: each text is learned as "title\\ntext", as tickets are routed, '
            "and the hyper-parameters are chosen for the titles alone as well",
        )
        parser.add_argument("--activate", action="store_true", help="store as a new version and make it active")
        parser.add_argument(
            "--include-corrections",
            action="store_true",
            help="add the dispatchers' corrections and confirmations from the database",
        )
        parser.add_argument("--name", default="", help="a name for this version")
        parser.add_argument(
            "--holdout", type=float, default=0.2, help="share held out to measure the stored metrics (0 to skip)"
        )
        parser.add_argument(
            "--c", type=float, default=None, help="SVM regularisation strength (default: chosen by cross-validation)"
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
        if opts["include_corrections"]:
            extra = corrections_corpus()
            corpus = Corpus(
                corpus.texts + extra.texts,
                corpus.labels + extra.labels,
                f"{corpus.source} + {len(extra)}条{extra.source}",
            )
        self.stdout.write(f"训练数据：{len(corpus)}条，{len(set(corpus.labels))}个类别（{corpus.source}）")
        metrics = {}
        try:
            if opts["holdout"] > 0:
                metrics = self._holdout(corpus, opts["holdout"], opts["c"])
                if metrics:
                    self.stdout.write(
                        f"留出集评估：准确率 {metrics['accuracy']:.3f}，宏F1 {metrics['macro_f1']:.3f}（{metrics['n']}条）"
                    )
            started = time.perf_counter()
            clf = train(corpus, c=opts["c"])
        except (CorpusError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        chosen = clf.selection
        metrics["selection"] = {key: value for key, value in chosen.items() if key != "grid"}
        self.stdout.write(
            f"训练完成：{time.perf_counter() - started:.1f}秒；超参数（未指定的由交叉验证选定）：C={chosen['c']}，"
            f"标题/开头权重 {chosen['lead_weight']}，NB混合 {chosen['nb_mix']}"
        )
        out = Path(opts["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(clf.to_bytes())
        self.stdout.write(f"模型已保存：{out}（{out.stat().st_size // 1024} KB）")
        if opts["activate"]:
            row = store_model(
                clf, name=opts["name"] or Path(opts["data"]).stem, source=corpus.source, metrics=metrics, activate=True
            )
            self.stdout.write(self.style.SUCCESS(f"已启用模型版本 v{row.version}"))

    @staticmethod
    def _holdout(corpus: Corpus, share: float, c: float | None) -> dict:
        by_label: dict[str, list[int]] = {}
        for i, label in enumerate(corpus.labels):
            by_label.setdefault(label, []).append(i)
        rng = random.Random(42)
        test: set[int] = set()
        for rows in by_label.values():
            rng.shuffle(rows)
            if len(rows) >= 4:  # keep at least 3 to train on
                test.update(rows[: max(1, int(len(rows) * share))])
        train_part = Corpus(
            [t for i, t in enumerate(corpus.texts) if i not in test],
            [y for i, y in enumerate(corpus.labels) if i not in test],
            corpus.source,
        )
        test_part = Corpus(
            [corpus.texts[i] for i in sorted(test)], [corpus.labels[i] for i in sorted(test)], corpus.source
        )
        if not test_part.texts:
            return {}
        return evaluate(train(train_part, c=c), test_part, threshold=settings.HOTLINE["AUTO_DISPATCH_THRESHOLD"])
