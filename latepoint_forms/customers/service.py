"""Customer registration: the one service behind the web forms, the JSON API and the CLI.

Transactions: this layer adds and flushes; the caller's unit of work commits (see
unit_of_work.py). Uniqueness (email, WordPress user, customer code) is enforced by unique
indexes; the insert is where a refusal shows, and it is translated into the domain error
here, so two concurrent requests can never both win, whatever any pre-check saw. A refusal
leaves the caller's unit of work as it was (see ``_raise_refusal``): whether anything of it
is kept is the caller's decision, made where the unit commits or rolls back.

Settings are the caller's: ``RuleSettings`` and the custom-field definitions are handed in,
so one request reads the definitions once and one operation judges by one set of settings.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, overload

from sqlalchemy import Row, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from ..codes import CUSTOMER_CODE
from ..extensions import db
from ..ids import is_valid_id
from ..models import CUSTOMER_SOURCES, Customer
from ..models.customer import search_terms, search_text_of
from ..passwords import hash_password
from ..problems import N_, Problem
from ..webhooks import events as webhook_events
from .custom_fields import FieldDefinition, active_custom_field_definitions, validate_custom_fields
from .errors import CustomerNotFound, EmailExists, ValidationFailed
from .fields import CUSTOMER_FIELDS
from .input import CustomerInput, RuleSettings
from .preferences import validate_preferences

_CODE_ATTEMPTS = 5

WORDPRESS_USER_TAKEN = N_("This WordPress user is already linked to another customer")


_INPUT_FIELDS = tuple(f.name for f in fields(CustomerInput))


def new_customer_code() -> str:
    return CUSTOMER_CODE.new()


@dataclass(frozen=True)
class CheckedCustomer:
    """A customer's input after the business rules too: exactly what ``create_customer``
    stores. Only ``check_customer`` makes one, so holding one means it was checked."""

    data: CustomerInput


def check_customer(
    data: CustomerInput,
    settings: RuleSettings,
    definitions: Sequence[FieldDefinition] | None = None,
) -> CheckedCustomer:
    """The rules that need configuration or the catalog: custom fields against their
    definitions (read now unless given), booking preferences against the catalog. Raises
    ``ValidationFailed`` with every such error (``custom_fields.<key>``/``preferences.<key>``)."""
    if definitions is None:
        definitions = active_custom_field_definitions()
    custom_fields, errors = validate_custom_fields(
        data.custom_fields,
        definitions,
        region=settings.phone_region(data.country),
        check_deliverability=settings.check_deliverability,
    )
    preferences = None
    if data.preferences is not None:
        preferences, preference_errors = validate_preferences(data.preferences)
        errors.update(preference_errors)
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    return CheckedCustomer(replace(data, custom_fields=custom_fields, preferences=preferences))


def validate_customer(data: CustomerInput, settings: RuleSettings) -> CustomerInput:
    """Every check of ``create_customer``, uniqueness included, with nothing stored."""
    errors: dict[str, str | Problem] = {}
    try:
        data = check_customer(data, settings).data
    except ValidationFailed as failed:
        errors.update(failed.problems)
    if data.wordpress_user_id is not None and _exists(
        Customer.wordpress_user_id == data.wordpress_user_id
    ):
        errors["wordpress_user_id"] = WORDPRESS_USER_TAKEN
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    if data.email is not None and _exists(Customer.email == data.email):
        raise EmailExists(data.email)
    return data


@overload
def create_customer(
    customer: CustomerInput | CheckedCustomer,
    *,
    source: str,
    settings: RuleSettings,
    password: str | None = None,
    import_fingerprint: str | None = None,
    as_row: Literal[False] = False,
) -> Customer: ...


@overload
def create_customer(
    customer: CustomerInput | CheckedCustomer,
    *,
    source: str,
    settings: RuleSettings,
    password: str | None = None,
    import_fingerprint: str | None = None,
    as_row: Literal[True],
) -> Row[Any]: ...


def create_customer(
    customer: CustomerInput | CheckedCustomer,
    *,
    source: str,
    settings: RuleSettings,
    password: str | None = None,
    import_fingerprint: str | None = None,
    as_row: bool = False,
) -> Customer | Row[Any]:
    """Add a new customer and flush; raise ``ValidationFailed`` or ``EmailExists``.

    An unchecked ``CustomerInput`` goes through ``check_customer`` first. ``as_row``: return
    the stored row as it is (every column, by name) and make no ORM instance for it, for a
    caller that only reports what was stored.
    """
    row = _insert_customer(
        customer,
        source=source,
        settings=settings,
        password=password,
        import_fingerprint=import_fingerprint,
    )
    return row if as_row else _persistent(Customer(**row._mapping))


def _insert_customer(
    customer: CustomerInput | CheckedCustomer,
    *,
    source: str,
    settings: RuleSettings,
    password: str | None,
    import_fingerprint: str | None,
) -> Row[Any]:
    if source not in CUSTOMER_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if isinstance(customer, CustomerInput):
        customer = check_customer(customer, settings)
    data = customer.data

    values: dict[str, Any] = {
        # One level deep, as the columns take them (``asdict`` deep-copies the custom fields
        # and preferences only for the INSERT to serialise them).
        **{name: getattr(data, name) for name in _INPUT_FIELDS},
        "source": source,
        "import_fingerprint": import_fingerprint,
    }
    if password is not None:
        values["password_hash"] = hash_password(password, fast=settings.fast_password_hashing)
        values["is_guest"] = False

    insert_statement = _INSERT_CUSTOMER[db.session.get_bind().dialect.name]
    for _ in range(_CODE_ATTEMPTS):
        values["customer_code"] = code = new_customer_code()
        values["search_text"] = search_text_of(
            data.first_name, data.last_name, data.email, data.phone, code
        )
        # On the session's connection (its transaction), after what the session holds is
        # flushed, as its own execute would: a Core statement needs nothing else of the ORM.
        db.session.flush()
        row = db.session.connection().execute(insert_statement, values).first()
        if row is not None:
            webhook_events.customer_created(row)  # with the customer, or not at all
            return row
        _raise_refusal(data, import_fingerprint)  # else a random code collision: draw again
    raise RuntimeError("could not draw a unique customer code")


class FingerprintTaken(Exception):
    """Another customer holds this ``import_fingerprint`` (the same item, stored meanwhile)."""


def _raise_refusal(data: CustomerInput, import_fingerprint: str | None) -> None:
    """After an insert the unique indexes refused: the domain error for the value taken.

    The insert said ``ON CONFLICT DO NOTHING``: a refusal is no error for the database, so
    the unit of work goes on unharmed (whatever else it wrote stays, and nothing has to be
    rolled back here). On PostgreSQL a conflicting insert still in flight elsewhere is waited
    for, so the row that refused ours is committed and these reads see it.
    """
    if data.email is not None and _exists(Customer.email == data.email):
        raise EmailExists(data.email)
    if data.wordpress_user_id is not None and _exists(
        Customer.wordpress_user_id == data.wordpress_user_id
    ):
        raise ValidationFailed({"wordpress_user_id": WORDPRESS_USER_TAKEN})
    if import_fingerprint is not None and _exists(
        Customer.import_fingerprint == import_fingerprint
    ):
        raise FingerprintTaken(import_fingerprint)


# Creating customers is the hot path of the API: a Core INSERT … RETURNING built once, and the
# stored row handed to the session as a persistent object, costs a third of an ORM flush of
# a new object (its unit of work and per-attribute events) and gives the same instance. The
# unique indexes answer through ON CONFLICT DO NOTHING (both databases' upsert syntax): no row
# back means refused, and the session's transaction is not aborted by it.
_CUSTOMERS = Customer.metadata.tables[Customer.__tablename__]
_INSERT_CUSTOMER = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(_CUSTOMERS)
    .on_conflict_do_nothing()
    .returning(*_CUSTOMERS.c)
    for dialect in (postgresql, sqlite)
}


def _persistent(customer: Customer) -> Customer:
    """An instance built from a stored row, as the session's own (as if it had loaded it)."""
    make_transient_to_detached(customer)
    db.session.add(customer)
    return customer


