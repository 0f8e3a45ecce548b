"""JSON routes. Each view has one success response; everything else is raised."""

from __future__ import annotations

from flask import request, url_for
from flask.typing import ResponseReturnValue

from ..customers.input import CustomerInput, parse_customer_input
from ..customers.service import create_customer, get_customer, validate_customer
from ..settings import rule_settings
from . import bp
from .auth import current_key, require_key
from .body import read_json_object
from .envelope import success
from .idempotency import idempotent
from .representation import customer_as_json, input_as_json


def _parse_body() -> CustomerInput:
    return parse_customer_input(read_json_object(), rule_settings())


@bp.post("/customers")
@require_key("customers:create")
@idempotent
def create() -> ResponseReturnValue:
    customer = create_customer(_parse_body(), source="api", settings=rule_settings())
    location = url_for(f"{request.blueprint}.read", customer_id=customer.id)
    response = success("Customer created successfully", customer_as_json(customer), 201)
    response.headers["Location"] = location
    return response


@bp.post("/customers/validate")
@require_key("customers:create")
@idempotent
def validate() -> ResponseReturnValue:
    data = validate_customer(_parse_body(), rule_settings())
    return success("The customer data is valid", input_as_json(data))


@bp.get("/customers/<int:customer_id>")
@require_key("customers:read")
def read(customer_id: int) -> ResponseReturnValue:
    return success("Customer retrieved", customer_as_json(get_customer(customer_id)))


@bp.get("/status")
@require_key()
def status() -> ResponseReturnValue:
    key = current_key()
    return success("OK", {"service": "latepoint_forms", "version": "1", "key_mode": key.mode})
