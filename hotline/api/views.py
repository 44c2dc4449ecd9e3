"""REST API: reference data, tickets, and one POST endpoint per transition.

Every transition endpoint validates its input with a serializer (400 with field errors),
then calls the same service the web UI calls (409 for an illegal move, 404 for a ticket
the caller may not see).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import authenticate
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import NotFound as NotFoundError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hotline import refcache, selectors, services
from hotline.api import serializers as s
from hotline.api.filters import TicketFilter, UnitFilter
from hotline.api.throttles import FailOpenScopedRateThrottle
from hotline.choices import AccessAction
from hotline.errors import InvalidInput, NotFound
from hotline.models import Category, Ticket, Unit, User
from hotline.services.privacy import access_log_record, ticket_view_logged
from routing.selectors import duplicates_for, knowledge_search
from routing.services import Created, latest_decision, ticket_create_routed, ticket_dispatch_with_feedback

# Every error the API can answer, each with the one error body (hotline.api.errors), so the
# published schema lists every status code a client will meet (checked by schemathesis).
ERROR_RESPONSES = {
    400: OpenApiResponse(s.ErrorSerializer, description="输入有误：{detail, code, errors}"),
    401: OpenApiResponse(s.ErrorSerializer, description="未登录或令牌无效"),
    403: OpenApiResponse(s.ErrorSerializer, description="角色无权执行该操作"),
    404: OpenApiResponse(s.ErrorSerializer, description="不存在或无权查看"),
    409: OpenApiResponse(s.ErrorSerializer, description="当前状态不允许该操作，或已被他人处理"),
    429: OpenApiResponse(s.ErrorSerializer, description="登录失败次数过多或请求太频繁"),
}


def errors(*codes: int) -> dict:
    return {code: ERROR_RESPONSES[code] for code in codes}


class TokenView(APIView):
    """Exchange a username and password for an API token (integrations use `Authorization: Token …`)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=s.TokenRequestSerializer,
        # 429: throttled, or the account is locked after repeated failures (django-axes).
        responses={200: s.TokenSerializer, **errors(400, 429)},
    )
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # django-axes counts this attempt: repeated failures lock the account like the login page does.
        user = authenticate(
            request._request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        if user is None or not user.is_active:
            raise InvalidInput("用户名或密码错误。", code="invalid_credentials")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


@extend_schema_view(
    list=extend_schema(responses={200: s.UnitSerializer(many=True), **errors(400, 401)}),
    retrieve=extend_schema(responses={200: s.UnitSerializer, **errors(401, 404)}),
)
class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    not_found_message = "单位不存在。"
    serializer_class = s.UnitSerializer
    queryset = Unit.objects.select_related("parent").order_by("kind", "code")
    filterset_class = UnitFilter
    pagination_class = None


@extend_schema_view(
    list=extend_schema(responses={200: s.CategorySerializer(many=True), **errors(401)}),
    retrieve=extend_schema(responses={200: s.CategorySerializer, **errors(401, 404)}),
)
class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    not_found_message = "分类不存在。"
    serializer_class = s.CategorySerializer
    queryset = Category.objects.select_related("parent").order_by("code")
    pagination_class = None


class TicketCursorPagination(CursorPagination):
    """Keyset pagination on id: no COUNT(*), stable under inserts."""

    ordering = "-id"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    # DRF answers a tampered cursor with 404 and ignores a malformed page_size; both are the
    # client's input errors, so they get the API's 400 with the field named (found by schemathesis).
    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFoundError as exc:
            raise InvalidInput.field("cursor", "分页游标无效，请从第一页重新开始。") from exc

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise InvalidInput.field("page_size", f"每页条数须为正整数（最多{self.max_page_size}）。")
        return min(size, self.max_page_size)


@dataclass(frozen=True)
class Transition:
    serializer: type[serializers.Serializer]
    call: Callable  # (ticket, user, validated data) -> None
    summary: str


def _master(user, number: str) -> Ticket:
    try:
        return selectors.ticket_get_by_number(user, number)
    except NotFound as exc:
        raise InvalidInput.field("master", f"找不到工单 {number}。") from exc


TRANSITIONS: dict[str, Transition] = {
    "answer": Transition(
        s.AnswerSerializer,
        lambda t, u, d: services.ticket_answer(ticket=t, actor=u, answer=d["answer"]),
        "直接答复并办结",
    ),
    "dispatch": Transition(
        s.DispatchSerializer,
        lambda t, u, d: ticket_dispatch_with_feedback(
            ticket=t,
            actor=u,
            lead_unit=d["lead_unit"],
            assist_units=d["assist_units"],
            note=d["note"],
            category=d["category"],
        ),
        "派单",
    ),
    "subdispatch": Transition(
        s.SubdispatchSerializer,
        lambda t, u, d: services.ticket_subdispatch(ticket=t, actor=u, unit=d["unit"], note=d["note"]),
        "下派到下级单位",
    ),
    "sign": Transition(s.OptionalReasonSerializer, lambda t, u, d: services.ticket_sign(ticket=t, actor=u), "签收"),
    "contact": Transition(
        s.OptionalReasonSerializer,
        lambda t, u, d: services.ticket_contact(ticket=t, actor=u, note=d["reason"]),
        "登记已联系诉求人",
    ),
    "reply": Transition(
        s.ReplySerializer,
        lambda t, u, d: services.ticket_reply(
            ticket=t, actor=u, result=d["result"], text=d["text"], contacted=d["contacted"]
        ),
        "反馈办理结果",
    ),
    "request-return": Transition(
        s.RequestReturnSerializer,
        lambda t, u, d: services.ticket_request_return(
            ticket=t, actor=u, reason=d["reason"], suggested_unit=d["suggested_unit"]
        ),
        "申请退单",
    ),
    "approve-return": Transition(
        s.DecideReturnSerializer,
        lambda t, u, d: services.ticket_approve_return(
            ticket=t,
            actor=u,
            reason=d["reason"],
            new_unit=d["new_unit"],
            assist_units=d["assist_units"],
            request_id=d["request"],
        ),
        "同意退单（可同时改派）",
    ),
    "reject-return": Transition(
        s.DecideReturnSerializer,
        lambda t, u, d: services.ticket_reject_return(ticket=t, actor=u, reason=d["reason"], request_id=d["request"]),
        "驳回退单",
    ),
    "request-extension": Transition(
        s.RequestExtensionSerializer,
        lambda t, u, d: services.ticket_request_extension(ticket=t, actor=u, days=d["days"], reason=d["reason"]),
        "申请延期",
    ),
    "approve-extension": Transition(
        s.DecideExtensionSerializer,
        lambda t, u, d: services.ticket_approve_extension(
            ticket=t, actor=u, reason=d["reason"], request_id=d["request"], days=d["days"]
        ),
        "同意延期",
    ),
    "reject-extension": Transition(
        s.DecideExtensionSerializer,
        lambda t, u, d: services.ticket_reject_extension(
            ticket=t, actor=u, reason=d["reason"], request_id=d["request"]
        ),
        "驳回延期",
    ),
    "callback": Transition(
        s.CallbackSerializer,
        lambda t, u, d: services.ticket_record_callback(
            ticket=t,
            actor=u,
            contacted=d["contacted"],
            resolved=d["resolved"],
            satisfaction=d["satisfaction"],
            comment=d["comment"],
        ),
        "登记电话回访",
    ),
    "close": Transition(
        s.OptionalReasonSerializer, lambda t, u, d: services.ticket_close(ticket=t, actor=u, reason=d["reason"]), "办结"
    ),
    "reopen": Transition(
        s.ReasonSerializer,
        lambda t, u, d: services.ticket_reopen(ticket=t, actor=u, reason=d["reason"]),
        "重办（退回原承办单位）",
    ),
    "merge": Transition(
        s.MergeSerializer,
        lambda t, u, d: services.ticket_merge(ticket=t, master=_master(u, d["master"]), actor=u, reason=d["reason"]),
        "合并到主工单",
    ),
    "request-termination": Transition(
        s.ReasonSerializer,
        lambda t, u, d: services.ticket_request_termination(ticket=t, actor=u, reason=d["reason"]),
        "申请终止",
    ),
    "approve-termination": Transition(
        s.ReasonSerializer,
        lambda t, u, d: services.ticket_approve_termination(ticket=t, actor=u, reason=d["reason"]),
        "同意终止",
    ),
    "reject-termination": Transition(
        s.ReasonSerializer,
        lambda t, u, d: services.ticket_reject_termination(ticket=t, actor=u, reason=d["reason"]),
        "驳回终止",
    ),
    "supervise": Transition(
        s.SuperviseSerializer,
        lambda t, u, d: services.ticket_supervise(ticket=t, actor=u, level=d["level"], reason=d["reason"]),
        "设置督办级别（0为取消）",
    ),
    "confidential": Transition(
        s.ConfidentialSerializer,
        lambda t, u, d: services.ticket_set_confidential(
            ticket=t, actor=u, confidential=d["confidential"], reason=d["reason"]
        ),
        "设置保密",
    ),
}


@extend_schema_view(
    list=extend_schema(responses={200: s.TicketListSerializer(many=True), **errors(400, 401)}),
    retrieve=extend_schema(responses={200: s.TicketDetailSerializer, **errors(401, 404)}),
)
class TicketViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    pagination_class = TicketCursorPagination
    filterset_class = TicketFilter

    queryset = Ticket.objects.none()  # the real queryset is per user; this one only types the schema

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        qs = selectors.tickets_visible_to(self.request.user)
        if self.action == "list":
            return qs.select_related("category", "lead_unit", "district", "street")
        return qs.select_related("category", "lead_unit", "district", "street", "community", "master")

    def get_serializer_class(self):
        if self.action == "list":
            return s.TicketListSerializer
        if self.action == "create":
            return s.TicketCreateSerializer
        return s.TicketDetailSerializer

    def get_object(self) -> Ticket:
        return selectors.ticket_get(self.request.user, self.kwargs["pk"])

    def _detail(self, ticket: Ticket, *, code: int = status.HTTP_200_OK) -> Response:
        ticket = Ticket.objects.prefetch_related(
            "assignments__unit",
            "assignments__clocks",
            "requests__assignment__unit",
            "requests__suggested_unit",
            "events__actor",
            "events__actor_unit",
            "events__unit",
        ).get(pk=ticket.pk)
        view = ticket_view_logged(user=self.request.user, ticket=ticket, channel="api", request=self.request)
        data = s.TicketDetailSerializer(ticket, context={"request": self.request, "caller_view": view}).data
        return Response(data, status=code)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if request.query_params.get("phone"):
            access_log_record(
                user=request.user,
                action=AccessAction.SEARCH,
                channel="api",
                request=request,
                query=f"phone={request.query_params['phone'][:3]}****",
                row_count=len(response.data.get("results", [])),
            )
        return response

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(request=s.TicketCreateSerializer, responses={201: s.TicketDetailSerializer, **errors(400, 401, 403)})
    def create(self, request, *args, **kwargs):
        # Route with the reference data as it stands now, whatever another process just edited.
        refcache.sync()
        data = s.TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user
        if user.unit_id is not None and not User.unit.is_cached(user):
            # The access log names the viewer's unit: take the cached row rather than read it.
            user.unit = refcache.units.get(user.unit_id) or user.unit
        views: list = []

        def log_view(created: Created) -> None:
            # In the create's own transaction: one commit (one WAL flush) for the whole request.
            if created.written_here:
                views.append(ticket_view_logged(user=user, ticket=created.ticket, channel="api", request=request))

        # Classified, located and auto-dispatched when confident; routing never fails the create.
        created = ticket_create_routed(actor=user, also_write=log_view, **data.validated_data)
        if not created.written_here:  # plain intake (direct answer, or routing failed): read it back
            return self._detail(created.ticket, code=status.HTTP_201_CREATED)
        return self._created(created, views[-1])  # an earlier entry belongs to a rolled-back attempt

    def _created(self, created: Created, view) -> Response:
        """The new ticket's detail from the rows this request wrote, exactly as a read-back would show
        them (tests/perf pins this against GET /api/tickets/{id}/), without reading them back."""
        ticket = created.ticket
        _prefetched(ticket, "assignments", created.assignments)
        _prefetched(ticket, "requests", [])  # a ticket being created has no pending requests
        _prefetched(ticket, "events", created.events)
        for assignment in created.assignments:
            _prefetched(assignment, "clocks", [c for c in created.clocks if c.assignment is assignment])
        data = s.TicketDetailSerializer(ticket, context={"request": self.request, "caller_view": view}).data
        return Response(data, status=status.HTTP_201_CREATED)

    def _transition(self, request, name: str) -> Response:
        spec = TRANSITIONS[name]
        ticket = self.get_object()
        data = spec.serializer(data=request.data)
        data.is_valid(raise_exception=True)
        spec.call(ticket, request.user, data.validated_data)
        return self._detail(ticket)

    @extend_schema(
        request=s.RevealSerializer,
        responses={
            200: inline_serializer("Revealed", {"phone": serializers.CharField()}),
            **errors(400, 401, 403, 404, 409),
        },
    )
    @action(detail=True, methods=["post"], url_path="reveal-phone")
    def reveal_phone(self, request, pk=None, format=None):  # format: the router's ".json" suffix routes
        """显示完整号码（承办单位，需填写理由，写入访问日志；保密工单不可）。"""
        ticket = self.get_object()
        data = s.RevealSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        view = services.ticket_reveal_phone(
            ticket=ticket, actor=request.user, reason=data.validated_data["reason"], channel="api", request=request
        )
        return Response({"phone": view.phone})


def _prefetched(instance, name: str, rows: list) -> None:
    """Make ``instance.<name>.all()`` return ``rows`` without a query, as prefetch_related leaves it
    after reading them (the manager's all() returns the cached queryset itself)."""
    cached = getattr(instance, name).all()  # lazy: nothing is read
    cached._result_cache = list(rows)
    cached._prefetch_done = True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = cached


class HubOnly(BasePermission):
    """Routing evidence, duplicates and the knowledge base are the hub's working tools."""

    message = "只有热线中心角色可以使用。"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_hub)


