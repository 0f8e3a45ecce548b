"""gunicorn settings of the floor app: gunicorn's defaults (sync workers), no access log."""

import os
import runpy

_here = os.path.dirname(os.path.abspath(__file__))

accesslog = None
post_worker_init = runpy.run_path(os.path.join(_here, "gunicorn_ready.py"))["post_worker_init"]
