"""HTML forms of the web UI.

Forms only parse what the browser sent into typed values. The rules (required reasons, text
limits, phone validity, which unit may take a ticket) live in the services, which report them
as field errors; the views copy those onto the form, so a rule has one home and one message.
"""

from __future__ import annotations

from itertools import groupby

from django import forms
from django.conf import settings
from django.forms.models import ModelChoiceIterator

from hotline import selectors
from hotline.choices import (
    AccessAction,
    Channel,
    HandlingResult,
    Priority,
    RequestKind,
    RequestStatus,
    RequestType,
    Satisfaction,
    TicketStatus,
    UnitKind,
)
from hotline.errors import NotFound
from hotline.models import Category, Ticket, TicketRequest, Unit, User
from hotline.phones import PhoneError, normalize_phone
from routing.models import KnowledgeArticle, Place, PlaceLevel
from routing.services import latest_decision

_KIND_ORDER = {kind: i for i, kind in enumerate(UnitKind.values)}

# --- grouped selects (<optgroup>) -------------------------------------------------------------


class GroupedIterator(ModelChoiceIterator):
    """Yields (group label, [choices]) so the Select widget renders <optgroup>s."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        objs = sorted(self.queryset, key=self.field.sort_key)
        for label, members in groupby(objs, key=self.field.group_label):
            yield (label, [self.choice(obj) for obj in members])


class _Grouped:
    iterator = GroupedIterator

    def __init__(self, *args, sort_key, group_label, **kwargs):
        self.sort_key = sort_key
        self.group_label = group_label
        super().__init__(*args, **kwargs)


class GroupedModelChoiceField(_Grouped, forms.ModelChoiceField):
    pass


class GroupedModelMultipleChoiceField(_Grouped, forms.ModelMultipleChoiceField):
    pass


def _unit_sort(unit: Unit):
    return (_KIND_ORDER.get(unit.kind, 99), unit.code)


def _unit_group(unit: Unit) -> str:
    return UnitKind(unit.kind).label if unit.kind in UnitKind.values else unit.kind


def unit_field(queryset=None, *, multiple: bool = False, **kwargs):
    """A unit select grouped by kind (区政府 / 街道 / 委办局 / 企业)."""
    cls = GroupedModelMultipleChoiceField if multiple else GroupedModelChoiceField
    if not multiple:
        kwargs.setdefault("empty_label", "— 请选择 —")
    qs = Unit.objects.dispatchable() if queryset is None else queryset
    return cls(qs, sort_key=_unit_sort, group_label=_unit_group, **kwargs)


def _category_sort(cat: Category):
    top = cat.parent if cat.parent_id else cat
    return (top.code, cat.parent_id is not None, cat.code)


def _category_group(cat: Category) -> str:
    return cat.parent.name if cat.parent_id else cat.name


class CategoryField(GroupedModelChoiceField):
    """Category select: one <optgroup> per top-level category (大类 → 小类)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("empty_label", "— 请选择分类 —")
        super().__init__(
            Category.objects.filter(is_active=True).select_related("parent"),
            sort_key=_category_sort,
            group_label=_category_group,
            **kwargs,
        )

    def label_from_instance(self, obj: Category) -> str:
        # A top-level category is selectable too, for calls that fit no sub-category.
        return obj.name if obj.parent_id else f"{obj.name}（未细分）"


