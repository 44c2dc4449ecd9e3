"""The workflow actions as the web UI offers them: one form and one service call per Action slug.

Every page that acts on a ticket (detail, dispatcher queue, workbench, supervisor page) goes
through ``perform``; the page only decides how to draw the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import Http404

from hotline import forms as f
from hotline import services
from hotline.choices import CallbackChannel, RequestKind
from hotline.errors import DomainError, NotFound
from hotline.models import Ticket, TicketRequest, User
from hotline.views.helpers import apply_domain_error
from hotline.workflow import Action
from routing.services import ticket_dispatch_with_feedback

Run = Callable[[Ticket, User, dict[str, Any]], object]


@dataclass(frozen=True)
class ActionSpec:
    form: type[f.ActionForm]
    run: Run
    done: str  # what the success message says happened
    button: str = ""  # submit label when it should differ from the action's name

    @property
    def has_fields(self) -> bool:
        return bool(self.form.base_fields)


def _reason(service) -> Run:
    return lambda t, u, d: service(ticket=t, actor=u, reason=d["reason"])


ACTIONS: dict[str, ActionSpec] = {
    Action.ANSWER: ActionSpec(
        f.AnswerForm,
        lambda t, u, d: services.ticket_answer(ticket=t, actor=u, answer=d["answer"]),
        "已直接答复并办结",
        "答复并办结",
    ),
    # Through the router's wrapper: a changed category, or a unit other than the suggestion,
    # becomes a labelled training example.
    Action.DISPATCH: ActionSpec(
        f.DispatchForm,
        lambda t, u, d: ticket_dispatch_with_feedback(
            ticket=t,
            actor=u,
            lead_unit=d["lead_unit"],
            assist_units=list(d["assist_units"]),
            note=d["note"],
            category=d.get("category"),
        ),
        "已派单",
    ),
    Action.SUBDISPATCH: ActionSpec(
        f.SubdispatchForm,
        lambda t, u, d: services.ticket_subdispatch(ticket=t, actor=u, unit=d["unit"], note=d["note"]),
        "已下派",
    ),
    Action.SIGN: ActionSpec(f.EmptyForm, lambda t, u, d: services.ticket_sign(ticket=t, actor=u), "已签收"),
    Action.CONTACT: ActionSpec(
        f.ContactForm,
        lambda t, u, d: services.ticket_contact(ticket=t, actor=u, note=d["note"]),
        "已登记联系诉求人",
        "登记已联系",
    ),
    Action.REPLY: ActionSpec(
        f.ReplyForm,
        lambda t, u, d: services.ticket_reply(
            ticket=t, actor=u, result=d["result"], text=d["text"], contacted=d["contacted"]
        ),
        "已反馈办理结果",
        "提交反馈",
    ),
    Action.REQUEST_RETURN: ActionSpec(
        f.RequestReturnForm,
        lambda t, u, d: services.ticket_request_return(
            ticket=t, actor=u, reason=d["reason"], suggested_unit=d["suggested_unit"]
        ),
        "已提交退单申请，等待派单员审核",
    ),
    Action.APPROVE_RETURN: ActionSpec(
        f.ApproveReturnForm,
        lambda t, u, d: services.ticket_approve_return(
            ticket=t, actor=u, reason=d["reason"], new_unit=d["new_unit"], request_id=d["request_id"]
        ),
        "已同意退单",
    ),
    Action.REJECT_RETURN: ActionSpec(
        f.RejectReturnForm,
        lambda t, u, d: services.ticket_reject_return(
            ticket=t, actor=u, reason=d["reason"], request_id=d["request_id"]
        ),
        "已驳回退单，工单退回原单位继续办理",
    ),
    Action.REQUEST_EXTENSION: ActionSpec(
        f.RequestExtensionForm,
        lambda t, u, d: services.ticket_request_extension(ticket=t, actor=u, days=d["days"], reason=d["reason"]),
        "已提交延期申请，等待督办员审核",
    ),
    Action.APPROVE_EXTENSION: ActionSpec(
        f.ApproveExtensionForm,
        lambda t, u, d: services.ticket_approve_extension(
            ticket=t, actor=u, reason=d["reason"], request_id=d["request_id"], days=d["days"]
        ),
        "已同意延期",
    ),
    Action.REJECT_EXTENSION: ActionSpec(
        f.RejectExtensionForm,
        lambda t, u, d: services.ticket_reject_extension(
            ticket=t, actor=u, reason=d["reason"], request_id=d["request_id"]
        ),
        "已驳回延期",
    ),
    Action.CALLBACK: ActionSpec(
        f.CallbackForm,
        lambda t, u, d: services.ticket_record_callback(
            ticket=t,
            actor=u,
            contacted=d["contacted"],
            resolved=d["resolved"],
            satisfaction=d["satisfaction"],
            comment=d["comment"],
            channel=CallbackChannel.PHONE,
        ),
        "已登记回访",
        "保存回访",
    ),
    Action.CLOSE: ActionSpec(f.CloseForm, _reason(services.ticket_close), "已办结"),
    Action.REOPEN: ActionSpec(f.ReopenForm, _reason(services.ticket_reopen), "已重办，退回承办单位办理"),
    Action.MERGE: ActionSpec(
        f.MergeForm,
        lambda t, u, d: services.ticket_merge(ticket=t, master=d["master"], actor=u, reason=d["reason"]),
        "已合并到主工单",
    ),
    Action.REQUEST_TERMINATION: ActionSpec(
        f.ReasonForm, _reason(services.ticket_request_termination), "已提交终止申请，等待督办员审核"
    ),
    Action.APPROVE_TERMINATION: ActionSpec(f.ReasonForm, _reason(services.ticket_approve_termination), "已同意终止"),
    Action.REJECT_TERMINATION: ActionSpec(f.ReasonForm, _reason(services.ticket_reject_termination), "已驳回终止申请"),
    Action.SUPERVISE: ActionSpec(
        f.SuperviseForm,
        lambda t, u, d: services.ticket_supervise(ticket=t, actor=u, level=d["level"], reason=d["reason"]),
        "督办级别已更新",
        "保存督办",
    ),
    Action.CONFIDENTIAL: ActionSpec(
        f.ConfidentialForm,
        lambda t, u, d: services.ticket_set_confidential(
            ticket=t, actor=u, confidential=d["confidential"], reason=d["reason"]
        ),
        "保密设置已更新",
        "保存",
    ),
}

# Which pending request an approve/reject action decides (the supervisor page names it).
REQUEST_KIND_OF = {
    Action.APPROVE_RETURN: RequestKind.RETURN,
    Action.REJECT_RETURN: RequestKind.RETURN,
    Action.APPROVE_EXTENSION: RequestKind.EXTENSION,
    Action.REJECT_EXTENSION: RequestKind.EXTENSION,
    Action.APPROVE_TERMINATION: RequestKind.TERMINATION,
    Action.REJECT_TERMINATION: RequestKind.TERMINATION,
}


def label_of(slug: str) -> str:
    return Action(slug).label


def button_of(slug: str) -> str:
    return ACTIONS[slug].button or Action(slug).label


def build_form(
    slug: str,
    *,
    ticket: Ticket,
    user: User,
    data=None,
    fixed_request: TicketRequest | None = None,
    auto_id: str | None = None,
) -> f.ActionForm:
    # Field ids are unique per form so a page with many forms keeps its <label for> right.
    auto_id = auto_id or f"id_{slug}_%s"
    return ACTIONS[slug].form(data, ticket=ticket, user=user, fixed_request=fixed_request, auto_id=auto_id)


def fixed_request_for(slug: str, ticket: Ticket, raw_id) -> TicketRequest | None:
    """The request named in the form, only if it belongs to this ticket and fits this action."""
    kind = REQUEST_KIND_OF.get(slug)
    if kind is None or not raw_id:
        return None
    try:
        pk = int(raw_id)
    except (TypeError, ValueError):
        return None
    return (
        TicketRequest.objects.filter(pk=pk, ticket=ticket, kind=kind)
        .select_related("assignment__unit", "suggested_unit", "requested_by")
        .first()
    )


@dataclass
class Outcome:
    slug: str
    form: f.ActionForm
    ok: bool = False
    status: int = 200
    message: str = ""
    submitted: bool = False


def perform(
    slug: str,
    *,
    ticket: Ticket,
    user: User,
    data,
    fixed_request: TicketRequest | None = None,
    auto_id: str | None = None,
) -> Outcome:
    """Validate the form and call the service. The service is the judge of every rule."""
    form = build_form(slug, ticket=ticket, user=user, data=data, fixed_request=fixed_request, auto_id=auto_id)
    if not form.is_valid():
        return Outcome(slug, form, status=400, message="提交的内容有误，请按提示修改。", submitted=True)
    try:
        ACTIONS[slug].run(ticket, user, form.cleaned_data)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        apply_domain_error(form, exc)
        return Outcome(slug, form, status=exc.status_code, message=exc.message, submitted=True)
    return Outcome(slug, form, ok=True, message=f"工单 {ticket.number}：{ACTIONS[slug].done}。", submitted=True)
