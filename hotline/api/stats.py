"""Score and dashboard endpoints (JSON over the rollups), their CSV/Excel exports, and exemptions."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from hotline import services
from hotline.api.views import ERROR_RESPONSES, HubOnly
from hotline.choices import AccessAction, ExemptionReason, RequestStatus, UnitKind
from hotline.errors import InvalidInput, NotFound
from hotline.exports import export_format, table_response
from hotline.models import Exemption
from hotline.scores import RANKED_GROUPS
from hotline.selectors import tickets_visible_to
from hotline.services.privacy import access_log_record, caller_view, sees_full_pii
from hotline.stats import FIGURE_LABELS, Period, Stats, figure_table, scoped_unit


def errors(*codes: int) -> dict:
    return {code: ERROR_RESPONSES[code] for code in codes}


PERIOD_PARAMS = [
    OpenApiParameter("month", str, description="月份 YYYY-MM（默认本月）", pattern=r"^20\d\d-(0[1-9]|1[0-2])$"),
    OpenApiParameter("year", str, description="年份 YYYY（给出时按全年统计）", pattern=r"^20\d\d$"),
]
UNIT_PARAM = OpenApiParameter("unit", int, description="单位ID：区为其下属单位合计（单位用户默认本单位）")
# Not "format": DRF reserves that query parameter for renderer negotiation.
FORMAT_PARAM = OpenApiParameter("filetype", str, enum=["csv", "xlsx"], description="导出格式（默认csv）")
FIGURE = OpenApiResponse(OpenApiTypes.OBJECT, description="统计数据（来自汇总表）")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_responses(*codes: int) -> dict:
    """A download: CSV (UTF-8 with BOM) or Excel, as ``filetype`` asks; errors stay JSON."""
    return {
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV文件（UTF-8，带BOM）"),
        (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="Excel文件"),
        **{(code, "application/json"): ERROR_RESPONSES[code] for code in codes},
    }


def _stats(request, *, unit_allowed: bool = True) -> Stats:
    q = request.query_params
    period = Period.parse(q.get("month"), q.get("year"))
    unit = scoped_unit(request.user, q.get("unit") if unit_allowed else None)
    return Stats(period, unit)


def _payload(stats: Stats, **data) -> dict:
    return {
        "period": {"kind": stats.period.kind, "key": stats.period.key, "label": stats.period.label},
        "unit": {"id": stats.unit.pk, "name": str(stats.unit), "kind": stats.unit.kind} if stats.unit else None,
        **data,
    }


def _figure_export(name: str, *, hub_only: bool):
    @extend_schema(
        operation_id=f"stats_{name}_export",
        description=f"导出“{FIGURE_LABELS[name]}”为CSV或Excel（不含个人信息）。",
        parameters=[*PERIOD_PARAMS, *([] if hub_only else [UNIT_PARAM]), FORMAT_PARAM],
        responses=file_responses(400, 401, 403, 404),
    )
    @api_view(["GET"])
    @permission_classes([IsAuthenticated, HubOnly] if hub_only else [IsAuthenticated])
    def view(request):
        fmt = export_format(request.query_params.get("filetype"))
        stats = _stats(request, unit_allowed=not hub_only)
        headers, rows = figure_table(stats, name)
        scope = str(stats.unit) if stats.unit else "全市"
        return table_response(f"{FIGURE_LABELS[name]}-{scope}-{stats.period.key}", headers, rows, fmt)

    view.__name__ = f"stats_{name}_export"
    return view


def _figure(name: str, method: str, *, hub_only: bool = False, doc: str):
    @extend_schema(
        operation_id=f"stats_{name}",
        description=doc,
        parameters=[*PERIOD_PARAMS, *([] if hub_only else [UNIT_PARAM])],
        responses={200: FIGURE, **errors(400, 401, 403, 404)},
    )
    @api_view(["GET"])
    @permission_classes([IsAuthenticated, HubOnly] if hub_only else [IsAuthenticated])
    def view(request):
        stats = _stats(request, unit_allowed=not hub_only)
        return Response(_payload(stats, data=getattr(stats, method)()))

    view.__name__ = f"stats_{name}"
    return view


summary = _figure("summary", "summary", doc="三率、综合得分、派单量、按时反馈率、超期与重办数。")
volume = _figure("volume", "volume_trend", doc="受理（或派单）量趋势：月视图按日，年视图按月。")
rates = _figure("rates", "rates_trend", doc="近12个月的响应率、解决率、满意率和综合得分。")
categories = _figure("categories", "top_categories", doc="诉求量最多的分类。")
heatmap = _figure("heatmap", "heatmap", doc="星期×小时的来电热力图。")
overdue = _figure("overdue", "overdue_by_unit", doc="超期最多的承办单位。")
districts = _figure("districts", "district_table", hub_only=True, doc="各区（含下属单位）的考核汇总。")
problems = _figure("problems", "problems", hub_only=True, doc="每月一题候选：增长最快的分类×街道及其高频词。")

HUB_ONLY_FIGURES = {"districts", "problems"}
EXPORTS = {name: _figure_export(name, hub_only=name in HUB_ONLY_FIGURES) for name in FIGURE_LABELS}


def _group(request) -> str:
    group = request.query_params.get("group", UnitKind.STREET)
    if group not in RANKED_GROUPS:
        raise InvalidInput.field("group", "排名分组只能是street、district、bureau或enterprise。")
    return group


GROUP_PARAM = OpenApiParameter("group", str, enum=list(RANKED_GROUPS), description="同类单位分组（默认街道乡镇）")
RANKING_HEADERS = [
    "名次",
    "单位",
    "类型",
    "有效回访量",
    "派单量",
    "响应率%",
    "解决率%",
    "满意率%",
    "综合得分",
    "按时反馈率%",
    "超期",
    "重办",
    "免责",
]


def _ranking_rows(table):
    for r in table:
        yield [
            r["rank"] if r["ranked"] else "样本不足",
            r["name"],
            r["kind"],
            r["rated"],
            r["volume"],
            r["response_rate"],
            r["resolution_rate"],
            r["satisfaction_rate"],
            r["composite"],
            r["on_time_rate"],
            r["overdue"],
            r["reopened"],
            r["exempted"],
        ]


@extend_schema(
    description="同类单位月度排名：有效回访量达到最低要求的单位按综合得分排名，其余列在后面并注明样本不足。",
    parameters=[*PERIOD_PARAMS, GROUP_PARAM],
    responses={200: FIGURE, **errors(400, 401)},
)
@api_view(["GET"])
def rankings(request):
    stats = _stats(request, unit_allowed=False)
    group = _group(request)
    return Response(_payload(stats, group=group, data=stats.ranking_table(group)))


@extend_schema(
    operation_id="stats_rankings_export",
    parameters=[*PERIOD_PARAMS, GROUP_PARAM, FORMAT_PARAM],
    responses=file_responses(400, 401),
)
@api_view(["GET"])
def rankings_export(request):
    stats = _stats(request, unit_allowed=False)
    group = _group(request)
    fmt = export_format(request.query_params.get("filetype"))
    table = stats.ranking_table(group)
    name = f"排名-{UnitKind(group).label}-{stats.period.key}"
    return table_response(name, RANKING_HEADERS, _ranking_rows(table), fmt)


@extend_schema(
    description="单位考核卡：得分、同类排名、近12个月趋势、待跟进差评和免责申请。",
    parameters=[*PERIOD_PARAMS],
    responses={200: FIGURE, **errors(400, 401, 404)},
)
@api_view(["GET"])
def unit_card(request, pk: int):
    q = request.query_params
    stats = Stats(Period.parse(q.get("month"), q.get("year")), scoped_unit(request.user, pk))
    bad = list(stats.bad_ratings())
    return Response(
        _payload(
            stats,
            summary=stats.summary(),
            rank=stats.unit_rank(),
            trend=stats.rates_trend(),
            bad_ratings=[_bad_rating(c) for c in bad],
            exemptions=[_exemption(e) for e in stats.exemptions()],
        )
    )


def _bad_rating(callback) -> dict:
    t = callback.ticket
    return {
        "ticket": t.pk,
        "number": t.number,
        "title": t.title,
        "status": t.status,
        "status_label": t.get_status_display(),
        "rated_at": callback.created_at,
        "contacted": callback.contacted,
        "resolved": callback.resolved,
        "satisfaction": callback.get_satisfaction_display(),
        "comment": callback.comment,
    }


def _exemption(e: Exemption) -> dict:
    return {
        "id": e.pk,
        "ticket": e.ticket_id,
        "number": e.ticket.number,
        "title": e.ticket.title,
        "reason_kind": e.reason_kind,
        "reason_kind_label": e.get_reason_kind_display(),
        "reason": e.reason,
        "status": e.status,
        "status_label": e.get_status_display(),
        "requested_at": e.requested_at,
        "decided_at": e.decided_at,
        "decision_reason": e.decision_reason,
    }


BAD_HEADERS = [
    "工单编号",
    "标题",
    "诉求人",
    "联系电话",
    "状态",
    "回访时间",
    "是否联系",
    "是否解决",
    "满意度",
    "评价意见",
]


def _yes_no(value) -> str:
    return {True: "是", False: "否"}.get(value, "")


@extend_schema(
    operation_id="stats_bad_ratings_export",
    description="导出单位的差评清单。个人信息按角色脱敏，每次导出记入访问日志。",
    parameters=[*PERIOD_PARAMS, FORMAT_PARAM],
    responses=file_responses(400, 401, 404),
)
@api_view(["GET"])
def bad_ratings_export(request, pk: int):
    q = request.query_params
    fmt = export_format(q.get("filetype"))
    stats = Stats(Period.parse(q.get("month"), q.get("year")), scoped_unit(request.user, pk))
    rows = []
    for c in stats.bad_ratings(limit=5000):
        caller = caller_view(request.user, c.ticket)
        rows.append(
            [
                c.ticket.number,
                c.ticket.title,
                caller.name,
                caller.phone,
                c.ticket.get_status_display(),
                c.created_at.strftime("%Y-%m-%d %H:%M"),
                _yes_no(c.contacted),
                _yes_no(c.resolved),
                c.get_satisfaction_display(),
                c.comment,
            ]
        )
    access_log_record(
        user=request.user,
        action=AccessAction.EXPORT,
        masked=not sees_full_pii(request.user),
        query=f"差评清单 unit={stats.unit.pk} {stats.period.key} {fmt}",
        row_count=len(rows),
        channel="api" if request.auth else "web",
        request=request,
    )
    return table_response(f"差评清单-{stats.unit}-{stats.period.key}", BAD_HEADERS, rows, fmt)


# --- exemptions ------------------------------------------------------------------------------------------


class ExemptionRequestSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(help_text="工单ID")
    reason_kind = serializers.ChoiceField(choices=ExemptionReason.choices)
    reason = serializers.CharField(max_length=2000, help_text="申请理由")


class ExemptionDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="审核意见")


class ExemptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ticket = serializers.IntegerField(source="ticket_id")
    number = serializers.CharField(source="ticket.number")
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit")
    reason_kind = serializers.ChoiceField(choices=ExemptionReason.choices)
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()


def exemptions_for(user):
    qs = Exemption.objects.select_related("ticket", "unit").order_by("-requested_at")
    if user.is_hub:
        return qs
    return qs.filter(unit_id=user.unit_id) if user.unit_id else qs.none()


@extend_schema(
    methods=["GET"],
    parameters=[OpenApiParameter("status", str, enum=list(RequestStatus.values))],
    responses={200: ExemptionSerializer(many=True), **errors(400, 401)},
)
@extend_schema(
    methods=["POST"],
    request=ExemptionRequestSerializer,
    responses={201: ExemptionSerializer, **errors(400, 401, 403, 404, 409)},
)
@api_view(["GET", "POST"])
def exemptions(request):
    """Units list and file their requests; supervisors see them all."""
    if request.method == "POST":
        data = ExemptionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = tickets_visible_to(request.user).filter(pk=data.validated_data["ticket"]).first()
        if ticket is None:
            raise NotFound()
        exemption = services.exemption_request(
            ticket=ticket,
            actor=request.user,
            reason_kind=data.validated_data["reason_kind"],
            reason=data.validated_data["reason"],
        )
        return Response(ExemptionSerializer(exemption).data, status=201)
    qs = exemptions_for(request.user)
    wanted = request.query_params.get("status")
    if wanted:
        if wanted not in RequestStatus.values:
            raise InvalidInput.field("status", "状态只能是pending、approved、rejected或cancelled。")
        qs = qs.filter(status=wanted)
    return Response(ExemptionSerializer(qs[:500], many=True).data)


def _decide(request, pk: int, approve: bool):
    data = ExemptionDecisionSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    if not exemptions_for(request.user).filter(pk=pk).exists():
        raise NotFound("免责申请不存在。")
    exemption = services.exemption_decide(
        exemption=pk, actor=request.user, approve=approve, reason=data.validated_data["reason"]
    )
    return Response(ExemptionSerializer(exemption).data)


@extend_schema(
    request=ExemptionDecisionSerializer, responses={200: ExemptionSerializer, **errors(400, 401, 403, 404, 409)}
)
@api_view(["POST"])
def exemption_approve(request, pk: int):
    return _decide(request, pk, True)


@extend_schema(
    request=ExemptionDecisionSerializer, responses={200: ExemptionSerializer, **errors(400, 401, 403, 404, 409)}
)
@api_view(["POST"])
def exemption_reject(request, pk: int):
    return _decide(request, pk, False)