def _textarea(rows: int = 3, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


def _reason(label: str = "理由", *, required_hint: bool = True, rows: int = 2) -> forms.CharField:
    # Not required here: the service checks it and says which reason is missing.
    attrs = {"required": True} if required_hint else {}
    return forms.CharField(label=label, required=False, widget=_textarea(rows, maxlength=2000, **attrs))


def _place_id(form: forms.Form, name: str) -> int | None:
    raw = form.data.get(form.add_prefix(name)) if form.is_bound else form.initial.get(name)
    if isinstance(raw, Place):
        return raw.pk
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def places_under(parent_id: int | None, level: str):
    if parent_id is None:
        return Place.objects.none()
    return Place.objects.filter(level=level, parent_id=parent_id).order_by("code")


# --- intake -------------------------------------------------------------------------------------


class IntakeForm(forms.Form):
    caller_phone = forms.CharField(
        label="来电号码",
        required=False,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "inputmode": "tel",
                "autocomplete": "off",
                "maxlength": 40,
                "placeholder": "手机号或带区号的固话",
            }
        ),
    )
    caller_name = forms.CharField(
        label="诉求人", required=False, widget=forms.TextInput(attrs={"maxlength": 50, "placeholder": "如：王女士"})
    )
    request_type = forms.ChoiceField(
        label="诉求类型",
        choices=RequestType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择诉求类型。"},
    )
    channel = forms.ChoiceField(label="来源渠道", choices=Channel.choices, initial=Channel.PHONE)
    priority = forms.ChoiceField(
        label="紧急程度", choices=Priority.choices, initial=Priority.GENERAL, widget=forms.RadioSelect
    )
    title = forms.CharField(
        label="标题",
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 100, "required": True, "placeholder": "一句话概括诉求"}),
    )
    content = forms.CharField(label="诉求内容", required=False, widget=_textarea(6, required=True))
    address = forms.CharField(label="地址", required=False, widget=forms.TextInput(attrs={"maxlength": 200}))
    district = forms.ModelChoiceField(
        label="区",
        required=False,
        empty_label="— 区 —",
        queryset=Place.objects.filter(level=PlaceLevel.DISTRICT).order_by("code"),
    )
    street = forms.ModelChoiceField(
        label="街道/乡镇",
        required=False,
        empty_label="— 街道/乡镇 —",
        queryset=Place.objects.none(),
        error_messages={"invalid_choice": "所选街道/乡镇不属于所选的区，请重新选择。"},
    )
    community = forms.ModelChoiceField(
        label="社区/村",
        required=False,
        empty_label="— 社区/村 —",
        queryset=Place.objects.none(),
        error_messages={"invalid_choice": "所选社区不属于所选街道/乡镇，请重新选择。"},
    )
    category = CategoryField(label="诉求分类", required=False)
    confidential = forms.BooleanField(label="保密办理（承办单位看不到诉求人身份）", required=False)
    answer = forms.CharField(label="直接答复内容", required=False, widget=_textarea(3))
    # The knowledge-base entry the answer was taken from (set by 采用此答复); only read when answering.
    knowledge_article = forms.CharField(required=False, widget=forms.HiddenInput)
    # A master ticket's number: sent by the 合并 button of the duplicates panel, never kept on re-render
    # (a sticky value would turn the next plain save into a merge).
    merge_into = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.article: KnowledgeArticle | None = None
        limit = settings.HOTLINE["TICKET_TEXT_MAX"]
        self.fields["content"].widget.attrs.update({"data-maxlength": limit, "maxlength": limit})
        # Only the chosen district's streets (and street's communities) are offered, as on screen.
        self.fields["street"].queryset = places_under(_place_id(self, "district"), PlaceLevel.STREET)
        self.fields["community"].queryset = places_under(_place_id(self, "street"), PlaceLevel.COMMUNITY)

    @property
    def wants_answer(self) -> bool:
        return self.data.get("submit") == "answer" and not self.wants_merge

    @property
    def wants_merge(self) -> bool:
        return bool((self.data.get("merge_into") or "").strip())

    def clean_merge_into(self) -> str:
        number = self.cleaned_data["merge_into"].strip()
        if number and not (number.isascii() and number.isdigit()):
            raise forms.ValidationError(f"主工单编号“{number}”无效：工单编号只含数字。")
        return number

    def clean(self):
        data = super().clean()
        if self.wants_answer and not (data.get("answer") or "").strip():
            self.add_error("answer", "直接答复办结需要填写答复内容。")
        raw = (data.get("knowledge_article") or "").strip()
        if raw:
            # Bounded so a forged id cannot overflow the integer column (a 500 instead of a form error).
            valid = raw.isascii() and raw.isdigit() and len(raw) <= 12
            self.article = KnowledgeArticle.objects.filter(pk=int(raw), is_active=True).first() if valid else None
            # Only a direct answer cites an article; an adopted-then-abandoned one must not block a save.
            if self.article is None and self.wants_answer:
                self.add_error("knowledge_article", "所采用的知识库条目不存在或已停用，请重新检索并采用。")
        return data


# --- ticket actions -------------------------------------------------------------------------------


class ActionForm(forms.Form):
    """A form for one workflow action on one ticket, built for the user who will submit it."""

    def __init__(self, *args, ticket: Ticket, user: User, fixed_request: TicketRequest | None = None, **kwargs):
        self.ticket = ticket
        self.user = user
        self.fixed_request = fixed_request
        super().__init__(*args, **kwargs)


class RequestChoiceMixin:
    """Picks which pending request (退单/延期) is decided; a ticket may hold one per unit."""

    request_kind: str = ""

    def _setup_request_field(self) -> None:
        field = forms.TypedChoiceField(label="申请", coerce=int, required=False, empty_value=None)
        if self.fixed_request is not None:
            field.choices = [(self.fixed_request.pk, str(self.fixed_request.pk))]
            field.widget = forms.HiddenInput()
            self.initial.setdefault("request_id", self.fixed_request.pk)
        else:
            pending = (
                TicketRequest.objects.filter(ticket=self.ticket, kind=self.request_kind, status=RequestStatus.PENDING)
                .select_related("assignment__unit")
                .order_by("id")
            )
            field.choices = [(r.pk, _request_label(r)) for r in pending]
            if len(field.choices) == 1:
                # Only one request to decide: no question to ask.
                field.widget = forms.HiddenInput()
                self.initial.setdefault("request_id", field.choices[0][0])
        self.fields = {"request_id": field, **self.fields}


