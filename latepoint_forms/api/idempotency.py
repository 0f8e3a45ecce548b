"""``Idempotency-Key`` on API POSTs (SPEC section 3): a retry replays, never writes twice.

Scope and fingerprint
    A key is scoped to the API key that sent it (unique index on ``api_key_id, key``). The
    fingerprint is the SHA-256 of the method, the path below the API prefix (a retry through
    the ``/wp-json`` alias is the same request) and the body in a canonical form: parsed as
    the view parses it (strict JSON) and written again with sorted member names and no
    spacing, so a client that re-serialises the same JSON for its retry (another key order,
    other whitespace or escapes) sends the same request. A body that does not parse is
    fingerprinted by its raw bytes (it is answered 400, never stored). Same key, same
    fingerprint: the stored status, body, ``Location`` and ``Content-Type`` are replayed with
    ``Idempotent-Replayed: true``. Same key, another fingerprint: 422 ``idempotency_key_reused``.

The claim is a row, committed before the request runs
    The first request with a key inserts its record *in flight* (no response yet) and commits
    that claim in a step of its own (unit_of_work.commit_step) before the view runs. The
    unique index on (API key, key) makes it a claim: a concurrent retry's insert fails (on
    PostgreSQL it waits for the claim's commit; on SQLite for the write lock) and it reads the
    committed row instead, so it gets 409 ``idempotency_conflict`` while the first request is
    in flight and the replay once it has finished — the same on both databases, with no
    advisory locks. The response to replay is written into that record in the request's own
    transaction, so it commits with the write it answers, or not at all: a key never answers
    for a customer that was not stored, nor a customer created without its answer.

A request that ends without an answer to keep
    (a 5xx, a 400/413/415, or a final commit that failed: ``unit_of_work.on_failure``) deletes
    its in-flight claim again, so a retry gets a fresh try.
    If even that is impossible (the database went away, or the worker died), the claim stays
    in flight for ``IDEMPOTENCY_LEASE_SECONDS`` (60 s, twice gunicorn's worker timeout), after
    which a retry takes it over. A request whose claim was taken over that way cannot store
    its answer (the record is matched on its claim time) and is rolled back with a 409.

What is stored
    2xx responses, and the business outcomes 422 ``validation_failed`` and 409
    ``email_exists`` (the same body always deserves the same answer, even if the data
    changed meanwhile). Not stored: 401/403 (checked before the key is read), 400/413/415
    (the request was never read as a command), 429, and 5xx (a retry must get a fresh try).

Expiry
    Records are kept ``IDEMPOTENCY_TTL_SECONDS`` (24 h). An expired record is ignored: the
    request claims the key afresh, deleting the expired record in the claim's step. Only a
    live record is ever replayed. Each new claim also deletes up to ``PURGE_BATCH`` other
    expired rows, and ``flask idempotency purge`` deletes them all (for a cron job).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import strict_json
from ..customers.errors import ValidationFailed
from ..errors import API_PREFIXES, AppError, error_envelope
from ..extensions import db
from ..models import IdempotencyRecord
from ..models.types import utcnow
from ..problems import N_, PLAIN, Problem
from ..unit_of_work import commit_step, on_failure, roll_back
from .auth import current_key

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
# Visible ASCII (a UUID, a ULID, "order-1234/retry"); header values beyond ASCII are
# mangled by proxies, and spaces invite keys that differ only in trailing blanks.
KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY_RE = re.compile(KEY_PATTERN)
STORED_ERROR_CODES = frozenset({"validation_failed", "email_exists", "slot_taken"})
REPLAYED_HEADERS = ("Content-Type", "Location")
PURGE_BATCH = 100
_CLAIM_ATTEMPTS = 3
_CLAIM_KEY = "idempotency_claim"  # in ``g``; read through ``current_claim``

log = logging.getLogger(__name__)


class IdempotencyConflict(AppError):
    status, code = 409, "idempotency_conflict"
    message = N_("A request with this Idempotency-Key is still being processed. Retry shortly.")


class IdempotencyKeyReused(AppError):
    status, code = 422, "idempotency_key_reused"
    message = N_("This Idempotency-Key was already used with a different request")


@dataclass(frozen=True)
class Claim:
    """This request's hold on its key: the in-flight record, known by its claim time."""

    record_id: int
    api_key_id: int
    key: str
    fingerprint: str
    claimed_at: datetime


