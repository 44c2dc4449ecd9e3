"""docs/deploy.md documents every environment variable the code and the process files read, and
every file under deploy/: a setting added without its line in the guide fails here."""

from __future__ import annotations

import re

from tests.deploy.conftest import DEPLOY, ROOT, read_env_file, settings_variables

GUIDE = ROOT / "docs" / "deploy.md"


def documented() -> set[str]:
    """Variables with a row of their own in one of the guide's tables: | `NAME` | default | meaning |."""
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]+) \| ([^|]+) \|$", GUIDE.read_text(), flags=re.M)
    for name, default, meaning in rows:
        assert default.strip() and len(meaning.strip()) > 10, name
    return {name for name, _, _ in rows}


def process_file_variables() -> set[str]:
    text = (DEPLOY / "gunicorn.conf.py").read_text()
    names = set(re.findall(r"os\.environ\.get\(\"([A-Z][A-Z0-9_]+)\"", text))
    for path in [DEPLOY / "Procfile", *(DEPLOY / "systemd").iterdir()]:
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", path.read_text()))
    return names


def test_every_variable_the_settings_read_is_documented():
    missing = settings_variables() - documented()
    assert not missing, f"read by hotline/settings.py but not documented in docs/deploy.md: {sorted(missing)}"


def test_every_variable_the_process_files_read_is_documented():
    missing = process_file_variables() - documented()
    assert not missing, f"read by deploy/ but not documented: {sorted(missing)}"


def test_the_guide_documents_nothing_that_nobody_reads():
    stale = documented() - settings_variables() - process_file_variables()
    assert not stale, f"documented but read by nothing: {sorted(stale)}"


def test_every_example_variable_is_documented():
    assert set(read_env_file(DEPLOY / "hotline.env.example")) <= documented()


def test_every_deploy_file_is_described():
    text = GUIDE.read_text()
    for path in DEPLOY.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert f"`deploy/{path.relative_to(DEPLOY)}`" in text, path
