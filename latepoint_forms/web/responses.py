"""What the web views share: the "database unavailable" case, and keeping personal pages out
of caches."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Response, make_response, session
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..extensions import db

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (
    "We could not save your details just now. Nothing was lost — please try again."
)


def database_unavailable(exc: BaseException) -> bool:
    """True for a lost or refused database connection (not for a refused row).

    An IntegrityError is a DBAPIError too, but it means the data was refused: the services turn
    the ones they expect into domain errors, and any other is a bug, not an outage.
    """
    if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
        log.warning("Database unavailable during a form submission: %s", exc.__class__.__name__)
        return True
    return False


def rollback_quietly() -> None:
    """Roll back after a lost connection; the rollback itself may fail on a dead socket."""
    try:
        db.session.rollback()
    except Exception:
        log.debug("Rollback after a lost connection failed", exc_info=True)


# A page with someone's details must not be kept by the browser's cache (the back button on a
# shared computer) or any cache on the way.
NO_STORE = "no-store"


def private_page(view: Callable[..., ResponseReturnValue]) -> Callable[..., Response]:
    """Send ``Cache-Control: no-store`` with every response of a page showing personal data."""

    @functools.wraps(view)
    def private_view(*args: Any, **kwargs: Any) -> Response:
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = NO_STORE
        return response

    return private_view


def no_store_while_signed_in(response: Response) -> Response:
    """Every HTML page names the signed-in customer (the header links to their account)."""
    # The type first: reading the session marks the response "Vary: Cookie", not for JSON.
    if response.mimetype == "text/html" and session.get("customer_id") is not None:
        response.headers["Cache-Control"] = NO_STORE
    return response
