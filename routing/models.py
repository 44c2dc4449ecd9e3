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
