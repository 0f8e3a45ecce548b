"""Checks and set-up for serving under gunicorn, called from ``gunicorn.conf.py``'s hooks.

Kept here rather than in the config file so they are tested like the rest of the code.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Mapping, MutableMapping

from .booleans import parse_bool

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = parse_bool(raw)
    if value is None:
        raise SystemExit(f"{name} must be a yes/no word (1/0, true/false, …), got {raw!r}")
    return value


def refuse_unshared_rate_limits(workers: int, env: Mapping[str, str]) -> None:
    """Stop the start when several workers would each keep their own rate-limit budgets.

    Without ``REDIS_URL`` every worker counts in its own memory: five workers let five
    budgets through, and nothing says so. That is refused unless the operator says it is
    meant (``RATELIMIT_PER_PROCESS=1``) or limits are off.
    """
    if workers <= 1 or env.get("REDIS_URL", "").strip():
        return
    if not _flag(env, "RATELIMIT_ENABLED", True) or _flag(env, "RATELIMIT_PER_PROCESS", False):
        return
    raise SystemExit(
        f"Refusing to start {workers} workers without REDIS_URL: each worker would keep its "
        f"own rate-limit budget, so clients get {workers} times the limits. Set REDIS_URL to "
        "share them, WEB_CONCURRENCY=1 for one worker, or RATELIMIT_PER_PROCESS=1 if "
        "per-process budgets are meant."
    )


def prepare_metrics_dir(env: MutableMapping[str, str]) -> str | None:
    """With ``METRICS_ENABLED``, the directory where every worker's metrics are kept.

    prometheus-client's multi-process mode: each worker writes its counters to files in
    ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds them all up, so a scrape sees the
    whole server whichever worker answers it. A directory is made when none is given. It
    must be set before prometheus-client is imported, so this runs in the config file,
    before the app is loaded. Files of an earlier run are removed (their counts are not
    this server's).
    """
    if not _flag(env, "METRICS_ENABLED", False):
        return None
    directory = env.get(METRICS_DIR_VARIABLE, "").strip()
    if not directory:
        directory = tempfile.mkdtemp(prefix="latepoint-metrics-")
        env[METRICS_DIR_VARIABLE] = directory
        _made_dirs.append(directory)
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.unlink(path)
    return directory


_made_dirs: list[str] = []  # the directories prepare_metrics_dir made (not those it was given)


def remove_made_metrics_dirs() -> None:
    """When the server stops (gunicorn's ``on_exit``): remove the directories made above."""
    while _made_dirs:
        shutil.rmtree(_made_dirs.pop(), ignore_errors=True)


def forget_worker_metrics(pid: int, env: Mapping[str, str]) -> None:
    """A worker has exited: drop its live gauges (its counters stay counted)."""
    if env.get(METRICS_DIR_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
