"""Sending webhook deliveries: claim a due one, sign it, POST it, record the answer.

Claiming works as the outbox's does (outbox/delivery.py): a short transaction pushes the
delivery's ``next_attempt_at`` one lease ahead and counts the attempt, committed before the
request goes out (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a compare-and-set on SQLite), so
several workers never send one delivery at once, and a worker that dies mid-send leaves it due
again after the lease (at least once; the receiver tells a repeat by its ``webhook-id``).

Each attempt is signed afresh (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, with the ``standardwebhooks`` package) over the body fixed at queueing.
The URL is checked again and the connection pinned to the addresses checked
(webhooks/addresses.py); an attempt has a deadline of its own (``post``). A 2xx answer is
delivered; any other answer, a timeout or a refused connection is tried again with
exponential backoff, and marked failed at the ``WEBHOOK_MAX_ATTEMPTS``-th attempt; an address
refused by the guard fails at once. Redirects are not followed (a 3xx is a failed attempt): a
redirect could point anywhere.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from standardwebhooks import Webhook

from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint
from ..models.types import utcnow
from ..outbox.delivery import backoff
from ..unit_of_work import commit_step
from .addresses import AddressRefused, Target, check_url
from .service import WebhookSettings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

USER_AGENT = "latepoint-forms-webhooks/1"
LAST_ERROR_MAX_LENGTH = 1000
# An attempt (connect, send, the answer's status line and headers) takes at most this many
# WEBHOOK_TIMEOUTs; the lease is longer still, so no other worker takes a delivery in hand.
ATTEMPT_TIMEOUTS = 2
LEASE = timedelta(minutes=2)
LEASE_TIMEOUTS = 12


@dataclass(frozen=True)
class Claimed:
    id: int
    webhook_id: str
    payload: str
    url: str
    secret: str
    attempts: int  # this attempt included


@dataclass(frozen=True)
class Outcome:
    id: int
    delivered: bool
    state: str  # "sent", "pending" (tried again later) or "failed"
    status: int | None = None
    error: str | None = None


def _lease(settings: WebhookSettings) -> timedelta:
    return max(LEASE, timedelta(seconds=LEASE_TIMEOUTS * settings.timeout))


def claim_next(now: datetime, settings: WebhookSettings) -> Claimed | None:
    """Claim the oldest due delivery (committed); None when nothing is due."""
    _settle_removed_endpoints()
    for _ in range(100):
        try:
            claimed, contended = _try_claim(now, settings)
        except OperationalError as exc:
            if "locked" not in str(exc.orig):  # a database that is down is not contention
                raise
            db.session.rollback()  # SQLite: another worker's write made our read stale
            continue
        if not contended:
            return claimed
    return None


def _settle_removed_endpoints() -> None:
    """Pending deliveries of removed endpoints are failed ("endpoint removed"), committed."""
    removed = select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(False))
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.endpoint_id.in_(removed))
        .values(state="failed", last_error="endpoint removed")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        commit_step()
    else:
        db.session.rollback()


def _try_claim(now: datetime, settings: WebhookSettings) -> tuple[Claimed | None, bool]:
    row = db.session.execute(
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        db.session.rollback()
        return None, False
    delivery, url, secret = row
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
        )
        .values(next_attempt_at=now + _lease(settings), attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return None, True
    claimed = Claimed(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        payload=delivery.payload,
        url=url,
        secret=secret,
        attempts=delivery.attempts + 1,
    )
    commit_step()
    db.session.expunge(delivery)
    return claimed, False


def signed_headers(claimed: Claimed, at: datetime) -> dict[str, str]:
    at = at.astimezone(UTC)  # the library reads the clock's fields as UTC
    signature = Webhook(claimed.secret).sign(claimed.webhook_id, at, claimed.payload)
    return {
        "webhook-id": claimed.webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class AttemptTooLong(Exception):
    """The receiver did not answer within the attempt's deadline (it trickled or stalled)."""