# Routed with <int:pk> (hotline/api/urls.py), which matches digits only: say so, so clients and the
# fuzzer do not send a negative id that never reaches this view (Django's HTML 404 would answer).
@extend_schema(
    parameters=[
        OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description="工单 ID")
    ],
    responses={200: s.RoutingDecisionSerializer, **errors(401, 403, 404)},
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HubOnly])
def ticket_routing(request, pk: int):
    """The latest routing decision: model version, keywords, place match, rule, suggestions, outcome."""
    ticket = selectors.ticket_get(request.user, pk)
    decision = latest_decision(ticket)
    if decision is None:
        raise NotFound("该工单还没有分拨记录。")
    return Response(s.RoutingDecisionSerializer(decision).data)


@extend_schema(
    parameters=[OpenApiParameter("q", str, required=True, description="检索词")],
    responses={200: s.KnowledgeHitSerializer(many=True), **errors(400, 401, 403)},
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HubOnly])
def knowledge(request):
    """Search the knowledge base by jieba tokens (for answering a consultation on the call)."""
    q = request.query_params.get("q", "").strip()
    if not q:
        raise InvalidInput.field("q", "请输入检索词。")
    if len(q) > 500:
        raise InvalidInput.field("q", "检索词不能超过500字。")
    return Response(s.KnowledgeHitSerializer(knowledge_search(q), many=True).data)


