"""The category tree (大类 → 小类). A category says what a ticket is about, never who handles it."""

from __future__ import annotations

from django.db import models


class CategoryScope(models.TextChoices):
    TERRITORIAL = "territorial", "属地"
    SECTOR = "sector", "行业"
    UTILITY = "utility", "公共服务企业"


class Category(models.Model):
    """A node of the two-level category tree, coded after GB/T 39666 style numbering."""

    code = models.CharField("编码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=50)
    parent = models.ForeignKey(
        "self", verbose_name="上级分类", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    scope = models.CharField(
        "管辖属性",
        max_length=12,
        choices=CategoryScope.choices,
        blank=True,
        help_text="属地/行业/企业：分拨规则的默认依据。",
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "诉求分类"
        verbose_name_plural = "诉求分类"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.parent else self.name
