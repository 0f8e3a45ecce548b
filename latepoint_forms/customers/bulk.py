"""Creating many customers, each on its own: the API's bulk request.

(The file importer judges its rows by the same rules, on their own, and shares
``record_fingerprint``, but stores them a batch at a time: see import_batch.py.)

Every item goes through ``parse_customer_input`` and ``create_customer`` (or, in a dry run,
``validate_customer``), the same path as a single create: no rule is written twice here.

Transactions: the one documented exception to one unit of work per request (see
unit_of_work.py): each item is committed on its own (``commit_step``), so a bad item is
reported and never blocks or half-writes the others, and an item committed before a crash
stays. A refused item is rolled back alone.

Fingerprints: a caller that can name each item stably (the importer, see import_batch.py: a
hash of the normalised record; a bulk request with an Idempotency-Key: a hash of the key,
the body and the index) passes ``fingerprint``. It is stored in
``customers.import_fingerprint`` (unique) in the item's own transaction, so running the same
items again finds the earlier customer instead of creating a second one, even for a row
without an email. A dry run remembers what it would
have created, so a duplicate later in the same batch is judged as the real run would judge it.

Fingerprints that expire: the API's bulk fingerprints name an item of a request under an
Idempotency-Key, which is kept 24 h. ``fingerprint_max_age`` makes a customer found by its
fingerprint count only while younger than that: an older one answered an expired key, so
the item is run as new (its fingerprint moves to the new customer, in the new customer's
transaction). The importer's fingerprints name a record and never expire.

Only the fingerprint makes an item "already present". An item whose email belongs to another
customer (another person, or the same person registered by another route, which stored no
fingerprint) is an ``EmailExists`` error, never silently counted as done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from ..errors import AppError
from ..extensions import db
from ..models import Customer
from ..models.types import utcnow
from ..problems import N_
from ..unit_of_work import commit_step, roll_back
from .errors import EmailExists, ValidationFailed
from .input import CustomerInput, RuleSettings, parse_customer_input
from .service import WORDPRESS_USER_TAKEN, FingerprintTaken, create_customer, validate_customer

NOT_AN_OBJECT = N_("Must be an object with the customer's fields")

# Names what an item is, given its index and its checked input; None: no fingerprint.
Fingerprint = Callable[[int, CustomerInput], str | None]


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item. Exactly one of: ``customer`` (created now, or found by its
    fingerprint: ``existing``), ``data`` (dry run: valid and new), ``error``."""

    index: int
    customer: Customer | None = None
    existing: bool = False
    data: CustomerInput | None = None
    error: AppError | None = None

    @property
    def already_present(self) -> bool:
        """The same item was created before: found by its fingerprint. An email registered
        to another record is not that: it stays the item's ``EmailExists`` error, which the
        importer reports as a rejected row and the API as that item's ``email_exists``."""
        return self.existing


@dataclass
class _DryRunMemory:
    """What a dry run would have written so far: the unique keys alone (an email, an id, a
    64-character fingerprint per row), never the rows."""

    emails: set[str] = field(default_factory=set)
    wordpress_user_ids: set[int] = field(default_factory=set)
    fingerprints: set[str] = field(default_factory=set)


_INPUT_FIELDS = tuple(f.name for f in fields(CustomerInput))


