"""Routing reference data for a new installation: the rule table, knowledge base and seed model."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from hotline.models import Category, Unit
from routing.models import ClassifierModel, DispatchRule, KnowledgeArticle, RuleTarget
from routing.rules import rules
from routing.training import Corpus, read_corpus, store_model, train

DATA = Path(__file__).parent / "data"
HOTLINE_DATA = Path(__file__).resolve().parent.parent / "hotline" / "demo" / "data"


@transaction.atomic
def load_rules(log=print) -> int:
    """One rule per sub-category, from its scope: 属地 → the street of the place, else the named unit."""
    made = 0
    units = {u.code: u for u in Unit.objects.all()}
    for top in json.loads((HOTLINE_DATA / "categories.json").read_text(encoding="utf-8")):
        for sub in top["children"]:
            category = Category.objects.get(code=sub["code"])
            if DispatchRule.objects.filter(category=category, place__isnull=True).exists():
                continue
            if sub["scope"] == "territorial":
                DispatchRule.objects.create(
                    name=f"{category.name}：属地街道",
                    category=category,
                    target=RuleTarget.PLACE_STREET,
                    note="属地管理",
                )
            else:
                unit = units[sub["unit"]]
                DispatchRule.objects.create(
                    name=f"{category.name}：{unit.short_name or unit.name}",
                    category=category,
                    target=RuleTarget.UNIT,
                    unit=unit,
                    note="行业主管" if sub["scope"] == "sector" else "公共服务企业",
                )
            made += 1
    rules.invalidate()
    log(f"分拨规则：新建 {made} 条")
    return made


@transaction.atomic
def load_knowledge(log=print) -> int:
    made = 0
    categories = {c.code: c for c in Category.objects.all()}
    for item in json.loads((HOTLINE_DATA / "knowledge.json").read_text(encoding="utf-8")):
        _, created = KnowledgeArticle.objects.get_or_create(
            title=item["title"],
            defaults={
                "question": item.get("question", ""),
                "answer": item["answer"],
                "keywords": item.get("keywords", []),
                "category": categories.get(item.get("category")),
            },
        )
        made += created
    log(f"知识库：新建 {made} 条")
    return made


def ensure_seed_model(log=print) -> ClassifierModel | None:
    """Train and activate the seed model from the shipped corpus when no model is active yet."""
    from routing.services import active_model

    if ClassifierModel.objects.filter(is_active=True).exists():
        active_model.invalidate()
        if active_model.get() is not None:
            return None
        log(f"分类模型：当前启用的模型无法加载（{active_model.error}），用种子语料重新训练。")
    # Both labelled files we ship: the seed corpus and the benchmark corpus (2,270 tickets, 58 categories),
    # each text with its title in front, as tickets are routed. A model of an older format (it cannot
    # be loaded, see KeywordClassifier.from_bytes) is replaced by this one above.
    parts = [read_corpus(DATA / name, title_column="title") for name in ("seed_corpus.csv", "bench_corpus.csv")]
    corpus = Corpus(
        [t for p in parts for t in p.texts], [y for p in parts for y in p.labels], " + ".join(p.source for p in parts)
    )
    clf = train(corpus)
    row = store_model(clf, name="种子模型", source=corpus.source, metrics={}, activate=True)
    log(f"分类模型：用种子语料（{len(corpus)}条，{len(set(corpus.labels))}类）训练并启用 v{row.version}")
    return row


def load_routing(log=print) -> None:
    load_rules(log)
    load_knowledge(log)
    ensure_seed_model(log)
