"""API shapes. Personal data goes out only through caller_view, so masking is the same as in the UI."""

from __future__ import annotations

import copy

from rest_framework import serializers

from hotline.choices import Channel, HandlingResult, Priority, RequestType, Satisfaction
from hotline.models import Assignment, Category, Clock, Ticket, TicketEvent, TicketRequest, Unit
from hotline.phones import mask_phone
from routing.models import Place


class BuiltOnce:
    # ModelSerializer works its fields out of the model for every instance it serializes (field
    # classes, labels, choices, validators): a good part of rendering a ticket's detail. They depend
    # on the class alone, so each class builds them once and every instance gets a deep copy, which
    # is what DRF itself does with declared fields. (A comment, not a docstring: drf-spectacular
    # would publish a docstring as the description of every serializer without one of its own.)

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")  # this class's own, never a parent's
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return copy.deepcopy(built)


class UnitSerializer(BuiltOnce, serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "short_name", "kind", "parent", "is_active"]


class CategorySerializer(BuiltOnce, serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = ["id", "code", "name", "parent", "scope", "is_active"]


class PlaceField(serializers.SlugRelatedField):
    def __init__(self, level: str, **kwargs):
        super().__init__(
            slug_field="code", queryset=Place.objects.filter(level=level), required=False, allow_null=True, **kwargs
        )


class TicketListSerializer(BuiltOnce, serializers.ModelSerializer):
    """List rows never carry personal data in full, for any role."""

    caller_phone = serializers.SerializerMethodField()
    category = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    lead_unit = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    district = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    street = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "status",
            "request_type",
            "priority",
            "channel",
            "category",
            "title",
            "caller_phone",
            "district",
            "street",
            "lead_unit",
            "confidential",
            "supervise_level",
            "repeat_count",
            "created_at",
            "replied_at",
            "closed_at",
        ]

    def get_caller_phone(self, obj: Ticket) -> str:
        return "保密" if obj.confidential and not self.context["request"].user.is_hub else mask_phone(obj.caller_phone)


class ClockSerializer(BuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Clock
        fields = [
            "kind",
            "state",
            "started_at",
            "warn_at",
            "due_at",
            "stopped_at",
            "limit_value",
            "limit_unit",
            "calendar_estimated",
        ]


class AssignmentSerializer(BuiltOnce, serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    clocks = ClockSerializer(many=True, read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "unit",
            "role",
            "status",
            "dispatched_at",
            "signed_at",
            "contacted_at",
            "replied_at",
            "reply_result",
            "reply_text",
            "reply_contacted",
            "extended_days",
            "ended_at",
            "clocks",
        ]


class RequestSerializer(BuiltOnce, serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(source="assignment.unit", slug_field="code", read_only=True, allow_null=True)
    suggested_unit = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = TicketRequest
        fields = [
            "id",
            "kind",
            "status",
            "unit",
            "reason",
            "requested_days",
            "suggested_unit",
            "requested_at",
            "decided_at",
            "decision_reason",
        ]


class EventSerializer(BuiltOnce, serializers.ModelSerializer):
    # Null for system events (the router, the deadline sweep) and events without a unit.
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    actor_unit = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = TicketEvent
        fields = [
            "id",
            "kind",
            "actor",
            "actor_unit",
            "unit",
            "from_status",
            "to_status",
            "reason",
            "payload",
            "created_at",
        ]


class CallerSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    masked = serializers.BooleanField()


class TicketDetailSerializer(TicketListSerializer):
    caller = serializers.SerializerMethodField()
    assignments = AssignmentSerializer(many=True, read_only=True)
    requests = RequestSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)
    master = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    community = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "content",
            "address",
            "community",
            "caller",
            "answer_text",
            "close_reason",
            "master",
            "dispatched_at",
            "signed_at",
            "assignments",
            "requests",
            "events",
        ]

    def get_caller(self, obj: Ticket) -> dict:
        view = self.context["caller_view"]
        return {"name": view.name, "phone": view.phone, "masked": view.masked}


class BoundedCharField(serializers.CharField):
    """A CharField whose max_length counts what the client sent, as the published schema says.

    DRF trims whitespace before checking max_length, so "    " + 100 characters passed a field
    documented as maxLength 100 (found by schemathesis). Clients generated from the schema must be
    able to trust it, so the raw input is measured.
    """

    def run_validation(self, data=serializers.empty):
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)


