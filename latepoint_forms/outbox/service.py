"""Putting messages into the outbox, and the outbox's own housekeeping (list, retry, withdraw).

``queue_message`` joins the caller's unit of work: it adds and flushes, never commits, so the
message is committed with the change it reports or not at all (unit_of_work.py).

Each message has a Message-ID fixed when it is queued. Messages that must exist at most once
(one confirmation per booking, one reschedule notice per SEQUENCE, one welcome per customer)
are queued with a ``dedupe_key``: their Message-ID is made from it, so queuing the same thing
twice returns the message already there, and the unique index on ``message_id`` is the
backstop. Nothing is sent twice on purpose.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import OutboxMessage
from ..models.outbox import SUBJECT_MAX_LENGTH
from ..models.types import utcnow

_KEY_RE = re.compile(r"[A-Za-z0-9._-]+")


class OutboxError(Exception):
    """A housekeeping request that cannot be done (unknown id, already sent)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    mimetype: str  # "text/calendar"
    content: bytes
    # Extra Content-Type parameters: {"method": "REQUEST"} for an iTIP invitation.
    params: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "mimetype": self.mimetype,
            "params": [list(pair) for pair in self.params],
            "content": base64.b64encode(self.content).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Attachment:
        params = data.get("params") or []
        assert isinstance(params, list)
        return cls(
            filename=str(data["filename"]),
            mimetype=str(data["mimetype"]),
            content=base64.b64decode(str(data["content"])),
            params=tuple((str(k), str(v)) for k, v in params),
        )


def mail_domain() -> str:
    """The right-hand side of our Message-IDs: the host of ``PUBLIC_URL``."""
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"


def message_id_for(dedupe_key: str | None) -> str:
    """``<booking.bk-7kq2-m9xd.confirmation@host>`` for a key, else a fresh random one."""
    if dedupe_key is None:
        return make_msgid(domain=mail_domain())
    if not _KEY_RE.fullmatch(dedupe_key):
        raise ValueError(f"dedupe keys are letters, digits, '.', '-' and '_': {dedupe_key!r}")
    return f"<{dedupe_key.lower()}@{mail_domain()}>"


def queue_message(
    *,
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str,
    attachments: Iterable[Attachment] = (),
    customer_id: int | None = None,
    booking_id: int | None = None,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (flushed, not committed).

    ``due_at`` (default: now) is when it may go out: a reminder is due later. With a
    ``dedupe_key`` a message already queued under it is returned instead of a second one.
    """
    now = now or utcnow()
    message_id = message_id_for(dedupe_key)
    if dedupe_key is not None:
        existing = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    due = due_at or now
    message = OutboxMessage(
        kind=kind,
        state="pending",
        message_id=message_id,
        recipient=recipient,
        subject=_one_line(subject)[:SUBJECT_MAX_LENGTH],
        body_text=body_text,
        body_html=body_html,
        attachments=[attachment.as_json() for attachment in attachments],
        customer_id=customer_id,
        booking_id=booking_id,
        due_at=due,
        next_attempt_at=due,
        attempts=0,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    return message


def is_queued(dedupe_key: str) -> bool:
    """Whether a message was ever queued under ``dedupe_key`` (sent, pending or given up)."""
    query = select(OutboxMessage.id).where(OutboxMessage.message_id == message_id_for(dedupe_key))
    return db.session.execute(query).first() is not None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def withdraw_pending(booking_id: int, kind: str) -> int:
    """Withdraw the booking's pending or failed messages of ``kind`` (its reminder, when it
    moves or is cancelled); returns how many. A failed one goes too, so that ``flask outbox
    retry`` can never send a reminder of a time that no longer holds. A message a worker has
    in hand is withdrawn too: the worker records what it did ("sent") but a withdrawn
    message is never tried again."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.booking_id == booking_id,
            OutboxMessage.kind == kind,
            OutboxMessage.state.in_(("pending", "failed")),
        )
        .values(state="withdrawn")
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_messages(*, failed_only: bool = False, include_done: bool = False) -> list[OutboxMessage]:
    """Messages newest first: waiting and failed ones, only failed ones, or every one."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if failed_only:
        query = query.where(OutboxMessage.state == "failed")
    elif not include_done:
        query = query.where(OutboxMessage.state.in_(("pending", "failed")))
    return list(db.session.execute(query).scalars())


def retry_message(message_id: int, *, now: datetime | None = None) -> OutboxMessage:
    """Make a failed message due now, with a fresh count of attempts.

    Only a failed one: a pending message may be in a worker's hands this moment (its lease
    looks like a backoff), and making it due again could send it twice.
    """
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise OutboxError(f"No message has the id {message_id}")
    if message.state != "failed":
        raise OutboxError(
            f"Message {message_id} is {message.state}; only a failed message is retried"
        )
    message.state = "pending"
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    db.session.flush()
    return message


def outbox_depth(now: datetime | None = None) -> int:
    """Messages waiting to go out: pending and due (the ``outbox_depth`` gauge at /metrics).
    A reminder that is due next week is not waiting yet; a failed message is not counted
    (``flask outbox list --failed`` shows those)."""
    moment = now or utcnow()
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.state == "pending", OutboxMessage.due_at <= moment)
    )
    return int(db.session.scalar(query) or 0)
