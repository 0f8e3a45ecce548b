"""Signing customers in and out of the web pages: a signed Flask session cookie that carries
a server-side session (accounts/sessions.py).

The cookie holds a random session token, the customer's id and first name (the id and name are
hints: every page can show who is signed in without a database query; whatever acts on the
account asks ``current_customer``, which checks the token on the server). Signing in clears the
cookie session and starts a new server session, so a session made before sign-in cannot be
carried into the account (session fixation). Signing out revokes the server session, so a
copy of the cookie stops working too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.links import send_link
from ..accounts.service import authenticate_customer
from ..accounts.sessions import (
    SessionPolicy,
    end_session,
    prune_sessions,
    session_customer,
    start_session,
)
from ..clock import now
from ..i18n import _
from ..messages.service import EMAIL_CONFIRMATION
from ..models import Customer
from ..problems import N_
from ..settings import rule_settings
from . import bp
from .forms import ActionForm, SignInForm
from .limits import limit_web_door
from .responses import FormOnOutage

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_LANDING = "/account"
WRONG_CREDENTIALS = N_(
    "The email address or password is not right. Please check both and try again."
)
# Said only after the right password (so it tells nobody more than the password does).
CONFIRM_EMAIL_FIRST = N_(
    "Please confirm your email address first: we have sent a new confirmation link to it. "
    "Use the link, and you are signed in."
)


def safe_next(target: str | None, default: str = DEFAULT_LANDING) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects).

    Refused: absolute and scheme-relative URLs (``https://…``, ``//evil``), backslashes (browsers
    read ``/\\evil`` as ``//evil``), and control characters or whitespace (``/\\t/evil``).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 33 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


SESSION_TOKEN_KEY = "session_token"  # noqa: S105 (the cookie key, not a secret)


def session_policy() -> SessionPolicy:
    return SessionPolicy(
        lifetime=current_app.permanent_session_lifetime,
        idle=timedelta(seconds=current_app.config["SESSION_IDLE_SECONDS"]),
    )


def sign_in(customer: Customer) -> None:
    """Start a new session for ``customer``; the browser's previous one (if any) ends.

    Also the way to keep the person who changed a password signed in: ``set_password`` ends
    every session of the customer, this gives them a new one.
    """
    at = now()
    previous = session.get(SESSION_TOKEN_KEY)
    if isinstance(previous, str):
        end_session(previous, at)
    prune_sessions(customer.id, at, session_policy())
    session.clear()
    session[SESSION_TOKEN_KEY] = start_session(customer, at)
    session["customer_id"] = customer.id
    session["customer_name"] = customer.first_name
    g.current_customer = customer


def sign_out() -> None:
    """End this browser's session on the server (copies of the cookie stop working too)."""
    token = session.get(SESSION_TOKEN_KEY)
    if isinstance(token, str):
        end_session(token, now())
    session.clear()
    g.current_customer = None


def current_customer() -> Customer | None:
    """The signed-in customer (one query per request), or None.

    A session the server no longer knows (signed out, a password change, expired or idle too
    long, the customer deactivated or deleted) is forgotten by the browser too.
    """
    if "current_customer" not in g:
        token = session.get(SESSION_TOKEN_KEY)
        customer = (
            session_customer(token, now(), session_policy()) if isinstance(token, str) else None
        )
        if customer is None and ("customer_id" in session or token is not None):
            session.clear()
        g.current_customer = customer
    return g.current_customer


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_customer() is None:
            # Come back here after signing in, unless this was a POST (a button's action URL
            # cannot be opened with GET).
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("web.sign_in", next=target))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
@limit_web_door
def sign_in_page() -> ResponseReturnValue:
    form = SignInForm()
    target = safe_next(request.args.get("next"))
    FormOnOutage("sign_in.html", lambda: form, next=target)
    if form.validate_on_submit():
        customer = authenticate_customer(
            form.email.data or "", form.password.data or "", rule_settings(), allow_pending=True
        )
        if customer is not None and customer.status == "pending":
            # The address is not proven: its password signs in nowhere (SPEC section 9). A
            # fresh link is sent, and kept: the answer is a redirect, not a refusal.
            send_link(EMAIL_CONFIRMATION, customer, now())
            flash(_(CONFIRM_EMAIL_FIRST), "warning")
            return redirect(url_for("web.confirmation_link_sent"), 303)
        if customer is not None:
            sign_in(customer)
            flash(_("Welcome back, %(name)s.", name=customer.first_name), "success")
            return redirect(target)
        form.form_errors.append(_(WRONG_CREDENTIALS))
    status = 422 if form.is_submitted() else 200
    return render_template("sign_in.html", form=form, next=target), status


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_page() -> ResponseReturnValue:
    ActionForm().validate_on_submit()  # CSRFProtect has already refused a missing token
    sign_out()
    flash(_("You are signed out."), "success")
    return redirect(url_for("web.index"))
