"""The account's own changes (SPEC section 9, "Account"): the profile, the password, the email.

Each acts on the signed-in customer only (``current_customer``): no page takes a customer's
id, so nobody can reach another person's details. The profile goes through the registration
form's rules (one pass, errors beside the fields); a password change asks for the current one
and ends every other session; the email changes only once the new address confirms by link
(``/account/email/<token>``, which works signed in or not: the link proves the address).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.service import (
    WRONG_CURRENT_PASSWORD,
    CurrentPasswordWrong,
    change_password,
    confirm_email_change,
    edit_profile,
    pending_email_change,
    request_email_change,
)
from ..customers.errors import EmailExists, ValidationFailed
from ..i18n import _, localised_details
from ..messages.service import EMAIL_CHANGE, queue_account_link, queue_email_changed
from ..models import Customer
from ..problems import N_
from ..settings import rule_settings
from . import bp
from .account_forms import ChangeEmailForm, ChangePasswordForm, ProfileForm
from .account_pending import proven_required
from .auth import current_customer, login_required, sign_in
from .custom_fields import load_custom_fields
from .forms import ActionForm
from .limits import limit_web_door
from .responses import FormOnOutage, private_page, say_on_outage

EMAIL_NOT_CHANGED = N_(
    "We could not change your email address just now. It is unchanged — please try again."
)


def _signed_in() -> Customer:
    customer = current_customer()
    assert customer is not None  # login_required
    return customer


@bp.route("/account/profile", methods=["GET", "POST"], endpoint="account_profile")
@login_required
@proven_required
@private_page
def profile() -> ResponseReturnValue:
    customer = _signed_in()
    settings = rule_settings()
    page = FormOnOutage("account_profile.html", lambda: ProfileForm(settings))
    form = page.form = ProfileForm.build(settings, load_custom_fields())
    if not form.is_submitted():
        form.fill_from(customer)
        return render_template("account_profile.html", form=form)
    form.validate()  # CSRF (CSRFProtect has refused a missing token already)
    checked = form.customer_input()
    if checked is None:
        return render_template("account_profile.html", form=form), 422
    edit_profile(
        customer,
        checked,
        settings,
        keys=form.profile_keys(),
        definitions=form.custom_fields.definitions,
    )
    session["customer_name"] = customer.first_name  # the header's name
    flash(_("Your details are saved."), "success")
    return redirect(url_for("web.account"))


@bp.route("/account/password", methods=["GET", "POST"], endpoint="account_password")
@limit_web_door
@login_required
@proven_required
@private_page
def password() -> ResponseReturnValue:
    customer = _signed_in()
    form = ChangePasswordForm(has_password=bool(customer.password_hash))
    FormOnOutage("account_password.html", lambda: form)
    if form.validate_on_submit():
        current = form.current_password.data if form.asks_current_password else None
        try:
            change_password(customer, current, form.password.data or "", rule_settings())
        except CurrentPasswordWrong:
            form.current_password.errors = [_(WRONG_CURRENT_PASSWORD)]
        else:
            # Every session ended, this browser's too: it gets a new one, the others stay out.
            sign_in(customer)
            flash(
                _(
                    "Your password is changed. Other browsers signed in to your account are "
                    "signed out."
                ),
                "success",
            )
            return redirect(url_for("web.account"))
    status = 422 if form.is_submitted() else 200
    return render_template("account_password.html", form=form), status


@bp.route("/account/email", methods=["GET", "POST"], endpoint="account_email")
@limit_web_door
@login_required
@proven_required
@private_page
def email() -> ResponseReturnValue:
    customer = _signed_in()
    settings = rule_settings()
    form = ChangeEmailForm(settings, has_password=bool(customer.password_hash))
    FormOnOutage("account_email.html", lambda: form, customer=customer)
    if form.validate_on_submit():
        current = form.current_password.data if form.asks_current_password else None
        try:
            change = request_email_change(
                customer, form.email.data or "", settings, current_password=current
            )
        except ValidationFailed as failed:
            form.place_errors(localised_details(failed.problems))
        else:
            if change.token is not None:  # an address that is someone else's hears nothing
                queue_account_link(EMAIL_CHANGE, customer, change.token, recipient=change.address)
            # The same answer whether the address was free or someone else's.
            return redirect(url_for("web.account_email_sent"))
    status = 422 if form.is_submitted() else 200
    return render_template("account_email.html", form=form, customer=customer), status


@bp.get("/account/email/sent", endpoint="account_email_sent")
@login_required
@proven_required
@private_page
def email_sent() -> ResponseReturnValue:
    return render_template("account_email_sent.html", customer=_signed_in())


@bp.get("/account/email/<token>", endpoint="confirm_email_change")
@private_page
def confirm_email_page(token: str) -> ResponseReturnValue:
    """The link's page: it shows the new address and a button; opening it changes nothing."""
    pending = pending_email_change(token)
    if pending is None:
        return render_template("account_email_confirm.html", state="unusable"), 410
    customer, address = pending
    return render_template(
        "account_email_confirm.html",
        state="ready",
        address=address,
        customer=customer,
        form=ActionForm(),
    )


@bp.post("/account/email/<token>", endpoint="apply_email_change")
@private_page
def apply_email_change(token: str) -> ResponseReturnValue:
    ActionForm().validate_on_submit()  # CSRFProtect has already refused a missing token
    say_on_outage(EMAIL_NOT_CHANGED)
    try:
        changed = confirm_email_change(token)
    except EmailExists:
        # Someone took the address meanwhile: nothing changes (the unit rolls back, the link
        # stays unused) and the page says so.
        return render_template("account_email_confirm.html", state="taken"), 409
    if changed is None:  # unknown, expired, used, or its customer is not active: a dead link
        return render_template("account_email_confirm.html", state="unusable"), 410
    queue_email_changed(changed.customer, changed.previous)
    customer = changed.customer
    flash(_("Your email address is now %(email)s.", email=customer.email), "success")
    signed_in = current_customer()
    if signed_in is not None and signed_in.id == customer.id:
        return redirect(url_for("web.account"))
    return redirect(url_for("web.sign_in", next="/account"))
