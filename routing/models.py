"""Routing data: the gazetteer of places. Classifier and dispatch-rule models join later."""

from __future__ import annotations

from django.db import models


class PlaceLevel(models.TextChoices):
    DISTRICT = "district", "区"
    STREET = "street", "街道/乡镇"
    COMMUNITY = "community", "社区/村"


class Place(models.Model):
    """A named place in the gazetteer: a district, a street/township or a community."""

    code = models.SlugField("编码", max_length=80, unique=True)
    name = models.CharField("名称", max_length=50)
    level = models.CharField("层级", max_length=10, choices=PlaceLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Names people actually say ("望京" for 望京街道); JSON so SQLite dev mode works too.
    aliases = models.JSONField("别名", default=list, blank=True)
    is_township = models.BooleanField("乡镇", default=False)

    class Meta:
        verbose_name = "地名"
        verbose_name_plural = "地名库"
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        names = []
        node: Place | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))


class ClassifierModel(models.Model):
    """One trained classifier artefact (versioned). Exactly one may be active; routing records which."""

    version = models.PositiveIntegerField("版本", unique=True)
    name = models.CharField("名称", max_length=100)
    blob = models.BinaryField("模型文件")
    sha256 = models.CharField(max_length=64)
    labels = models.JSONField("类别", default=list)
    metrics = models.JSONField("评估指标", default=dict, blank=True)
    trained_on = models.PositiveIntegerField("训练样本数", default=0)
    source = models.CharField("训练数据", max_length=300, blank=True)
    is_active = models.BooleanField("当前启用", default=False)
    created_by = models.ForeignKey("hotline.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("训练时间", auto_now_add=True)
    activated_at = models.DateTimeField("启用时间", null=True, blank=True)

    class Meta:
        verbose_name = "分类模型"
        verbose_name_plural = "分类模型"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_classifier"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}{'（启用中）' if self.is_active else ''}"


class RuleTarget(models.TextChoices):
    PLACE_STREET = "place_street", "属地街道/乡镇"
    PLACE_DISTRICT = "place_district", "属地区政府"
    UNIT = "unit", "指定单位"


class DispatchRule(models.Model):
    """(category, place scope) → lead unit and assisting units. The most specific active rule wins."""

    name = models.CharField("名称", max_length=100)
    category = models.ForeignKey(
        "hotline.Category",
        verbose_name="分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="留空适用于所有分类；选大类则含其小类。",
    )
    place = models.ForeignKey(
        Place,
        verbose_name="地域范围",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="留空适用于全市；可选区或街道。",
    )
    target = models.CharField("主办单位取法", max_length=16, choices=RuleTarget.choices)
    unit = models.ForeignKey(
        "hotline.Unit", verbose_name="指定主办单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assist_units = models.ManyToManyField("hotline.Unit", verbose_name="协办单位", blank=True, related_name="+")
    is_active = models.BooleanField("启用", default=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "分拨规则"
        verbose_name_plural = "分拨规则"
        ordering = ["category__code", "place__code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.target == RuleTarget.UNIT and self.unit_id is None:
            raise ValidationError({"unit": "“指定单位”规则必须选择主办单位。"})
        if self.target != RuleTarget.UNIT and self.unit_id is not None:
            raise ValidationError({"unit": "属地规则的主办单位由地点决定，不要再指定单位。"})


class RoutingDecision(models.Model):
    """What the router concluded for a ticket, with the evidence a dispatcher needs to check it."""

    ticket = models.ForeignKey("hotline.Ticket", on_delete=models.CASCADE, related_name="routing_decisions")
    model = models.ForeignKey(
        ClassifierModel, verbose_name="模型版本", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tokens = models.TextField("分词", blank=True)
    predictions = models.JSONField("分类候选", default=list)  # [{"category": code, "name": …, "probability": p}]
    explanation = models.JSONField("关键词依据", default=list)  # [{"feature": …, "weight": w, "kind": 词|字}]
    category_source = models.CharField("分类来源", max_length=12, default="model")  # model | operator
    place = models.JSONField("地点识别", default=dict)
    rule = models.ForeignKey(
        DispatchRule, verbose_name="命中规则", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggestions = models.JSONField("建议承办单位", default=list)  # [{"unit": code, "name", "score", "reason"}]
    confidence = models.FloatField("置信度", default=0.0)
    threshold = models.FloatField("自动派单阈值", default=0.0)
    auto_dispatched = models.BooleanField("自动派单", default=False)
    hold_reason = models.CharField("未自动派单原因", max_length=200, blank=True)
    elapsed_ms = models.FloatField("耗时（毫秒）", default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "分拨结果"
        verbose_name_plural = "分拨结果"
        ordering = ["-id"]
        indexes = [models.Index(fields=["ticket", "-id"], name="routing_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.suggestions[:1]}"


class TrainingExample(models.Model):
    """A labelled text for train_router: a dispatcher's correction, or an imported historical ticket."""

    class Source(models.TextChoices):
        CORRECTION = "correction", "派单员纠正"
        CONFIRMED = "confirmed", "派单员确认"
        IMPORT = "import", "导入"

    text = models.TextField("文本")
    label = models.CharField("分类编码", max_length=12)
    source = models.CharField("来源", max_length=12, choices=Source.choices)
    ticket = models.ForeignKey("hotline.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    predicted = models.CharField("模型原判", max_length=12, blank=True)
    created_by = models.ForeignKey("hotline.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "训练样本"
        verbose_name_plural = "训练样本"
        ordering = ["-id"]
        constraints = [
            # One labelled example per ticket: a later correction replaces the earlier one.
            models.UniqueConstraint(
                fields=["ticket"], condition=models.Q(ticket__isnull=False), name="one_example_per_ticket"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.text[:20]}"


class KnowledgeArticle(models.Model):
    """A knowledge-base answer an operator can read out to close a consultation on the call."""

    title = models.CharField("标题", max_length=100)
    question = models.TextField("问题", blank=True)
    answer = models.TextField("答复口径")
    keywords = models.JSONField("关键词", default=list, blank=True)
    category = models.ForeignKey(
        "hotline.Category", verbose_name="分类", null=True, blank=True, on_delete=models.SET_NULL
    )
    is_active = models.BooleanField("启用", default=True)
    use_count = models.PositiveIntegerField("引用次数", default=0)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "知识库条目"
        verbose_name_plural = "知识库"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
