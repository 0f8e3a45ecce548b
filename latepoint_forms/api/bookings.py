"""``POST /bookings`` (SPEC section 10): a booking with its customer, new or returning.

The body is ``{"service_id", "location_id", "agent_id" (or null: any free agent), "start",
"customer"}``: ``start`` is the wall-clock time at the location (``2026-12-03T10:15``, the
form ``GET /availability`` lists), ``customer`` a create-customer body. The booking is made by
the service behind ``/book`` (bookings/visitors.py), so the same rules hold:

- A new address creates the customer (``source`` ``api``; a guest, as at /book, unless a
  secret key sends ``"is_guest": false``); an address on file books for the customer holding
  it, whose record is not changed: what the body typed differently is proposed by a "confirm
  your changes" link in the confirmation sent to the stored address. A national phone number
  is read in the location's country, as at /book.
- One validation pass: every failing part is reported at once in one 422
  ``validation_failed`` — the body's own keys by name, the customer's fields as
  ``customer.<field>`` (``customer.custom_fields.<key>``), as ``custom_fields.<key>`` and
  ``preferences.<key>`` name theirs — references that are unknown, inactive or do not go
  together (``service_id``, ``location_id``, ``agent_id``), and a ``start`` that is malformed
  or not offered (in the past, off the service's grid, outside the opening hours, a closed
  day, beyond the horizon). An offered time that is booked already, or is taken meanwhile,
  is 409 ``slot_taken`` (the database's claims decide, bookings/service.py).
- Fair use (SPEC section 9): a customer holding a booking at an overlapping time, or a full
  day, is a 422 naming ``start`` with the reason. With a publishable key the person at the
  web page may not own the address, so its owner is also told, by the "booking not made"
  message: that message is committed in a step of its own (unit_of_work.py) before the
  refusal answers, since a refusal rolls back the request's unit of work.
- Publishable keys (from their origins) may call it; for them the customer may not set
  ``status``, ``wordpress_user_id`` or ``is_guest`` (403, as ``POST /customers``).

The confirmation (and reminder), the ``booking.created`` event and, for a new customer,
``customer.created`` are written in the request's unit of work: committed with the booking,
or not at all. ``Idempotency-Key`` works as on every POST (api/idempotency.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask.typing import ResponseReturnValue

from .. import clock
from ..bookings.errors import BookingOverlaps, DailyLimitReached, SlotTaken
from ..bookings.representation import booking_made_as_json
from ..bookings.visitors import FairUseRefusal, VisitorBooking, book_for_visitor, settings_at
from ..catalog import hours
from ..catalog.service import References, check_references, slot_problem
from ..customers.custom_fields import FieldDefinition, active_custom_field_definitions
from ..customers.errors import ValidationFailed
from ..customers.input import UNKNOWN_FIELD, RuleSettings, parse_customer_input
from ..customers.service import CheckedCustomer, check_customer
from ..extensions import db
from ..i18n import _
from ..ids import is_valid_id
from ..models import Location
from ..problems import N_, Problem
from ..settings import rule_settings
from ..unit_of_work import commit_step
from . import bp
from .auth import current_key, require_key
from .body import read_json_object
from .envelope import success
from .idempotency import idempotent
from .keys import definitions_with_key, read_definitions_with_key
from .views import refuse_what_publishable_keys_may_not_set

PERMISSION = "bookings:create"
CUSTOMER = "customer"
BODY_KEYS = ("service_id", "location_id", "agent_id", "start", CUSTOMER)
# A customer made by booking has no account, as at /book (a secret key may say otherwise).
CUSTOMER_DEFAULTS = {"is_guest": True}
SOURCE = "api"
REQUIRED = Problem("required", N_("This field is required"))
NOT_AN_INTEGER = Problem("not_an_integer", N_("Must be an integer"))
NOT_POSITIVE = Problem("not_positive", N_("Must be a positive integer"))
NOT_A_STRING = Problem("not_a_string", N_("Must be a string"))
NOT_AN_OBJECT = Problem("not_an_object", N_("Must be an object"))


@dataclass(frozen=True)
class BookingRequest:
    """A body that passed every check: what to book, when, and for whom."""

    checked: CheckedCustomer
    settings: RuleSettings
    definitions: Sequence[FieldDefinition]
    refs: References
    start: datetime  # aware, UTC


def _id(
    body: Mapping[str, Any], name: str, errors: dict[str, str | Problem], *, required: bool
) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            errors[name] = REQUIRED
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = NOT_AN_INTEGER
        return None
    if not is_valid_id(value):
        errors[name] = NOT_POSITIVE
        return None
    return value


def _references(body: Mapping[str, Any], errors: dict[str, str | Problem]) -> References | None:
    """The service, location and agent (None: any), each checked and checked together."""
    service_id = _id(body, "service_id", errors, required=True)
    location_id = _id(body, "location_id", errors, required=True)
    agent_id = _id(body, "agent_id", errors, required=False)
    if service_id is None or location_id is None:
        return None
    # A malformed agent_id is reported already; the service and location are judged alone.
    refs, ref_errors = check_references(service_id, location_id, agent_id)
    errors.update(ref_errors)
    return refs


def _start(
    body: Mapping[str, Any],
    refs: References | None,
    now: datetime,
    errors: dict[str, str | Problem],
) -> datetime | None:
    """The start as a UTC instant, if it is one the service offers at the location."""
    raw = body.get("start")
    if raw is None:
        errors["start"] = REQUIRED
        return None
    if not isinstance(raw, str):
        errors["start"] = NOT_A_STRING
        return None
    try:
        local = hours.parse_local_slot(raw)
    except hours.LocalTimeError as exc:
        errors["start"] = exc.problem
        return None
    if refs is None:
        return None  # nothing to judge the time by: the references' errors say why
    problem = slot_problem(refs.service, refs.location, local, now=now)
    if problem is not None:
        errors["start"] = problem
        return None
    return hours.local_to_utc(local, hours.zone(refs.location.timezone))


def _customer(
    body: Mapping[str, Any],
    settings: RuleSettings,
    definitions: Sequence[FieldDefinition],
    errors: dict[str, str | Problem],
) -> CheckedCustomer | None:
    """The customer part, through the create rules; its errors named ``customer.<field>``."""
    raw = body.get(CUSTOMER)
    if raw is None:
        errors[CUSTOMER] = REQUIRED
        return None
    if not isinstance(raw, dict):
        errors[CUSTOMER] = NOT_AN_OBJECT
        return None
    try:
        # An email is needed: it finds a returning customer, and the confirmation goes to it.
        data = parse_customer_input(raw, settings, require_email=True, defaults=CUSTOMER_DEFAULTS)
        return check_customer(data, settings, definitions)
    except ValidationFailed as failed:
        errors.update({f"{CUSTOMER}.{key}": problem for key, problem in failed.problems.items()})
        return None


def _read_request(now: datetime) -> BookingRequest:
    """Every check of the body in one pass; ``ValidationFailed`` with each failing part."""
    body = read_json_object()
    customer = body.get(CUSTOMER)
    if isinstance(customer, dict):
        refuse_what_publishable_keys_may_not_set(customer, where=f"{CUSTOMER}.")
    errors: dict[str, str | Problem] = {
        str(key)[:100]: UNKNOWN_FIELD for key in body if key not in BODY_KEYS
    }
    refs = _references(body, errors)
    # The phone is read in the location's country even when the service or agent is wrong
    # for it (that error is reported apart; the phone is not wrong for it).
    place = refs.location if refs is not None else _location_alone(body)
    settings = settings_at(rule_settings(), place)
    definitions = definitions_with_key()
    if definitions is None:
        definitions = active_custom_field_definitions()
    checked = _customer(body, settings, definitions, errors)
    start = _start(body, refs, now, errors)
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    assert checked is not None
    assert refs is not None
    assert start is not None
    return BookingRequest(checked, settings, definitions, refs, start)


def _location_alone(body: Mapping[str, Any]) -> Location | None:
    location_id = body.get("location_id")
    if isinstance(location_id, bool) or not isinstance(location_id, int):
        return None
    if not is_valid_id(location_id):
        return None
    location = db.session.get(Location, location_id)
    return location if location is not None and location.active else None


def _refused(refusal: FairUseRefusal) -> ValidationFailed:
    """A fair-use refusal as the API answers it: a 422 naming ``start``, with its reason."""
    return ValidationFailed(dict(refusal.details or {}))


read_definitions_with_key("create_booking")


@bp.post("/bookings")
@require_key(PERMISSION, publishable=True)
@idempotent
def create_booking() -> ResponseReturnValue:
    now = clock.now()
    wanted = _read_request(now)
    publishable = current_key().publishable
    try:
        outcome = _book(wanted, publishable)
    except ValidationFailed as failed:
        # The customer's own rules at insert (a WordPress user linked meanwhile): named as
        # the body names them; the booking's own (``start``) as they are.
        raise ValidationFailed(
            {
                (key if key in BODY_KEYS else f"{CUSTOMER}.{key}"): problem
                for key, problem in failed.problems.items()
            }
        ) from None
    except (BookingOverlaps, DailyLimitReached) as refused:
        if publishable:
            raise SlotTaken() from None
        raise _refused(refused) from None  # a new customer (only under a daily limit of 0)
    if outcome.refusal is not None:
        if publishable:
            # The owner's "booking not made" message, kept although the answer is a refusal
            # (see the module docstring); nothing else of this unit was written. The page's
            # visitor is told only that the time cannot be had, as when it is taken: the
            # reason (a booking of the address's owner then) is the owner's to read.
            commit_step()
            raise SlotTaken()
        raise _refused(outcome.refusal)
    assert outcome.booking is not None
    # To a publishable key (a public page) the booking only: the customer's id and code
    # would tell its visitor whether the address is on file (SPEC section 9).
    made = booking_made_as_json(outcome.booking, with_customer=not publishable)
    return success(_("Booking created successfully"), made, 201)


def _book(wanted: BookingRequest, publishable: bool) -> VisitorBooking:
    return book_for_visitor(
        wanted.checked,
        settings=wanted.settings,
        definitions=wanted.definitions,
        service=wanted.refs.service,
        location=wanted.refs.location,
        agent=wanted.refs.agent,
        start=wanted.start,
        source=SOURCE,
        clock=clock.now,
        tell_owner=publishable,
    )
