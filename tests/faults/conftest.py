"""Fault tests: each one hurts a process it started itself (never the shared PostgreSQL or Redis)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.faults.harness import PrivateRedis


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fault: kills or restarts a private Redis, PostgreSQL or worker and checks what survived"
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Remember each phase's outcome on the item, so fixtures can keep the logs of a failed test.
    report = yield
    setattr(item, f"_fault_{report.when}", report)
    return report


@pytest.fixture
def fault_dir(request):
    """Logs of the processes, the SMS trace and beat's schedule; kept only when the test fails."""
    path = Path(tempfile.mkdtemp(prefix="hotline-fault-"))
    yield path
    call = getattr(request.node, "_fault_call", None)
    if call is not None and call.failed:
        print(f"\nfault test logs kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_redis(fault_dir):
    server = PrivateRedis(fault_dir).start()
    yield server
    server.stop()