def _request_label(r: TicketRequest) -> str:
    unit = r.assignment.unit if r.assignment_id else "热线中心"
    days = f"，{r.requested_days}个工作日" if r.requested_days else ""
    return f"{unit}{days}：{r.reason[:30]}"


class EmptyForm(ActionForm):
    pass


class AnswerForm(ActionForm):
    answer = forms.CharField(label="答复内容", required=False, widget=_textarea(4, required=True))


class DispatchForm(ActionForm):
    lead_unit = unit_field(label="主办单位", error_messages={"required": "请选择主办单位。"})
    assist_units = unit_field(
        label="协办单位", multiple=True, required=False, help_text="可不选；按住 Ctrl（Mac 为 ⌘）可多选。"
    )
    category = CategoryField(label="诉求分类", required=False, help_text="改分类会作为纠正样本用于下次训练。")
    note = forms.CharField(label="派单意见", required=False, widget=_textarea(2))

    QUICK_PICKS = 3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The router's suggestions, in its order, as units this select can actually take.
        decision = latest_decision(self.ticket)
        codes = [s["unit"] for s in (decision.suggestions if decision is not None else [])][: self.QUICK_PICKS]
        units = {u.code: u for u in self.fields["lead_unit"].queryset.filter(code__in=codes)}
        reasons = {s["unit"]: s.get("reason", "") for s in decision.suggestions} if decision is not None else {}
        self.suggested = [(units[c], reasons.get(c, "")) for c in codes if c in units]
        if self.suggested:
            self.initial.setdefault("lead_unit", self.suggested[0][0].pk)
        if self.ticket.category_id:
            self.initial.setdefault("category", self.ticket.category_id)


class SubdispatchForm(ActionForm):
    unit = forms.ModelChoiceField(
        label="下派给",
        queryset=Unit.objects.none(),
        empty_label="— 请选择下级单位 —",
        error_messages={"required": "请选择下级单位。"},
    )
    note = forms.CharField(label="下派意见", required=False, widget=_textarea(2))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.user.unit_id:
            self.fields["unit"].queryset = Unit.objects.filter(parent_id=self.user.unit_id, is_active=True)


class ContactForm(ActionForm):
    note = forms.CharField(label="联系情况", required=False, widget=_textarea(2))


class ReplyForm(ActionForm):
    result = forms.ChoiceField(
        label="办理结果", choices=HandlingResult.choices, required=False, widget=forms.RadioSelect
    )
    contacted = forms.BooleanField(label="已联系诉求人", required=False, initial=True)
    text = forms.CharField(label="答复内容（将告知诉求人）", required=False, widget=_textarea(4, required=True))


class RequestReturnForm(ActionForm):
    reason = _reason("退单理由")
    suggested_unit = unit_field(label="建议承办单位", required=False, empty_label="— 不指定 —")


class ApproveReturnForm(RequestChoiceMixin, ActionForm):
    request_kind = RequestKind.RETURN
    new_unit = unit_field(label="改派给", required=False, empty_label="— 退回派单队列 —")
    reason = _reason("审核意见")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_request_field()
        req = self.fixed_request
        if req is None and len(self.fields["request_id"].choices) == 1:
            req = TicketRequest.objects.filter(pk=self.fields["request_id"].choices[0][0]).first()
        if req is not None and req.suggested_unit_id:
            self.initial.setdefault("new_unit", req.suggested_unit_id)


class RejectReturnForm(RequestChoiceMixin, ActionForm):
    request_kind = RequestKind.RETURN
    reason = _reason("驳回理由")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_request_field()


class RequestExtensionForm(ActionForm):
    days = forms.IntegerField(
        label="延期工作日", required=False, widget=forms.NumberInput(attrs={"min": 1, "required": True})
    )
    reason = _reason("延期理由")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].widget.attrs["max"] = settings.HOTLINE["EXTENSION_CAP_WORKING_DAYS"]


class ApproveExtensionForm(RequestChoiceMixin, ActionForm):
    request_kind = RequestKind.EXTENSION
    days = forms.IntegerField(
        label="批准工作日（可少于申请）", required=False, widget=forms.NumberInput(attrs={"min": 1})
    )
    reason = _reason("审核意见")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_request_field()
        if self.fixed_request is not None and self.fixed_request.requested_days:
            self.initial.setdefault("days", self.fixed_request.requested_days)
            self.fields["days"].widget.attrs["max"] = self.fixed_request.requested_days