class TicketCreateSerializer(serializers.Serializer):
    title = BoundedCharField(max_length=100, allow_blank=False)
    content = serializers.CharField(allow_blank=False)
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.GENERAL)
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.filter(is_active=True), required=False, allow_null=True
    )
    caller_name = BoundedCharField(max_length=50, required=False, allow_blank=True, default="")
    caller_phone = BoundedCharField(max_length=40, required=False, allow_blank=True, default="")
    caller_id = BoundedCharField(max_length=40, required=False, allow_blank=True, default="")
    address = BoundedCharField(max_length=200, required=False, allow_blank=True, default="")
    district = PlaceField("district")
    street = PlaceField("street")
    community = PlaceField("community")
    confidential = serializers.BooleanField(default=False)
    answer = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="直接答复内容：填写则受理即办结。"
    )


# --- transition inputs ----------------------------------------------------------------------


class ReasonSerializer(serializers.Serializer):
    reason = BoundedCharField(max_length=2000, allow_blank=False)


class OptionalReasonSerializer(serializers.Serializer):
    reason = BoundedCharField(max_length=2000, required=False, allow_blank=True, default="")


class AnswerSerializer(serializers.Serializer):
    answer = BoundedCharField(max_length=5000, allow_blank=False)


def _unit_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=Unit.objects.filter(is_active=True), **kwargs)


class DispatchSerializer(serializers.Serializer):
    lead_unit = _unit_field()
    assist_units = _unit_field(many=True, required=False, default=list)
    note = BoundedCharField(max_length=2000, required=False, allow_blank=True, default="")
    category = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Category.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="修正分类（编码）；与智能分拨不同的分类和单位会记为训练样本。",
    )


class SubdispatchSerializer(serializers.Serializer):
    unit = _unit_field()
    note = BoundedCharField(max_length=2000, required=False, allow_blank=True, default="")


class ReplySerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=HandlingResult.choices)
    text = BoundedCharField(max_length=5000)
    contacted = serializers.BooleanField()


class RequestReturnSerializer(ReasonSerializer):
    suggested_unit = _unit_field(required=False, allow_null=True, default=None)


class DecideReturnSerializer(ReasonSerializer):
    request = serializers.IntegerField(required=False, allow_null=True, default=None)
    new_unit = _unit_field(required=False, allow_null=True, default=None)
    assist_units = _unit_field(many=True, required=False, default=list)


class RequestExtensionSerializer(ReasonSerializer):
    days = serializers.IntegerField(min_value=1, max_value=60)


class DecideExtensionSerializer(ReasonSerializer):
    request = serializers.IntegerField(required=False, allow_null=True, default=None)
    days = serializers.IntegerField(min_value=1, max_value=60, required=False, allow_null=True, default=None)


class CallbackSerializer(serializers.Serializer):
    contacted = serializers.BooleanField()
    resolved = serializers.BooleanField()
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices)
    comment = BoundedCharField(max_length=1000, required=False, allow_blank=True, default="")


class MergeSerializer(serializers.Serializer):
    master = BoundedCharField(max_length=16, help_text="主工单编号")
    reason = BoundedCharField(max_length=2000, required=False, allow_blank=True, default="")


class SuperviseSerializer(ReasonSerializer):
    level = serializers.IntegerField(min_value=0, max_value=3)


class ConfidentialSerializer(ReasonSerializer):
    confidential = serializers.BooleanField()


class RevealSerializer(ReasonSerializer):
    pass


class TokenRequestSerializer(serializers.Serializer):
    username = BoundedCharField(max_length=150)
    password = BoundedCharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class RoutingDecisionSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(source="model.version", allow_null=True, default=None)
    category_source = serializers.CharField()
    predictions = serializers.JSONField()
    explanation = serializers.JSONField()
    place = serializers.JSONField()
    rule = serializers.CharField(source="rule.name", allow_null=True, default=None)
    suggestions = serializers.JSONField()
    confidence = serializers.FloatField()
    threshold = serializers.FloatField()
    auto_dispatched = serializers.BooleanField()
    hold_reason = serializers.CharField()
    elapsed_ms = serializers.FloatField()
    created_at = serializers.DateTimeField()


class KnowledgeHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="article.pk")
    title = serializers.CharField(source="article.title")
    answer = serializers.CharField(source="article.answer")
    category = serializers.CharField(source="article.category.code", allow_null=True, default=None)
    score = serializers.FloatField()
    matched = serializers.ListField(child=serializers.CharField())


class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="ticket.pk")
    number = serializers.CharField(source="ticket.number")
    title = serializers.CharField(source="ticket.title")
    status = serializers.CharField(source="ticket.status")
    reason = serializers.CharField()
    similarity = serializers.FloatField()
    same_caller = serializers.BooleanField()


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (hotline.api.errors), documented so clients can rely on it."""

    detail = serializers.CharField(help_text="给人看的说明")
    code = serializers.CharField(help_text="机器可读的错误码，例如 invalid、not_found、illegal_transition、locked_out")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="字段错误：{字段: [说明, …]}（仅 400）",
    )
