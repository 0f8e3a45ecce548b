"""Returning customers (SPEC section 9): an email already on file books like a new one.

An anonymous submission never changes the stored record. What it typed that differs from what
is stored becomes a *proposal* (``proposed_changes``), carried by a one-time "confirm your
changes" link in the booking confirmation sent to the stored address; using that link
(``apply_changes``) applies it through the same rules as the account's profile form
(``update_profile``), and proves the address (``accounts.links.prove_address``: a ``pending``
customer becomes ``active``, and loses the password nobody proved).

Transactions: this layer flushes; the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..accounts.links import BY_MAILBOX, prove_address
from ..clock import now
from ..extensions import db
from ..messages.formatting import phone_text
from ..models import Customer
from ..problems import N_
from .custom_fields import FieldDefinition
from .errors import ValidationFailed
from .fields import FIELDS_BY_KEY
from .input import CustomerInput, RuleSettings, parse_customer_input
from .rules import RuleError, normalise_email
from .service import update_profile

# What a booking form may propose to change: the fields /book asks for (its email is the key
# that found the record, so it is never a change).
PROPOSABLE_KEYS = ("first_name", "last_name", "phone", "custom_fields")


def customer_with_email(email: str) -> Customer | None:
    """The customer holding ``email`` (in any spelling that normalises alike), if any."""
    try:
        address = normalise_email(email)
    except RuleError:
        return None
    query = select(Customer).where(Customer.email == address)
    return db.session.execute(query).scalar_one_or_none()


@dataclass(frozen=True)
class ProposedChanges:
    """What a submission typed that differs from the stored record.

    ``values``: profile key -> the typed (normalised) value; ``custom_fields`` holds only the
    custom fields that differ. It is the link's payload (JSON). ``lines``: (label, value) as
    the message lists them.
    """

    values: dict[str, Any]
    lines: tuple[tuple[str, str], ...]


def _shown(value: Any, definition: FieldDefinition | None = None) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if definition is not None and definition.options:
        for option in definition.options:
            if option.value == value:
                return option.label
    return str(value)


def change_lines(
    values: Mapping[str, Any], definitions: Sequence[FieldDefinition]
) -> tuple[tuple[str, str], ...]:
    """(label, new value) for each proposed change, in the form's order."""
    by_key = {definition.key: definition for definition in definitions}
    lines: list[tuple[str, str]] = []
    for key in PROPOSABLE_KEYS:
        if key not in values:
            continue
        if key == "custom_fields":
            for field_key, value in values[key].items():
                definition = by_key.get(field_key)
                label = definition.label if definition is not None else field_key
                lines.append((label, _shown(value, definition)))
        elif key == "phone":
            # As people write it ("+44 7400 123456"), not as stored (E.164).
            lines.append((FIELDS_BY_KEY[key].label, phone_text(values[key])))
        else:
            lines.append((FIELDS_BY_KEY[key].label, _shown(values[key])))
    return tuple(lines)


def proposed_changes(
    customer: Customer, typed: CustomerInput, definitions: Sequence[FieldDefinition]
) -> ProposedChanges | None:
    """What ``typed`` (checked input from /book) would change about ``customer``; None when
    nothing. A field left empty proposes nothing (it is not a request to erase)."""
    values: dict[str, Any] = {}
    for key in ("first_name", "last_name", "phone"):
        new = getattr(typed, key)
        if new is not None and new != getattr(customer, key):
            values[key] = new
    stored = customer.custom_fields or {}
    custom = {key: value for key, value in typed.custom_fields.items() if stored.get(key) != value}
    if custom:
        values["custom_fields"] = custom
    if not values:
        return None
    return ProposedChanges(values, change_lines(values, definitions))


def apply_changes(
    customer: Customer,
    values: Mapping[str, Any],
    settings: RuleSettings,
    definitions: Sequence[FieldDefinition],
) -> Customer:
    """Apply a proposal (a used link's payload) through the profile's rules, and flush.

    The values are checked again (``ValidationFailed`` with every error: a definition may have
    changed in the seven days the link lives). The link proved the address, not a password:
    a ``pending`` customer becomes ``active`` without the password nobody proved, and every
    session of it ends (``prove_address``; an ``inactive`` one stays as the business set it).
    """
    keys = [key for key in PROPOSABLE_KEYS if key in values]
    raw: dict[str, Any] = {
        "first_name": values.get("first_name", customer.first_name),
        "last_name": values.get("last_name", customer.last_name),
    }
    if customer.country:
        raw["country"] = customer.country  # the region a national phone number is read in
    if "phone" in values:
        raw["phone"] = values["phone"]
    if "custom_fields" in values:
        proposed = values["custom_fields"]
        if not isinstance(proposed, dict):
            raise ValidationFailed({"custom_fields": N_("Must be an object")})
        # The required definitions must be satisfied as a whole: the stored values of the
        # defined fields stand beside the proposed ones (update_profile merges likewise).
        defined = {definition.key for definition in definitions}
        stored = {k: v for k, v in (customer.custom_fields or {}).items() if k in defined}
        raw["custom_fields"] = {**stored, **proposed}
    data = parse_customer_input(raw, settings)
    # The link alone proved the address, not the pending password (a stranger's, maybe):
    # a pending account is taken back from whoever registered it (accounts/links.py). Before
    # the profile's update: sessions first, then the customer row, the order every request
    # takes them in (no deadlock with a sign-in or a reset).
    prove_address(customer, now(), by=BY_MAILBOX)
    update_profile(customer, data, settings, keys=keys, definitions=definitions)
    db.session.flush()
    return customer
