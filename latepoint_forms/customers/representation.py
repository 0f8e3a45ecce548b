"""How a customer looks in the API (the LatePoint create-customer response's ``data``) and in
webhook events: one representation for both."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Row

from ..models import Customer
from ..models.customer import full_name_of
from .fields import CUSTOMER_FIELDS, CustomerField
from .input import CustomerInput


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def customer_as_json(customer: Customer | Row[Any]) -> dict[str, Any]:
    """A customer, from its instance or from its stored row (every column, by name)."""
    return {
        "id": customer.id,
        "uuid": customer.uuid,
        "customer_code": customer.customer_code,
        **input_as_json(customer),
        "full_name": full_name_of(customer.first_name, customer.last_name),
        "has_account": customer.password_hash is not None,
        "source": customer.source,
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
    }


def input_as_json(data: CustomerInput | Customer | Row[Any]) -> dict[str, Any]:
    """The customer's own fields, normalised (what ``/customers/validate`` returns)."""
    return {field.key: _as_json(field, getattr(data, field.key)) for field in CUSTOMER_FIELDS}


def _as_json(field: CustomerField, value: Any) -> Any:
    if value is None:  # not given (or a record not yet flushed): the field's default
        return field.default_value()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return dict(value)  # a copy: the caller may change the body, not the record
    return value
