"""Customer accounts: the password rule, setting a password, checking credentials.

Transactions: this layer adds and flushes; the caller's unit of work commits.
The password rule lives here once; the web forms take their HTML limits from these constants.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..clock import now
from ..customers.custom_fields import FieldDefinition
from ..customers.errors import EmailExists, ValidationFailed
from ..customers.fields import FIELDS_BY_KEY
from ..customers.input import RuleSettings
from ..customers.rules import RuleError, normalise_email
from ..customers.service import CheckedCustomer, get_customer, update_profile
from ..extensions import db
from ..models import Customer
from ..passwords import hash_password, verify_password
from ..problems import N_, Problem
from ..unit_of_work import ensure_transaction
from . import tokens
from .sessions import end_all_sessions

PASSWORD_MIN_LENGTH = 10
# Argon2 takes any length, but an unbounded field invites multi-megabyte "passwords" that cost
# hashing time; 128 leaves room for every passphrase and password-manager output.
PASSWORD_MAX_LENGTH = 128


def check_password(password: str) -> str:
    """The password rule: 10 to 128 characters, not only spaces. Returns it unchanged.

    No composition rules (digits, symbols): length is what makes a password strong, and
    NIST SP 800-63B advises against composition rules.
    """
    if len(password) < PASSWORD_MIN_LENGTH:
        raise RuleError(
            "too_short", N_("Password must be at least %(min)d characters"), min=PASSWORD_MIN_LENGTH
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise RuleError(
            "too_long", N_("Password must be at most %(max)d characters"), max=PASSWORD_MAX_LENGTH
        )
    if not password.strip():
        raise RuleError("only_spaces", N_("Password cannot be only spaces"))
    return password


def set_password(customer_id: int, password: str, settings: RuleSettings) -> Customer:
    """Hash and store a password; a guest who sets one becomes an account holder.

    Every session of the customer ends (SPEC section 9): a cookie copied before the change
    stops working. The web layer signs the person who changed it in again (a new session).
    Every unused link of the customer stops working too (reset, sign-in, confirmation,
    confirm-changes, email change): a link mailed before the change must not undo it, and a
    link one of the ended sessions asked for (an email change to the registrant's own
    mailbox, of an address that was not theirs) must not outlive them.
    """
    check_password(password)
    customer = get_customer(customer_id)
    at = now()
    # Sessions first, then the customer row: the order a signed-in request takes them (its
    # session row, then the customer for a booking), so the two never wait on each other.
    end_all_sessions(customer.id, at)
    customer.password_hash = hash_password(password, fast=settings.fast_password_hashing)
    customer.is_guest = False
    db.session.flush()
    tokens.void_tokens(customer.id, VOIDED_BY_PASSWORD_CHANGE, at)
    return customer


# The links a password change voids: every one. (A pending customer who sets a password is
# sent a fresh confirmation link after it: ``await_confirmation``.)
VOIDED_BY_PASSWORD_CHANGE = tuple(tokens.LIFETIMES)


# Verified against when the email is unknown, so that an unknown email costs the same hashing
# time as a wrong password and response times do not reveal who has an account.
_dummy_hashes: dict[bool, str] = {}


def _dummy_hash(fast: bool) -> str:
    if fast not in _dummy_hashes:
        _dummy_hashes[fast] = hash_password("not-a-real-password-for-timing-only", fast=fast)
    return _dummy_hashes[fast]


def authenticate_customer(
    email: str, password: str, settings: RuleSettings, *, allow_pending: bool = False
) -> Customer | None:
    """The customer with this email and password, or None (without saying which was wrong).

    Guests without a password and inactive customers cannot sign in. Nor can a ``pending``
    customer, whose address is not confirmed yet (SPEC section 9, "Owning an address"),
    unless ``allow_pending``: then the caller gets them (the password was right) and must
    not sign them in; it says "confirm your email first" instead (web/auth.py).
    """
    try:
        address = normalise_email(email)
    except RuleError:
        address = None
    customer = None
    if address is not None:
        customer = db.session.execute(
            select(Customer).where(Customer.email == address)
        ).scalar_one_or_none()
    if customer is None or not customer.password_hash:
        verify_password(_dummy_hash(settings.fast_password_hashing), password)
        return None
    if not verify_password(customer.password_hash, password):
        return None
    if customer.status == "inactive":
        return None
    if customer.status == "pending" and not allow_pending:
        return None
    return customer


EmailStatus = Literal["account", "guest"]


def email_status(email: str) -> EmailStatus | None:
    """Whose is this address (in any spelling that normalises alike), if anyone's?

    ``"account"``: a customer who can sign in with a password. ``"guest"``: a record nobody can
    sign in to (a guest who booked without a password, or a customer the business added).
    ``None``: no customer has it. For telling a person at once, beside their other mistakes;
    the unique index on the email column stays what actually prevents a duplicate.
    """
    try:
        address = normalise_email(email)
    except RuleError:
        return None
    query = select(Customer.password_hash).where(Customer.email == address).limit(1)
    row = db.session.execute(query).first()
    if row is None:
        return None
    return "account" if row.password_hash else "guest"


# --- the account's own changes (SPEC section 9, "Account") ------------------------------------


class CurrentPasswordWrong(Exception):
    """The password given as the current one is not the customer's."""


def change_password(
    customer: Customer, current: str | None, new: str, settings: RuleSettings
) -> Customer:
    """The account page's password change: the current password is checked first, unless the
    customer has none yet (a guest who came by a sign-in link sets one and stops being a
    guest). Then ``set_password`` (every session ends; the door signs its own browser in
    again, and every link already sent stops working).

    Raises ``CurrentPasswordWrong`` or ``RuleError`` (the password rule); nothing changes then.
    """
    if customer.password_hash and not verify_password(customer.password_hash, current or ""):
        raise CurrentPasswordWrong()
    return set_password(customer.id, new, settings)


