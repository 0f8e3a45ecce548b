"""The "confirm your changes" link (``/account/changes/<token>``, SPEC section 9).

A returning customer who booked at /book without signing in, typing details that differ from
the stored ones, gets this link in the confirmation sent to the stored address (the
submission itself changed nothing: web/booking.py). No sign-in is needed: the link proves the
address. Opening it (GET) only shows the proposed changes and a button, since mail scanners
follow links; the button POSTs (CSRF), spends the token (once: ``use_token``), checks the
values again through the profile's rules and applies them (customers/returning.py).
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from ..accounts import tokens
from ..clock import now
from ..customers.custom_fields import active_custom_field_definitions
from ..customers.errors import ValidationFailed
from ..customers.returning import PROPOSABLE_KEYS, apply_changes, change_lines
from ..extensions import db
from ..i18n import _, localised_details
from ..models import Customer, CustomerToken
from ..settings import rule_settings
from . import bp
from .forms import ActionForm
from .limits import limit_web_door
from .messages import CHANGES_LINK_INVALID, CHANGES_NOT_APPLIED
from .responses import private_page


def _current_lines(customer: Customer, values: dict[str, object]) -> list[tuple[str, str, str]]:
    """(label, stored value, proposed value) for each change the link proposes."""
    definitions = active_custom_field_definitions()
    proposed = change_lines(values, definitions)
    stored_values: dict[str, object] = {}
    for key in PROPOSABLE_KEYS:
        if key not in values:
            continue
        if key == "custom_fields":
            custom = values[key]
            assert isinstance(custom, dict)
            stored = customer.custom_fields or {}
            stored_values[key] = {k: stored.get(k, "") for k in custom}
        else:
            stored_values[key] = getattr(customer, key) or ""
    stored_lines = change_lines(stored_values, definitions)
    return [
        (_label(label), before, after)
        for (label, after), (_stored, before) in zip(proposed, stored_lines, strict=True)
    ]


def _label(label: str) -> str:
    """A customer field's label (a message id) in the page's language; a custom field's
    label, the business's own words, passes through unchanged when the catalogs lack it."""
    return _(label) if label else label


def _payload(row: CustomerToken) -> dict[str, object]:
    payload = row.payload or {}
    return {key: payload[key] for key in PROPOSABLE_KEYS if key in payload}


def _invalid() -> ResponseReturnValue:
    return render_template("account_changes.html", invalid=_(CHANGES_LINK_INVALID)), 404


@bp.route("/account/changes/<token>", methods=["GET", "POST"], endpoint="account_changes")
@limit_web_door
@private_page
def account_changes(token: str) -> ResponseReturnValue:
    form = ActionForm()
    if request.method == "POST":  # CSRF was checked before the view (web/__init__.py)
        return _apply(token)
    row = tokens.find_token(token, tokens.CONFIRM_CHANGES, now())
    customer = db.session.get(Customer, row.customer_id) if row is not None else None
    if row is None or customer is None:
        return _invalid()
    lines = _current_lines(customer, _payload(row))
    return render_template("account_changes.html", lines=lines, form=form, customer=customer)


def _apply(token: str) -> ResponseReturnValue:
    row = tokens.use_token(token, tokens.CONFIRM_CHANGES, now())
    customer = db.session.get(Customer, row.customer_id) if row is not None else None
    if row is None or customer is None:
        return _invalid()
    values = _payload(row)
    definitions = active_custom_field_definitions()
    lines = [(_label(label), value) for label, value in change_lines(values, definitions)]
    try:
        apply_changes(customer, values, rule_settings(), definitions)
    except ValidationFailed as failed:
        # 422: the unit of work rolls back, the link stays unused.
        problems = list(localised_details(failed.problems).values())
        page = render_template(
            "account_changes.html",
            not_applied=_(CHANGES_NOT_APPLIED),
            problems=problems,
            customer=customer,
        )
        return page, 422
    return render_template("account_changes.html", applied=lines, customer=customer)
