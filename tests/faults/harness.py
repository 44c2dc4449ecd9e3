"""Victims and subjects for fault tests: a private Redis, a private PostgreSQL cluster, and the
application itself (gunicorn, a Celery worker, Celery beat) as separate processes.

Fault tests kill and restart things. The shared PostgreSQL and Redis on this machine serve other
people's test runs, so every process a test is allowed to hurt is started here, on a free port,
in a temporary directory, and torn down by the test that made it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate: Callable[[], object], timeout: float = 30, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:  # a probe of something that is still starting may raise; keep waiting
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)


class Managed:
    """A child process in its own session (so a signal reaches its whole tree), logging to a file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name, self.cmd, self.env = name, cmd, env
        self.log = logdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Managed:
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def signal_group(self, sig: int) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):  # it died between the check and the signal
                os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acknowledgement, no goodbye."""
        if self.proc is None:
            return
        self.signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class PrivateRedis:
    """A throw-away redis-server on a free TCP port; it keeps nothing on disk, like a crashed one."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: Managed | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        cmd = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        cmd += ["--dir", str(self.workdir), "--protected-mode", "no"]
        self.proc = Managed(f"redis-{self.port}", cmd, dict(os.environ), self.workdir).start()
        if not wait_for(lambda: self.ping(), timeout=10, every=0.05):
            raise RuntimeError(f"private redis did not start: {self.proc.tail()}")
        return self

    def ping(self) -> bool:
        import redis

        return bool(redis.Redis(port=self.port, socket_connect_timeout=0.3, socket_timeout=0.5).ping())

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()
        assert not port_open(self.port), "the killed redis still answers"

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


class PrivatePostgres:
    """A private PostgreSQL cluster (initdb + pg_ctl) on a free port, trust auth, in a temp dir.

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` OS user.
    """

    def __init__(self) -> None:
        self.bindir = self._bindir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-fault-pg-"))
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)

    @staticmethod
    def _bindir() -> Path:
        base = Path("/usr/lib/postgresql")
        versions = sorted((p for p in base.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name))
        if not versions:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        return versions[-1]

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def url(self, db: str = "hotline") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def init(self) -> PrivatePostgres:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        return self

    def start(self) -> PrivatePostgres:
        # fsync off: this cluster is a victim, not a store; sockets in the cluster's own directory.
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", opts, "-w", "start")
        return self

    def restart(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str = "hotline") -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