@extend_schema(
    parameters=[
        OpenApiParameter("phone", str),
        OpenApiParameter("street", str, description="街道编码"),
        OpenApiParameter("text", str),
    ],
    responses={200: s.DuplicateSerializer(many=True), **errors(400, 401, 403)},
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, HubOnly])
def duplicates(request):
    """Likely repeat calls: same caller within 30 days, or same street and similar text within 7 days."""
    from hotline.phones import PhoneError, normalize_phone
    from routing.models import Place

    params = request.query_params
    try:
        phone = normalize_phone(params.get("phone", ""))
    except PhoneError as exc:
        raise InvalidInput.field("phone", str(exc)) from exc
    street_id = None
    if params.get("street"):
        street_id = Place.objects.filter(code=params["street"]).values_list("pk", flat=True).first()
        if street_id is None:
            raise InvalidInput.field("street", f"没有编码为 {params['street']} 的街道。")
    text = params.get("text", "")[:5000]
    if not (phone or street_id):
        raise InvalidInput("请至少提供来电号码或街道。", fields={"phone": ["请提供号码或街道。"]})
    found = duplicates_for(request.user, phone=phone, street_id=street_id, text=text)
    if phone:
        access_log_record(
            user=request.user,
            action=AccessAction.SEARCH,
            channel="api",
            request=request,
            query=f"duplicates phone={phone[:3]}****",
            row_count=len(found),
        )
    return Response(s.DuplicateSerializer(found, many=True).data)


def _make_transition_endpoint(name: str, spec: Transition):
    # `format` comes from the router's suffix routes (/api/tickets/1/sign.json); without it
    # those answered 500 (found by the IDOR route walk in tests/security/test_idor.py).
    def endpoint(self, request, pk=None, format=None):
        return self._transition(request, name)

    # Prefixed: a bare "dispatch" would replace APIView.dispatch itself.
    endpoint.__name__ = f"transition_{name.replace('-', '_')}"
    endpoint.__doc__ = spec.summary
    endpoint = action(detail=True, methods=["post"], url_path=name, url_name=name)(endpoint)
    # After @action, not before: action() replaces the function's kwargs, where extend_schema keeps
    # its annotation; applied first, every transition was documented with the TicketDetail body as
    # its request and 200 as its only answer (found by schemathesis).
    return extend_schema(
        summary=spec.summary,
        request=spec.serializer,
        responses={200: s.TicketDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )(endpoint)


for _name, _spec in TRANSITIONS.items():
    _endpoint = _make_transition_endpoint(_name, _spec)
    setattr(TicketViewSet, _endpoint.__name__, _endpoint)
