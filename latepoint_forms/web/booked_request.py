"""What an anonymous visitor sent at /book, remembered for the confirmation page (SPEC section 9).

The page a visitor who is not signed in sees after the details is built from what they chose
and typed (``BookedRequest``), never from a stored record: it is the same for a new address,
one already on file, and a booking quietly refused by fair use (web/booking.py). The session
cookie is signed, not encrypted — anyone can read it — so it holds the same things in every
case too: the request, when it was sent, and a reference (``REF_KEY``) that is the new
guest's uuid or a random one of the same form, never a booking's or a customer's id.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import session
from sqlalchemy import exists, select

from ..accounts import tokens
from ..bookings.service import lock_customer
from ..clock import now as clock_now
from ..customers.returning import customer_with_email
from ..customers.service import CheckedCustomer
from ..extensions import db
from ..messages.service import PASSWORD_RESET, queue_account_link
from ..models import Agent, Customer, CustomerSession, CustomerToken, Location, Service
from ..outbox.service import is_queued
from .booking_steps import START_FORMAT, Selection

# Only this browser may see its confirmation or turn the guest it created into an account, and
# only for a while: a shared computer should not show a later visitor someone else's booking.
PRIVATE_WINDOW_SECONDS = 60 * 60
REQUEST_KEY = "booked_request"
REQUEST_SINCE_KEY = "booked_request_since"
REF_KEY = "booked_ref"


def remember_request(
    selection: Selection, checked: CheckedCustomer, guest: Customer | None
) -> None:
    """Remember what was sent (and, unreadably, the guest it created, if it did)."""
    session[REQUEST_KEY] = BookedRequest.sent(selection, checked).as_session()
    session[REQUEST_SINCE_KEY] = int(time.time())
    session[REF_KEY] = guest.uuid if guest is not None else str(uuid.uuid4())


def forget_request() -> None:
    for key in (REQUEST_KEY, REQUEST_SINCE_KEY, REF_KEY):
        session.pop(key, None)


@dataclass(frozen=True)
class BookedRequest:
    """What an anonymous visitor asked for and typed: the confirmation page shows this, and
    only this, so that it reads the same for a new address, a known one, and a booking
    quietly refused (the stored record is never shown through /book)."""

    service: Service
    location: Location
    agent: Agent | None  # None: "any available" (who it is, the mail says)
    start: datetime
    first_name: str
    last_name: str
    email: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.service.duration_minutes)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @classmethod
    def sent(cls, selection: Selection, checked: CheckedCustomer) -> BookedRequest:
        assert selection.service is not None
        assert selection.location is not None
        assert selection.start is not None
        assert checked.data.email is not None
        return cls(
            selection.service,
            selection.location,
            selection.agent,
            selection.start,
            checked.data.first_name,
            checked.data.last_name,
            checked.data.email,
        )

    def as_session(self) -> dict[str, Any]:
        return {
            "service": self.service.id,
            "location": self.location.id,
            "agent": self.agent.id if self.agent is not None else None,
            "start": self.start.strftime(START_FORMAT),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
        }

    def matches(self, selection: Selection, email: str | None = None) -> bool:
        """The same choice of service, place, person and time (for this address, if given)."""
        return (
            selection.service is not None
            and selection.location is not None
            and (self.service.id, self.location.id, self.start)
            == (selection.service.id, selection.location.id, selection.start)
            and (self.agent.id if self.agent else None)
            == (selection.agent.id if selection.agent else None)
            and (email is None or email == self.email)
        )


def _stored_request() -> dict[str, Any] | None:
    since = session.get(REQUEST_SINCE_KEY)
    if not isinstance(since, int | float) or time.time() - since > PRIVATE_WINDOW_SECONDS:
        return None
    stored = session.get(REQUEST_KEY)
    return stored if isinstance(stored, dict) else None


def requested_email() -> str | None:
    """The address this browser's fresh anonymous request typed (no database read): whose
    per-email budget the set-password offer spends (web/limits.py ``limit_web_door_for``)."""
    stored = _stored_request()
    email = stored.get("email") if stored is not None else None
    return email if isinstance(email, str) else None


def booked_request() -> BookedRequest | None:
    """The request this browser sent anonymously, while fresh (``PRIVATE_WINDOW_SECONDS``)."""
    stored = _stored_request()
    if stored is None:
        return None
    try:
        service = db.session.get(Service, int(stored["service"]))
        location = db.session.get(Location, int(stored["location"]))
        agent_id = stored["agent"]
        agent = db.session.get(Agent, int(agent_id)) if agent_id is not None else None
        start = datetime.strptime(str(stored["start"]), START_FORMAT).replace(tzinfo=UTC)
        names = str(stored["first_name"]), str(stored["last_name"]), str(stored["email"])
    except (KeyError, TypeError, ValueError):
        return None
    if service is None or location is None or (agent_id is not None and agent is None):
        return None
    return BookedRequest(service, location, agent, start, *names)


def password_offer_key(known: Customer, requested: BookedRequest) -> str:
    """The outbox's dedupe key of the offer's mail: one per booked request. A request is what
    was asked (who, what, where, when), not this browser's cookie, which can be replayed."""
    return (
        f"customer.{known.uuid}.password_offer.{requested.service.id}."
        f"{requested.location.id}.{requested.start:%Y%m%dT%H%M}"
    )


def password_offer_for_known_address(requested: BookedRequest) -> None:
    """The set-password offer's answer (POST) for an anonymous visitor whose address was on
    file. The confirmation offers every anonymous visitor a password (the page must not tell
    a known address from a new one), but this record is not the visitor's to change: the
    address is not proven. Its owner gets a password-reset link instead (1 hour; using it
    sets a password, signs in, and makes a ``pending`` record ``active``); what was typed is
    dropped. For confirmation()'s POST, in the unit of work (commits on a success answer).

    At most one such mail per booked request (``password_offer_key``): sending the offer
    again does not flood the owner, nor void the link already sent. An ``inactive`` customer
    gets none (they cannot sign in, so the link could only fail); the visitor's answer is the
    same either way. The POSTs spend the address's per-email budget (confirmation()'s
    ``limit_web_door_for``)."""
    known = customer_with_email(requested.email)
    if known is None or known.status == "inactive":
        return
    key = password_offer_key(known, requested)
    # Two offers sent at once: the second waits here, then finds the first's mail queued.
    lock_customer(known.id)
    if is_queued(key):
        return
    token = tokens.issue_token(known.id, tokens.PASSWORD_RESET, clock_now())
    queue_account_link(PASSWORD_RESET, known, token, dedupe_key=key)


def guest_of_this_browser(requested: BookedRequest | None) -> Customer | None:
    """The guest this browser created while booking (``REF_KEY``), while they are still a
    guest, and only for a while: a shared computer should not offer a later visitor someone
    else's account."""
    ref = session.get(REF_KEY)
    if requested is None or not isinstance(ref, str):
        return None
    guest = db.session.execute(
        select(Customer).where(Customer.uuid == ref[:36])
    ).scalar_one_or_none()
    if guest is None or not guest.is_guest or guest.email != requested.email:
        return None
    # A guest made by /book has never signed in nor been sent a link: one that has is a
    # record someone else may hold by now (a saved cookie replayed after the owner took it).
    if _ever_signed_in_or_linked(guest.id):
        return None
    return guest


def _ever_signed_in_or_linked(customer_id: int) -> bool:
    sessions = select(CustomerSession.id).where(CustomerSession.customer_id == customer_id)
    links = select(CustomerToken.id).where(CustomerToken.customer_id == customer_id)
    return bool(db.session.execute(select(exists(sessions) | exists(links))).scalar())
