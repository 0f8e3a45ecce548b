"""The account of a ``pending`` customer (SPEC section 9, "Owning an address").

A pending registrant has proven nothing: the address may be someone else's, whose anonymous
bookings at ``/book`` attach to the record. So until the address is confirmed ``/account``
shows no bookings and no way to manage them (a banner and a button that sends the
confirmation link again instead), the booking routes answer as for someone else's booking,
and the pages that change the account (profile, password, email) send the browser back to
``/account``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.links import send_link
from ..clock import now
from ..extensions import limiter
from ..i18n import _
from ..messages.service import EMAIL_CONFIRMATION
from ..problems import N_
from . import bp
from .auth import current_customer, login_required
from .forms import ActionForm
from .limits import TOO_MANY_ATTEMPTS, limit_web_door, web_rate_limit

F = TypeVar("F", bound=Callable[..., Any])

CONFIRM_TO_SEE_BOOKINGS = N_("Confirm your email address to see your bookings")
CONFIRM_FIRST = N_(
    "Confirm your email address first: use the link we sent to it. Until then your account "
    "can only wait for it."
)
LINK_SENT_AGAIN = N_("We have sent the confirmation link again to %(email)s.")


def is_pending() -> bool:
    customer = current_customer()
    return customer is not None and customer.status == "pending"


def proven_required(view: F) -> F:
    """After ``login_required``: a pending customer is sent back to ``/account`` (its banner
    says why) instead of this page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if is_pending():
            flash(_(CONFIRM_FIRST), "warning")
            return redirect(url_for("web.account"), 303)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _customer_rate_key() -> str:
    return f"confirm-again:{session.get('customer_id')}"


@bp.post("/account/confirmation-link", endpoint="send_confirmation_again")
@limit_web_door
@limiter.limit(
    web_rate_limit, key_func=_customer_rate_key, methods=["POST"], error_message=TOO_MANY_ATTEMPTS
)
@login_required
def send_confirmation_again() -> ResponseReturnValue:
    """The banner's button: a fresh confirmation link (the older one stops working). Limited
    per client address and per account, like every web door."""
    ActionForm().validate_on_submit()  # CSRFProtect has already refused a missing token
    customer = current_customer()
    assert customer is not None  # login_required
    if customer.status == "pending":
        send_link(EMAIL_CONFIRMATION, customer, now())
        flash(_(LINK_SENT_AGAIN, email=customer.email), "success")
    return redirect(url_for("web.account"), 303)
