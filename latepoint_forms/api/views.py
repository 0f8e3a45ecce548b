"""JSON routes. Each view has one success response; everything else is raised."""

from __future__ import annotations

from flask import request, url_for
from flask.typing import ResponseReturnValue

from ..customers.errors import ValidationFailed
from ..customers.input import CustomerInput, parse_customer_input
from ..customers.representation import customer_as_json, input_as_json
from ..customers.service import create_customer, get_customer, validate_customer
from ..messages.service import queue_welcome
from ..settings import rule_settings
from . import bp
from .auth import current_key, require_key
from .body import read_json_object
from .envelope import success
from .idempotency import idempotent

# A request option beside the customer's fields (not one of them): queue a welcome message.
SEND_WELCOME_EMAIL = "send_welcome_email"


def _parse_body() -> tuple[CustomerInput, bool]:
    """The customer, and whether a welcome message is asked for (default false); a wrong
    ``send_welcome_email`` is reported with every other field's error at once."""
    raw = dict(read_json_object())
    send_welcome = raw.pop(SEND_WELCOME_EMAIL, None)
    errors = {}
    if send_welcome is not None and not isinstance(send_welcome, bool):
        errors[SEND_WELCOME_EMAIL] = "Must be true or false"
    try:
        data = parse_customer_input(raw, rule_settings())
    except ValidationFailed as failed:
        raise ValidationFailed(dict(sorted({**(failed.details or {}), **errors}.items()))) from None
    if errors:
        raise ValidationFailed(errors)
    return data, bool(send_welcome)


@bp.post("/customers")
@require_key("customers:create")
@idempotent
def create() -> ResponseReturnValue:
    data, send_welcome = _parse_body()
    customer = create_customer(data, source="api", settings=rule_settings())
    # True exactly when a welcome message was queued (in this transaction): asked for, and
    # the customer has an address to send it to.
    welcome_sent = send_welcome and queue_welcome(customer) is not None
    location = url_for(f"{request.blueprint}.read", customer_id=customer.id)
    body = {**customer_as_json(customer), "welcome_email_sent": welcome_sent}
    response = success("Customer created successfully", body, 201)
    response.headers["Location"] = location
    return response


@bp.post("/customers/validate")
@require_key("customers:create")
@idempotent
def validate() -> ResponseReturnValue:
    data, _ = _parse_body()
    return success(
        "The customer data is valid", input_as_json(validate_customer(data, rule_settings()))
    )


@bp.get("/customers/<int:customer_id>")
@require_key("customers:read")
def read(customer_id: int) -> ResponseReturnValue:
    return success("Customer retrieved", customer_as_json(get_customer(customer_id)))


@bp.get("/status")
@require_key()
def status() -> ResponseReturnValue:
    key = current_key()
    return success("OK", {"service": "latepoint_forms", "version": "1", "key_mode": key.mode})
