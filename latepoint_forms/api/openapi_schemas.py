"""JSON Schemas of the API's bodies, built from the rules' constants (see api/openapi.py).

Request schemas describe what the server accepts (``null`` means "not given"; unknown keys
are refused); response schemas describe exactly what it returns (no other keys), so the
schemathesis run catches any drift between the code and the document.
"""

from __future__ import annotations

import re
from typing import Any

from ..catalog import hours
from ..codes import code_regex
from ..customers import rules
from ..customers.errors import EmailExists, ValidationFailed
from ..customers.preferences import MAX_TIME_SLOTS
from ..ids import MAX_ID
from ..models import CUSTOMER_SOURCES
from .keys import MODES as KEY_MODES


def anchored(regex: re.Pattern[str]) -> str:
    """The JSON Schema ``pattern`` (ECMA-262, which searches) for what ``regex.fullmatch``
    accepts. The rules' regexes use only syntax the two dialects share."""
    text = regex.pattern
    return f"^(?:{text})$" if "|" in text else f"^{text}$"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _text(max_length: int, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "description": description, **extra}


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATE_PATTERN = anchored(rules.DATE_RE)
# hours keeps its regex private; reading it here beats restating it.
SLOT_PATTERN = anchored(hours._SLOT_RE)
NAME_TEXT = (
    "Letters of any script (with combining marks), spaces, hyphens and apostrophes; must "
    "contain a letter; {min}-{max} characters after trimming and collapsing spaces."
)


def _customer_fields() -> dict[str, dict[str, Any]]:
    name = NAME_TEXT.format(min="NAME_MIN_LENGTH (default 2)", max=rules.NAME_MAX_LENGTH)
    return {
        "first_name": _text(rules.NAME_MAX_LENGTH, name, minLength=1),
        "last_name": _text(rules.NAME_MAX_LENGTH, name, minLength=1),
        "email": _text(rules.EMAIL_MAX_LENGTH, "Unique; stored normalised, lower case"),
        "phone": _text(rules.PHONE_MAX_LENGTH, "International or national (read with country)"),
        "status": {"type": "string", "enum": list(rules.STATUSES), "default": "active"},
        "date_of_birth": {
            "type": "string",
            "pattern": DATE_PATTERN,
            "description": "YYYY-MM-DD, not in the future, at least MIN_CUSTOMER_AGE years ago",
        },
        "gender": {"type": "string", "enum": list(rules.GENDERS)},
        "address": _text(rules.ADDRESS_MAX_LENGTH, "Street line; no control characters"),
        "city": _text(rules.CITY_MAX_LENGTH, "City"),
        "state": _text(rules.STATE_MAX_LENGTH, "Area name or code; the code is stored"),
        "zipcode": _text(rules.ZIPCODE_MAX_LENGTH, "Postal code in the country's format"),
        "country": {
            "type": "string",
            "pattern": anchored(rules.COUNTRY_RE),
            "description": "ISO 3166-1 alpha-2",
        },
        "notes": _text(rules.NOTES_MAX_LENGTH, "Newlines allowed; other control characters not"),
    }


CUSTOM_FIELD_VALUE = {"type": ["string", "number", "boolean", "null"]}


def _preferences(*, stored: bool) -> dict[str, Any]:
    properties = {
        "service_id": ID,
        "location_id": ID,
        "agent_id": {**ID, "type": ["integer", "null"]},
        "time_slots": {
            "type": "array",
            "maxItems": MAX_TIME_SLOTS,
            "items": {"type": "string", "pattern": SLOT_PATTERN},
            "description": "Wall-clock times at the location, future, on the service's grid",
        },
    }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    schema["required"] = list(properties) if stored else ["service_id", "location_id"]
    return schema


def customer_input_schema() -> dict[str, Any]:
    """The create/validate body: unknown keys are an error; null means "not given"."""
    properties = {key: _nullable(value) for key, value in _customer_fields().items()}
    properties["first_name"] = _customer_fields()["first_name"]
    properties["last_name"] = _customer_fields()["last_name"]
    properties["is_guest"] = {"type": ["boolean", "null"], "default": False}
    properties["wordpress_user_id"] = {**ID, "type": ["integer", "null"]}
    properties["custom_fields"] = {
        "type": ["object", "null"],
        "additionalProperties": CUSTOM_FIELD_VALUE,
        "description": "Keys and values as the configured custom-field definitions say",
    }
    properties["preferences"] = {**_preferences(stored=False), "type": ["object", "null"]}
    return {
        "type": "object",
        "required": ["first_name", "last_name"],
        "properties": properties,
        "additionalProperties": False,
    }


