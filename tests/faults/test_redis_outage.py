"""Redis dies while operators keep working; when it returns, nothing queued is lost or doubled.

The application runs as it does in production, in its own processes (gunicorn, a Celery worker,
Celery beat) against the pytest database and a private Redis that the test kills with SIGKILL and
restarts empty, as after a crash without persistence.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from rest_framework.authtoken.models import Token

from hotline.choices import ClockKind, ClockState, EventKind, HandlingResult, RequestType, TicketStatus
from hotline.models import Clock, Notification, SmsMessage, SmsStatus, Ticket, TicketEvent
from tests.faults.harness import (
    Browser,
    Http,
    app_env,
    celery_beat,
    celery_worker,
    db_url,
    gunicorn,
    probe_app,
    read_sms_log,
    wait_for,
    wait_for_worker,
)

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]

# However the broker fails, an operator's request must come back promptly: a healthy one takes
# well under a second, a request stuck on the dead broker would take tens (gunicorn kills it at 30).
REQUEST_BOUND_SECONDS = 10.0
WEB_PASSWORD = "fault-test-password-1"


def web_password(user) -> None:
    """A password the app process can check: the test settings' MD5 hasher is not in its list.
    Few iterations, to spare the CPU; Django upgrades the hash on the first login."""
    user.password = PBKDF2PasswordHasher().encode(WEB_PASSWORD, "faultsalt1234567", iterations=1000)
    user.save(update_fields=["password"])


class Desk:
    """Operators, a dispatcher and a unit handler working through the API of the app under test."""

    def __init__(self, http: Http, city) -> None:
        self.http = http
        self.tokens = {
            who: Token.objects.create(user=getattr(city, who)).key for who in ("operator", "dispatcher", "handler_a")
        }
        self.calls: list[tuple[str, int, float]] = []

    def call(self, who: str, path: str, data: dict):
        reply = self.http.post(path, data, token=self.tokens[who])
        self.calls.append((path, reply.status, round(reply.elapsed, 2)))
        assert reply.status in (200, 201), f"{path} → {reply.status}: {reply.body[:800]!r}"
        return reply.json()

    def new_ticket(self, n: int) -> dict:
        return self.call(
            "operator",
            "/api/tickets/",
            {
                "title": f"楼下饭馆油烟扰民{n}",
                "content": f"望京西园三区楼下饭馆油烟很大，晚上十点后还在营业（第{n}位来电人）。",
                "request_type": RequestType.COMPLAINT,
                "caller_name": "王女士",
                "caller_phone": f"1381234{n:04d}",
                "address": "朝阳区望京西园三区",
                "district": "chaoyang",
                "street": "chaoyang-wangjing",
                "category": "0602",
            },
        )

    def to_handling(self, ticket: dict) -> None:
        if ticket["status"] == TicketStatus.RECEIVED:  # routing may already have dispatched it
            self.call("dispatcher", f"/api/tickets/{ticket['id']}/dispatch/", {"lead_unit": "chaoyang-wangjing"})
        self.call("handler_a", f"/api/tickets/{ticket['id']}/sign/", {})

    def reply(self, ticket: dict) -> None:
        self.call(
            "handler_a",
            f"/api/tickets/{ticket['id']}/reply/",
            {"result": HandlingResult.RESOLVED, "text": "已联系商户加装油烟净化设备。", "contacted": True},
        )


def test_redis_outage_during_intake_loses_and_doubles_nothing(city, private_redis, fault_dir):
    """Redis is SIGKILLed while operators create, dispatch, answer and reply to tickets, and comes
    back empty (no persistence, so every task that was queued in it is gone too).

    What was lost must be nothing, and the test asserts each: a ticket (every request succeeded
    promptly and its row exists); a rating SMS (one per replied or answered ticket, each handed to
    the gateway exactly once after Redis returns, by the beat-driven outbox sweep); a deadline
    notification or escalation SMS (each overrun clock warns, breaches and escalates exactly once).
    """
    city.manager_a.mobile = "13900000001"  # escalations reach the unit manager by SMS too
    city.manager_a.save(update_fields=["mobile"])
    web_password(city.operator)
    sms_log = fault_dir / "sms.jsonl"
    env = app_env(
        database_url=db_url(),
        redis=private_redis,
        DJANGO_SETTINGS_MODULE="tests.faults.fault_settings",
        FAULT_BEAT_SECONDS="2",
        HOTLINE_SMS_BACKEND="tests.faults.backends.RecordingBackend",
        FAULT_SMS_LOG=str(sms_log),
        HOTLINE_ESCALATION_SMS="1",
    )
    web, port = gunicorn(env, fault_dir)
    worker = celery_worker(env, fault_dir)
    beat = celery_beat(env, fault_dir)
    try:
        wait_for_worker(probe_app(private_redis.url(0)), private_redis, worker)
        desk = Desk(Http(port), city)

        # Before the outage: two tickets go the whole way to a reply; their SMS go out at once.
        before = [desk.new_ticket(n) for n in range(2)]
        for t in before:
            desk.to_handling(t)
            desk.reply(t)
        assert wait_for(lambda: SmsMessage.objects.filter(status=SmsStatus.SENT).count() == 2, timeout=60)
        sent_before = set(SmsMessage.objects.values_list("pk", flat=True))

        private_redis.kill()
        desk.calls.clear()
        # During the outage: six new tickets by API; four are replied to (rating SMS) and two overrun.
        during = [desk.new_ticket(n) for n in range(2, 8)]
        for t in during:
            desk.to_handling(t)
        for t in during[:4]:
            desk.reply(t)
        # An operator starts a shift on the web and answers a consultation on the call (rating SMS).
        browser = Browser(port)
        login = browser.login(city.operator.username, WEB_PASSWORD)
        assert login.status == 302, login.body[:800]
        answered = browser.submit(
            "/intake/",
            {
                "caller_phone": "13812349999",
                "caller_name": "李先生",
                "request_type": RequestType.CONSULT,
                "channel": "phone",
                "priority": "general",
                "title": "咨询居住证办理材料",
                "content": "来电人咨询在朝阳区办理居住证需要准备哪些材料。",
                "answer": "已告知需携带身份证、居住地址证明到所在街道办理。",
                "submit": "answer",
            },
        )
        assert answered.status == 302, answered.body[:800]
        web_calls = [("/login/", login.status, login.elapsed), ("/intake/", answered.status, answered.elapsed)]
        slow = [c for c in desk.calls + web_calls if c[2] > REQUEST_BOUND_SECONDS]
        assert not slow, f"requests waited on the dead broker: {slow}"

        # Every ticket of the outage is saved, in the state its last request left it.
        answered_ticket = Ticket.objects.get(caller_phone="13812349999")
        assert answered_ticket.status == TicketStatus.CLOSED
        states = dict(Ticket.objects.filter(pk__in=[t["id"] for t in during]).values_list("pk", "status"))
        assert [states[t["id"]] for t in during] == [TicketStatus.REPLIED] * 4 + [TicketStatus.HANDLING] * 2
        # No rating SMS of the outage could reach a worker: they wait in the outbox, committed.
        waiting = SmsMessage.objects.exclude(pk__in=sent_before)
        assert waiting.count() == 5 and set(waiting.values_list("status", flat=True)) == {SmsStatus.PENDING}

        # Two reply clocks run out while Redis is away (the test moves their due times, not the code).
        overdue = [t["id"] for t in during[4:]]
        past = timezone.now() - dt.timedelta(hours=2)
        moved = Clock.objects.filter(ticket_id__in=overdue, kind=ClockKind.REPLY, state=ClockState.RUNNING).update(
            warn_at=past - dt.timedelta(hours=1), due_at=past
        )
        assert moved == 2
        time.sleep(3)  # beat and the worker keep failing against the dead broker for a while

        private_redis.start()  # same port, empty
        replied = [t["id"] for t in before + during[:4]] + [answered_ticket.pk]

        def settled() -> bool:
            sent = SmsMessage.objects.filter(status=SmsStatus.SENT)
            return (
                sent.filter(template="rating_link").count() == len(replied)
                and sent.filter(template="escalation").count() == len(overdue)
                and Notification.objects.count() == 4 * len(overdue)
            )

        assert wait_for(settled, timeout=90, every=0.5), (
            list(SmsMessage.objects.values_list("pk", "template", "status")),
            worker.tail(),
            beat.tail(),
        )
        time.sleep(4)  # two more beat periods: a duplicate would show up now
    finally:
        beat.stop()
        worker.stop()
        web.stop()

    # Rating SMS: exactly one per replied or answered ticket, each delivered to the gateway once.
    rating = SmsMessage.objects.filter(template="rating_link")
    assert sorted(rating.values_list("ticket_id", flat=True)) == sorted(replied)
    messages = list(SmsMessage.objects.values_list("pk", "status", "attempts"))
    assert {(status, attempts) for _, status, attempts in messages} == {(SmsStatus.SENT, 1)}
    trace = read_sms_log(sms_log)
    delivered = Counter(e["ref"] for e in trace if e["event"] == "delivered")
    begun = Counter(e["ref"] for e in trace if e["event"] == "begin")
    expected = {f"hotline-sms-{pk}" for pk, _, _ in messages}
    lost = expected - set(delivered)
    doubled = {ref: n for ref, n in (delivered + begun).items() if n != 2}
    assert not lost, f"SMS never delivered: {lost}"
    assert not doubled and set(delivered) == expected, f"SMS delivered more than once or unexpected: {doubled}"
    assert len(delivered) == len(replied) + len(overdue)

    # Deadline side effects: each overrun clock warned, breached and escalated once, and each of
    # those told exactly the right people exactly once.
    clocks = list(Clock.objects.filter(ticket_id__in=overdue, kind=ClockKind.REPLY).values_list("pk", flat=True))
    for kind in (EventKind.CLOCK_WARNED, EventKind.CLOCK_BREACHED, EventKind.ESCALATED):
        fired = Counter(TicketEvent.objects.filter(kind=kind).values_list("payload__clock_id", flat=True))
        assert fired == dict.fromkeys(clocks, 1), (kind, fired)
    notes = Counter(Notification.objects.values_list("ticket_id", "kind", "user__username"))
    handler, manager = city.handler_a.username, city.manager_a.username
    assert notes == {
        (t, kind, who): 1
        for t in overdue
        for kind, who in [
            ("clock_warned", handler),
            ("clock_warned", manager),
            ("clock_breached", handler),
            ("escalated", manager),
        ]
    }


def test_api_login_does_not_need_redis(city, private_redis, fault_dir):
    """An integration (or an operator's client) exchanges its password for an API token while Redis
    is down. Lost, and asserted to be nothing: the login itself — it must succeed (200 with a token),
    not fail with a 500 because the login rate limit cannot reach its cache."""
    web_password(city.operator)
    env = app_env(database_url=db_url(), redis=private_redis)
    web, port = gunicorn(env, fault_dir)
    try:
        http = Http(port)
        up = http.post("/api/auth/token/", {"username": city.operator.username, "password": WEB_PASSWORD})
        assert up.status == 200, up.body[:500]
        private_redis.kill()
        down = http.post("/api/auth/token/", {"username": city.operator.username, "password": WEB_PASSWORD})
        # /healthz must say what is wrong, not crash: the broker is down, so 503 with a reason.
        health = http.get("/healthz")
    finally:
        web.stop()
    assert health.status == 503 and health.json()["checks"]["broker"]["ok"] is False
    assert down.elapsed < REQUEST_BOUND_SECONDS
    assert down.status == 200, f"token login failed without Redis: {down.status} {down.body[:300]!r}"
    assert down.json()["token"] == up.json()["token"]
