"""Signing customers in and out of the web pages (a signed Flask session cookie).

The session holds the customer's id and first name only (the name lets every page show who is
signed in without a database query). Signing in clears the session first, so a session made
before sign-in cannot be carried into the account (session fixation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.service import authenticate_customer, signed_in_customer
from ..models import Customer
from ..settings import rule_settings
from . import bp
from .forms import ActionForm, SignInForm
from .limits import limit_web_door
from .responses import FormOnOutage

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_LANDING = "/account"
WRONG_CREDENTIALS = "The email address or password is not right. Please check both and try again."


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


def sign_in(customer: Customer) -> None:
    session.clear()
    session["customer_id"] = customer.id
    session["customer_name"] = customer.first_name


def sign_out() -> None:
    session.clear()


def current_customer() -> Customer | None:
    """The signed-in customer (one query per request), or None."""
    if "current_customer" not in g:
        customer_id = session.get("customer_id")
        customer = signed_in_customer(customer_id) if isinstance(customer_id, int) else None
        if customer is None and customer_id is not None:
            sign_out()  # the account is gone or deactivated
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
            form.email.data or "", form.password.data or "", rule_settings()
        )
        if customer is not None:
            sign_in(customer)
            flash(f"Welcome back, {customer.first_name}.", "success")
            return redirect(target)
        form.form_errors.append(WRONG_CREDENTIALS)
    status = 422 if form.is_submitted() else 200
    return render_template("sign_in.html", form=form, next=target), status


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_page() -> ResponseReturnValue:
    ActionForm().validate_on_submit()  # CSRFProtect has already refused a missing token
    sign_out()
    flash("You are signed out.", "success")
    return redirect(url_for("web.index"))
