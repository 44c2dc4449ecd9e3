"""Load benchmark: gunicorn (2 workers) on PostgreSQL with 1,000,000 tickets, driven by wrk and locust.

Ticket creation is driven by wrk with a Lua script (bench/load/create.lua) when wrk is installed
(apt-get install wrk), by locust otherwise: the load generator shares the server's two cores, and
at 200 requests/s locust's Python costs a third of one. Reads and the workbench (sessions, CSRF,
varied queries) are locust's.

Targets (issue 6), printed next to each figure and never asserted:
  - ticket creation through the API, routed inline, 16 concurrent operators: ≥ 200 creates/s
    sustained over ≥ 30 s, p99 ≤ 250 ms;
  - ticket list and search (API) on 1,000,000 tickets: p95 ≤ 50 ms;
  - a unit's workbench page (browser session): p95 ≤ 100 ms;
  - web worker RSS: ≤ 200 MiB per worker (the maximum over the run).

Run: make bench  (or .venv/bin/python bench/bench_load.py). The city is generated once into its
own database (HOTLINE_BENCH_LOAD_DB, default hotline_bench_load) and reused. The server and the load
generator run on this machine and talk over 127.0.0.1 only; every phase is bounded in time
(LOAD_SECONDS, default 40; the first 5 s are warm-up and not counted).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOAD_DB = os.environ.get("HOTLINE_BENCH_LOAD_DB", "hotline_bench_load")
PG = os.environ.get("HOTLINE_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ["HOTLINE_BENCH_DB"] = LOAD_DB
os.environ["DATABASE_URL"] = f"{PG}/{LOAD_DB}"
sys.path.insert(0, str(BENCH))

from _setup import django_setup, percentile  # noqa: E402

SECONDS = int(os.environ.get("LOAD_SECONDS", "40"))
WARMUP = 5
WORKERS = 2
PASSWORD = "hotline-demo"  # the demo accounts' password (bench database only)
WORKBENCH_USERS = ["chaoyang-wangjing-handler", "zjw-handler"]  # a street office and a city bureau
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SHOW server_version")
        pg = c.fetchone()[0]
    versions = []
    for name in ("django", "gunicorn", "locust", "psycopg"):
        try:
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
        except Exception:
            pass
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; Linux {platform.release()}; "
        f"Python {platform.python_version()}, PostgreSQL {pg}, " + ", ".join(versions)
    )


def prepare() -> dict:
    """The city (once), the tokens and accounts the users need, and production static files."""
    from load.data import ensure_reference, generate
    from rest_framework.authtoken.models import Token

    from hotline.models import Ticket, User

    ensure_reference()
    generate()
    operator = User.objects.get(username="operator1")
    token, _ = Token.objects.get_or_create(user=operator)
    from django.contrib.auth.hashers import make_password

    # The demo password, hashed once, for the accounts that log in to the workbench.
    User.objects.filter(username__in=WORKBENCH_USERS).update(password=make_password(PASSWORD))
    from hotline.models import Assignment

    units = {}
    for username in WORKBENCH_USERS:
        user = User.objects.get(username=username)
        units[username] = (
            Assignment.objects.filter(unit_id=user.unit_id).count(),
            Assignment.objects.filter(unit_id=user.unit_id, status__in=["dispatched", "signed"]).count(),
        )
    return {"token": token.key, "tickets": Ticket.objects.count(), "units": units}


class Server:
    """gunicorn, 2 sync workers, DEBUG off, on a free loopback port; its own Redis when one is installed."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.redis = None
        broker = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        if shutil.which("redis-server"):
            # Nothing of the benchmark's may land in a Redis someone else's worker reads.
            rport = free_port()
            self.redis = subprocess.Popen(
                ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
                cwd=workdir,
            )
            broker = f"redis://127.0.0.1:{rport}/0"
        self.env = {
            **os.environ,
            "DEBUG": "0",
            "HOTLINE_DEMO": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "REDIS_URL": broker,
            "CELERY_BROKER_URL": broker,
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "AXES_FAILURE_LIMIT": "1000",
            # Production defaults to HTTPS-only; here TLS would end at a proxy in front, as it does
            # in a deployment, so the benchmark speaks plain HTTP on loopback.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.cmd = [PY, "-m", "gunicorn", "hotline.wsgi", "-w", str(WORKERS), "-b", f"127.0.0.1:{self.port}"]
        self.cmd += ["--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning"]
        self.log = workdir / "gunicorn.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import urllib.request

        # With DEBUG off, pages name static files through the hashed manifest that collectstatic writes.
        subprocess.run(
            [PY, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=self.env, cwd=ROOT, check=True, timeout=300
        )
        self.proc = subprocess.Popen(
            self.cmd, env=self.env, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login/", timeout=5).read()
                return
            except Exception:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not start: {self.log.read_text()[-2000:]}")

    def workers(self):
        import psutil

        try:
            return psutil.Process(self.proc.pid).children()
        except psutil.Error:
            return []

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.redis:
            self.redis.terminate()
            self.redis.wait(timeout=10)


class RssSampler(threading.Thread):
    """The resident set of each web worker, sampled every second; the maximum is what counts.
    PSS (pages shared with the other worker counted by share) is kept too: it is what a worker
    really costs once the master preloads anything."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.peak, self.pss, self.running = server, {}, {}, True

    def run(self) -> None:
        while self.running:
            for w in self.server.workers():
                with contextlib.suppress(Exception):  # a worker may exit between listing and reading
                    mem = w.memory_full_info()
                    self.peak[w.pid] = max(self.peak.get(w.pid, 0), mem.rss)
                    self.pss[w.pid] = max(self.pss.get(w.pid, 0), mem.pss)
            time.sleep(1.0)


def locust(server: Server, scenario: str, users: int, seconds: int, out: Path, token: str) -> tuple[list, str]:
    cmd = [PY, "-m", "locust", "-f", str(BENCH / "load" / "locustfile.py"), "--headless"]
    cmd += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "-H", f"http://127.0.0.1:{server.port}"]
    cmd += ["--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"]
    env = {
        **os.environ,
        "LOAD_SCENARIO": scenario,
        "LOAD_OUT": str(out),
        "LOAD_TOKEN": token,
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_WORKBENCH_USERS": ",".join(WORKBENCH_USERS),
    }
    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 120)
    records = json.loads(out.read_text()) if out.exists() else []
    shown = " ".join(cmd[2:]).replace(str(ROOT) + "/", "")
    return records, f"LOAD_SCENARIO={scenario} {PY.replace(str(ROOT) + '/', '')} {shown}"


def wrk_create(server: Server, users: int, seconds: int, workdir: Path, token: str) -> tuple[dict, str]:
    """The create phase driven by wrk (bench/load/create.lua): a warm-up run, then the measured one.

    Same requests as the locust Operator (demo texts, a fresh mobile number each, no category or
    place, so every create is routed inline), same closed loop of ``users`` connections.
    """
    import random

    texts = json.loads((ROOT / "hotline" / "demo" / "data" / "tickets.json").read_text(encoding="utf-8"))
    bodies = workdir / "create-bodies.jsonl"
    rng = random.Random(2026)
    with bodies.open("w", encoding="utf-8") as fh:
        for _ in range(40_000):  # more than a run sends: no two creates share a caller
            item = rng.choice(texts)
            body = {k: item[k] for k in ("title", "content", "request_type", "priority", "address", "caller_name")}
            body["caller_phone"] = f"13{rng.randrange(10**9):09d}"
            fh.write(json.dumps(body, ensure_ascii=False) + "\n")
    script = BENCH / "load" / "create.lua"
    url = f"http://127.0.0.1:{server.port}"
    env = {**os.environ, "LOAD_TOKEN": token}

    def run(duration: int) -> tuple[dict, list[str]]:
        cmd = [
            "wrk",
            "-t2",
            f"-c{users}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
            "--",
            str(bodies),
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        return (json.loads(lines[-1]) if lines else {}), cmd

    run(WARMUP)  # connections, worker caches and PostgreSQL's buffers warmed, then not counted
    result, cmd = run(seconds - WARMUP)
    shown = " ".join(cmd).replace(str(ROOT) + "/", "").replace(str(workdir), "$TMP")
    if not result or not result["requests"]:
        return {}, shown
    span = result["duration_us"] / 1e6
    failed = result["status_errors"] + result["socket_errors"]
    stats = {
        "n": result["requests"],
        "failed": failed,
        "rate": (result["requests"] - failed) / span,
        "span": span,
        **{f"p{p}": result[f"p{p}"] / 1000 for p in (50, 95, 99)},
    }
    return {"create": stats}, shown


def summarise(records: list, names: list[str] | None = None) -> dict[str, dict]:
    """Per request name: count, failures, rate and latency percentiles, after the warm-up."""
    if not records:
        return {}
    t0 = min(r[0] for r in records) + WARMUP
    kept = [r for r in records if r[0] >= t0 and not r[1].startswith("(")]
    if not kept:
        return {}
    span = max(r[0] for r in kept) - t0
    out: dict[str, dict] = {}
    for name in sorted({r[1] for r in kept}) if names is None else names:
        rows = [r for r in kept if r[1] == name]
        if not rows:
            continue
        ok = [r[2] for r in rows if r[3]]
        out[name] = {
            "n": len(rows),
            "failed": len(rows) - len(ok),
            "rate": len(ok) / span if span > 0 else 0.0,
            "span": span,
            **{f"p{p}": percentile(ok, p) if ok else float("nan") for p in (50, 95, 99)},
        }
    return out


def line(name: str, s: dict, target: str = "") -> str:
    return (
        f"  {name:28s} {s['n']:6d} req ({s['failed']} failed) {s['rate']:7.1f}/s   "
        f"p50 {s['p50']:6.1f} ms  p95 {s['p95']:6.1f} ms  p99 {s['p99']:6.1f} ms   {target}"
    )


def main() -> None:
    django_setup()
    print(f"machine: {machine()}")
    info = prepare()
    print(
        f"database {LOAD_DB}: {info['tickets']:,} tickets; workbench units (assignments / open): "
        + ", ".join(f"{u} {a:,}/{o:,}" for u, (a, o) in info["units"].items())
    )
    from django.db import connections
    from django.utils import timezone

    connections.close_all()  # the benchmark's own connection must not sit in PostgreSQL's way
    workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-load-"))
    server = Server(workdir)
    print("server: " + " ".join(server.cmd).replace(str(ROOT) + "/", "") + "  (DEBUG=0, persistent connections)")
    sampler = RssSampler(server)
    try:
        server.start()
        sampler.start()
        # Reads run with as many users as there are workers: their latency is the server's, not
        # the time spent queueing behind 16 writers (that is what the create phase shows).
        phases = [
            ("create", 16, SECONDS, "ticket creation, API, routed inline, 16 concurrent operators"),
            ("read", WORKERS, SECONDS, f"ticket list and search, API, {WORKERS} concurrent users"),
            ("search-miss", 1, min(SECONDS, 20), "keyword search with no hit (reads every ticket), 1 user"),
            ("workbench", WORKERS, SECONDS, f"unit workbench page, browser session, {WORKERS} concurrent users"),
        ]
        for scenario, users, seconds, title in phases:
            phase_started = timezone.now()
            if scenario == "create" and shutil.which("wrk"):
                records = []
                stats, cmd = wrk_create(server, users, seconds, workdir, info["token"])
                title += ", driven by wrk"
            else:
                if scenario == "create":
                    title += (
                        ", driven by locust (apt-get install wrk: a lighter load generator leaves the server more CPU)"
                    )
                records, cmd = locust(server, scenario, users, seconds, workdir / f"{scenario}.json", info["token"])
                stats = summarise(records)
            print(f"\n{title}\n  $ {cmd}")
            if not stats:
                print(f"  no requests recorded; see {server.log}")
                continue
            for name, s in stats.items():
                target = {
                    "create": "(target ≥ 200/s sustained, p99 ≤ 250 ms)",
                    "read": "(target p95 ≤ 50 ms)",
                    "search-miss": "(target p95 ≤ 50 ms)",
                    "workbench": "(target p95 ≤ 100 ms)",
                }[scenario]
                print(line(name, s, target))
            if scenario == "create":
                s = stats["create"]
                print(f"  sustained over {s['span']:.0f} s after {WARMUP} s warm-up: {s['rate']:.1f} creates/s")
                print(f"  routing: {routed_share(phase_started)}")
            elif len(stats) > 1:
                merged = summarise([[r[0], scenario, r[2], r[3]] for r in records])[scenario]
                print(line(f"all {scenario}", merged))
    finally:
        server.stop()
        sampler.running = False
    peaks = sorted(sampler.peak.values(), reverse=True)
    if peaks:
        print(
            "\nweb worker RSS, maximum over the run: "
            + ", ".join(f"{p / 2**20:.0f} MiB" for p in peaks[:WORKERS])
            + "   (target ≤ 200 MiB per worker)"
        )
        print("  (PSS " + ", ".join(f"{p / 2**20:.0f} MiB" for p in sorted(sampler.pss.values(), reverse=True)) + ")")
    errors = [ln for ln in server.log.read_text(errors="replace").splitlines() if "Error" in ln or "error" in ln]
    if errors:
        print(f"server log: {len(errors)} error lines, e.g. {errors[0][:200]}  (log: {server.log})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def routed_share(since) -> str:
    """How the tickets created since ``since`` were routed, read back from the database."""
    from django.db.models import Count

    from routing.models import RoutingDecision

    rows = dict(
        RoutingDecision.objects.filter(created_at__gte=since)
        .values_list("auto_dispatched")
        .annotate(n=Count("id"))
        .values_list("auto_dispatched", "n")
    )
    total = sum(rows.values())
    return f"{total:,} tickets routed, {rows.get(True, 0):,} dispatched automatically" if total else "none recorded"


if __name__ == "__main__":
    main()