def record_fingerprint(data: CustomerInput) -> str:
    """SHA-256 of the normalised record: the same row, however it was spelled, hashes alike."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else str(value)

    # The fields one level deep, as ``asdict`` would give them (JSON walks the nested dicts
    # itself) at a fraction of its deep copy's cost: the importer hashes every row.
    record = {name: getattr(data, name) for name in _INPUT_FIELDS}
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, default=plain)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _find_by_fingerprint(fingerprint: str) -> Customer | None:
    query = select(Customer).where(Customer.import_fingerprint == fingerprint)
    return db.session.execute(query).scalar_one_or_none()


def _expired(customer: Customer, max_age: timedelta | None) -> bool:
    return max_age is not None and customer.created_at <= utcnow() - max_age


def _release_expired(holder_id: int, fingerprint: str) -> None:
    """The expired holder gives the fingerprint up, in the transaction of the new customer.
    Only that row: if another run took the fingerprint meanwhile, ours clashes on insert."""
    db.session.execute(
        update(Customer)
        .where(Customer.id == holder_id, Customer.import_fingerprint == fingerprint)
        .values(import_fingerprint=None)
        .execution_options(synchronize_session=False)
    )


def _create(
    data: CustomerInput,
    index: int,
    source: str,
    settings: RuleSettings,
    fingerprint: str | None,
    max_age: timedelta | None = None,
) -> ItemOutcome:
    if fingerprint is not None:
        holder = _find_by_fingerprint(fingerprint)
        if holder is not None and not _expired(holder, max_age):
            return ItemOutcome(index, customer=holder, existing=True)
        if holder is not None:
            _release_expired(holder.id, fingerprint)
    try:
        customer = create_customer(
            data, source=source, settings=settings, import_fingerprint=fingerprint
        )
        commit_step()  # this item, on its own (see the module docstring)
    except FingerprintTaken as exc:
        # Another run stored the same fingerprint after our look-up: that one stands.
        assert fingerprint is not None
        return _created_meanwhile(index, fingerprint, max_age, exc)
    except (EmailExists, ValidationFailed) as exc:
        # A concurrent run of the same item may have won on the email (or WordPress user)
        # index, which is checked before the fingerprint: then it is that run's customer.
        if fingerprint is None:
            raise
        return _created_meanwhile(index, fingerprint, max_age, exc)
    return ItemOutcome(index, customer=customer)


def _created_meanwhile(
    index: int, fingerprint: str, max_age: timedelta | None, error: Exception
) -> ItemOutcome:
    roll_back()  # this item wrote nothing worth keeping (an expired holder's release, say)
    existing = _find_by_fingerprint(fingerprint)
    if existing is None or _expired(existing, max_age):
        raise error
    return ItemOutcome(index, customer=existing, existing=True)


def _check(
    data: CustomerInput,
    index: int,
    settings: RuleSettings,
    fingerprint: str | None,
    memory: _DryRunMemory,
) -> ItemOutcome:
    if fingerprint is not None and (
        fingerprint in memory.fingerprints or _find_by_fingerprint(fingerprint) is not None
    ):
        return ItemOutcome(index, existing=True)
    if data.email is not None and data.email in memory.emails:
        raise EmailExists(data.email)
    if data.wordpress_user_id is not None and data.wordpress_user_id in memory.wordpress_user_ids:
        raise ValidationFailed({"wordpress_user_id": WORDPRESS_USER_TAKEN})
    checked = validate_customer(data, settings)
    if data.email is not None:
        memory.emails.add(data.email)
    if data.wordpress_user_id is not None:
        memory.wordpress_user_ids.add(data.wordpress_user_id)
    if fingerprint is not None:
        memory.fingerprints.add(fingerprint)
    return ItemOutcome(index, data=checked)


class Batch:
    """Creates (or, in a dry run, checks) items one by one; a dry run remembers what it
    would have written, so a duplicate later in the batch is judged as the real run would."""

    def __init__(
        self,
        settings: RuleSettings,
        *,
        source: str,
        fingerprint: Fingerprint | None = None,
        fingerprint_max_age: timedelta | None = None,
        dry_run: bool = False,
    ) -> None:
        self.settings, self.source, self.dry_run = settings, source, dry_run
        self.fingerprint, self.fingerprint_max_age = fingerprint, fingerprint_max_age
        self._memory = _DryRunMemory()

    def run(self, index: int, raw: Any) -> ItemOutcome:
        """One item (a JSON-typed mapping): field and business errors (``ValidationFailed``,
        ``EmailExists``) are its outcome; anything else (the database gone) is raised."""
        try:
            if not isinstance(raw, dict):
                raise ValidationFailed({"customer": NOT_AN_OBJECT})
            data = parse_customer_input(raw, self.settings)
            key = self.fingerprint(index, data) if self.fingerprint is not None else None
            if self.dry_run:
                return _check(data, index, self.settings, key, self._memory)
            return _create(data, index, self.source, self.settings, key, self.fingerprint_max_age)
        except (ValidationFailed, EmailExists) as error:
            roll_back()  # this item alone
            return ItemOutcome(index, error=error)


def create_many(
    items: Iterable[Any],
    settings: RuleSettings,
    *,
    source: str,
    fingerprint: Fingerprint | None = None,
    fingerprint_max_age: timedelta | None = None,
    dry_run: bool = False,
) -> Iterator[ItemOutcome]:
    """Create each item on its own (see ``Batch.run``); yield one outcome per item, in order.

    Lazy: a caller streaming many items holds one at a time. An error that is not the
    item's (the database gone) is raised, leaving the items before it committed.
    """
    batch = Batch(
        settings,
        source=source,
        fingerprint=fingerprint,
        fingerprint_max_age=fingerprint_max_age,
        dry_run=dry_run,
    )
    for index, raw in enumerate(items):
        yield batch.run(index, raw)
