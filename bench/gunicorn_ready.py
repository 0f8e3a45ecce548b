"""A gunicorn hook for the benchmark: each worker says when it has loaded the app.

gunicorn listens before its workers have imported the app (a second or more each), so an open
port does not mean the workers are ready; measuring then would time their start-up. With
``BENCH_READY_DIR`` set, each worker creates a file named after its pid there once loaded.
"""

import os
from pathlib import Path


def post_worker_init(worker: object) -> None:
    folder = os.environ.get("BENCH_READY_DIR")
    if folder:
        Path(folder, str(os.getpid())).touch()
