"""Organisation: handling units and the people who work in them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from hotline.choices import HUB_ROLES, UNIT_ROLES, Role, UnitKind


class UnitQuerySet(models.QuerySet["Unit"]):
    def active(self) -> UnitQuerySet:
        return self.filter(is_active=True)

    def dispatchable(self) -> UnitQuerySet:
        """Units a dispatcher may pick: everything but the hub and communities (they get sub-dispatch)."""
        return self.active().exclude(kind__in=[UnitKind.HUB, UnitKind.COMMUNITY])


class Unit(models.Model):
    """A handling unit (承办单位): the hub, a district, a street, a community, a bureau or an enterprise."""

    code = models.SlugField("编码", max_length=80, unique=True)
    name = models.CharField("名称", max_length=100)
    short_name = models.CharField("简称", max_length=50, blank=True)
    kind = models.CharField("类型", max_length=12, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级单位", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    place = models.ForeignKey(
        "routing.Place",
        verbose_name="辖区",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="units",
        help_text="属地单位管辖的地名；委办局和企业为空。",
    )
    aliases = models.JSONField("别名", default=list, blank=True)
    is_active = models.BooleanField("启用", default=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = "承办单位"
        verbose_name_plural = "承办单位"
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.short_name or self.name

    @property
    def peer_group(self) -> str:
        return UnitKind.peer_group(self.kind)


class User(AbstractUser):
    """A person who logs in: a hub role (operator, dispatcher, …) or a unit's handler or manager."""

    role = models.CharField("角色", max_length=12, choices=Role.choices, default=Role.OPERATOR)
    unit = models.ForeignKey(
        Unit, verbose_name="所属单位", null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    display_name = models.CharField("姓名", max_length=50, blank=True)
    mobile = models.CharField("手机号", max_length=20, blank=True, help_text="用于超期升级等短信提醒（可选）。")

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            # A handler without a unit could see nothing and act on nothing; refuse it at the source.
            models.CheckConstraint(
                condition=~models.Q(role__in=sorted(UNIT_ROLES)) | models.Q(unit__isnull=False),
                name="unit_role_requires_unit",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_hub(self) -> bool:
        return self.role in HUB_ROLES

    @property
    def is_unit_staff(self) -> bool:
        return self.role in UNIT_ROLES

    def has_role(self, *roles: str) -> bool:
        return self.role in roles or (self.role == Role.ADMIN and self.is_superuser)
