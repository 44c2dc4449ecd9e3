"""`make run`: prepare the database and demo data, then run web, worker and beat until Ctrl-C.

It decides the environment before Django loads, so it must not import settings at module level:
  - DATABASE_URL if set; else the local PostgreSQL, its cluster started here if it is down.
  - CELERY_BROKER_URL if set; else the local Redis, started here if nothing answers on 6379.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PY = sys.executable
HOST, PORT = os.environ.get("HOTLINE_HOST", "127.0.0.1"), int(os.environ.get("HOTLINE_PORT", "8000"))


def say(line: str) -> None:
    print(f"[make run] {line}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _local_postgres() -> None:
    """Connect to the local PostgreSQL as postgres and create the ``hotline`` database if missing."""
    import psycopg

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3, autocommit=True
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'hotline'").fetchone():
            conn.execute("CREATE DATABASE hotline")


def _start_postgres() -> bool:
    """Start the local Debian cluster (as .ci/run does); True if one was started."""
    clusters = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").is_dir() else []
    if not clusters or not shutil.which("pg_ctlcluster"):
        return False
    version = clusters[-1].parent.name
    say(f"数据库：本机 PostgreSQL 未运行，正在启动（pg_ctlcluster {version} main start）…")
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], capture_output=True, text=True
    )
    if done.returncode != 0:
        say(f"        启动失败：{(done.stderr or done.stdout).strip()[:300]}")
        return False
    for _ in range(30):
        if port_open("127.0.0.1", 5432):
            return True
        time.sleep(1)
    return False


def choose_database(env: dict) -> None:
    if env.get("DATABASE_URL"):
        say(f"数据库：DATABASE_URL 已设置（{env['DATABASE_URL'].split('@')[-1]}）")
        return
    try:
        _local_postgres()
    except Exception as exc:
        if not _start_postgres():
            sys.exit(
                f"[make run] 没有可用的 PostgreSQL（{type(exc).__name__}）：请安装并启动 PostgreSQL"
                "（apt-get install postgresql，本机以 postgres 用户免密访问 127.0.0.1:5432），"
                "或设置 DATABASE_URL 指向一个 PostgreSQL 数据库。"
            )
        _local_postgres()
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/hotline"
    say("数据库：本机 PostgreSQL 127.0.0.1:5432/hotline")


def ensure_redis(env: dict) -> None:
    if env.get("CELERY_BROKER_URL"):
        say("消息队列：CELERY_BROKER_URL 已设置")
        return
    if port_open("127.0.0.1", 6379):
        say("消息队列：本机 Redis 127.0.0.1:6379")
        return
    server = shutil.which("redis-server")
    if server is None:
        sys.exit(
            "[make run] 没有可用的 Redis：请安装 redis-server（apt-get install redis-server），"
            "或设置 CELERY_BROKER_URL / REDIS_URL 指向一个 Redis。"
        )
    VAR.mkdir(exist_ok=True)
    subprocess.run(
        [
            server,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(VAR),
            "--logfile",
            str(VAR / "redis.log"),
        ],
        check=True,
    )
    for _ in range(50):
        if port_open("127.0.0.1", 6379):
            say("消息队列：已启动本机 Redis 127.0.0.1:6379")
            return
        time.sleep(0.1)
    sys.exit("[make run] Redis 启动失败，见 var/redis.log")


def manage(env: dict, *args: str) -> None:
    subprocess.run([PY, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def main() -> None:
    if port_open(HOST, PORT):
        sys.exit(f"[make run] {HOST}:{PORT} 已被占用：系统可能已在运行（http://{HOST}:{PORT}/）。")
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("HOTLINE_DEMO", "1")
    choose_database(env)
    ensure_redis(env)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_demo")
    VAR.mkdir(exist_ok=True)
    procs = {
        "web": [PY, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"],
        "worker": [
            PY,
            "-m",
            "celery",
            "-A",
            "hotline",
            "worker",
            "-l",
            "info",
            "--concurrency",
            "2",
            "-n",
            "hotline-dev@%h",
        ],
        "beat": [
            PY,
            "-m",
            "celery",
            "-A",
            "hotline",
            "beat",
            "-l",
            "info",
            "--schedule",
            str(VAR / "celerybeat-schedule"),
        ],
    }
    children = {name: subprocess.Popen(cmd, env=env, cwd=ROOT) for name, cmd in procs.items()}
    for _ in range(100):
        if port_open(HOST, PORT):
            break
        time.sleep(0.2)
    print(
        f"""
================================================================
  12345 接诉即办 已启动:  http://{HOST}:{PORT}/
  API 文档: http://{HOST}:{PORT}/api/docs/    健康检查: http://{HOST}:{PORT}/healthz
  演示账号（密码均为 hotline-demo）:
    operator1 话务员   dispatcher1 派单员   supervisor1 督办员
    auditor1 审计员    admin 系统管理员
    chaoyang-wangjing-handler / chaoyang-wangjing-manager  望京街道
    zjw-handler 市住建委    heat-handler 热力集团
    （每个单位都有 <单位编码>-handler 和 <单位编码>-manager）
  按 Ctrl-C 停止 web、worker 和 beat。
================================================================
""",
        flush=True,
    )

    def stop(*_):
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in children.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        for name, proc in children.items():
            if proc.poll() is not None:
                say(f"{name} 进程已退出（代码 {proc.returncode}），正在停止其他进程。")
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
