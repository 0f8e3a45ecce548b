"""Full registration (``/register``): every customer field and a password, then the account."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.service import EmailStatus, email_status
from ..customers.errors import EmailExists
from ..customers.service import create_customer
from ..messages.service import queue_welcome
from ..settings import rule_settings
from . import bp
from .abuse import STALE_PAGE_MESSAGE, screened_out
from .auth import sign_in
from .custom_fields import load_custom_fields
from .forms import RegistrationForm
from .limits import limit_web_door
from .messages import EMAIL_ON_FILE_REGISTRATION, EMAIL_REGISTERED
from .responses import FormOnOutage


@bp.route("/register", methods=["GET", "POST"], endpoint="register")
@limit_web_door
def register() -> ResponseReturnValue:
    if session.get("customer_id") is not None:
        return redirect(url_for("web.account"))
    settings = rule_settings()
    # Until the definitions are read, the form without its custom fields is what an outage
    # shows again (with everything typed in the other fields).
    page = FormOnOutage("register.html", lambda: RegistrationForm(settings))
    form = page.form = RegistrationForm.build(settings, load_custom_fields())
    if not form.is_submitted():
        form.country.data = form.country.data or settings.default_country or ""
        form.stamp_start()
        return render_template("register.html", form=form)
    if screened_out(form):  # a bot: nothing stored or sent, and a success's answer
        return redirect(url_for("web.submission_received"))
    if form.restamp_if_stale():  # a page left open past a deploy or a day: send it again
        flash(STALE_PAGE_MESSAGE, "error")
        return render_template("register.html", form=form), 422

    form.validate()  # CSRF and the password; customer_input checks the customer's fields
    checked = form.customer_input()
    if checked is None:
        # A known email is said beside the other mistakes at once.
        taken_by = None if form.email.errors else email_status(form.email.data or "")
        return _refused(form, taken_by)
    try:
        customer = create_customer(
            checked, source="web_form", settings=settings, password=form.password.data
        )
    except EmailExists:
        return _refused(form, email_status(checked.data.email or "") or "account")
    queue_welcome(customer)  # committed with the customer, or not at all
    sign_in(customer)
    flash(f"Welcome, {customer.first_name}. Your account is ready.", "success")
    return redirect(url_for("web.account"))


def _refused(form: RegistrationForm, taken_by: EmailStatus | None) -> ResponseReturnValue:
    if taken_by is not None:
        form.email.errors = [
            EMAIL_REGISTERED if taken_by == "account" else EMAIL_ON_FILE_REGISTRATION
        ]
    email_taken = taken_by == "account"  # only an account holder is offered to sign in
    return render_template("register.html", form=form, email_taken=email_taken), 422
