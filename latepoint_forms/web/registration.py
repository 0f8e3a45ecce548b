"""Full registration (``/register``): every customer field and a password, then the account."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.service import email_status
from ..customers.errors import EmailExists, ValidationFailed
from ..customers.input import RuleSettings
from ..customers.service import create_customer
from ..extensions import limiter
from . import bp
from .auth import TOO_MANY_ATTEMPTS, sign_in
from .custom_fields import CustomFieldSet, load_custom_fields
from .forms import RegistrationForm
from .messages import EMAIL_ON_FILE_REGISTRATION, EMAIL_REGISTERED
from .responses import DATABASE_UNAVAILABLE, database_unavailable, rollback_quietly

SIGN_UP_LIMIT = "10 per minute"


def _custom_fields() -> tuple[CustomFieldSet, bool]:
    """The definitions, and False if the database could not be read."""
    try:
        return load_custom_fields(), True
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        rollback_quietly()
        return CustomFieldSet.empty(), False


@bp.route("/register", methods=["GET", "POST"], endpoint="register")
@limiter.limit(SIGN_UP_LIMIT, methods=["POST"], error_message=TOO_MANY_ATTEMPTS)
def register() -> ResponseReturnValue:
    if session.get("customer_id") is not None:
        return redirect(url_for("web.account"))
    settings = RuleSettings.from_config(current_app.config)
    custom_fields, database_ok = _custom_fields()
    form = RegistrationForm(settings, custom_fields=custom_fields)
    if not form.is_submitted():
        form.country.data = form.country.data or current_app.config.get("DEFAULT_COUNTRY") or ""
        return render_template("register.html", form=form)

    if not database_ok:
        form.form_errors.append(DATABASE_UNAVAILABLE)
        return render_template("register.html", form=form), 503

    form.validate()  # the field rules; customer_input adds the rest
    taken_by = None
    try:
        data = form.customer_input()  # reads the custom-field definitions again
        # Said beside the other mistakes at once; the unique index still decides on create.
        if not form.email.errors:
            taken_by = email_status(form.email.data or "")
        if taken_by is not None:
            data = None
        if data is not None:
            customer = create_customer(data, source="web_form", password=form.password.data)
            sign_in(customer)
            flash(f"Welcome, {customer.first_name}. Your account is ready.", "success")
            return redirect(url_for("web.account"))
    except ValidationFailed as failed:
        form.apply_errors(failed.details or {})
    except EmailExists:
        # Registered by someone else since the check above: ask again whose it is.
        taken_by = email_status(form.email.data or "") or "account"
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        rollback_quietly()
        form.form_errors.append(DATABASE_UNAVAILABLE)
        return render_template("register.html", form=form), 503
    if taken_by is not None:
        form.email.errors = [
            EMAIL_REGISTERED if taken_by == "account" else EMAIL_ON_FILE_REGISTRATION
        ]
    email_taken = taken_by == "account"  # only an account holder is offered to sign in
    return render_template("register.html", form=form, email_taken=email_taken), 422