def _cut(sock: socket.socket, cut: threading.Event) -> None:
    cut.set()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _connect(target: Target, timeout: float) -> socket.socket:
    """A connection to the first of the checked addresses that answers (never a new lookup)."""
    last_error: OSError | None = None
    for address in target.addresses:
        try:
            return socket.create_connection((address, target.port), timeout=timeout)
        except OSError as exc:
            last_error = exc  # try the next address of the name
    assert last_error is not None
    raise last_error


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to ``target`` over a connection pinned to its checked addresses; the
    answer's status. Connecting may take ``timeout``; the whole attempt at most
    ``ATTEMPT_TIMEOUTS`` times it: a watchdog shuts the socket at that deadline, so a receiver
    that trickles its answer cannot hold the worker. TLS is verified against the host name."""
    sock = _connect(target, timeout)
    cut = threading.Event()
    watchdog = threading.Timer(ATTEMPT_TIMEOUTS * timeout, _cut, (sock, cut))
    watchdog.daemon = True
    watchdog.start()
    connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    try:
        if target.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=target.host)
        connection.sock = sock
        connection.request(
            "POST", target.path, body=body, headers={**headers, "Host": target.host_header}
        )
        response = connection.getresponse()
        if cut.is_set():  # headers cut short read as an answer: it was not one in time
            raise AttemptTooLong(f"no answer within {ATTEMPT_TIMEOUTS * timeout:g} s")
        return int(response.status)  # the body of the answer is not needed: only its status
    except (OSError, http.client.HTTPException) as exc:
        if cut.is_set():
            raise AttemptTooLong(f"no answer within {ATTEMPT_TIMEOUTS * timeout:g} s") from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()
        sock.close()


def deliver_claimed(claimed: Claimed, clock: Clock, settings: WebhookSettings) -> Outcome:
    """Send a claimed delivery and record the outcome (committed)."""
    status: int | None = None
    error: str | None = None
    give_up = False
    try:
        target = check_url(
            claimed.url, https_only=settings.https_only, allow_private=settings.allow_private
        )
        status = post(
            target,
            claimed.payload.encode("utf-8"),
            signed_headers(claimed, clock()),
            settings.timeout,
        )
    except AddressRefused as exc:
        error, give_up = f"refused: {exc}", True
    except Exception as exc:  # the network, TLS, a timeout: tried again later
        error = f"{type(exc).__name__}: {exc}"
    if status is not None and 200 <= status < 300:
        _record(
            claimed.id,
            {"state": "sent", "delivered_at": clock(), "last_status": status, "last_error": None},
        )
        return Outcome(claimed.id, delivered=True, state="sent", status=status)
    if error is None:
        error = f"HTTP {status}"
    give_up = give_up or claimed.attempts >= settings.max_attempts
    values: dict[str, object] = {"last_status": status, "last_error": error[:LAST_ERROR_MAX_LENGTH]}
    if give_up:
        values["state"] = "failed"
    else:
        values["next_attempt_at"] = clock() + backoff(claimed.attempts)
    _record(claimed.id, values)
    state = "failed" if give_up else "pending"
    log.warning(
        "Webhook delivery %s not delivered (attempt %s, now %s): %s",
        claimed.id,
        claimed.attempts,
        state,
        error,
    )
    return Outcome(claimed.id, delivered=False, state=state, status=status, error=error)


def _record(delivery_id: int, values: dict[str, object]) -> None:
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.state == "pending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    commit_step()


def deliver_next(clock: Clock = utcnow) -> Outcome | None:
    """Claim and send one due delivery; None when nothing is due."""
    settings = WebhookSettings.from_config(current_app.config)
    claimed = claim_next(clock(), settings)
    if claimed is None:
        return None
    return deliver_claimed(claimed, clock, settings)


def deliver_due(clock: Clock = utcnow, *, limit: int | None = None) -> list[Outcome]:
    """Send every delivery due now (each tried once), then return."""
    outcomes: list[Outcome] = []
    while limit is None or len(outcomes) < limit:
        outcome = deliver_next(clock)
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes
