"""The outbox: messages to customers, written in the same transaction as the change they report
(SPEC section 8), then delivered by a worker (outbox/worker.py).

A message is composed when it is queued (subject, plain text, HTML, attachments): what goes out
is what was true when the change was committed, and a worker needs nothing but this row to send
it. A reminder is due later than it is queued; moving or cancelling its booking withdraws it.

States: ``pending`` (waiting for ``next_attempt_at``; a worker delivering it pushes that time
forward by a lease, so a worker that dies mid-send leaves it due again later: at least once),
``sent``, ``failed`` (``OUTBOX_MAX_ATTEMPTS`` reached; listed and retryable) and ``withdrawn``
(a pending reminder whose booking moved or was cancelled).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model
from .types import BigIntPK, UTCDateTime, one_of, utcnow

OUTBOX_STATES = ("pending", "sent", "failed", "withdrawn")
MESSAGE_ID_MAX_LENGTH = 255
RECIPIENT_MAX_LENGTH = 255
SUBJECT_MAX_LENGTH = 255


class OutboxMessage(Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(one_of("state", OUTBOX_STATES), name="state"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # What a worker asks for: the pending messages that are due, oldest first.
        Index("ix_outbox_messages_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # "welcome", "booking_confirmation", "booking_reminder", ... (messages/kinds.py). Not a
    # CHECK: a new kind of message must not need a migration.
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # The RFC 5322 Message-ID ("<…@host>"), fixed when queued: every attempt sends the same
    # one, so a receiving system can tell a repeat from a new message.
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_MAX_LENGTH), unique=True)
    recipient: Mapped[str] = mapped_column(String(RECIPIENT_MAX_LENGTH))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # [{"filename": "booking.ics", "mimetype": "text/calendar; method=REQUEST",
    #   "content": "<base64>"}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.state}>"