EMAIL_UNCHANGED = N_("This is already your email address")
WRONG_CURRENT_PASSWORD = N_("This is not your current password")
CURRENT_PASSWORD_REQUIRED = N_("Enter your current password")
NEW_EMAIL_REQUIRED = N_("Enter your new email address")


def _email_taken(address: str, customer_id: int) -> bool:
    query = select(Customer.id).where(Customer.email == address, Customer.id != customer_id)
    return db.session.execute(query.limit(1)).first() is not None


@dataclass(frozen=True)
class EmailChangeRequest:
    """What ``request_email_change`` decided: the normalised new address, and the link's token
    for the message to it, or None when the address is someone else's (nothing is sent)."""

    address: str
    token: str | None


def request_email_change(
    customer: Customer, typed: str, settings: RuleSettings, *, current_password: str | None
) -> EmailChangeRequest:
    """Start a change of the customer's address: the customer's password (unless they have
    none: a guest who came by a sign-in link) and the email rule on ``typed``, every failure at
    once (``ValidationFailed`` keyed ``current_password`` and ``email``); then a
    ``CHANGE_EMAIL`` link for the new address. The old address stays in force until the link
    is used (``confirm_email_change``).

    Whoever holds a session alone (a browser left signed in) cannot move the account to an
    address of theirs: the password is asked for as it is for a password change.

    An address that is someone else's gets no link, and the answer looks the same to the
    caller's page (no way to learn who is a customer); either way the customer's earlier
    change links stop working.
    """
    errors: dict[str, str | Problem] = {}
    if customer.password_hash:
        if not current_password:
            errors["current_password"] = CURRENT_PASSWORD_REQUIRED
        elif not verify_password(customer.password_hash, current_password):
            errors["current_password"] = WRONG_CURRENT_PASSWORD
    address = ""
    rule = FIELDS_BY_KEY["email"].rule
    assert rule is not None
    if not (typed or "").strip():
        errors["email"] = NEW_EMAIL_REQUIRED
    else:
        try:
            address = rule(typed, settings, None)
        except RuleError as err:
            errors["email"] = err.problem
        else:
            if address == customer.email:
                errors["email"] = EMAIL_UNCHANGED
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    at = now()
    if _email_taken(address, customer.id):
        tokens.void_tokens(customer.id, [tokens.CHANGE_EMAIL], at)
        return EmailChangeRequest(address, None)
    token = tokens.issue_token(customer.id, tokens.CHANGE_EMAIL, at, payload={"email": address})
    return EmailChangeRequest(address, token)


@dataclass(frozen=True)
class EmailChanged:
    customer: Customer
    previous: str | None  # the address that was in force (told of the change)


def pending_email_change(token: str) -> tuple[Customer, str] | None:
    """The customer and new address of an unused, unexpired change link of an ``active``
    customer (reads only: for the page the link opens), or None."""
    row = tokens.find_token(token, tokens.CHANGE_EMAIL, now())
    address = (row.payload or {}).get("email") if row is not None else None
    if row is None or not isinstance(address, str):
        return None
    customer = get_customer(row.customer_id)
    if customer.status != "active":  # as ``confirm_email_change`` refuses it
        return None
    return customer, address


def confirm_email_change(token: str) -> EmailChanged | None:
    """Spend a change link and make its address the customer's; None when the link is not
    usable (unknown, expired, used), or its customer is not ``active``: an inactive one stays
    as the business set it, and a ``pending`` one has proven nothing (whoever registered an
    address that is not theirs must not move the account, with the owner's bookings, to a
    mailbox of theirs). The links sent to the old address (reset, sign-in, confirmation)
    stop working.

    Raises ``EmailExists`` when the address became someone else's meanwhile (the unique index
    decides, whatever a check saw); the caller's unit of work then keeps nothing (the link
    stays unused).
    """
    at = now()
    row = tokens.use_token(token, tokens.CHANGE_EMAIL, at)
    address = (row.payload or {}).get("email") if row is not None else None
    if row is None or not isinstance(address, str):
        return None
    customer = get_customer(row.customer_id)
    if customer.status != "active":
        return None  # the link is spent: a dead link, like one used already
    previous = customer.email
    if _email_taken(address, customer.id):
        raise EmailExists(address)
    ensure_transaction()
    try:
        with db.session.begin_nested():  # flushed on leaving: the email's unique index decides
            customer.email = address
    except IntegrityError:
        raise EmailExists(address) from None
    tokens.void_tokens(
        customer.id, [tokens.PASSWORD_RESET, tokens.SIGN_IN, tokens.CONFIRM_EMAIL], at
    )
    return EmailChanged(customer, previous)


def edit_profile(
    customer: Customer,
    checked: CheckedCustomer,
    settings: RuleSettings,
    *,
    keys: Collection[str],
    definitions: Sequence[FieldDefinition],
) -> Customer:
    """The account page's profile edit: ``update_profile`` with the page's ``keys``, where the
    page shows every custom field of ``definitions``: one it sends back empty is removed
    (``update_profile`` alone merges, keeping what was stored)."""
    update_profile(customer, checked, settings, keys=keys, definitions=definitions)
    shown = {d.key for d in definitions}
    given = checked.data.custom_fields
    stored = customer.custom_fields or {}
    kept = {k: v for k, v in stored.items() if k not in shown or k in given}
    if kept != stored:
        customer.custom_fields = kept
        db.session.flush()
    return customer
