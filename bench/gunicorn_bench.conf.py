"""The production ``gunicorn.conf.py``, unchanged except that the access log is off.

The benchmark measures the app, not the cost of writing one log line per request to a pipe;
every other setting (workers from WEB_CONCURRENCY, timeouts, keep-alive, worker recycling)
is read from the production file itself, so a change there is measured here too. The
RSS measurement adds ``--max-requests 0`` on the command line (it overrides this file). The
one addition, a ``post_worker_init`` hook, only tells the driver when a worker is ready.
"""

import os
import runpy

_here = os.path.dirname(os.path.abspath(__file__))
_production = runpy.run_path(os.path.join(os.path.dirname(_here), "gunicorn.conf.py"))
globals().update({name: value for name, value in _production.items() if not name.startswith("_")})

accesslog = None
post_worker_init = runpy.run_path(os.path.join(_here, "gunicorn_ready.py"))["post_worker_init"]