def customer_record_schema(*, created: bool) -> dict[str, Any]:
    fields = _customer_fields()
    properties: dict[str, Any] = {
        "first_name": {"type": "string", "minLength": 1, "maxLength": rules.NAME_MAX_LENGTH},
        "last_name": {"type": "string", "minLength": 1, "maxLength": rules.NAME_MAX_LENGTH},
        "email": _nullable(fields["email"]),
        "phone": {"type": ["string", "null"], "pattern": rules.E164_PATTERN},
        "status": fields["status"],
        "date_of_birth": {"type": ["string", "null"], "format": "date"},
        "gender": {"type": ["string", "null"], "enum": [*rules.GENDERS, None]},
        "address": _nullable(fields["address"]),
        "city": _nullable(fields["city"]),
        "state": _nullable(fields["state"]),
        "zipcode": _nullable(fields["zipcode"]),
        "country": {"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
        "custom_fields": {"type": "object", "additionalProperties": CUSTOM_FIELD_VALUE},
        "notes": _nullable(fields["notes"]),
        "is_guest": {"type": "boolean"},
        "wordpress_user_id": {**ID, "type": ["integer", "null"]},
        "preferences": {**_preferences(stored=True), "type": ["object", "null"]},
    }
    if created:
        properties = {
            "id": ID,
            "uuid": {"type": "string", "format": "uuid"},
            # The shape customers.service.new_customer_code gives readable_code.
            "customer_code": {"type": "string", "pattern": anchored(code_regex("CUS", 5, 5))},
            **properties,
            "full_name": {"type": "string"},
            "has_account": {"type": "boolean"},
            "source": {"type": "string", "enum": list(CUSTOMER_SOURCES)},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        }
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def availability_schema() -> dict[str, Any]:
    """``data`` of ``GET /availability``."""
    slot = {
        "type": "object",
        "required": ["start", "start_utc", "agent_ids"],
        "properties": {
            "start": {"type": "string", "pattern": SLOT_PATTERN},
            "start_utc": {"type": "string", "format": "date-time"},
            "agent_ids": {"type": "array", "items": ID, "minItems": 1},
        },
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["date", "timezone", "service_id", "location_id", "agent_id", "slots"],
        "properties": {
            "date": {"type": "string", "format": "date"},
            "timezone": {"type": "string"},
            "service_id": ID,
            "location_id": ID,
            "agent_id": {**ID, "type": ["integer", "null"]},
            "slots": {"type": "array", "items": slot},
        },
        "additionalProperties": False,
    }


def status_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["service", "version", "key_mode"],
        "properties": {
            "service": {"type": "string"},
            "version": {"type": "string"},
            "key_mode": {"type": "string", "enum": list(KEY_MODES)},
        },
        "additionalProperties": False,
    }


def list_meta_schema() -> dict[str, Any]:
    """``meta`` of ``GET /customers``."""
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "required": ["page", "per_page", "total", "pages"],
        "properties": {
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "total": count,
            "pages": count,
        },
        "additionalProperties": False,
    }


def bulk_request_schema(max_items: int) -> dict[str, Any]:
    """The body of ``POST /customers/bulk``. An item of any other shape is not a 422 for the
    whole request: it is that item's ``validation_failed`` in the results."""
    item = {
        "anyOf": [
            {"$ref": "#/components/schemas/CustomerInput"},
            {"description": "Anything else: reported as this item's validation_failed"},
        ]
    }
    return {
        "type": "object",
        "required": ["customers"],
        "properties": {
            "customers": {"type": "array", "minItems": 1, "maxItems": max_items, "items": item}
        },
        "additionalProperties": False,
    }


def bulk_result_schema() -> dict[str, Any]:
    """``data`` of ``POST /customers/bulk``: counts and one result per item, in input order."""
    index = {"type": "integer", "minimum": 0}
    created = {
        "type": "object",
        "required": ["index", "status", "customer"],
        "properties": {
            "index": index,
            "status": {"const": "created"},
            "customer": {"$ref": "#/components/schemas/Customer"},
        },
        "additionalProperties": False,
    }
    failed = {
        "type": "object",
        "required": ["index", "status", "error"],
        "properties": {
            "index": index,
            "status": {"const": "error"},
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "enum": [ValidationFailed.code, EmailExists.code]},
                    "message": {"type": "string", "minLength": 1},
                    "details": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "required": ["created", "failed", "results"],
        "properties": {
            "created": count,
            "failed": count,
            "results": {"type": "array", "items": {"oneOf": [created, failed]}},
        },
        "additionalProperties": False,
    }
