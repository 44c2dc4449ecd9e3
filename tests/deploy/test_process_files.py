"""deploy/: the Procfile, the systemd units, gunicorn's config, nginx and the example environment
file agree with each other and with the code (docs/deploy.md explains them)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from gunicorn.config import Config

from tests.deploy.conftest import (
    DEPLOY,
    ENV_FILE_PATH,
    ROOT,
    UNITS,
    VENV_BIN,
    production_env,
    read_env_file,
    run,
    settings_variables,
    split_command,
)

# Procfile process → the systemd unit that runs it.
UNIT_OF = {
    "release": "hotline-migrate.service",
    "web": "hotline-web.service",
    "worker": "hotline-worker@.service",
    "beat": "hotline-beat.service",
}
# Option values that legitimately differ between the Procfile and a unit (paths, node names).
LOCAL_VALUES = {"--config", "--schedule", "--hostname", "--concurrency"}
REQUIRED_ENV = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "HOTLINE_PUBLIC_BASE_URL",
    "BEHIND_PROXY",
}


def shape(command: str) -> tuple[str, list[str], dict[str, str | None]]:
    """Program name, positional arguments and options of a command, with local values blanked."""
    tokens = split_command(command)
    program = Path(tokens[0]).name
    positionals, options = [], {}
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("-"):
            takes_value = i + 1 < len(tokens) and not tokens[i + 1].startswith("-")
            value = tokens[i + 1] if takes_value else None
            options[token] = "<local>" if token in LOCAL_VALUES else value
            i += 2 if takes_value else 1
        else:
            positionals.append(token)
            i += 1
    return program, positionals, options


def exec_start(unit) -> str:
    return unit["Service"]["ExecStart"]


# --- the Procfile and the units describe the same processes -----------------------------------------


def test_every_procfile_process_has_a_unit_and_no_unit_is_orphaned(procfile, units):
    assert set(procfile) == set(UNIT_OF)
    services = {name for name in units if name.endswith(".service")}
    assert services == set(UNIT_OF.values())


@pytest.mark.parametrize("process", sorted(UNIT_OF))
def test_unit_runs_the_same_command_as_the_procfile(process, procfile, units):
    unit = units[UNIT_OF[process]]
    proc_program, proc_args, proc_options = shape(procfile[process])
    unit_program, unit_args, unit_options = shape(exec_start(unit))
    assert unit_program == proc_program
    assert unit_args == proc_args
    assert unit_options == proc_options
    # Units run the virtualenv's program, with absolute paths (systemd needs them).
    assert exec_start(unit).startswith("/opt/hotline/.venv/bin/")


def test_every_unit_reads_the_documented_environment_file(units):
    for name, unit in units.items():
        if name.endswith(".service"):
            assert unit["Service"]["EnvironmentFile"] == ENV_FILE_PATH, name
            assert unit["Service"]["User"] == "hotline", name
            assert unit["Service"]["WorkingDirectory"] == "/opt/hotline", name
    assert ENV_FILE_PATH in (ROOT / "docs" / "deploy.md").read_text()


# --- exactly one beat --------------------------------------------------------------------------------


def test_beat_is_a_single_instance_guarded_by_a_flag_file(procfile, units):
    beat = units["hotline-beat.service"]
    assert "@" not in "hotline-beat.service"  # not a template: there is no beat@2
    assert beat["Unit"]["ConditionPathExists"] == "/etc/hotline/run-beat"
    assert beat["Install"]["WantedBy"] == "multi-user.target"
    # Nothing pulls beat in on every node.
    target = units["hotline.target"]
    assert "beat" not in target["Unit"]["Wants"]
    for name, unit in units.items():
        for section in unit.sections():
            for key in ("Wants", "Requires", "BindsTo"):
                assert "hotline-beat" not in unit[section].get(key, ""), name
    # And no worker embeds a beat of its own (celery worker -B would start one per worker).
    for command in (procfile["worker"], exec_start(units["hotline-worker@.service"])):
        tokens = split_command(command)
        assert "-B" not in tokens and "--beat" not in tokens


def test_workers_are_a_template_and_suit_late_acknowledgement(units):
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    worker = units["hotline-worker@.service"]
    _, _, options = shape(exec_start(worker))
    # One task reserved at a time: a killed worker strands at most the task it was running.
    assert options["--prefetch-multiplier"] == "1"
    assert options["-O"] == "fair"
    assert "%i" in worker["Service"]["ExecStart"]  # a distinct node name per instance
    # Warm shutdown gets longer than the hard task limit, so a restart never kills a running task.
    assert worker["Service"]["KillSignal"] == "SIGTERM"
    assert int(worker["Service"]["TimeoutStopSec"]) > settings.CELERY_TASK_TIME_LIMIT
    # The broker gives an unacknowledged task back only after the visibility timeout, which
    # must outlast the longest task or a slow task would run twice.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.CELERY_TASK_TIME_LIMIT


def test_the_target_starts_web_and_a_worker(units):
    wants = units["hotline.target"]["Unit"]["Wants"].split()
    assert set(wants) == {"hotline-web.service", "hotline-worker@1.service"}
    for name in ("hotline-web.service", "hotline-worker@.service"):
        assert units[name]["Install"]["WantedBy"] == "hotline.target"
        assert units[name]["Unit"]["PartOf"] == "hotline.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_units(tmp_path):
    """systemd's own parser: unknown keys, bad values and missing programs (paths pointed at this checkout)."""
    for path in UNITS.iterdir():
        text = path.read_text().replace("/opt/hotline/.venv/bin", str(VENV_BIN)).replace("/opt/hotline", str(ROOT))
        (tmp_path / path.name).write_text(text)
    (tmp_path / "hotline-worker@1.service").write_text((tmp_path / "hotline-worker@.service").read_text())
    names = [str(p) for p in tmp_path.iterdir() if p.name != "hotline-worker@.service"]
    result = run(["systemd-analyze", "verify", "--man=no", *names], env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr


# --- the commands actually start ---------------------------------------------------------------------


def gunicorn_settings() -> dict:
    namespace: dict = {"__file__": str(DEPLOY / "gunicorn.conf.py")}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("_") and k not in {"multiprocessing", "os"}}


