"""The JSON API blueprint: parsing -> service -> envelope.

Registered twice: under ``/api/v1`` and, for widgets written for the LatePoint API
Extension, unchanged under ``/wp-json/latepoint-api/v1``.
"""

from flask import Blueprint

bp = Blueprint("api", __name__)

# The route modules attach themselves to bp when imported.
from . import (  # noqa: E402,F401
    availability,
    bookings,
    catalog,
    customers_bulk,
    form,
    listing,
    openapi,
    views,
)
from .cors import enable_cors  # noqa: E402
from .ratelimits import limit_api  # noqa: E402

# Once, at import: the blueprint and the limiter are module-level, shared by every app.
limit_api(bp)
enable_cors(bp)
