"""A real Celery worker process for tests whose behaviour belongs to the queue.

The worker runs the project's own code against the same Redis broker and the pytest
test database, so a test proves what production does, not what eager mode pretends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    def __init__(self, *, concurrency: int = 1, name: str = "test-worker") -> None:
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "HOTLINE_TESTING": "1",
            "DEBUG": "1",
            "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        }
        self.cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hotline",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            str(concurrency),
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--pool",
            "prefork",
        ]
        self.proc: subprocess.Popen | None = None
        self.log = ROOT / "var" / f"{name}.log"

    def start(self, timeout: float = 30) -> WorkerProcess:
        from hotline.celery import app

        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early: {self.log.read_text()[-2000:]}")
            if app.control.ping(timeout=0.5):
                return self
        self.stop()
        raise RuntimeError(f"worker did not answer a ping in {timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker dies mid-task with no chance to ack."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
