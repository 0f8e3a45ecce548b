"""gunicorn settings for production: ``make serve``, or ``gunicorn -c gunicorn.conf.py app:app``.

Everything comes from the environment (12-factor). The app itself reads ``DATABASE_URL``,
``REDIS_URL`` (shared rate-limit counters: set it whenever there is more than one worker
or host) and ``SECRET_KEY`` (required when ``LATEPOINT_ENV=production``).

  HOST, PORT            where to listen (127.0.0.1:8000: behind a reverse proxy on the host;
                        HOST=0.0.0.0 in a container)
  WEB_CONCURRENCY       worker processes (default 2 x CPU cores + 1)
  GUNICORN_THREADS      threads per worker (default 1: sync workers)
  GUNICORN_TIMEOUT      seconds before a stuck worker is killed and replaced (default 30)
  FORWARDED_ALLOW_IPS   proxies whose X-Forwarded-Proto gunicorn believes (default 127.0.0.1)
  LOG_LEVEL             gunicorn's error log level (default info)
  RATELIMIT_PER_PROCESS 1: allow several workers without REDIS_URL (each its own budgets);
                        otherwise that start is refused
  METRICS_ENABLED       1: Prometheus metrics at /metrics, added up over every worker
                        (PROMETHEUS_MULTIPROC_DIR; a fresh directory is made when unset)

How long a request body may take to arrive is bounded by the app (REQUEST_BODY_TIMEOUT,
latepoint_forms/request_body.py): gunicorn has no setting for it.
"""

import multiprocessing
import os

# gunicorn is how we serve production: fail closed (SECRET_KEY required, secure cookies)
# unless the operator says otherwise.
os.environ.setdefault("LATEPOINT_ENV", "production")

from latepoint_forms import serving  # after LATEPOINT_ENV is settled

# Before the app (and prometheus-client) is loaded: the workers' shared metrics directory.
serving.prepare_metrics_dir(os.environ)

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak can never take a host down. The app is loaded
# once in the master and each worker is forked from it: a new worker costs a fork, not the
# 0.7 s of CPU of importing and building the app (country, phone and address metadata), which
# made every recycle a visible stall. Nothing opens a database or Redis connection while the
# app is built, so no connection is shared across the fork.
# A worker's memory stays flat over 50,000 requests (bench/RESULTS.md), so a recycle every
# 20,000 is a guard, not a cure; each new worker still warms its caches and connections.
preload_app = True
max_requests = 20000
max_requests_jitter = 2000
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs to stdout/stderr for the process manager to collect. The access log ends with the
# request id the app returned in X-Request-ID: the key to the app's own log lines.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" '
    "request_id=%({x-request-id}o)s"
)


def on_starting(server):  # type: ignore[no-untyped-def]
    # Here, not above: the worker count is final only once the command line is read too.
    serving.refuse_unshared_rate_limits(server.cfg.workers, os.environ)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    serving.forget_worker_metrics(worker.pid, os.environ)


def on_exit(server):  # type: ignore[no-untyped-def]
    serving.remove_made_metrics_dirs()  # a temporary metrics directory made at start
