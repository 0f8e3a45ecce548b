"""``POST /customers/bulk``: up to ``MAX_ITEMS`` customers, each created on its own.

The body is ``{"customers": [...]}`` and nothing else. A body that breaks that shape is a
422 ``validation_failed`` (nothing is created); otherwise the answer is a 200 with one result
per item, in input order: ``created`` with the customer, or ``error`` with the same error a
single create would give (``validation_failed``, or ``email_exists``: within one batch the
first item with an email wins, a later one with the same email gets ``email_exists``).

Idempotency-Key
    Each item commits in its own transaction, so the response cannot be committed with the
    writes as a single create does. Instead the ``@idempotent`` decorator stores the response
    after the last item (in its own commit), and each item created under a key carries a
    fingerprint (SHA-256 of the API key, the Idempotency-Key, the request fingerprint and
    the item's index) in ``customers.import_fingerprint``, a unique column, committed with
    the item. A retry after the whole request finished replays the stored response. A retry
    after a crash part-way (no stored response yet) runs the batch again: an item created by
    the crashed attempt is found by its fingerprint and reported ``created`` with that same
    customer — never created twice, with or without an email — and the others are created
    now; the response is then stored as usual. Two such retries racing each other both end
    on the unique fingerprint, so each item still exists once.

While a bulk request is in flight (PostgreSQL)
    The claim's transaction-level advisory lock (api/idempotency.py) ends when the view
    commits before running the items. So the view then takes a session-level advisory lock
    on the same (API key, Idempotency-Key) id, on a dedicated connection, and holds it until
    the request ends (``teardown_request``), after the response is stored. A concurrent retry
    cannot take the claim's lock meanwhile and gets 409 ``idempotency_conflict``, as for a
    single create. (In the instant between the two locks a retry can win instead: then the
    first request is the one answered 409.) Each such request uses a second pooled
    connection while it runs. On SQLite, with no advisory locks, a concurrent retry runs the
    items again: the fingerprints keep them from being created twice, and whichever of the
    two stores its answer second replays the first one's.

Fingerprints expire with the key
    A customer found by its item fingerprint counts only while younger than the key's
    ``IDEMPOTENCY_TTL_SECONDS``: its item ran before the response was stored, so once that
    record has expired, so has the customer's claim to the item. Reusing a key after 24 h
    with the same body is then a new request (``email_exists`` for a taken email, a new
    customer otherwise), as with a new key.

Rate limit
    A bulk request spends one request of the key's budget, like any other. Counting it as N
    would need Flask-Limiter's ``cost`` on the blueprint-wide shared limit, which is computed
    in ``before_request``, before the body is read or the key authenticated; parsing an
    unauthenticated body there to price it is not worth it. MAX_ITEMS bounds the work per
    request instead.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import current_app, g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..customers.bulk import ItemOutcome, create_many
from ..customers.errors import ValidationFailed
from ..customers.input import CustomerInput, RuleSettings
from ..errors import error_envelope
from ..extensions import db
from . import bp
from .auth import require_key
from .body import read_json_object
from .idempotency import Claim, IdempotencyConflict, advisory_lock_id, idempotent
from .representation import customer_as_json

MAX_ITEMS = 100
ITEMS_KEY = "customers"


def _items(body: dict[str, Any]) -> list[Any]:
    errors = {str(key)[:100]: "Unknown field" for key in body if key != ITEMS_KEY}
    items = body.get(ITEMS_KEY)
    if ITEMS_KEY not in body:
        errors[ITEMS_KEY] = "This field is required"
    elif not isinstance(items, list):
        errors[ITEMS_KEY] = "Must be an array of customer objects"
    elif not items:
        errors[ITEMS_KEY] = "Give at least one customer"
    elif len(items) > MAX_ITEMS:
        errors[ITEMS_KEY] = f"At most {MAX_ITEMS} customers per request"
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    assert isinstance(items, list)
    return items


def _retry_fingerprint(claim: Claim) -> Any:
    """Names each item of this exact request under this Idempotency-Key (see the docstring)."""

    def fingerprint(index: int, data: CustomerInput) -> str:
        text = f"api-bulk\0{claim.api_key_id}\0{claim.key}\0{claim.fingerprint}\0{index}"
        return hashlib.sha256(text.encode()).hexdigest()

    return fingerprint


def _hold_in_flight_lock(claim: Claim) -> None:
    """PostgreSQL: hold the key's advisory lock at session level on a connection of its own
    until the request ends (see the docstring); 409 if another request holds it."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    lock_id = advisory_lock_id(claim.api_key_id, claim.key)
    connection = db.engine.connect()
    try:
        taken = connection.execute(select(func.pg_try_advisory_lock(lock_id))).scalar_one()
        connection.commit()  # a session-level lock outlives the transaction that took it
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    if not taken:
        connection.close()
        raise IdempotencyConflict()
    g.bulk_in_flight_lock = (connection, lock_id)


@bp.teardown_request
def _release_in_flight_lock(error: BaseException | None) -> None:
    held = g.pop("bulk_in_flight_lock", None)
    if held is None:
        return
    connection, lock_id = held
    try:
        connection.execute(select(func.pg_advisory_unlock(lock_id)))
        connection.commit()
    except SQLAlchemyError:
        # Never hand a connection that may still hold the lock back to the pool.
        connection.invalidate()
    finally:
        connection.close()


def _result(outcome: ItemOutcome) -> dict[str, Any]:
    if outcome.customer is not None:
        return {
            "index": outcome.index,
            "status": "created",
            "customer": customer_as_json(outcome.customer),
        }
    assert outcome.error is not None
    return {
        "index": outcome.index,
        "status": "error",
        "error": error_envelope(outcome.error)["error"],
    }


@bp.post("/customers/bulk")
@require_key("customers:create")
@idempotent
def bulk_create() -> ResponseReturnValue:
    items = _items(read_json_object())
    claim: Claim | None = g.get("idempotency_claim")
    # End the claim's read transaction (and release PostgreSQL's advisory lock on the key)
    # before the items run, each in a transaction of its own; the key stays locked at
    # session level until the response is stored (see the docstring).
    db.session.commit()
    if claim is not None:
        _hold_in_flight_lock(claim)
    outcomes = create_many(
        items,
        RuleSettings.from_config(current_app.config),
        source="api",
        fingerprint=_retry_fingerprint(claim) if claim is not None else None,
        fingerprint_max_age=timedelta(seconds=current_app.config["IDEMPOTENCY_TTL_SECONDS"]),
    )
    results = [_result(outcome) for outcome in outcomes]
    created = sum(1 for result in results if result["status"] == "created")
    failed = len(results) - created
    body = {
        "status": "success",
        "message": f"{created} created, {failed} failed",
        "data": {"created": created, "failed": failed, "results": results},
    }
    return jsonify(body), 200
