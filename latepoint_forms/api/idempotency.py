"""``Idempotency-Key`` on API POSTs (SPEC section 3): a retry replays, never writes twice.

Scope and fingerprint
    A key is scoped to the API key that sent it (unique index on ``api_key_id, key``). The
    fingerprint is the SHA-256 of the method, the path below the API prefix (a retry through
    the ``/wp-json`` alias is the same request) and the raw body bytes. Same key, same
    fingerprint: the stored status, body, ``Location`` and ``Content-Type`` are replayed with
    ``Idempotent-Replayed: true``. Same key, another fingerprint: 422 ``idempotency_key_reused``.

The claim is in the write's transaction
    The record (with the response to replay) is inserted in the same transaction as the
    write it guards: ``create_customer(before_commit=ResponseInTransaction(...))`` builds the
    201 response after the flush and adds the record, and one commit stores both. So a key
    is never claimed without its customer, nor a customer created without its claim.

While the first request is in flight
    On PostgreSQL a request first takes ``pg_try_advisory_xact_lock`` on (API key, key),
    held by its transaction until commit or rollback. A concurrent retry that cannot take it
    gets 409 ``idempotency_conflict`` at once; one that takes it after the first committed
    reads the committed record and replays it (reads are READ COMMITTED, after the lock).
    On SQLite writers are serialized by the database lock: a concurrent retry waits for the
    first writer's commit (the busy timeout) and then loses the race below, so it replays.
    The lock is an early answer, not the guarantee; the unique index is: when two requests
    do reach the insert (SQLite; or a lock released early by a rollback), the second insert
    fails, its whole transaction (customer included) is rolled back, and the committed
    record is replayed. Exactly one write per key can commit.

What is stored
    2xx responses, and the business outcomes 422 ``validation_failed`` and 409
    ``email_exists`` (the same body always deserves the same answer, even if the data
    changed meanwhile). Not stored: 401/403 (checked before the key is read), 400/413/415
    (the request was never read as a command), 429, and 5xx (a retry must get a fresh try).

Expiry
    Records are kept ``IDEMPOTENCY_TTL_SECONDS`` (24 h). An expired record is ignored: the
    request runs afresh, and the expired record is deleted in the transaction that stores
    the new one, right before its insert. (Deleting it when the key is read would not do:
    a 422 or 409 rolls that transaction back, the delete with it, and the old record would
    then win the unique index and be replayed.) Only a live record is ever replayed, also
    after a lost race. After each new record up to ``PURGE_BATCH`` expired rows are
    deleted, and ``flask idempotency purge`` deletes them all (for a cron job).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..customers.errors import ValidationFailed
from ..errors import API_PREFIXES, AppError, error_envelope
from ..extensions import db
from ..models import IdempotencyRecord
from ..models.types import utcnow

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
# Visible ASCII (a UUID, a ULID, "order-1234/retry"); header values beyond ASCII are
# mangled by proxies, and spaces invite keys that differ only in trailing blanks.
KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY_RE = re.compile(KEY_PATTERN)
STORED_ERROR_CODES = frozenset({"validation_failed", "email_exists"})
REPLAYED_HEADERS = ("Content-Type", "Location")
PURGE_BATCH = 100

log = logging.getLogger(__name__)


class IdempotencyConflict(AppError):
    status, code = 409, "idempotency_conflict"
    message = "A request with this Idempotency-Key is still being processed. Retry shortly."


class IdempotencyKeyReused(AppError):
    status, code = 422, "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request"


@dataclass
class Claim:
    api_key_id: int
    key: str
    fingerprint: str
    stored: bool = False
    replaces_expired: bool = False  # an expired record holds the key until the new one is stored


def _relative_path() -> str:
    for prefix in API_PREFIXES:
        if request.path.startswith(prefix + "/"):
            return request.path[len(prefix) :]
    return request.path


def request_fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {_relative_path()}\n".encode())
    digest.update(request.get_data(cache=True))  # over MAX_CONTENT_LENGTH: 413 here
    return digest.hexdigest()


def advisory_lock_id(api_key_id: int, key: str) -> int:
    """A signed 64-bit id for ``pg_try_advisory_xact_lock`` from (API key, Idempotency-Key)."""
    digest = hashlib.sha256(f"{api_key_id}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _find(api_key_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    ).scalar_one_or_none()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    response = current_app.response_class(record.response_body or "", status=record.response_status)
    response.headers.update(record.response_headers or {})
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _begin() -> Claim | Response | None:
    """None without the header; the replay of a committed record; else a fresh claim."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY_RE.fullmatch(key):
        raise ValidationFailed(
            {HEADER: f"Use 1 to {KEY_MAX_LENGTH} visible ASCII characters, such as a UUID"}
        )
    api_key = g.api_key  # set by require_key, which must wrap this decorator
    claim = Claim(api_key.id, key, request_fingerprint())
    if db.session.get_bind().dialect.name == "postgresql":
        lock = func.pg_try_advisory_xact_lock(advisory_lock_id(api_key.id, key))
        if not db.session.execute(select(lock)).scalar_one():
            db.session.rollback()
            raise IdempotencyConflict()
    record = _find(api_key.id, key)
    if record is None:
        return claim
    if record.expires_at > utcnow():
        db.session.rollback()  # releases the advisory lock
        return _replay(record, claim.fingerprint)
    claim.replaces_expired = True  # this request starts afresh; _store deletes the old record
    return claim


