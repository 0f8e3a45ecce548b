"""Storing the importer's rows a batch at a time (SPEC sections 6 and 7).

Every row is still judged on its own, by the rules every door uses (``parse_customer_input``
and ``check_customer``: the caller's job, see importer.py); what is batched is the database
work. A batch of up to ``BATCH_SIZE`` rows costs three look-ups (which of its fingerprints,
emails and WordPress users are stored already), one multi-row ``INSERT … ON CONFLICT DO
NOTHING RETURNING`` and one commit (``commit_step``: the documented exception of
unit_of_work.py), where a row at a time cost a look-up, an insert and a commit each.

Judging a batch: its rows are decided in file order, as if each were committed before the
next, so the outcome is the one a row-at-a-time import would give:

- a row whose fingerprint is stored, or taken by an earlier row of the batch, is already
  present (the same record; with nothing but a name there is nothing else to tell apart);
- else a row whose email (or WordPress user) is stored, or taken by an earlier row of the
  batch, is rejected with that field's message;
- else the row is accepted, and its email, WordPress user and fingerprint are taken for the
  rows after it.

The database stays the backstop: the unique indexes answer through ``ON CONFLICT DO
NOTHING``, which refuses a row without aborting the statement, so a row taken meanwhile by
another run is simply not returned. It is then judged again against what is stored now (and
a row that only drew a customer code already in use is inserted again with a new one). A row
refused at insert is reported and the rest of its batch still lands; nothing is half-written,
since a customer is one row.

A dry run judges the same way and writes nothing; it remembers the keys (never the rows) of
what it would have written, so a later batch is judged as the real run would judge it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import AppError
from ..extensions import db
from ..models import Customer
from ..models.customer import search_text_of
from ..unit_of_work import commit_step
from ..webhooks import events as webhook_events
from ..webhooks import service as webhook_service
from .errors import EmailExists, ValidationFailed
from .input import CustomerInput
from .service import WORDPRESS_USER_TAKEN, new_customer_code

BATCH_SIZE = 500
SOURCE = "import"
_CODE_ATTEMPTS = 5
_INPUT_FIELDS = tuple(f.name for f in fields(CustomerInput))

CREATED, VALID, ALREADY_PRESENT, REJECTED = "created", "valid", "already_present", "rejected"
PENDING = "pending"  # not decided yet


@dataclass
class Row:
    """One row of the file: its first line, the last line it spans, ``checked`` (its input
    after every rule) and ``fingerprint`` until it is decided, then ``kind`` (``created``,
    ``valid`` in a dry run, ``already_present`` or ``rejected``) and ``error``."""

    line: int
    last_line: int
    checked: CustomerInput | None = None
    fingerprint: str | None = None
    kind: str = PENDING
    error: AppError | None = None
    # Already present because an earlier row of the batch, accepted, is the same record: it
    # ends as that row ends (a row refused at insert takes this one with it).
    same_as: Row | None = None

    def record(self) -> tuple[CustomerInput, str]:
        """The checked input and fingerprint of a row whose rules passed."""
        if self.checked is None or self.fingerprint is None:
            raise ValueError(f"line {self.line} did not pass the rules")
        return self.checked, self.fingerprint

    def reject(self, error: AppError) -> None:
        self.kind, self.error = REJECTED, error

    def rejections(self) -> list[tuple[str, str]]:
        """(field, message) for every reason the row was rejected."""
        if self.error is None:
            return []
        if not self.error.details:
            return [("", self.error.message)]
        return list(self.error.details.items())


@dataclass
class _Taken:
    """Unique keys that a row of the batch can no longer have."""

    fingerprints: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    wordpress_user_ids: set[int] = field(default_factory=set)

    def take(self, data: CustomerInput, fingerprint: str) -> None:
        self.fingerprints.add(fingerprint)
        if data.email is not None:
            self.emails.add(data.email)
        if data.wordpress_user_id is not None:
            self.wordpress_user_ids.add(data.wordpress_user_id)


def _values_in(column: Any, values: set[Any]) -> set[Any]:
    if not values:
        return set()
    query = select(column).where(column.in_(sorted(values)))
    return set(db.session.execute(query).scalars())


def _plan_for_the_table_as_it_is() -> None:
    """On PostgreSQL, plan this transaction's look-ups for the table as it is now.

    psycopg prepares a statement once it has run five times, and PostgreSQL may then keep a
    generic plan for it: one made while an import's table was still small is a sequential
    scan, kept as the table grows (100,000 rows later, each look-up read the whole table).
    ``SET LOCAL`` ends with the batch's transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _stored(rows: Sequence[Row]) -> _Taken:
    """Which of these rows' fingerprints, emails and WordPress users are stored."""
    wanted = _Taken()
    for row in rows:
        wanted.take(*row.record())
    return _Taken(
        _values_in(Customer.import_fingerprint, wanted.fingerprints),
        _values_in(Customer.email, wanted.emails),
        _values_in(Customer.wordpress_user_id, wanted.wordpress_user_ids),
    )


