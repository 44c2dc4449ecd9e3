"""Locust users for bench/bench_load.py; run headless against gunicorn on 127.0.0.1 only.

LOAD_SCENARIO picks the users: "create" (operators creating tickets through the API, routed
inline), "read" (ticket list and search through the API) or "workbench" (unit staff opening their
workbench in the browser). Every request's start, name, latency and outcome are written to
LOAD_OUT as JSON when locust stops, so the driver computes exact percentiles over its own window.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = os.environ.get("LOAD_SCENARIO", "create")
TOKEN = os.environ.get("LOAD_TOKEN", "")
TEXTS = json.loads((ROOT / "hotline" / "demo" / "data" / "tickets.json").read_text(encoding="utf-8"))
RECORDS: list[tuple[float, str, float, bool]] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, start_time=None, **kwargs):
    RECORDS.append((start_time or time.time(), name, response_time, exception is None))


@events.quitting.add_listener
def _dump(environment, **kwargs):
    out = os.environ.get("LOAD_OUT")
    if out:
        Path(out).write_text(json.dumps(RECORDS))


class ApiUser(FastHttpUser):
    abstract = True

    def auth(self) -> dict:
        return {"Authorization": f"Token {TOKEN}", "Accept": "application/json"}


class Operator(ApiUser):
    """Creates tickets as fast as the server answers (closed loop): the demo texts, no category or
    place given, so every create is classified, located and routed inline."""

    wait_time = constant(0)
    abstract = SCENARIO != "create"

    @task
    def create(self):
        item = random.choice(TEXTS)
        body = {
            "title": item["title"],
            "content": item["content"],
            "request_type": item["request_type"],
            "priority": item["priority"],
            "address": item["address"],
            "caller_name": item["caller_name"],
            "caller_phone": f"13{random.randrange(10**9):09d}",
        }
        with self.client.post("/api/tickets/", json=body, headers=self.auth(), name="create", catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {(r.text or '')[:200]}")


# What the read scenario asks: each a name in the report and a query string.
READS = {
    "list newest": "",
    "list status=handling": "?status=handling",
    "list district": "?district=chaoyang",
    "search q=common word": "?q=%E6%B2%B9%E7%83%9F",  # 油烟: hundreds of thousands of hits
    "search q=rare word": "?q=%E5%BD%A9%E9%92%A2%E6%88%BF",  # 彩钢房: a few thousand hits
    "search phone": None,  # a known caller's number, filled in per request
    "search number prefix": "?number=L0000009",
}


# A keyword nothing matches reads every row; it is measured on its own ("search-miss"), so its
# seconds-long requests do not sit in front of the others in the two workers' queues.
MISS = {"search q=no hit": "?q=%E6%97%A0%E6%AD%A4%E8%AF%8D%E8%AF%AD"}  # 无此词语


class Reader(ApiUser):
    """An operator looking tickets up: the list, filters, keyword and phone search, all cursor-paginated."""

    wait_time = between(0.05, 0.15)
    abstract = SCENARIO not in ("read", "search-miss")

    @task
    def read(self):
        name, query = random.choice(list((MISS if SCENARIO == "search-miss" else READS).items()))
        if query is None:
            g = random.randrange(1, 1_000_000)
            query = f"?phone=13{(g * 7919) % 1_000_000_000:09d}"
        with self.client.get(f"/api/tickets/{query}", headers=self.auth(), name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")


class UnitStaff(FastHttpUser):
    """Unit staff with a browser session: log in once, then open the workbench tabs."""

    wait_time = between(0.05, 0.15)
    abstract = SCENARIO != "workbench"
    users = [u for u in os.environ.get("LOAD_WORKBENCH_USERS", "").split(",") if u]
    password = os.environ.get("LOAD_PASSWORD", "")

    started = itertools.count()

    def on_start(self):
        # Round robin, so two users are one street office and one city bureau, never the same unit twice.
        self.who = self.users[next(self.started) % len(self.users)]
        page = self.client.get("/login/", name="(login page)")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text or "")
        self.client.post(
            "/login/",
            data={
                "username": self.who,
                "password": self.password,
                "csrfmiddlewaretoken": csrf.group(1) if csrf else "",
            },
            name="(login)",
        )

    @task(3)
    def to_sign(self):
        self._open("")

    @task(2)
    def in_hand(self):
        self._open("?tab=in_hand")

    @task(1)
    def replied(self):
        self._open("?tab=replied")

    def _open(self, query: str):
        name = f"workbench {self.who.split('-')[0]} {query.split('=')[-1] or 'to_sign'}"
        with self.client.get(f"/workbench/{query}", name=name, catch_response=True) as r:
            if r.status_code != 200 or "工作台" not in (r.text or ""):
                r.failure(f"{r.status_code}")