# What a customer may change about themselves (the account's profile, confirmed changes typed at
# /book): not the address (changed only by a confirmed link), nor what the business decides.
PROFILE_KEYS = tuple(
    d.key
    for d in CUSTOMER_FIELDS
    if d.key not in {"email", "status", "is_guest", "wordpress_user_id", "notes"}
)


def update_profile(
    customer: Customer,
    data: CustomerInput | CheckedCustomer,
    settings: RuleSettings,
    *,
    keys: Collection[str] = PROFILE_KEYS,
    definitions: Sequence[FieldDefinition] | None = None,
) -> Customer:
    """Set the ``keys`` of ``customer`` (a subset of ``PROFILE_KEYS``) from ``data`` and flush.

    An unchecked ``CustomerInput`` goes through ``check_customer`` first (the same rules as
    registration; ``ValidationFailed`` with every error). ``custom_fields`` are merged: the
    keys given replace the stored ones, the others stay.
    """
    unknown = set(keys) - set(PROFILE_KEYS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    if isinstance(data, CustomerInput):
        data = check_customer(data, settings, definitions)
    for key in keys:
        value = getattr(data.data, key)
        if key == "custom_fields":
            value = {**(customer.custom_fields or {}), **value}
        setattr(customer, key, value)
    db.session.flush()
    return customer


def get_customer(customer_id: int) -> Customer:
    # A path can carry any integer; the key column holds 64 bits.
    customer = db.session.get(Customer, customer_id) if is_valid_id(customer_id) else None
    if customer is None:
        raise CustomerNotFound()
    return customer


def _exists(condition: Any) -> bool:
    return db.session.execute(select(Customer.id).where(condition).limit(1)).first() is not None


def _like_pattern(term: str) -> str:
    """``%term%`` for LIKE with ``\\`` as the escape character, the term's wildcards escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_customers(
    page: int, per_page: int, search: str | None = None, status: str | None = None
) -> tuple[list[Customer], int]:
    """One page of customers, newest first (by id), and how many match in all.

    ``search`` matches a part of the name ("Anne Marie" spans first and last), email, phone
    or customer code, ignoring case and accents on both databases alike: it is folded the way
    ``Customer.search_text`` is, and compared with that (see models/customer.py).
    """
    conditions = []
    if status is not None:
        conditions.append(Customer.status == status)
    if search:
        # Any of the term's forms (a phone number is also tried as E.164 digits).
        patterns = [_like_pattern(term) for term in search_terms(search)]
        conditions.append(or_(*(Customer.search_text.like(p, "\\") for p in patterns)))
    total = db.session.execute(
        select(func.count()).select_from(Customer).where(*conditions)
    ).scalar_one()
    query = (
        select(Customer)
        .where(*conditions)
        .order_by(Customer.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(db.session.execute(query).scalars()), total
