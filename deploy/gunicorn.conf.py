"""gunicorn settings for a hotline web node (`gunicorn hotline.wsgi:application -c deploy/gunicorn.conf.py`).

Every value can be overridden from the environment file, so one file serves every node size.
"""

import multiprocessing
import os

# Listen on the private network only; nginx (or the load balancer) is the only client.
bind = os.environ.get("HOTLINE_BIND", "127.0.0.1:8000")

# Sync workers: the views are short and database-bound, and nginx buffers slow clients, so a
# worker never waits on a phone's upload. 2 × cores + 1 is gunicorn's rule of thumb; each worker
# holds one PostgreSQL connection (CONN_MAX_AGE 60), so nodes × workers must stay below the
# server's max_connections minus the Celery workers' share.
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "sync"

# A request that takes longer than this is a bug or a stuck database; kill the worker, log it.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# On SIGTERM/SIGHUP a worker finishes its request first (systemd's TimeoutStopSec is longer).
graceful_timeout = 30
keepalive = 5  # behind nginx's upstream keepalive

# Recycle workers now and then so slow growth (jieba caches, fragmentation) never builds up;
# the jitter keeps all workers from restarting at the same moment.
max_requests = 2000
max_requests_jitter = 200

# Load Django, jieba's dictionary and the routing model once in the master; the forked workers
# share those pages copy-on-write (hotline/wsgi.py warms them up). This lowers what the machine
# pays (each worker's PSS), not each worker's RSS, which counts shared pages in full.
preload_app = True

# Only the local nginx may claim HTTPS through X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("HOTLINE_PROXY_IPS", "127.0.0.1")

# Logs go to stdout/stderr and from there to journald (journalctl -u hotline-web).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Client (as nginx saw it), request line, status, size, duration in µs; never the query string,
# which can carry a phone number (searches):
# %(U)s is the path alone.
access_log_format = '%({x-forwarded-for}i)s "%(m)s %(U)s" %(s)s %(B)s %(D)sus "%(a)s"'
proc_name = "hotline-web"


def pre_fork(server, worker):
    """Preloading opened a database connection in the master (the routing model is read from the
    database). A forked worker must not share that socket with its siblings. routing.startup.warm_up
    closes it already; closing again here also covers anything else that queried during import.
    Without preload_app the master never set Django up, and there is nothing to close."""
    from django.conf import settings

    if not settings.configured:
        return
    from django.db import connections

    connections.close_all()
