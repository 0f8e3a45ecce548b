"""Webhook endpoints and events (SPEC section 10).

``queue_event`` is called by the services that make a change (a customer created, a booking
made, cancelled or moved), inside the caller's unit of work: one delivery row per active
endpoint that wants the event, flushed and committed with the change or not at all (a rolled-
back change sends nothing). The worker sends them (webhooks/delivery.py).

Transactions: this layer adds and flushes; the caller's unit of work commits.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import g, has_app_context
from sqlalchemy import exists, select

from ..extensions import db
from ..ids import is_valid_id
from ..models import WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint
from ..models.types import utcnow
from .addresses import AddressRefused, check_url

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
SECRET_BYTES = 32


class WebhookError(Exception):
    """A webhook command that cannot be done; ``str()`` says why."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where webhooks may go: https only in production; private addresses only when allowed."""

    https_only: bool
    allow_private: bool
    timeout: float
    max_attempts: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebhookSettings:
        return cls(
            https_only=config.get("ENV_NAME") == "production",
            allow_private=bool(config.get("WEBHOOKS_ALLOW_PRIVATE")),
            timeout=float(config.get("WEBHOOK_TIMEOUT") or 5),
            max_attempts=int(config.get("WEBHOOK_MAX_ATTEMPTS") or 8),
        )


def parse_events(raw: str | Iterable[str] | None) -> list[str]:
    """The event types asked for ("a,b" or a list); every one when none is given (None).
    A list given but empty (``--events ""``) is refused, not taken for "all"."""
    if raw is None:
        return list(WEBHOOK_EVENTS)
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    events = [item.strip() for item in items if item.strip()]
    if not events:
        raise WebhookError(f"name at least one event: {', '.join(WEBHOOK_EVENTS)}")
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise WebhookError(
            f"unknown event {', '.join(unknown)}; known: {', '.join(WEBHOOK_EVENTS)}"
        )
    return [event for event in WEBHOOK_EVENTS if event in events]


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def add_endpoint(
    url: str, events: list[str], settings: WebhookSettings, *, now: datetime | None = None
) -> WebhookEndpoint:
    """A new endpoint (its ``secret`` is what the receiver verifies signatures with)."""
    try:
        check_url(url, https_only=settings.https_only, allow_private=settings.allow_private)
    except AddressRefused as exc:
        raise WebhookError(f"refused {url!r}: {exc}") from exc
    endpoint = WebhookEndpoint(
        url=url,
        events=parse_events(events),
        secret=new_secret(),
        active=True,
        created_at=now or utcnow(),
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def list_endpoints(*, include_removed: bool = False) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if not include_removed:
        query = query.where(WebhookEndpoint.active.is_(True))
    return list(db.session.execute(query).scalars())


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) if is_valid_id(endpoint_id) else None
    if endpoint is None or not endpoint.active:
        raise WebhookError(f"no webhook endpoint {endpoint_id}")
    return endpoint


def remove_endpoint(endpoint_id: int) -> WebhookEndpoint:
    """The endpoint receives nothing more; its delivery log stays. Its pending deliveries are
    marked failed by the worker's next claim (webhooks/delivery.py), which also catches one
    queued by a change that read the endpoint as active just before this committed; one in
    flight now finishes and is recorded as it ends."""
    endpoint = _endpoint(endpoint_id)
    endpoint.active = False
    db.session.flush()
    return endpoint


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def event_body(event_type: str, data: Mapping[str, Any], at: datetime) -> str:
    """The JSON body of an event: ``{"type", "timestamp", "data"}`` (compact, UTF-8)."""
    timestamp = at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


# Read on every change that has an event (a customer created…): a Core statement built once.
_ACTIVE_ENDPOINTS = select(
    WebhookEndpoint.__table__.c.id, WebhookEndpoint.__table__.c.events
).where(WebhookEndpoint.__table__.c.active.is_(True))


@dataclass(frozen=True)
class ActiveEndpoint:
    id: int
    events: tuple[str, ...]


# A door that already asked the database whether any endpoint is active, in a statement it
# makes anyway (the API's key look-up), notes the answer for the rest of the request (``g``
# lives as long as the request's app context): without one, no endpoint is read again.
ANY_ACTIVE_ENDPOINT = exists().where(WebhookEndpoint.__table__.c.active.is_(True))
_NONE_ACTIVE_KEY = "webhook_endpoints_none_active"


def note_endpoints_active(active: bool) -> None:
    if has_app_context():
        setattr(g, _NONE_ACTIVE_KEY, not active)


def active_endpoints() -> list[ActiveEndpoint]:
    """The active endpoints and what they want: one read (for a door that changes many
    records at once, such as the import, read once and passed to ``queue_event``); none
    when this request has been told there is none (``note_endpoints_active``)."""
    if has_app_context() and g.get(_NONE_ACTIVE_KEY, False):
        return []
    rows = db.session.connection().execute(_ACTIVE_ENDPOINTS).all()
    return [ActiveEndpoint(row.id, tuple(row.events or ())) for row in rows]


def queue_event(
    event_type: str,
    data: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    *,
    now: datetime | None = None,
    endpoints: Sequence[ActiveEndpoint] | None = None,
) -> list[WebhookDelivery]:
    """One delivery per active endpoint that wants ``event_type``, in the caller's unit of
    work. ``data`` may be a function: it is called only when some endpoint wants the event,
    so the usual case (no endpoint) costs one small read and nothing else."""
    if event_type not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}")
    if endpoints is None:
        endpoints = active_endpoints()
    wanted = [endpoint.id for endpoint in endpoints if event_type in endpoint.events]
    if not wanted:
        return []
    now = now or utcnow()
    body = event_body(event_type, data() if callable(data) else data, now)
    webhook_id = new_webhook_id()
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_type=event_type,
            webhook_id=webhook_id,
            payload=body,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id in wanted
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    return deliveries


def list_deliveries(*, failed_only: bool = False, limit: int = 50) -> list[WebhookDelivery]:
    """The newest deliveries first (only the failed ones with ``failed_only``)."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if failed_only:
        query = query.where(WebhookDelivery.state == "failed")
    return list(db.session.execute(query).scalars())


def replay_delivery(delivery_id: int, *, now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery again: a new row with the same ``webhook_id`` and body (a receiver that
    keeps the ids it has seen takes it for the same event), due now."""
    original = db.session.get(WebhookDelivery, delivery_id) if is_valid_id(delivery_id) else None
    if original is None:
        raise WebhookError(f"no webhook delivery {delivery_id}")
    _endpoint(original.endpoint_id)  # a removed endpoint is not sent to again
    now = now or utcnow()
    replay = WebhookDelivery(
        endpoint_id=original.endpoint_id,
        event_type=original.event_type,
        webhook_id=original.webhook_id,
        payload=original.payload,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        replay_of=original.id,
    )
    db.session.add(replay)
    db.session.flush()
    return replay