class RejectExtensionForm(RequestChoiceMixin, ActionForm):
    request_kind = RequestKind.EXTENSION
    reason = _reason("驳回理由")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_request_field()


def _yes_no(label: str, yes: str, no: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("1", yes), ("0", no)],
        coerce=lambda v: v == "1",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class CallbackForm(ActionForm):
    contacted = _yes_no("承办单位是否联系过您", "是", "否")
    resolved = _yes_no("问题是否解决", "已解决", "未解决")
    satisfaction = forms.ChoiceField(
        label="满意程度", choices=Satisfaction.choices, required=False, widget=forms.RadioSelect
    )
    comment = forms.CharField(label="评价意见", required=False, widget=_textarea(2, maxlength=1000))


class CloseForm(ActionForm):
    reason = _reason("办结说明", required_hint=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.ticket.status == TicketStatus.REVIEW:
            self.fields["reason"].label = "认可办理结果的理由"
            self.fields["reason"].widget.attrs["required"] = True


class ReasonForm(ActionForm):
    reason = _reason()


class ReopenForm(ActionForm):
    reason = _reason("重办理由")


class MergeForm(ActionForm):
    master = forms.CharField(
        label="主工单编号",
        max_length=16,
        error_messages={"required": "请填写主工单编号。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "如 2025010100001"}),
    )
    reason = forms.CharField(label="说明", required=False, initial="重复来电", widget=_textarea(1))

    def clean_master(self) -> Ticket:
        number = self.cleaned_data["master"].strip()
        try:
            return selectors.ticket_get_by_number(self.user, number)
        except NotFound as exc:
            raise forms.ValidationError(f"未找到编号为 {number} 的工单。") from exc


class SuperviseForm(ActionForm):
    level = forms.TypedChoiceField(
        label="督办级别",
        coerce=int,
        choices=[(0, "0 取消督办"), (1, "1 一级督办"), (2, "2 二级督办"), (3, "3 三级督办")],
    )
    reason = _reason("督办理由")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("level", min(self.ticket.supervise_level + 1, 3))


class ConfidentialForm(ActionForm):
    confidential = forms.TypedChoiceField(
        label="保密办理",
        choices=[("1", "设为保密"), ("0", "取消保密")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        error_messages={"required": "请选择设为保密或取消保密。"},
    )
    reason = _reason()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("confidential", "0" if self.ticket.confidential else "1")


class RevealForm(forms.Form):
    reason = forms.CharField(
        label="查看理由",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"required": True, "maxlength": 200, "placeholder": "如：电话联系诉求人核实地址"}),
    )


# --- search and audit -----------------------------------------------------------------------------


class _DateRange(forms.Form):
    date_from = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # Keyset cursor: the id of the last row of the previous page.
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "截止日期不能早于起始日期。")
        return data


class TicketSearchForm(_DateRange):
    number = forms.CharField(label="工单编号", required=False, max_length=16)
    phone = forms.CharField(label="来电号码", required=False, max_length=40)
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *TicketStatus.choices])
    unit = unit_field(
        Unit.objects.active().exclude(kind=UnitKind.HUB), label="承办单位", required=False, empty_label="全部单位"
    )
    category = CategoryField(label="分类", required=False, empty_label="全部分类")
    district = forms.ModelChoiceField(
        label="区",
        required=False,
        empty_label="全部区",
        queryset=Place.objects.filter(level=PlaceLevel.DISTRICT).order_by("code"),
    )
    street = forms.ModelChoiceField(
        label="街道/乡镇",
        required=False,
        empty_label="全部街道",
        queryset=Place.objects.none(),
        error_messages={"invalid_choice": "所选街道/乡镇不属于所选的区。"},
    )
    q = forms.CharField(
        label="关键词",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "标题、内容或地址"}),
    )

    field_order = ["number", "phone", "q", "status", "unit", "category", "district", "street", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = places_under(_place_id(self, "district"), PlaceLevel.STREET)

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        try:
            return normalize_phone(raw)
        except PhoneError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        if number and not number.isdigit():
            raise forms.ValidationError("工单编号只含数字，如 2025010100001。")
        return number


class AccessLogSearchForm(_DateRange):
    username = forms.CharField(label="用户名", required=False, max_length=150)
    number = forms.CharField(label="工单编号", required=False, max_length=16)
    action = forms.ChoiceField(label="行为", required=False, choices=[("", "全部行为"), *AccessAction.choices])

    field_order = ["username", "number", "action", "date_from", "date_to"]
