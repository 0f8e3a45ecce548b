"""JSON routes. Each view has one success response; everything else is raised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import Row

from ..customers.errors import ValidationFailed
from ..customers.input import CustomerInput, parse_customer_input
from ..customers.representation import customer_as_json, input_as_json
from ..customers.service import (
    check_customer,
    create_customer,
    get_customer,
    validate_customer,
)
from ..errors import InsufficientPermissions
from ..i18n import _
from ..messages.service import queue_welcome
from ..models import Customer
from ..problems import N_, PLAIN, Problem
from ..settings import rule_settings
from . import bp
from .auth import current_key, require_key
from .body import read_json_object
from .envelope import success
from .idempotency import idempotent
from .keys import definitions_with_key, read_definitions_with_key

# A request option beside the customer's fields (not one of them): queue a welcome message.
SEND_WELCOME_EMAIL = "send_welcome_email"


# What a web page's publishable key may not decide about the customer it registers.
# Nor may it have the business send mail to an address nobody has shown to be theirs.
NOT_FOR_PUBLISHABLE_KEYS = ("status", "wordpress_user_id", "is_guest", SEND_WELCOME_EMAIL)


def refuse_what_publishable_keys_may_not_set(raw: Mapping[str, Any], where: str = "") -> None:
    """``InsufficientPermissions`` when the request's key is publishable and the customer
    body ``raw`` sets any of ``NOT_FOR_PUBLISHABLE_KEYS`` (named with the prefix ``where``:
    ``customer.`` in a booking)."""
    if not current_key().publishable:
        return
    refused = [f"{where}{name}" for name in NOT_FOR_PUBLISHABLE_KEYS if name in raw]
    if refused:
        raise InsufficientPermissions(
            Problem(
                PLAIN,
                N_("A publishable key cannot set %(fields)s: the business decides those"),
                {"fields": ", ".join(refused)},
            )
        )


def _parse_body() -> tuple[CustomerInput, bool]:
    """The customer, and whether a welcome message is asked for (default false); a wrong
    ``send_welcome_email`` is reported with every other field's error at once."""
    raw = dict(read_json_object())
    refuse_what_publishable_keys_may_not_set(raw)
    send_welcome = raw.pop(SEND_WELCOME_EMAIL, None)
    errors: dict[str, Problem] = {}
    if send_welcome is not None and not isinstance(send_welcome, bool):
        errors[SEND_WELCOME_EMAIL] = Problem("not_a_boolean", N_("Must be true or false"))
    try:
        data = parse_customer_input(raw, rule_settings())
    except ValidationFailed as failed:
        raise ValidationFailed(dict(sorted({**failed.problems, **errors}.items()))) from None
    if errors:
        raise ValidationFailed(errors)
    return data, bool(send_welcome)


read_definitions_with_key("create")


@bp.post("/customers")
@require_key("customers:create", publishable=True)
@idempotent
def create() -> ResponseReturnValue:
    data, send_welcome = _parse_body()
    settings = rule_settings()
    checked = check_customer(data, settings, definitions_with_key())
    stored: Customer | Row[Any]
    if send_welcome:
        # The message is written from the customer as the other doors have it.
        stored = create_customer(checked, source="api", settings=settings)
        # True exactly when a welcome message was queued (in this transaction): the customer
        # has an address to send it to.
        welcome_sent = queue_welcome(stored) is not None
    else:
        # Only reported back: the stored row as it is, without an ORM instance for it.
        stored = create_customer(checked, source="api", settings=settings, as_row=True)
        welcome_sent = False
    # The record's URL is this collection's own, plus the id: what url_for would build for
    # the read view under the prefix this request came in by, without a URL adapter's build.
    location = f"{request.script_root}{request.path.rstrip('/')}/{stored.id}"
    body = {**customer_as_json(stored), "welcome_email_sent": welcome_sent}
    response = success(_("Customer created successfully"), body, 201)
    response.headers["Location"] = location
    return response


@bp.post("/customers/validate")
@require_key("customers:create")
@idempotent
def validate() -> ResponseReturnValue:
    data, _welcome = _parse_body()
    return success(
        _("The customer data is valid"), input_as_json(validate_customer(data, rule_settings()))
    )


@bp.get("/customers/<int:customer_id>")
@require_key("customers:read")
def read(customer_id: int) -> ResponseReturnValue:
    return success(_("Customer retrieved"), customer_as_json(get_customer(customer_id)))


@bp.get("/status")
@require_key()
def status() -> ResponseReturnValue:
    key = current_key()
    return success("OK", {"service": "latepoint_forms", "version": "1", "key_mode": key.mode})
