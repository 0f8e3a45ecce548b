"""Full registration (``/register``): every customer field and a password, then the account.

The account is ``pending`` until its address is confirmed (SPEC section 9, "Owning an
address"): the confirmation link is queued with the customer, in one unit of work; this
browser stays signed in, the password signs in nowhere else until then. The welcome message
follows the confirmation (accounts/links.py ``prove_address``): "your account is ready" is
true only then, and an address someone else typed gets one message, not two.

An address already on file as a record without a password (a guest who booked) cannot be
registered again; its owner is sent a sign-in link instead, which leads to the account, where
a password can be set, and the page says so (a redirect: the link is committed, and nothing
else typed matters while the address is taken). An account holder's address is offered the
sign-in, beside the form's other mistakes.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.links import await_confirmation, request_link
from ..accounts.service import EmailStatus, email_status
from ..clock import now
from ..customers.errors import EmailExists
from ..customers.service import create_customer
from ..i18n import _
from ..messages.service import SIGN_IN_LINK
from ..problems import N_
from ..settings import rule_settings
from . import bp
from .abuse import STALE_PAGE_MESSAGE, screened_out
from .auth import sign_in
from .custom_fields import load_custom_fields
from .forms import RegistrationForm
from .limits import limit_web_door
from .messages import EMAIL_REGISTERED
from .responses import FormOnOutage

EMAIL_ON_FILE_LINK_SENT = N_(
    "We already have this email address on file, without a password, so we have sent a "
    "sign-in link to it: use it to reach your account, where you can set a password. Not "
    "your address? Go back and register with another one."
)


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
        flash(_(STALE_PAGE_MESSAGE), "error")
        return render_template("register.html", form=form), 422

    form.validate()  # CSRF and the password; customer_input checks the customer's fields
    checked = form.customer_input(defaults={"status": "pending"})
    if checked is None:
        # A known email is said beside the other mistakes at once.
        taken_by = None if form.email.errors else email_status(form.email.data or "")
        if taken_by == "guest":
            return _sign_in_link_instead(form.email.data or "")
        return _refused(form, taken_by)
    try:
        customer = create_customer(
            checked, source="web_form", settings=settings, password=form.password.data
        )
    except EmailExists:
        taken_by = email_status(checked.data.email or "") or "account"
        if taken_by == "guest":
            return _sign_in_link_instead(checked.data.email or "")
        return _refused(form, taken_by)
    await_confirmation(customer, now())  # committed with the customer, or not at all
    sign_in(customer)
    flash(
        _(
            "Welcome, %(name)s. We have sent a link to %(email)s: please use it to confirm "
            "your address. Until then, you can sign in only in this browser.",
            name=customer.first_name,
            email=customer.email,
        ),
        "success",
    )
    return redirect(url_for("web.account"))


def _sign_in_link_instead(email: str) -> ResponseReturnValue:
    """The address is a passwordless record's: its owner gets a sign-in link (nothing for an
    inactive record, said alike), and this registration goes no further."""
    request_link(SIGN_IN_LINK, email, now())
    flash(_(EMAIL_ON_FILE_LINK_SENT), "warning")
    return redirect(url_for("web.sign_in_link_sent"), 303)


def _refused(form: RegistrationForm, taken_by: EmailStatus | None) -> ResponseReturnValue:
    if taken_by == "account":
        form.email.errors = [_(EMAIL_REGISTERED)]
    email_taken = taken_by == "account"  # only an account holder is offered to sign in
    return render_template("register.html", form=form, email_taken=email_taken), 422