def db_url() -> str:
    """The pytest database, for application processes that must see what the test committed."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def app_env(*, database_url: str, redis: PrivateRedis, **extra: str) -> dict[str, str]:
    """The environment of every application process in a fault test: our victims, no one else's."""
    env = {
        **os.environ,
        "HOTLINE_TESTING": "1",  # a development secret key and plain static files; no DEBUG pages
        "DEBUG": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url(0),
        "CACHE_URL": redis.url(1),
        "CELERY_BROKER_URL": redis.url(0),
        "CACHE_PREFIX": f"fault-{redis.port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def gunicorn(env: dict[str, str], logdir: Path, *, workers: int = 1, name: str = "web") -> tuple[Managed, int]:
    port = free_port()
    cmd = [PY, "-m", "gunicorn", "hotline.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    cmd += ["--timeout", "30", "--graceful-timeout", "3", "--access-logfile", "-"]
    proc = Managed(name, cmd, env, logdir).start()
    # The master listens at once; a worker answers only once it has loaded Django, jieba and the
    # routing model, which takes seconds on a busy machine. Ready means a request got an answer.
    probe = Http(port, timeout=5)
    if not wait_for(lambda: not proc.alive or probe.get("/login/").status != 0, timeout=120, every=0.5):
        proc.stop()
        raise RuntimeError(f"gunicorn did not answer: {proc.tail()}")
    if not proc.alive:
        raise RuntimeError(f"gunicorn exited: {proc.tail()}")
    return proc, port


def celery_worker(
    env: dict[str, str], logdir: Path, *, name: str = "worker", concurrency: int = 1, loglevel: str = "warning"
) -> Managed:
    cmd = [PY, "-m", "celery", "-A", "hotline", "worker", "-l", loglevel, "--concurrency", str(concurrency)]
    cmd += ["-n", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--pool", "prefork"]
    return Managed(name, cmd, env, logdir).start()


def celery_beat(env: dict[str, str], logdir: Path, *, name: str = "beat") -> Managed:
    cmd = [PY, "-m", "celery", "-A", "hotline", "beat", "-l", "warning", "-s", str(logdir / "celerybeat-schedule")]
    cmd += ["--pidfile", ""]
    return Managed(name, cmd, env, logdir).start()


def probe_app(broker_url: str):
    """A Celery client of the victim broker only (the test process's own app points elsewhere)."""
    from celery import Celery

    app = Celery("fault-probe", broker=broker_url, set_as_current=False)
    # CELERY_BROKER_URL in the environment (the test run's own broker) would win over broker=;
    # the read and write URLs win over both, so this client can only ever talk to the victim.
    app.conf.broker_read_url = app.conf.broker_write_url = broker_url
    target = broker_url.split("://", 1)[1]
    assert app.connection_for_write().as_uri().endswith(target), "the probe would publish to the wrong broker"
    return app


def wait_for_worker(app, redis: PrivateRedis, worker: Managed, timeout: float = 60) -> None:
    """Ready means consuming: a real task goes through the victim broker and leaves its mark.

    (The heartbeat task writes a cache key; the cache is the same private Redis, database 1.)
    """
    import redis as redis_py

    cache = redis_py.Redis(port=redis.port, db=1, socket_timeout=2)
    deadline = time.monotonic() + timeout
    sent_at = 0.0
    while time.monotonic() < deadline:
        if not worker.alive:
            raise RuntimeError(f"worker exited early: {worker.tail()}")
        if cache.keys("*hotline:heartbeat:worker"):
            return
        if time.monotonic() - sent_at > 5:
            app.send_task("hotline.tasks.beat_heartbeat")
            sent_at = time.monotonic()
        time.sleep(0.2)
    raise RuntimeError(f"worker did not run a task in {timeout}s: {worker.tail()}")


@dataclass
class Reply:
    status: int
    body: bytes
    elapsed: float
    headers: dict[str, str]

    def json(self):
        return json.loads(self.body or b"null")


class Http:
    """A tiny HTTP client with a hard timeout: a hang must show up as a failure, not a stuck test."""

    def __init__(self, port: int, *, timeout: float = 15) -> None:
        self.port, self.timeout = port, timeout

    def request(
        self, method: str, path: str, *, token: str = "", data: dict | None = None, headers: dict | None = None
    ) -> Reply:
        hdrs = {"Accept": "application/json", **(headers or {})}
        body = None
        if token:
            hdrs["Authorization"] = f"Token {token}"
        if data is not None:
            body = json.dumps(data).encode()
            hdrs["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            return Reply(resp.status, payload, time.monotonic() - started, dict(resp.getheaders()))
        except (ConnectionError, OSError) as exc:  # refused / reset / timed out: report it as status 0
            return Reply(0, repr(exc).encode(), time.monotonic() - started, {})
        finally:
            conn.close()

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, data: dict | None = None, **kw) -> Reply:
        return self.request("POST", path, data=data if data is not None else {}, **kw)


def read_sms_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Browser:
    """A person at the web UI: a session cookie, the CSRF token from each form, no redirects followed."""

    def __init__(self, port: int, *, timeout: float = 15) -> None:
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}

    def _send(self, method: str, path: str, form: dict | None = None) -> Reply:
        from urllib.parse import urlencode

        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return Reply(resp.status, payload, time.monotonic() - started, dict(resp.getheaders()))
        except (ConnectionError, OSError) as exc:
            return Reply(0, repr(exc).encode(), time.monotonic() - started, {})
        finally:
            conn.close()

    def get(self, path: str) -> Reply:
        return self._send("GET", path)

    def submit(self, path: str, form: dict) -> Reply:
        """GET the page first (for its CSRF cookie), then POST the form, as a browser would."""
        page = self.get(path)
        if page.status != 200:
            return page
        return self._send("POST", path, form)

    def login(self, username: str, password: str) -> Reply:
        return self.submit("/login/", {"username": username, "password": password})
