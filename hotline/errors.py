"""Domain errors. Views and the API turn them into a message a person can act on.

IllegalTransition → HTTP 409, NotAllowed → 403 (only for a ticket the user may see),
NotFound → 404 (also for another unit's ticket: never confirm that it exists),
InvalidInput → 400 with field errors.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}

    def as_dict(self) -> dict:
        data: dict = {"detail": self.message, "code": self.code}
        if self.fields:
            data["errors"] = self.fields
        return data


class InvalidInput(DomainError):
    status_code = 400
    default_code = "invalid"

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(message, fields={name: [message]})


class IllegalTransition(DomainError):
    status_code = 409
    default_code = "illegal_transition"


class Conflict(DomainError):
    """Someone else changed the ticket first (a lost race)."""

    status_code = 409
    default_code = "conflict"


class NotAllowed(DomainError):
    status_code = 403
    default_code = "not_allowed"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"

    def __init__(self, message: str = "工单不存在或无权查看。", **kwargs):
        super().__init__(message, **kwargs)
