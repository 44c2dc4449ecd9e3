"""Helpers for the deployment tests: the files under deploy/, parsed, and a production environment."""

from __future__ import annotations

import configparser
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
ENV_FILE_PATH = "/etc/hotline/hotline.env"  # where docs/deploy.md tells operators to put it
PYTHON = sys.executable
VENV_BIN = Path(sys.executable).parent


def read_procfile() -> dict[str, str]:
    processes = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        assert re.fullmatch(r"[a-z]+", name), line
        assert name not in processes, f"{name} defined twice"
        processes[name] = command.strip()
    return processes


def read_unit(path: Path) -> configparser.ConfigParser:
    # systemd files are INI-like; keys are case-sensitive and "%" and "$" are literal here.
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read_string(path.read_text(), source=str(path))
    return parser


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), line
        values[name] = value
    return values


def settings_variables() -> set[str]:
    """Every environment variable hotline/settings.py reads."""
    source = (ROOT / "hotline" / "settings.py").read_text()
    names = set(re.findall(r"(?:os\.environ\.get|envbool|envint|envfloat|envlist)\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
    names |= set(re.findall(r"os\.environ\[\"([A-Z][A-Z0-9_]+)\"\]", source))
    return names


def split_command(command: str) -> list[str]:
    return shlex.split(command)


def production_env(**overrides: str) -> dict[str, str]:
    """What a production node's processes see: no test or demo switches, a real key, HTTPS via nginx."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOTLINE_", "DJANGO_", "SECURE_", "CELERY_", "PYTEST", "DEBUG", "SECRET_KEY"))
    }
    test_db = settings.DATABASES["default"]["TEST"]["NAME"]
    env.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(64),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{test_db}",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/10"),
            "ALLOWED_HOSTS": "hotline.example.gov.cn",
            "CSRF_TRUSTED_ORIGINS": "https://hotline.example.gov.cn",
            "HOTLINE_PUBLIC_BASE_URL": "https://hotline.example.gov.cn",
            "BEHIND_PROXY": "true",
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def procfile() -> dict[str, str]:
    return read_procfile()


@pytest.fixture(scope="session")
def units() -> dict[str, configparser.ConfigParser]:
    return {path.name: read_unit(path) for path in sorted(UNITS.iterdir())}
