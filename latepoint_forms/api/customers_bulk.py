"""``POST /customers/bulk``: up to ``MAX_ITEMS`` customers, each created on its own.

The body is ``{"customers": [...]}`` and nothing else. A body that breaks that shape is a
422 ``validation_failed`` (nothing is created); otherwise the answer is a 200 with one result
per item, in input order: ``created`` with the customer, or ``error`` with the same error a
single create would give (``validation_failed``, or ``email_exists``: within one batch the
first item with an email wins, a later one with the same email gets ``email_exists``).

Idempotency-Key
    Each item commits on its own (the documented exception of unit_of_work.py), so the
    response cannot be committed with the writes as a single create does. The key is claimed
    in flight before the items run, as for every idempotent POST (api/idempotency.py): a
    concurrent retry gets 409 ``idempotency_conflict`` while the batch runs, on SQLite and
    PostgreSQL alike. The response is stored with the request's final commit, after the last
    item. Each item created under a key also carries a fingerprint (SHA-256 of the API key,
    the Idempotency-Key, the request fingerprint and the item's index) in
    ``customers.import_fingerprint``, a unique column, committed with the item. A retry after a
    crash part-way (the claim left in flight, taken over once its lease has passed) runs the
    batch again: an item created by the crashed attempt is found by its fingerprint and
    reported ``created`` with that same customer — never created twice, with or without an
    email — and the others are created now.

Fingerprints expire with the key
    A customer found by its item fingerprint counts only while younger than the key's
    ``IDEMPOTENCY_TTL_SECONDS``: its item ran before the response was stored, so once that
    record has expired, so has the customer's claim to the item. Reusing a key after 24 h
    with the same body is then a new request (``email_exists`` for a taken email, a new
    customer otherwise), as with a new key.

Rate limit
    A bulk request spends one unit of the key's budget per item (SPEC section 7), priced by
    ``requested_items`` before the view runs (api/ratelimits.py): a bulk over what is left
    of the budget is a 429 and nothing is written. A body that is not a valid bulk costs
    one unit, like any other refused request; it is answered by the view as usual.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from ..customers.bulk import ItemOutcome, create_many
from ..customers.errors import ValidationFailed
from ..customers.input import UNKNOWN_FIELD, CustomerInput
from ..customers.representation import customer_as_json
from ..errors import AppError, error_envelope
from ..i18n import _
from ..problems import N_, Problem
from ..settings import rule_settings
from . import bp
from .auth import require_key
from .body import read_json_object
from .envelope import success
from .idempotency import Claim, current_claim, idempotent

MAX_ITEMS = 100
ITEMS_KEY = "customers"


def _items(body: dict[str, Any]) -> list[Any]:
    errors: dict[str, Problem] = {str(key)[:100]: UNKNOWN_FIELD for key in body if key != ITEMS_KEY}
    items = body.get(ITEMS_KEY)
    if ITEMS_KEY not in body:
        errors[ITEMS_KEY] = Problem("required", N_("This field is required"))
    elif not isinstance(items, list):
        errors[ITEMS_KEY] = Problem("not_an_array", N_("Must be an array of customer objects"))
    elif not items:
        errors[ITEMS_KEY] = Problem("empty", N_("Give at least one customer"))
    elif len(items) > MAX_ITEMS:
        errors[ITEMS_KEY] = Problem(
            "too_many", N_("At most %(max)d customers per request"), {"max": MAX_ITEMS}
        )
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    assert isinstance(items, list)
    return items


def requested_items() -> int:
    """How many customers this request's body asks for: what it spends of the key's budget
    (1 for a body that is not a valid bulk, which the view refuses)."""
    try:
        body = read_json_object()
    except (AppError, HTTPException):
        return 1
    items = body.get(ITEMS_KEY)
    if isinstance(items, list) and 0 < len(items) <= MAX_ITEMS:
        return len(items)
    return 1


def _retry_fingerprint(claim: Claim) -> Any:
    """Names each item of this exact request under this Idempotency-Key (see the docstring)."""

    def fingerprint(index: int, data: CustomerInput) -> str:
        text = f"api-bulk\0{claim.api_key_id}\0{claim.key}\0{claim.fingerprint}\0{index}"
        return hashlib.sha256(text.encode()).hexdigest()

    return fingerprint


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
    claim = current_claim()
    outcomes = create_many(
        items,
        rule_settings(),
        source="api",
        fingerprint=_retry_fingerprint(claim) if claim is not None else None,
        fingerprint_max_age=timedelta(seconds=current_app.config["IDEMPOTENCY_TTL_SECONDS"]),
    )
    results = [_result(outcome) for outcome in outcomes]
    created = sum(1 for result in results if result["status"] == "created")
    failed = len(results) - created
    data = {"created": created, "failed": failed, "results": results}
    return success(
        _("%(created)d created, %(failed)d failed", created=created, failed=failed), data
    )
