"""The one write path. Views, the API, tasks, admin actions and commands all call these."""

from hotline.services.closing import (
    ticket_approve_termination,
    ticket_close,
    ticket_record_callback,
    ticket_reject_termination,
    ticket_reopen,
    ticket_request_termination,
)
from hotline.services.dispatch import (
    ticket_approve_return,
    ticket_dispatch,
    ticket_reject_return,
    ticket_request_return,
    ticket_subdispatch,
)
from hotline.services.exemptions import exemption_decide, exemption_request
from hotline.services.handling import (
    ticket_approve_extension,
    ticket_contact,
    ticket_reject_extension,
    ticket_reply,
    ticket_request_extension,
    ticket_sign,
)
from hotline.services.privacy import access_log_record, ticket_reveal_phone
from hotline.services.tickets import (
    ticket_answer,
    ticket_categorize,
    ticket_create,
    ticket_merge,
    ticket_set_confidential,
    ticket_supervise,
)

__all__ = [
    "access_log_record",
    "exemption_decide",
    "exemption_request",
    "ticket_answer",
    "ticket_approve_extension",
    "ticket_approve_return",
    "ticket_approve_termination",
    "ticket_categorize",
    "ticket_close",
    "ticket_contact",
    "ticket_create",
    "ticket_dispatch",
    "ticket_merge",
    "ticket_record_callback",
    "ticket_reject_extension",
    "ticket_reject_return",
    "ticket_reject_termination",
    "ticket_reopen",
    "ticket_reply",
    "ticket_request_extension",
    "ticket_request_return",
    "ticket_request_termination",
    "ticket_reveal_phone",
    "ticket_set_confidential",
    "ticket_sign",
    "ticket_subdispatch",
    "ticket_supervise",
]