def current_claim() -> Claim | None:
    """The claim of the request being served, if it came with an ``Idempotency-Key``."""
    claim: Claim | None = g.get(_CLAIM_KEY)
    return claim


def _relative_path() -> str:
    for prefix in API_PREFIXES:
        if request.path.startswith(prefix + "/"):
            return request.path[len(prefix) :]
    return request.path


def _canonical_body(raw: bytes) -> bytes:
    """The JSON body in one spelling (see the module docstring); the raw bytes if not JSON."""
    try:
        parsed = strict_json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return b"raw\n" + raw
    # ensure_ascii: escapes keep any lone surrogate in a value encodable.
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return b"json\n" + canonical.encode("ascii")


def fingerprint(method: str, relative_path: str, body: bytes) -> str:
    """What makes two requests under one key the same request (see the module docstring)."""
    digest = hashlib.sha256()
    digest.update(f"{method} {relative_path}\n".encode())
    digest.update(_canonical_body(body))
    return digest.hexdigest()


def request_fingerprint() -> str:
    # Over MAX_CONTENT_LENGTH, get_data raises the 413 here.
    return fingerprint(request.method, _relative_path(), request.get_data(cache=True))


def _find(api_key_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    ).scalar_one_or_none()


def is_replay(api_key_id: int) -> bool:
    """Whether this request will be answered from a stored response (same key, same body,
    finished, not expired): the rate limiter charges a replay as one request, whatever it
    once did (a bulk's items were paid for when they ran)."""
    try:
        key = _requested_key()
    except ValidationFailed:
        return False
    if key is None:
        return False
    record = _find(api_key_id, key)
    return (
        record is not None
        and record.response_status is not None
        and record.expires_at > utcnow()
        and record.fingerprint == request_fingerprint()
    )


def _replay(record: IdempotencyRecord) -> Response:
    response = current_app.response_class(record.response_body or "", status=record.response_status)
    response.headers.update(record.response_headers or {})
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["IDEMPOTENCY_LEASE_SECONDS"])


def _requested_key() -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY_RE.fullmatch(key):
        raise ValidationFailed(
            {
                HEADER: Problem(
                    PLAIN,
                    N_("Use 1 to %(max)d visible ASCII characters, such as a UUID"),
                    {"max": KEY_MAX_LENGTH},
                )
            }
        )
    return key