def test_gunicorn_config_names_only_real_settings_with_valid_values():
    config = Config()
    for name, value in gunicorn_settings().items():
        assert name in config.settings, f"gunicorn has no setting {name!r}"
        config.set(name, value)  # gunicorn's own validators raise on a bad type or value
    assert config.preload_app and config.worker_class_str == "sync"
    assert config.timeout < config.graceful_timeout + 10
    assert "%(U)s" in config.access_log_format and "%(r)s" not in config.access_log_format  # no query strings


def test_gunicorn_loads_the_application_under_production_settings():
    """`gunicorn --check-config` imports hotline.wsgi:application exactly as a web node would."""
    program, args, _ = shape(
        read_env_free_procfile_command("web").replace("deploy/gunicorn.conf.py", str(DEPLOY / "gunicorn.conf.py"))
    )
    assert program == "gunicorn" and args == ["hotline.wsgi:application"]
    result = run(
        [str(VENV_BIN / "gunicorn"), "--check-config", "--config", str(DEPLOY / "gunicorn.conf.py"), *args],
        env=production_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def read_env_free_procfile_command(name: str) -> str:
    from tests.deploy.conftest import read_procfile

    return re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", read_procfile()[name])


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_celery_accepts_every_flag_of_the_procfile_and_the_unit(process, units):
    unit_command = exec_start(units[UNIT_OF[process]]).replace("${CELERY_CONCURRENCY}", "4")
    for command in (read_env_free_procfile_command(process), unit_command):
        tokens = split_command(command)
        assert Path(tokens[0]).name == "celery" and tokens[1:3] == ["-A", "hotline"]
        # click rejects an unknown option before it reaches --help; -A hotline must import.
        result = run([str(VENV_BIN / "celery"), *tokens[1:], "--help"], env=production_env(), timeout=90)
        assert result.returncode == 0, (command, result.stderr[-2000:])


def test_the_celery_app_knows_every_scheduled_task():
    from hotline.celery import app

    assert app.main == "hotline"
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


# --- nginx -------------------------------------------------------------------------------------------


def test_nginx_overwrites_forwarded_headers_and_outwaits_gunicorn():
    conf = (DEPLOY / "nginx" / "hotline.conf").read_text()
    # Overwrite, not append ($proxy_add_x_forwarded_for keeps the client's forged value first).
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", conf).group(1))
    assert read_timeout > gunicorn_settings()["timeout"]
    assert "alias /opt/hotline/var/static/;" in conf and str(settings.STATIC_ROOT).endswith("var/static")
    assert conf.count("{") == conf.count("}")


# --- the example environment file ----------------------------------------------------------------------


def test_example_env_file_sets_only_variables_something_reads_and_all_required_ones():
    example = read_env_file(DEPLOY / "hotline.env.example")
    assert set(example) >= REQUIRED_ENV, REQUIRED_ENV - set(example)
    readers = settings_variables()
    deploy_text = (DEPLOY / "gunicorn.conf.py").read_text() + "".join(p.read_text() for p in UNITS.iterdir())
    unread = [name for name in example if name not in readers and name not in deploy_text]
    assert not unread, f"set in hotline.env.example but read by nothing: {unread}"
    # Never the development switches.
    for name in ("DEBUG", "HOTLINE_DEMO", "HOTLINE_SQLITE", "CELERY_TASK_ALWAYS_EAGER", "HOTLINE_TESTING"):
        assert name not in example
    assert example["SECRET_KEY"].startswith("change-me")  # a placeholder, never a usable key


def test_example_env_file_passes_check_deploy_once_the_placeholders_are_filled():
    example = read_env_file(DEPLOY / "hotline.env.example")
    filled = {k: v for k, v in example.items() if not v.startswith("change-me")}
    env = production_env(**filled)  # the example's own values, with a real key and database
    result = run([str(VENV_BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
