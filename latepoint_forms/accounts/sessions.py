"""Server-side web sessions: started at sign-in, checked on each request, ended on the server.

The cookie (Flask's signed session) carries a random token; ``customer_sessions`` holds its
SHA-256, so a session ends wherever its cookie was copied to once its row is revoked
(SPEC section 9: sign-out and a password change end sessions on the server side).

A session is refused once revoked, ``lifetime`` after it started, or ``idle`` after it was
last seen. ``last_seen_at`` is written at most once per ``LAST_SEEN_RESOLUTION``, not on
every request, so the idle timeout is exact to that resolution.

Transactions: this layer adds, updates and flushes; the caller's unit of work commits.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import DBAPIError

from ..db_errors import is_read_only
from ..extensions import db
from ..models import Customer, CustomerSession
from ..unit_of_work import ensure_transaction

log = logging.getLogger(__name__)

LAST_SEEN_RESOLUTION = timedelta(minutes=1)
TOKEN_BYTES = 32


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: ``lifetime`` from sign-in, ``idle`` since last seen."""

    lifetime: timedelta
    idle: timedelta


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(customer: Customer, now: datetime) -> str:
    """A new session for ``customer``; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(
        CustomerSession(
            token_hash=_hash(token), customer_id=customer.id, created_at=now, last_seen_at=now
        )
    )
    db.session.flush()
    return token


def prune_sessions(customer_id: int, now: datetime, policy: SessionPolicy) -> None:
    """Delete the customer's sessions that can no longer be used (at sign-in: the table keeps
    only the live sessions of each customer and what ended since their last sign-in)."""
    db.session.execute(
        delete(CustomerSession)
        .where(CustomerSession.customer_id == customer_id)
        .where(
            or_(
                CustomerSession.revoked_at.is_not(None),
                CustomerSession.created_at <= now - policy.lifetime,
                CustomerSession.last_seen_at <= now - policy.idle,
            )
        )
        .execution_options(synchronize_session=False)
    )


def session_customer(token: str, now: datetime, policy: SessionPolicy) -> Customer | None:
    """The customer signed in by ``token``, or None: unknown, revoked, expired, idle too long,
    or the customer is deactivated. One read by a unique index (the customer comes with it)."""
    row = db.session.execute(
        select(CustomerSession, Customer)
        .join(Customer, Customer.id == CustomerSession.customer_id)
        .where(CustomerSession.token_hash == _hash(token))
    ).first()
    if row is None:
        return None
    found, customer = row[0], row[1]
    if (
        found.revoked_at is not None
        or now - found.created_at >= policy.lifetime
        or now - found.last_seen_at >= policy.idle
        or customer.status == "inactive"
    ):
        return None
    if now - found.last_seen_at >= LAST_SEEN_RESOLUTION:
        _note_seen(found, now)
    return customer


def _note_seen(found: CustomerSession, now: datetime) -> None:
    """Move ``last_seen_at`` on, in a savepoint: on a read-only database (a standby) the note
    is skipped and the page is still served (its own writes are refused on their own)."""
    if found.last_seen_at > now - LAST_SEEN_RESOLUTION:
        return  # noted less than a minute ago: no write at all
    ensure_transaction()  # on SQLite a bare SAVEPOINT would commit on its own at RELEASE
    try:
        with db.session.begin_nested():
            db.session.execute(
                update(CustomerSession)
                .where(CustomerSession.id == found.id)
                .where(CustomerSession.last_seen_at <= now - LAST_SEEN_RESOLUTION)
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
    except DBAPIError as exc:
        if not is_read_only(exc):
            raise
        log.info("Session %s: last use not recorded, the database is read-only", found.id)


def end_session(token: str, now: datetime) -> None:
    """Revoke the session of ``token`` (sign-out): its cookie stops working everywhere."""
    db.session.execute(
        update(CustomerSession)
        .where(CustomerSession.token_hash == _hash(token))
        .where(CustomerSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def end_all_sessions(customer_id: int, now: datetime) -> None:
    """Revoke every session of the customer (a password change). The person who changed it
    is given a new session by the web layer (web/auth.py sign_in)."""
    db.session.execute(
        update(CustomerSession)
        .where(CustomerSession.customer_id == customer_id)
        .where(CustomerSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
