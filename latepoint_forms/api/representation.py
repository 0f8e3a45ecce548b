"""How a customer looks in the API (the LatePoint create-customer response's ``data``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..customers.input import CustomerInput
from ..models import Customer


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def customer_as_json(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "uuid": customer.uuid,
        "customer_code": customer.customer_code,
        **input_as_json(customer),
        "full_name": customer.full_name,
        "has_account": customer.password_hash is not None,
        "source": customer.source,
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
    }


def input_as_json(data: CustomerInput | Customer) -> dict[str, Any]:
    """The customer's own fields, normalised (what ``/customers/validate`` returns)."""
    return {
        "first_name": data.first_name,
        "last_name": data.last_name,
        "email": data.email,
        "phone": data.phone,
        "status": data.status or "active",
        "date_of_birth": data.date_of_birth.isoformat() if data.date_of_birth else None,
        "gender": data.gender,
        "address": data.address,
        "city": data.city,
        "state": data.state,
        "zipcode": data.zipcode,
        "country": data.country,
        "custom_fields": dict(data.custom_fields or {}),
        "notes": data.notes,
        "is_guest": bool(data.is_guest),
        "wordpress_user_id": data.wordpress_user_id,
        "preferences": data.preferences,
    }
