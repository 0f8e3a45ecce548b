"""What time it is, for the pages whose answer depends on it (the manage link's cut-off, /book's
times and the links its messages carry).

Read through ``now()`` rather than the system clock, so a test can set the app's ``CLOCK``
(a callable returning an aware UTC datetime) and see a page as it will look at that moment.
Production never sets it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from .models.types import utcnow

CLOCK_KEY = "CLOCK"


def now() -> datetime:
    clock: Callable[[], datetime] | None = current_app.config.get(CLOCK_KEY)
    return clock() if clock is not None else utcnow()