def _store(claim: Claim, response: Response) -> None:
    now = utcnow()
    ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_TTL_SECONDS"])
    if claim.replaces_expired:
        # Only while still expired: if a concurrent request replaced it meanwhile, its live
        # record stays, our insert fails on the unique index, and we replay that record.
        db.session.execute(
            delete(IdempotencyRecord)
            .where(
                IdempotencyRecord.api_key_id == claim.api_key_id,
                IdempotencyRecord.key == claim.key,
                IdempotencyRecord.expires_at <= now,
            )
            .execution_options(synchronize_session=False)
        )
    db.session.add(
        IdempotencyRecord(
            api_key_id=claim.api_key_id,
            key=claim.key,
            fingerprint=claim.fingerprint,
            response_status=response.status_code,
            response_body=response.get_data(as_text=True),
            response_headers={
                k: response.headers[k] for k in REPLAYED_HEADERS if k in response.headers
            },
            created_at=now,
            expires_at=now + ttl,
        )
    )
    claim.stored = True


def remember(response: Response) -> None:
    """Add the request's record with this response to the current transaction (if a key came)."""
    claim: Claim | None = g.get("idempotency_claim")
    if claim is not None:
        _store(claim, response)


class ResponseInTransaction:
    """A ``before_commit`` hook: build the success response inside the write's transaction
    and store it with the idempotency claim, so the write, the claim and the response to
    replay commit together. The view returns ``.response``."""

    def __init__(self, build: Callable[..., ResponseReturnValue]) -> None:
        self._build = build
        self.response: Response | None = None

    def __call__(self, *args: Any) -> None:
        self.response = current_app.make_response(self._build(*args))
        remember(self.response)


def _storable(response: Response) -> bool:
    return 200 <= response.status_code < 300


def _error_response(error: AppError) -> Response:
    response = jsonify(error_envelope(error))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _lost_race(claim: Claim) -> Response | None:
    """After our insert of the claim was refused: the winner's committed record, replayed
    (never an expired one: it answered another request, long ago)."""
    db.session.rollback()
    record = _find(claim.api_key_id, claim.key)
    db.session.rollback()
    if record is None or record.expires_at <= utcnow():
        return None
    return _replay(record, claim.fingerprint)


def idempotent(view: F) -> F:
    """Honour ``Idempotency-Key`` on a POST view (inside ``require_key``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        begun = _begin()
        if not isinstance(begun, Claim):
            return begun if begun is not None else view(*args, **kwargs)
        claim = begun
        g.idempotency_claim = claim
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except AppError as error:
            db.session.rollback()
            if error.code not in STORED_ERROR_CODES:
                raise
            response = _error_response(error)
        except IntegrityError:
            replay = _lost_race(claim)
            if replay is None:
                raise
            return replay
        except BaseException:
            db.session.rollback()
            raise
        if not claim.stored:
            if not (_storable(response) or response.status_code in (409, 422)):
                db.session.rollback()
                return response
            try:
                _store(claim, response)
                db.session.commit()
            except IntegrityError:
                return _lost_race(claim) or response
        purge_expired(limit=PURGE_BATCH)
        return response

    return wrapped  # type: ignore[return-value]


def purge_expired(limit: int | None = None) -> int:
    """Delete expired records (at most ``limit``); returns how many. Never raises on the
    opportunistic path: a failed clean-up must not fail the request that triggered it."""
    expired = select(IdempotencyRecord.id).where(IdempotencyRecord.expires_at <= utcnow())
    if limit is not None:
        expired = expired.limit(limit)
    try:
        result = db.session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.id.in_(expired))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        if limit is None:
            raise
        log.warning("Purging expired idempotency records failed", exc_info=True)
        return 0
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
