"""Links mailed to a customer's own address, and what using one proves (SPEC section 9).

- ``send_link``: a new one-time link (accounts/tokens.py) in its message (the outbox), for
  a customer already found;
- ``request_link``: the same for whoever owns a typed address, if anyone: the door answers
  alike whether or not someone does (``/password/forgot``, ``/sign-in/link``). An unknown,
  malformed or inactive address gets nothing;
- ``await_confirmation``: a web sign-up (or a guest's password set after booking) is
  ``pending`` until its address is confirmed, and gets the confirmation link;
- ``link_customer`` reads a link for its page (GET: changes nothing); ``redeem_link`` spends
  it (POST): a link used from the address proves the address, so a ``pending`` customer
  becomes ``active`` (``prove_address``). What it proves of the *password* depends on who
  used it (``by``): the registrant's own confirmation (their signed-in session, or their
  password typed on the confirmation page) keeps the password and welcomes them; any other
  link (sign-in, confirm-changes, reset) shows only that the mailbox was read, so the
  unproven password goes and every session of the customer ends (the registrant of someone
  else's address is shut out; the owner gets a passwordless record and may set a password).

Transactions: this layer adds and flushes; the caller's unit of work commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select

from ..customers.rules import RuleError, normalise_email
from ..extensions import db
from ..messages import service as messages
from ..models import Customer
from . import tokens
from .sessions import end_all_sessions

# Which token each link message carries.
PURPOSE_OF_KIND = {
    messages.EMAIL_CONFIRMATION: tokens.CONFIRM_EMAIL,
    messages.PASSWORD_RESET: tokens.PASSWORD_RESET,
    messages.SIGN_IN_LINK: tokens.SIGN_IN,
}


def customer_by_email(email: str) -> Customer | None:
    """The customer whose address this is (in any spelling that normalises alike), or None."""
    try:
        address = normalise_email(email)
    except RuleError:
        return None
    return db.session.execute(
        select(Customer).where(Customer.email == address)
    ).scalar_one_or_none()


def send_link(kind: str, customer: Customer, now: datetime) -> None:
    """A fresh link of ``kind`` to the customer's address; their older one of it stops
    working (only the latest message works)."""
    if not customer.email:
        return
    token = tokens.issue_token(customer.id, PURPOSE_OF_KIND[kind], now)
    messages.queue_account_link(kind, customer, token, now=now)


def request_link(kind: str, email: str, now: datetime) -> None:
    """A link of ``kind`` for the owner of ``email``; nothing for an unknown or inactive one.
    Returns nothing either way: the caller must answer alike."""
    customer = customer_by_email(email)
    if customer is None or customer.status == "inactive":
        return
    send_link(kind, customer, now)


def await_confirmation(customer: Customer, now: datetime) -> None:
    """The customer's address is not proven yet: ``pending`` until a link from it is used
    (their password signs in nowhere but the browser that set it), and the confirmation link
    is sent. An inactive customer stays inactive (and is sent nothing)."""
    if customer.status == "inactive":
        return
    customer.status = "pending"
    db.session.flush()
    send_link(messages.EMAIL_CONFIRMATION, customer, now)


# Who used a link from the address (``prove_address``'s ``by``).
BY_REGISTRANT: Final[Literal["registrant"]] = (
    "registrant"  # the registrant's session or password came with the link
)
BY_MAILBOX: Final[Literal["mailbox"]] = (
    "mailbox"  # the link alone: whoever used it reads the mail, nothing more
)
ProvenBy = Literal["registrant", "mailbox"]

# The links a pending registration leaves that only its registrant should hold or need: its
# confirmation (of a password that is gone once the mailbox alone proves the address) and an
# email change the registrant asked for (a link to *their* mailbox, SPEC section 9).
REGISTRANT_LINKS = (tokens.CONFIRM_EMAIL, tokens.CHANGE_EMAIL)


def prove_address(customer: Customer, now: datetime, *, by: ProvenBy) -> bool:
    """A link from the customer's address was used: a ``pending`` customer becomes ``active``.

    ``by=BY_REGISTRANT``: the registrant's signed-in session or password came with the link
    (``/confirm-email/<token>``): their password stands, and they get the welcome (once: the
    outbox's dedupe key).

    ``by=BY_MAILBOX``: the link alone (a sign-in link, a confirm-changes link, a reset before
    its new password): whoever used it reads the mailbox but did not show the pending
    password, which may be a stranger's who registered the address. Every session of the
    customer ends, the password goes (a proven passwordless record, ``is_guest``: its owner
    may set a password at ``/account/password``), and the registrant's other links stop
    working. No welcome: nobody made an account.

    An ``active`` or ``inactive`` customer is left as it is.
    """
    if customer.status != "pending":
        return False
    password_removed = False
    if by == BY_MAILBOX:
        # Sessions first, then the customer row (the order a signed-in request takes them).
        end_all_sessions(customer.id, now)
        password_removed = customer.password_hash is not None
        customer.password_hash = None
        customer.is_guest = False
        tokens.void_tokens(customer.id, REGISTRANT_LINKS, now)
    customer.status = "active"
    db.session.flush()
    if by == BY_REGISTRANT:
        messages.queue_welcome(customer, now=now)
    return password_removed


def _usable(customer: Customer | None) -> Customer | None:
    return customer if customer is not None and customer.status != "inactive" else None


def link_customer(token: str, purpose: str, now: datetime) -> Customer | None:
    """Whose link this is while it can be used, else None. Reads only (the link's page)."""
    row = tokens.find_token(token, purpose, now)
    return _usable(db.session.get(Customer, row.customer_id)) if row is not None else None


def redeem_link(
    token: str, purpose: str, now: datetime, *, by: ProvenBy = BY_MAILBOX
) -> Customer | None:
    """Spend the link: its customer, now known to own the address, or None when the link is
    unknown, expired, already used (by a rival request too), or its customer is inactive.
    ``by``: who used it (``prove_address``); the link alone unless the caller checked the
    registrant's session or password."""
    row = tokens.use_token(token, purpose, now)
    if row is None:
        return None
    customer = _usable(db.session.get(Customer, row.customer_id))
    if customer is not None:
        prove_address(customer, now, by=by)
    return customer
