"""What the form views share: the "database unavailable" case and the status of a re-render."""

from __future__ import annotations

import logging

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