def _refusal(data: CustomerInput, *taken: _Taken) -> AppError | None:
    """The error of a row whose email or WordPress user is in any of ``taken``, else None."""
    if data.email is not None and any(data.email in keys.emails for keys in taken):
        return EmailExists(data.email)
    wordpress_user_id = data.wordpress_user_id
    if wordpress_user_id is not None and any(
        wordpress_user_id in keys.wordpress_user_ids for keys in taken
    ):
        return ValidationFailed({"wordpress_user_id": WORDPRESS_USER_TAKEN})
    return None


def _judge(rows: Iterable[Row], stored: _Taken, earlier: _Taken, accepted_kind: str) -> list[Row]:
    """Decide each row in order against what is ``stored`` and what ``earlier`` rows took
    (which the accepted rows join); return the accepted rows."""
    accepted: list[Row] = []
    by_fingerprint: dict[str, Row] = {}
    for row in rows:
        data, fingerprint = row.record()
        if fingerprint in stored.fingerprints or fingerprint in earlier.fingerprints:
            row.kind = ALREADY_PRESENT
            row.same_as = by_fingerprint.get(fingerprint)
            continue
        error = _refusal(data, stored, earlier)
        if error is not None:
            row.reject(error)
            continue
        row.kind = accepted_kind
        earlier.take(data, fingerprint)
        by_fingerprint[fingerprint] = row
        accepted.append(row)
    return accepted


# One multi-row INSERT per batch: only the fingerprint comes back, the one thing needed to
# tell which rows the unique indexes refused.
_CUSTOMERS = Customer.metadata.tables[Customer.__tablename__]
_INSERT_ROWS = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(_CUSTOMERS)
    .on_conflict_do_nothing()
    .returning(_CUSTOMERS.c.import_fingerprint)
    for dialect in (postgresql, sqlite)
}


def _insert_values(row: Row) -> dict[str, Any]:
    data, fingerprint = row.record()
    code = new_customer_code()
    return {
        # One level deep, as the columns take them: ``asdict``'s deep copy costs more than
        # the rest of the row's insert.
        **{name: getattr(data, name) for name in _INPUT_FIELDS},
        "source": SOURCE,
        "import_fingerprint": fingerprint,
        "customer_code": code,
        "search_text": search_text_of(
            data.first_name, data.last_name, data.email, data.phone, code
        ),
    }


def _insert(rows: list[Row]) -> None:
    """Insert the accepted rows; judge again the ones the unique indexes refused."""
    insert_rows = _INSERT_ROWS[db.session.get_bind().dialect.name]
    for _ in range(_CODE_ATTEMPTS):
        if not rows:
            return
        returned = set(
            db.session.execute(insert_rows, [_insert_values(row) for row in rows]).scalars()
        )
        refused = [row for row in rows if row.fingerprint not in returned]
        if not refused:
            return
        # Taken since the look-up (another run), or a customer code drawn twice: judged
        # against what is stored now; what is still free drew a code in use and goes again.
        stored = _stored(refused)
        rows = []
        for row in refused:
            data, fingerprint = row.record()
            error = _refusal(data, stored)
            if fingerprint in stored.fingerprints:
                row.kind = ALREADY_PRESENT
            elif error is not None:
                row.reject(error)
            else:
                rows.append(row)
    if rows:
        raise RuntimeError("could not draw unique customer codes")


def _queue_created_events(rows: list[Row]) -> None:
    """``customer.created`` for each customer this batch stored, when an endpoint wants it
    (webhooks/events.py); committed with the batch. Without one, a single read per batch."""
    fingerprints = [row.fingerprint for row in rows if row.kind == CREATED]
    if not fingerprints:
        return
    endpoints = webhook_service.active_endpoints()
    if not any("customer.created" in endpoint.events for endpoint in endpoints):
        return
    customers = db.session.execute(
        select(Customer).where(Customer.import_fingerprint.in_(fingerprints)).order_by(Customer.id)
    ).scalars()
    for customer in customers:
        webhook_events.customer_created(customer, endpoints=endpoints)


class BatchWriter:
    """Collects the rows of a file in order and settles them ``BATCH_SIZE`` at a time."""

    def __init__(self, *, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> None:
        self.dry_run, self.batch_size = dry_run, batch_size
        self._rows: list[Row] = []
        self._dry_run_taken = _Taken()  # a dry run's memory of what it would have written

    def add(self, row: Row) -> list[Row]:
        """Add a row (decided already if rejected by a rule); return the rows settled by it:
        none until a batch is full, then the whole batch, in file order."""
        self._rows.append(row)
        return self.flush() if len(self._rows) >= self.batch_size else []

    def flush(self) -> list[Row]:
        """Settle the rows held (commit them, unless a dry run); return them in file order."""
        rows, self._rows = self._rows, []
        open_rows = [row for row in rows if row.kind == PENDING]
        if not open_rows:
            return rows
        _plan_for_the_table_as_it_is()
        stored = _stored(open_rows)
        if self.dry_run:
            _judge(open_rows, stored, self._dry_run_taken, VALID)
            return rows
        # The batches before this one are committed: the database knows what they took.
        created = _judge(open_rows, stored, _Taken(), CREATED)
        _insert(created)
        _queue_created_events(created)
        for row in open_rows:
            if row.same_as is not None and row.same_as.kind == REJECTED:
                row.kind, row.error = REJECTED, row.same_as.error
        commit_step()  # this batch (see unit_of_work.py)
        return rows
