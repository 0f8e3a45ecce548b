"""Delivering the outbox: claim a due message, send it, record what happened.

Claiming is a short transaction of its own: the message's ``next_attempt_at`` is pushed one
lease ahead and its ``attempts`` counted, then committed, before anything is sent (no
transaction, and no lock, is held while the mail server answers). So:

- several workers at once on PostgreSQL each take a different message (``FOR UPDATE SKIP
  LOCKED`` skips the rows another worker is claiming; the claim is committed before sending);
- on SQLite, which has no row locks, the claim is a compare-and-set on ``next_attempt_at``:
  of two workers that read the same row, one update matches and the other matches nothing
  and moves on, so SQLite delivers one message at a time safely too;
- a worker that dies while sending leaves the message claimed until its lease runs out;
  then it is due again and sent again (at least once). Only a crash between the mail
  server's "250 OK" and the next commit can send a message twice, never a decision.

Failures: a temporary one (connection refused, a 4xx) schedules the next attempt with
exponential backoff; a permanent one (a 5xx) or the ``OUTBOX_MAX_ATTEMPTS``-th attempt marks
the message failed (listed by ``flask outbox list --failed``, retried by ``flask outbox retry``).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import OutboxMessage
from ..models.types import utcnow
from ..unit_of_work import commit_step
from .mail import send_email
from .service import Attachment

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Longer than any send may take, so a message in hand is not due for another worker: at
# least 5 minutes, and 12 times MAIL_TIMEOUT (which bounds each SMTP step: connect, greeting,
# TLS, login, envelope, data, quit, with room to spare).
LEASE = timedelta(minutes=5)
LEASE_MAIL_TIMEOUTS = 12


def lease() -> timedelta:
    mail_timeout = float(current_app.config.get("MAIL_TIMEOUT") or 0)
    return max(LEASE, timedelta(seconds=LEASE_MAIL_TIMEOUTS * mail_timeout))


BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
LAST_ERROR_MAX_LENGTH = 1000


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, 4 min, … at most 1 hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


@dataclass(frozen=True)
class Claimed:
    """A message in hand: what is needed to send it, read before the claim commits."""

    id: int
    message_id: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    attachments: tuple[Attachment, ...]
    attempts: int  # this attempt included


@dataclass(frozen=True)
class Outcome:
    id: int
    sent: bool
    state: str  # "sent", "pending" (tried again later) or "failed"
    error: str | None = None


class PermanentFailure(Exception):
    """The mail server refused the message for good (5xx): trying again will not help."""


def claim_next(now: datetime) -> Claimed | None:
    """Claim the oldest due message (committed); None when nothing is due."""
    for _ in range(100):  # another worker won a race for the row we read: read again
        try:
            claimed, contended = _try_claim(now)
        except OperationalError:
            # SQLite: another worker's write made our read stale ("database is locked").
            db.session.rollback()
            log.debug("Claim contended; reading again", exc_info=True)
            continue
        if not contended:
            return claimed
    return None


def _earlier_of_its_booking_waits(now: datetime) -> Any:
    """An older message of the same booking, already due and still pending (its confirmation
    waiting out a mail-server outage): this one goes after it, so a customer never reads
    "cancelled" or "moved" before "confirmed". A reminder not due yet holds nothing back."""
    earlier = aliased(OutboxMessage)
    return exists().where(
        earlier.booking_id == OutboxMessage.booking_id,
        earlier.id < OutboxMessage.id,
        earlier.state == "pending",
        earlier.due_at <= now,
    )


def _try_claim(now: datetime) -> tuple[Claimed | None, bool]:
    row = db.session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.state == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.booking_id.is_(None), ~_earlier_of_its_booking_waits(now)),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        db.session.rollback()
        return None, False
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.state == "pending",
            OutboxMessage.next_attempt_at == row.next_attempt_at,
        )
        .values(next_attempt_at=now + lease(), attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return None, True
    claimed = Claimed(
        id=row.id,
        message_id=row.message_id,
        recipient=row.recipient,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        attachments=tuple(Attachment.from_json(a) for a in row.attachments or []),
        attempts=row.attempts + 1,
    )
    commit_step()
    db.session.expunge(row)  # changed behind the ORM's back (above and below): never reused
    return claimed, False


def _send(claimed: Claimed) -> None:
    try:
        send_email(
            message_id=claimed.message_id,
            recipient=claimed.recipient,
            subject=claimed.subject,
            body_text=claimed.body_text,
            body_html=claimed.body_html,
            attachments=claimed.attachments,
        )
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise


def deliver_claimed(claimed: Claimed, clock: Clock) -> Outcome:
    """Send a claimed message and record the outcome (committed)."""
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    try:
        _send(claimed)
    except Exception as exc:
        # The mail server or the network (smtplib, OSError) — or a message that cannot be
        # composed: counted as an attempt too, so it ends up failed rather than retried forever.
        if not isinstance(exc, PermanentFailure | smtplib.SMTPException | OSError):
            log.exception("Message %s could not be sent", claimed.id)
        error = f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX_LENGTH]
        now = clock()
        give_up = isinstance(exc, PermanentFailure) or claimed.attempts >= max_attempts
        values: dict[str, object] = {"last_error": error}
        if give_up:
            values["state"] = "failed"
        else:
            values["next_attempt_at"] = now + backoff(claimed.attempts)
        _record(claimed.id, values)
        state = "failed" if give_up else "pending"
        log.warning(
            "Message %s not sent (attempt %s, now %s): %s",
            claimed.id,
            claimed.attempts,
            state,
            error,
        )
        return Outcome(claimed.id, sent=False, state=state, error=error)
    _record(claimed.id, {"state": "sent", "sent_at": clock(), "last_error": None})
    return Outcome(claimed.id, sent=True, state="sent")


def _record(message_id: int, values: dict[str, object]) -> None:
    # A reminder withdrawn while in hand stays withdrawn unless it was sent after all.
    states = ("pending", "withdrawn") if values.get("state") == "sent" else ("pending",)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state.in_(states))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    commit_step()


def deliver_next(clock: Clock = utcnow) -> Outcome | None:
    """Claim and send one due message; None when nothing is due."""
    claimed = claim_next(clock())
    if claimed is None:
        return None
    return deliver_claimed(claimed, clock)


def deliver_due(clock: Clock = utcnow, *, limit: int | None = None) -> list[Outcome]:
    """Send every message that is due now (each tried once), then return."""
    outcomes: list[Outcome] = []
    while limit is None or len(outcomes) < limit:
        outcome = deliver_next(clock)
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes
