"""PostgreSQL restarts under a running web app and worker, which recover without being restarted.

The victim is a private cluster (initdb + pg_ctl on a free port); the app runs as gunicorn with two
workers and a Celery worker, all holding persistent connections (CONN_MAX_AGE) that the restart
kills. Nothing here touches the pytest database.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter

import psycopg
import pytest

from tests.faults.harness import (
    PY,
    ROOT,
    Http,
    PrivatePostgres,
    app_env,
    celery_worker,
    gunicorn,
    read_sms_log,
    wait_for,
)

pytestmark = pytest.mark.fault

# A request that meets a dead database must fail fast; one that meets a live one is quick.
REQUEST_BOUND_SECONDS = 10.0
# After pg_ctl says the server is back, requests must succeed again within this long.
RECOVERY_SECONDS = 3.0

SEED = """
from hotline.choices import Role
from hotline.models import User
from rest_framework.authtoken.models import Token
user = User.objects.create_user("fault-operator", password=None, role=Role.OPERATOR, display_name="话务员")
print("TOKEN", Token.objects.create(user=user).key)
"""


@pytest.fixture
def private_postgres():
    cluster = PrivatePostgres().init().start()
    cluster.create_database()
    yield cluster
    cluster.destroy()


def answered_ticket(http: Http, token: str, n: int):
    """A consultation answered on the call: one request that writes a ticket and queues its rating SMS."""
    return http.post(
        "/api/tickets/",
        {
            "title": f"咨询居住证办理材料{n}",
            "content": "来电人咨询在朝阳区办理居住证需要准备哪些材料。",
            "request_type": "consult",
            "caller_phone": f"1370000{n:04d}",
            "answer": "已告知需携带身份证、居住地址证明到所在街道办理。",
        },
        token=token,
    )


def test_app_and_worker_recover_from_a_postgres_restart(private_postgres, private_redis, fault_dir):
    """pg_ctl restart -m fast, once with no traffic and once while requests keep coming.

    Asserted: after the quiet restart, the first request each web worker serves succeeds; during
    the busy one, no request hangs (each answers within REQUEST_BOUND_SECONDS, a failure is a clean 5xx,
    never a dropped connection) and every request that starts after the restart has completed
    succeeds; and what was lost is nothing: a ticket created after the restart is
    saved and its SMS is sent by the same, never restarted, Celery worker exactly once.
    """
    db = private_postgres
    sms_log = fault_dir / "sms.jsonl"
    common = {"HOTLINE_SMS_BACKEND": "tests.faults.backends.RecordingBackend", "FAULT_SMS_LOG": str(sms_log)}
    # application_name tells the web's connections from the worker's in pg_stat_activity.
    web_env = app_env(database_url=db.url() + "?application_name=fault-web", redis=private_redis, **common)
    worker_env = app_env(database_url=db.url() + "?application_name=fault-worker", redis=private_redis, **common)
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], env=web_env, cwd=ROOT, check=True, timeout=180)
    seeded = subprocess.run(
        [PY, "manage.py", "shell", "-c", SEED], env=web_env, cwd=ROOT, check=True, timeout=60, capture_output=True
    )
    token = seeded.stdout.decode().split("TOKEN ")[1].strip()

    def connections() -> Counter:
        with psycopg.connect(db.url(), autocommit=True) as conn:
            rows = conn.execute("SELECT application_name FROM pg_stat_activity WHERE datname = 'hotline'")
            return Counter(name for (name,) in rows)

    def sms_rows() -> list[tuple]:
        with psycopg.connect(db.url(), autocommit=True) as conn:
            return conn.execute("SELECT id, status, attempts FROM hotline_smsmessage ORDER BY id").fetchall()

    web, port = gunicorn(web_env, fault_dir, workers=2)
    worker = celery_worker(worker_env, fault_dir)
    http = Http(port, timeout=REQUEST_BOUND_SECONDS * 3)
    try:
        # Before: a ticket and its SMS go through, and both web workers hold a persistent connection
        # (concurrent requests, so that each serves some). Celery's Django fixup closes the worker's
        # connection after every task, so the worker has none to lose; it must reconnect all the same.
        assert answered_ticket(http, token, 1).status == 201
        assert wait_for(lambda: [r[1] for r in sms_rows()] == ["sent"], timeout=60), worker.tail()

        quiet: list[int] = []

        def burst() -> bool:
            """Four concurrent requests; true once both web workers hold a live connection."""
            replies: list = []
            threads = [
                threading.Thread(target=lambda: replies.append(http.get("/api/units/", token=token))) for _ in range(4)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            quiet.extend(r.status for r in replies)
            return connections()["fault-web"] == 2

        assert wait_for(burst, timeout=60, every=0.1), connections()

        # 1. A quiet restart: nobody is asking while it happens, so each web worker's first request
        # afterwards meets its dead persistent connection. It must succeed (CONN_HEALTH_CHECKS):
        # every status of the bursts until both workers are connected again is a 200.
        db.restart()
        quiet.clear()
        assert wait_for(burst, timeout=60, every=0.1), connections()
        first_after_quiet_restart = list(quiet)

        # 2. A restart under traffic: requests keep coming while the server stops and starts.
        restart = {}

        def do_restart():
            restart["started"] = time.monotonic()
            db.restart()
            restart["done"] = time.monotonic()

        restarter = threading.Thread(target=do_restart)
        results: list[tuple[float, int, float]] = []
        restarter.start()
        while "done" not in restart or time.monotonic() < restart["done"] + RECOVERY_SECONDS + 2:
            began = time.monotonic()
            reply = http.get("/api/units/", token=token)
            results.append((began, reply.status, reply.elapsed))
            time.sleep(0.05)
        restarter.join()

        # After: a new ticket is saved, and the worker that lived through the restart sends its SMS.
        created = answered_ticket(http, token, 2)
        assert created.status == 201, created.body[:500]
        assert wait_for(lambda: [r[1] for r in sms_rows()] == ["sent", "sent"], timeout=30), worker.tail()
        assert worker.alive and web.alive
    finally:
        worker.stop()
        web.stop()

    assert set(first_after_quiet_restart) == {200}, (
        f"the first requests after a restart failed on stale connections: {first_after_quiet_restart}"
    )
    hung = [r for r in results if r[2] > REQUEST_BOUND_SECONDS]
    assert not hung, f"requests hung during the restart: {hung}"
    unclean = [r for r in results if r[1] != 200 and not 500 <= r[1] < 600]
    assert not unclean, f"failures other than a clean 5xx: {unclean}"
    after = [status for began, status, _ in results if began >= restart["done"]]
    assert after and set(after) == {200}, f"requests failed after the restart had completed: {after}"
    recovered = [began for began, status, _ in results if status == 200 and began >= restart["started"]]
    assert recovered and recovered[0] <= restart["done"] + RECOVERY_SECONDS
    # Nothing lost, nothing doubled: two tickets, two SMS, each delivered once, on the first attempt.
    assert [(status, attempts) for _, status, attempts in sms_rows()] == [("sent", 1), ("sent", 1)]
    delivered = Counter(e["ref"] for e in read_sms_log(sms_log) if e["event"] == "delivered")
    assert sorted(delivered.values()) == [1, 1]
    print(
        f"restart took {restart['done'] - restart['started']:.2f}s; {len(results)} requests, "
        f"{sum(1 for r in results if r[1] != 200)} failed cleanly during it"
    )
