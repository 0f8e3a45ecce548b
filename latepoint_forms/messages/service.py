"""The messages to customers (SPEC section 8): composed from templates, queued in the outbox in
the caller's unit of work (flushed, never committed).

| kind                  | when                                   | attachment           |
|-----------------------|----------------------------------------|----------------------|
| welcome               | web registration; API create on demand | —                    |
| booking_confirmation  | a booking is made                      | .ics METHOD:REQUEST  |
| booking_reminder      | due REMINDER_HOURS before the start    | —                    |
| booking_rescheduled   | a booking moves (SEQUENCE + 1)         | .ics METHOD:REQUEST  |
| booking_cancelled     | a booking is cancelled                 | .ics METHOD:CANCEL   |
| booking_not_made      | /book refused a known address quietly (fair use) | —          |
| email_confirmation    | a web sign-up, a password set after booking (pending) | — |
| password_reset        | /password/forgot for a known address   | —                    |
| sign_in_link          | /sign-in/link for a known address      | —                    |
| email_change          | /account asks for a new address (sent to the new one) | — |
| email_changed         | that change was confirmed (a notice to the old address) | —  |

The four account links carry a one-time token (accounts/tokens.py); each message is its own
(no dedupe key: asking again sends a new link, and the older link stops working), except
where the caller gives one (the set-password offer after a booking: one per booked request).

Each is queued at most once (the outbox's dedupe key: per customer, per booking, per
SEQUENCE), so a door that asks twice does not send twice. A customer without an email address
gets nothing (every queue function then returns None). Moving or cancelling a booking withdraws
its pending reminder; a move queues a new one for the new time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app, render_template

from ..accounts import tokens
from ..bookings.manage_links import manage_url
from ..i18n import _
from ..models import Booking, Customer, OutboxMessage
from ..models.types import utcnow
from ..outbox.service import Attachment, queue_message, withdraw_pending
from .formatting import local_time, phone_text
from .ics import Method, booking_calendar

if TYPE_CHECKING:
    from ..customers.returning import ProposedChanges
    from ..models import Location, Service

WELCOME = "welcome"
CONFIRMATION = "booking_confirmation"
REMINDER = "booking_reminder"
RESCHEDULED = "booking_rescheduled"
CANCELLED = "booking_cancelled"
NOT_MADE = "booking_not_made"
EMAIL_CONFIRMATION = "email_confirmation"
PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind, not a secret)
SIGN_IN_LINK = "sign_in_link"
EMAIL_CHANGE = "email_change"
EMAIL_CHANGED = "email_changed"
KINDS = (
    WELCOME,
    CONFIRMATION,
    REMINDER,
    RESCHEDULED,
    CANCELLED,
    NOT_MADE,
    EMAIL_CONFIRMATION,
    PASSWORD_RESET,
    SIGN_IN_LINK,
    EMAIL_CHANGE,
    EMAIL_CHANGED,
)

# Paths of the pages that messages link to, joined to PUBLIC_URL (never the request's Host).
ACCOUNT_PATH = "/account"
BOOK_PATH = "/book"
PASSWORD_FORGOT_PATH = "/password/forgot"  # noqa: S105 (a path, not a secret)
# Where each one-time link leads: PUBLIC_URL + path + token. The web views are routed here.
LINK_PATHS = {
    tokens.CONFIRM_EMAIL: "/confirm-email/",
    tokens.PASSWORD_RESET: "/password/reset/",
    tokens.SIGN_IN: "/sign-in/link/",
    tokens.CONFIRM_CHANGES: "/account/changes/",
    tokens.CHANGE_EMAIL: "/account/email/",
}


def link_url(purpose: str, token: str) -> str:
    """The absolute one-time link of ``purpose``: PUBLIC_URL (never the request's Host)."""
    return _public(f"{LINK_PATHS[purpose]}{token}")


def _public(path: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}{path}"


def _render(kind: str, **context: Any) -> tuple[str, str]:
    context.setdefault(
        "public_host", urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    )
    text = render_template(f"messages/{kind}.txt", **context)
    html = render_template(f"messages/{kind}.html", **context)
    return text, html


# --- welcome ----------------------------------------------------------------------------------


def queue_welcome(customer: Customer, *, now: datetime | None = None) -> OutboxMessage | None:
    """The welcome message for a new customer; None without an email address."""
    if not customer.email:
        return None
    subject = _("Welcome, %(name)s: your account is ready", name=customer.first_name)
    text, html = _render(
        WELCOME,
        subject=subject,
        customer=customer,
        account_url=_public(ACCOUNT_PATH),
        book_url=_public(BOOK_PATH),
    )
    return queue_message(
        kind=WELCOME,
        recipient=customer.email,
        subject=subject,
        body_text=text,
        body_html=html,
        customer_id=customer.id,
        dedupe_key=f"customer.{customer.uuid}.welcome",
        now=now,
    )


# --- account links ----------------------------------------------------------------------------

# kind -> (token purpose, how long the link works, in words for the message)
_LINK_KINDS = {
    EMAIL_CONFIRMATION: (tokens.CONFIRM_EMAIL, "7 days"),
    PASSWORD_RESET: (tokens.PASSWORD_RESET, "1 hour"),
    SIGN_IN_LINK: (tokens.SIGN_IN, "15 minutes"),
    EMAIL_CHANGE: (tokens.CHANGE_EMAIL, "24 hours"),
}


def _link_texts(kind: str, name: str) -> dict[str, str]:
    if kind == EMAIL_CONFIRMATION:
        return {
            "subject": _("Please confirm your email address"),
            "heading": _("Confirm your email address, %(name)s", name=name),
            "lead": _("Use the button below to confirm that this address is yours."),
            "button": _("Confirm my email address"),
        }
    if kind == PASSWORD_RESET:
        return {
            "subject": _("Reset your password"),
            "heading": _("Reset your password, %(name)s", name=name),
            "lead": _("Someone (we hope you) asked to reset the password of your account."),
            "button": _("Choose a new password"),
        }
    if kind == SIGN_IN_LINK:
        return {
            "subject": _("Your sign-in link"),
            "heading": _("Sign in, %(name)s", name=name),
            "lead": _("Use the button below to sign in to your account without a password."),
            "button": _("Sign me in"),
        }
    return {
        "subject": _("Confirm your new email address"),
        "heading": _("Confirm your new email address, %(name)s", name=name),
        "lead": _("Use the button below to make this your account's email address."),
        "button": _("Use this email address"),
    }


def queue_account_link(
    kind: str,
    customer: Customer,
    token: str,
    *,
    recipient: str | None = None,
    now: datetime | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """One of the four account-link messages (see the table above) carrying ``token``; to
    ``recipient`` (the new address of an email change) or the customer's address. None when
    there is no address to send to. With ``dedupe_key``, at most one is queued under it (the
    caller checks ``outbox.service.is_queued`` before issuing the token, which would void the
    link already sent)."""
    purpose, validity = _LINK_KINDS[kind]
    to = recipient or customer.email
    if not to:
        return None
    texts = _link_texts(kind, customer.first_name)
    text, html = _render(
        "account_link",
        customer=customer,
        link_url=link_url(purpose, token),
        validity=validity,
        **texts,
    )
    return queue_message(
        kind=kind,
        recipient=to,
        subject=texts["subject"],
        body_text=text,
        body_html=html,
        customer_id=customer.id,
        dedupe_key=dedupe_key,
        now=now,
    )


def queue_email_changed(
    customer: Customer, previous: str | None, *, now: datetime | None = None
) -> OutboxMessage | None:
    """The notice to the address that was in force that the account's email is now another
    one (so the owner hears of a change they did not make). None without a previous address."""
    if not previous:
        return None
    subject = _("The email address of your account was changed")
    text, html = _render(
        EMAIL_CHANGED,
        subject=subject,
        customer=customer,
        previous=previous,
        reset_url=_public(PASSWORD_FORGOT_PATH),
    )
    return queue_message(
        kind=EMAIL_CHANGED,
        recipient=previous,
        subject=subject,
        body_text=text,
        body_html=html,
        customer_id=customer.id,
        now=now,
    )


# --- bookings ---------------------------------------------------------------------------------


def _booking_context(booking: Booking, **extra: Any) -> dict[str, Any]:
    zone = booking.location.timezone
    return {
        "booking": booking,
        "when": local_time(booking.start_at, zone),
        "location_phone": phone_text(booking.location.phone),
        "manage_url": manage_url(booking),
        "book_url": _public(BOOK_PATH),
        **extra,
    }


def _calendar(booking: Booking, method: Method, now: datetime) -> Attachment:
    return Attachment(
        filename=f"{booking.booking_code}.ics",
        mimetype="text/calendar",
        content=booking_calendar(booking, method=method, now=now),
        params=(("method", method),),
    )


def _queue_booking_message(
    kind: str,
    booking: Booking,
    *,
    subject: str,
    dedupe_key: str,
    now: datetime,
    method: Method | None = None,
    due_at: datetime | None = None,
    **extra: Any,
) -> OutboxMessage | None:
    email = booking.customer.email
    if not email:
        return None
    text, html = _render(kind, subject=subject, **_booking_context(booking, **extra))
    attachments = [_calendar(booking, method, now)] if method is not None else []
    return queue_message(
        kind=kind,
        recipient=email,
        subject=subject,
        body_text=text,
        body_html=html,
        attachments=attachments,
        customer_id=booking.customer_id,
        booking_id=booking.id,
        due_at=due_at,
        dedupe_key=dedupe_key,
        now=now,
    )


def _key(booking: Booking, *parts: object) -> str:
    return ".".join(["booking", booking.booking_code, *map(str, parts)])


def reminder_due_at(booking: Booking, now: datetime) -> datetime | None:
    """When the booking's reminder is due; None when reminders are off (REMINDER_HOURS 0) or
    the booking starts sooner than that (made or moved "later than REMINDER_HOURS before")."""
    hours = current_app.config["REMINDER_HOURS"]
    if hours <= 0:
        return None
    due = booking.start_at - timedelta(hours=hours)
    return due if due > now else None


def _queue_reminder(booking: Booking, now: datetime) -> OutboxMessage | None:
    if booking.status != "confirmed":
        return None  # a cancelled booking is reminded of nothing
    due = reminder_due_at(booking, now)
    if due is None:
        return None
    when = local_time(booking.start_at, booking.location.timezone)
    return _queue_booking_message(
        REMINDER,
        booking,
        subject=_("Reminder: %(service)s on %(when)s", service=booking.service.name, when=when),
        dedupe_key=_key(booking, "reminder", booking.sequence),
        now=now,
        due_at=due,
    )


def queue_booking_confirmation(
    booking: Booking,
    *,
    now: datetime | None = None,
    proposed_changes: ProposedChanges | None = None,
) -> OutboxMessage | None:
    """The confirmation (with its .ics) of a new booking, and its reminder when one is due
    later. Returns the confirmation; None when the customer has no email address.

    ``proposed_changes`` (a returning customer's booking whose typed details differ from the
    stored ones, customers/returning.py): the message lists them with a one-time "confirm
    your changes" link (``CONFIRM_CHANGES``, 7 days), issued here so that only a booking
    actually confirmed carries one.
    """
    now = now or utcnow()
    when = local_time(booking.start_at, booking.location.timezone)
    extra: dict[str, Any] = {}
    if proposed_changes is not None and booking.customer.email:
        # Each booking's link stands on its own: a later booking with the address (perhaps
        # by someone else) must not void the owner's earlier one.
        token = tokens.issue_token(
            booking.customer_id,
            tokens.CONFIRM_CHANGES,
            now,
            payload=proposed_changes.values,
            void_older=False,
        )
        extra = {
            "changes": proposed_changes.lines,
            "changes_url": link_url(tokens.CONFIRM_CHANGES, token),
        }
    confirmation = _queue_booking_message(
        CONFIRMATION,
        booking,
        subject=_(
            "Booking confirmed: %(service)s on %(when)s", service=booking.service.name, when=when
        ),
        dedupe_key=_key(booking, "confirmation"),
        now=now,
        method="REQUEST",
        **extra,
    )
    _queue_reminder(booking, now)
    return confirmation


# Why /book did not make a booking it answered as made (SPEC section 9: the page must not tell
# a stranger that an address is on file); the stored address is told instead.
NOT_MADE_OVERLAP = "overlap"
NOT_MADE_DAILY_LIMIT = "daily_limit"


def queue_booking_not_made(
    customer: Customer,
    service: Service,
    location: Location,
    start: datetime,
    reason: str,
    *,
    limit: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Tell the customer that a booking asked at /book with their address was not made, and
    why (``NOT_MADE_OVERLAP``, ``NOT_MADE_DAILY_LIMIT`` with the ``limit``). One message per
    customer, service, start and reason (asking again sends nothing more)."""
    if not customer.email:
        return None
    now = now or utcnow()
    when = local_time(start, location.timezone)
    if reason == NOT_MADE_OVERLAP:
        why = _("you already have a booking at that time.")
    elif reason == NOT_MADE_DAILY_LIMIT:
        why = _(
            "you already have as many bookings on that day as one person can make (%(limit)s).",
            limit=limit,
        )
    else:
        raise ValueError(f"unknown reason {reason!r}")
    subject = _("Booking not made: %(service)s on %(when)s", service=service.name, when=when)
    text, html = _render(
        NOT_MADE,
        subject=subject,
        customer=customer,
        service=service,
        location=location,
        when=when,
        why=why,
        book_url=_public(BOOK_PATH),
        account_url=_public(ACCOUNT_PATH),
    )
    return queue_message(
        kind=NOT_MADE,
        recipient=customer.email,
        subject=subject,
        body_text=text,
        body_html=html,
        customer_id=customer.id,
        dedupe_key=f"customer.{customer.uuid}.not_made.{service.id}.{start:%Y%m%dT%H%M}.{reason}",
        now=now,
    )


def queue_booking_rescheduled(
    booking: Booking, *, previous_start: datetime | None = None, now: datetime | None = None
) -> OutboxMessage | None:
    """After a booking moved (in place, ``booking.sequence`` already raised by one): the
    "moved" message with an .ics of the same UID and the new SEQUENCE; the pending reminder is
    withdrawn and a new one queued for the new time. ``previous_start`` is shown crossed out.
    """
    if booking.sequence < 1:
        raise ValueError("raise booking.sequence before queuing a reschedule (iCalendar SEQUENCE)")
    now = now or utcnow()
    withdraw_pending(booking.id, REMINDER)
    zone = booking.location.timezone
    when = local_time(booking.start_at, zone)
    message = _queue_booking_message(
        RESCHEDULED,
        booking,
        subject=_(
            "Booking moved: %(service)s, now on %(when)s", service=booking.service.name, when=when
        ),
        dedupe_key=_key(booking, "rescheduled", booking.sequence),
        now=now,
        method="REQUEST",
        previous_when=local_time(previous_start, zone) if previous_start else None,
    )
    _queue_reminder(booking, now)
    return message


def queue_booking_cancelled(
    booking: Booking, *, now: datetime | None = None
) -> OutboxMessage | None:
    """After a booking was cancelled: its pending reminder is withdrawn and the "cancelled"
    message queued with an .ics ``METHOD:CANCEL`` (same UID) that removes the event."""
    if booking.status != "cancelled":
        raise ValueError("the booking is not cancelled")
    now = now or utcnow()
    withdraw_pending(booking.id, REMINDER)
    when = local_time(booking.start_at, booking.location.timezone)
    return _queue_booking_message(
        CANCELLED,
        booking,
        subject=_(
            "Booking cancelled: %(service)s on %(when)s", service=booking.service.name, when=when
        ),
        dedupe_key=_key(booking, "cancelled"),
        now=now,
        method="CANCEL",
    )
