"""Test-only SMS backends for fault tests, selected in the subprocesses with HOTLINE_SMS_BACKEND.

They behave like the development backend (no network) and also leave a durable trace, because
the processes that send live and die outside the test: one JSON line per gateway call when it
starts ("begin") and when the gateway has accepted the message ("delivered"). O_APPEND writes of
one short line are atomic, so concurrent worker processes cannot interleave them.
"""

from __future__ import annotations

import json
import os
import time

from hotline.sms import SendResult, Template
from hotline.sms.backends import DevelopmentBackend


def _trace(event: str, reference: str) -> None:
    line = json.dumps({"event": event, "ref": reference, "pid": os.getpid(), "at": time.time()}) + "\n"
    fd = os.open(os.environ["FAULT_SMS_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class RecordingBackend(DevelopmentBackend):
    """The development backend plus a trace file; FAULT_SMS_DELAY seconds pass inside the call,
    so a test can kill a worker while a message is in the gateway's hands."""

    def send(self, *, phone: str, template: Template, params: dict, reference: str) -> SendResult:
        _trace("begin", reference)
        delay = float(os.environ.get("FAULT_SMS_DELAY", "0"))
        if delay:
            time.sleep(delay)
        result = super().send(phone=phone, template=template, params=params, reference=reference)
        _trace("delivered", reference)
        return result
