"""Webhook endpoints and their deliveries (SPEC section 10).

An endpoint is a URL, the events it wants and its signing secret. A delivery is one event for
one endpoint, written in the same transaction as the change it reports (like the outbox's
messages) and sent later by the worker: its body is fixed when it is queued, and so is its
``webhook_id``, so every attempt, and a replay, sends the same bytes under the same id.

States of a delivery: ``pending`` (waiting for ``next_attempt_at``; a worker sending it pushes
that time one lease ahead first), ``sent`` (a 2xx answer), ``failed`` (a refused URL, or
``WEBHOOK_MAX_ATTEMPTS`` reached; listed, and replayable).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model
from .types import BigIntPK, UTCDateTime, one_of, utcnow

WEBHOOK_EVENTS = (
    "customer.created",
    "booking.created",
    "booking.cancelled",
    "booking.rescheduled",
)
WEBHOOK_DELIVERY_STATES = ("pending", "sent", "failed")
WEBHOOK_URL_MAX_LENGTH = 2000


class WebhookEndpoint(Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    url: Mapped[str] = mapped_column(String(WEBHOOK_URL_MAX_LENGTH))
    # The event types it receives, a subset of WEBHOOK_EVENTS (checked by webhooks/service.py).
    events: Mapped[list[str]] = mapped_column(JSON)
    # "whsec_" + base64 of 32 random bytes: the receiver verifies with it, so it is kept
    # as is (it signs; it cannot be hashed like an API key).
    secret: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class WebhookDelivery(Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("state", WEBHOOK_DELIVERY_STATES), name="state"),
        CheckConstraint(one_of("event_type", WEBHOOK_EVENTS), name="event_type"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(40))
    # The Standard Webhooks "webhook-id" ("msg_…"): the same on every attempt and on a replay.
    webhook_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body that is signed and sent
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the receiver's HTTP status
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A replay's delivery points at the one it repeats.
    replay_of: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL")
    )

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event_type} {self.state}>"