def _claim(api_key_id: int, key: str, fingerprint: str) -> Claim | Response:
    """Claim the key in a committed step of its own, or answer from its record: the replay of
    a finished request, 409 while one is in flight, 422 for another body under the key."""
    ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_TTL_SECONDS"])
    for _ in range(_CLAIM_ATTEMPTS):
        now = utcnow()
        record = _find(api_key_id, key)
        if record is not None and record.expires_at <= now:
            # Expired: it answered another request long ago. Free the key (only while still
            # expired: a concurrent request may have renewed it meanwhile) and claim afresh.
            _delete_where(IdempotencyRecord.id == record.id, IdempotencyRecord.expires_at <= now)
            record = None
        if record is None:
            claimed = IdempotencyRecord(
                api_key_id=api_key_id,
                key=key,
                fingerprint=fingerprint,
                response_status=None,
                created_at=now,
                expires_at=now + ttl,
            )
            db.session.add(claimed)
            try:
                db.session.flush()
            except IntegrityError:
                roll_back()  # claimed by a concurrent request meanwhile: read its record
                continue
            _purge_some(now)
            commit_step()  # the claim, committed before the request runs (see the docstring)
            return Claim(claimed.id, api_key_id, key, fingerprint, now)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.response_status is not None:
            return _replay(record)
        if record.created_at > now - _lease():
            raise IdempotencyConflict()
        # In flight past its lease: the request that claimed it is gone. Take it over (only
        # if nobody else did meanwhile).
        taken = db.session.execute(
            update(IdempotencyRecord)
            .where(*_still_in_flight(record.id, record.created_at))
            .values(created_at=now, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            commit_step()
            return Claim(record.id, api_key_id, key, fingerprint, now)
        roll_back()
    raise IdempotencyConflict()


def _still_in_flight(record_id: int, claimed_at: datetime) -> tuple[Any, ...]:
    """The record, while it is still the in-flight claim made at ``claimed_at`` (no answer
    yet, not taken over since)."""
    return (
        IdempotencyRecord.id == record_id,
        IdempotencyRecord.response_status.is_(None),
        IdempotencyRecord.created_at == claimed_at,
    )


def _answer(claim: Claim, response: Response) -> bool:
    """Write the response into the claimed record, in the current transaction; False if the
    claim was taken over meanwhile (its lease had passed)."""
    stored = db.session.execute(
        update(IdempotencyRecord)
        .where(*_still_in_flight(claim.record_id, claim.claimed_at))
        .values(
            response_status=response.status_code,
            response_body=response.get_data(as_text=True),
            response_headers={
                k: response.headers[k] for k in REPLAYED_HEADERS if k in response.headers
            },
        )
        .execution_options(synchronize_session=False)
    )
    return stored.rowcount == 1  # type: ignore[attr-defined]


def _release(claim: Claim) -> None:
    """Give the key back after a request with no answer to keep (a 5xx, a 400): a retry gets
    a fresh try. Never raises: if the database is away, the lease frees the key later."""
    try:
        roll_back()
        _delete_where(*_still_in_flight(claim.record_id, claim.claimed_at))
        commit_step()  # the release, on its own: the request's work is already rolled back
    except SQLAlchemyError:
        log.warning("Could not release Idempotency-Key claim %s", claim.record_id, exc_info=True)
        try:
            roll_back()
        except SQLAlchemyError:
            log.debug("Rollback after a failed release failed", exc_info=True)


def _error_response(error: AppError) -> Response:
    response = jsonify(error_envelope(error))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def idempotent(view: F) -> F:
    """Honour ``Idempotency-Key`` on a POST view (inside ``require_key``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        key = _requested_key()
        if key is None:
            return view(*args, **kwargs)
        claimed = _claim(current_key().id, key, request_fingerprint())
        if isinstance(claimed, Response):
            return claimed
        claim = claimed
        setattr(g, _CLAIM_KEY, claim)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except AppError as error:
            if error.code not in STORED_ERROR_CODES:
                _release(claim)
                raise
            # A business outcome: the same body always deserves the same answer. The refused
            # write is rolled back; its answer is stored in a step of its own (the request's
            # unit of work rolls back error responses).
            roll_back()
            response = _error_response(error)
            if _answer(claim, response):
                commit_step()
            return response
        except BaseException:
            _release(claim)
            raise
        if not 200 <= response.status_code < 300:
            _release(claim)
            return response
        if not _answer(claim, response):
            raise IdempotencyConflict()  # taken over past its lease: this request is undone
        on_failure(lambda: _release(claim))  # should the commit of write and answer fail
        return response  # committed with the write by the request's unit of work

    return wrapped  # type: ignore[return-value]


def _delete_where(*conditions: Any) -> int:
    result = db.session.execute(
        delete(IdempotencyRecord).where(*conditions).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _purge_some(now: datetime) -> None:
    """Delete a few expired records with a new claim, so the table does not grow forever."""
    expired = select(IdempotencyRecord.id).where(IdempotencyRecord.expires_at <= now)
    _delete_where(IdempotencyRecord.id.in_(expired.limit(PURGE_BATCH)))


def purge_expired() -> int:
    """Delete every expired record; returns how many (``flask idempotency purge``)."""
    return _delete_where(IdempotencyRecord.expires_at <= utcnow())
