"""Ticket list filters (django-filter). Visibility is applied before any filter runs."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q

from hotline import search
from hotline.choices import ACTIVE_ASSIGNMENT_STATUSES, Priority, RequestType, TicketStatus, UnitKind
from hotline.models import Assignment, Ticket, Unit
from hotline.phones import PhoneError, normalize_phone
from hotline.selectors import local_day_start


class StrictFilterForm(forms.Form):
    """A filter that is given must mean something.

    django-filter reads an empty or unreadable enum, date or boolean as "no filter", so
    `?priority=` or `?is_active=null` silently returned everything, which an integration would take
    for a filtered answer (found by schemathesis). Free-text filters may still be empty.
    """

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) or name not in self.data:
                continue
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)]
            if any(str(v).strip() == "" for v in values):
                self.add_error(name, "筛选条件不能为空；不筛选时请不要传这个参数。")
        return cleaned


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is an error rather than "no filter"."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise ValidationError("请填写 true 或 false。", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UnitFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=UnitKind.choices, label="单位类型")
    is_active = StrictBooleanFilter(label="启用")

    class Meta:
        model = Unit
        fields: list[str] = []
        form = StrictFilterForm


class TicketFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(field_name="number", lookup_expr="startswith", label="工单编号")
    phone = django_filters.CharFilter(method="filter_phone", label="联系电话")
    # distinct=False: a status is a column of the ticket, so no row can repeat, and the SELECT
    # DISTINCT django-filter adds by default made PostgreSQL sort every matching ticket's full
    # row before the page could be cut (77 ms instead of under 1 ms on 1,000,000 tickets).
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices, label="状态", distinct=False)
    request_type = django_filters.ChoiceFilter(choices=RequestType.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    unit = django_filters.CharFilter(method="filter_unit", label="承办单位编码")
    category = django_filters.CharFilter(method="filter_category", label="分类编码（含下级）")
    district = django_filters.CharFilter(field_name="district__code")
    street = django_filters.CharFilter(field_name="street__code")
    created_after = django_filters.DateFilter(method="filter_created_after")
    created_before = django_filters.DateFilter(method="filter_created_before")
    q = django_filters.CharFilter(method="filter_text", label="关键词")

    class Meta:
        model = Ticket
        fields: list[str] = []
        form = StrictFilterForm

    @property
    def qs(self):
        # A list row never shows the search words (about 1 KB of text per ticket): not fetched.
        return super().qs.defer("search_vector")

    def filter_phone(self, qs, name, value):
        try:
            phone = normalize_phone(value)
        except PhoneError:
            return qs.none()
        qs = qs.filter(caller_phone=phone)
        if not self.request.user.is_hub:
            # A unit must not learn which confidential tickets a number made (GB/T 33358).
            qs = qs.exclude(confidential=True)
        return qs

    def filter_unit(self, qs, name, value):
        return qs.filter(
            Q(lead_unit__code=value)
            | Exists(
                Assignment.objects.filter(
                    ticket=OuterRef("pk"), unit__code=value, status__in=ACTIVE_ASSIGNMENT_STATUSES
                )
            )
        )

    def filter_category(self, qs, name, value):
        return qs.filter(Q(category__code=value) | Q(category__parent__code=value))

    # Local day bounds on created_at itself (created_at__date would cast every row and miss the index).
    def filter_created_after(self, qs, name, value):
        return qs.filter(created_at__gte=local_day_start(value))

    def filter_created_before(self, qs, name, value):
        return qs.filter(created_at__lt=local_day_start(value + dt.timedelta(days=1)))

    def filter_text(self, qs, name, value):
        # jieba words in a GIN-indexed tsvector (hotline/search.py), not a substring scan of every ticket.
        return search.filter_keyword(qs, value)
