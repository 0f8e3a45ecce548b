"""Customer accounts: the password rule, setting a password, checking credentials.

Transactions: this layer adds and flushes; the caller's unit of work commits.
The password rule lives here once; the web forms take their HTML limits from these constants.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select

from ..clock import now
from ..customers.input import RuleSettings
from ..customers.rules import RuleError, normalise_email
from ..customers.service import get_customer
from ..extensions import db
from ..models import Customer
from ..passwords import hash_password, verify_password
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
        raise RuleError(f"Password must be at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise RuleError(f"Password must be at most {PASSWORD_MAX_LENGTH} characters")
    if not password.strip():
        raise RuleError("Password cannot be only spaces")
    return password


def set_password(customer_id: int, password: str, settings: RuleSettings) -> Customer:
    """Hash and store a password; a guest who sets one becomes an account holder.

    Every session of the customer ends (SPEC section 9): a cookie copied before the change
    stops working. The web layer signs the person who changed it in again (a new session).
    The customer's unused password-reset and sign-in links stop working too: a link mailed
    before the change must not undo it.
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


# The links a password change voids (a confirmation or an email change is not about the
# password, and a pending customer who sets one still needs its confirmation link).
VOIDED_BY_PASSWORD_CHANGE = (tokens.PASSWORD_RESET, tokens.SIGN_IN)


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
