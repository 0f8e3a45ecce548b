"""JSON Schemas of the API's bodies, built from the customer's field declarations
(``customers/fields.py``) and the rules' constants (see api/openapi.py).

Request schemas describe what the server accepts (``null`` means "not given"; unknown keys
are refused); response schemas describe exactly what it returns (no other keys), so the
schemathesis run catches any drift between the code and the document.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..catalog import hours
from ..codes import BOOKING_CODE, CUSTOMER_CODE
from ..customers import rules
from ..customers.errors import EmailExists, ValidationFailed
from ..customers.fields import CUSTOMER_FIELDS, FIELDS_BY_KEY, CustomerField
from ..customers.preferences import ID_KEYS, MAX_TIME_SLOTS
from ..i18n import LANGUAGES
from ..ids import MAX_ID
from ..models import CUSTOMER_SOURCES
from ..models.booking import BOOKING_STATUSES
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


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATE_PATTERN = anchored(rules.DATE_RE)
# hours keeps its regex private; reading it here beats restating it.
SLOT_PATTERN = anchored(hours._SLOT_RE)
CUSTOM_FIELD_VALUE = {"type": ["string", "number", "boolean", "null"]}
JSON_TYPES = {str: "string", bool: "boolean", int: "integer", dict: "object"}


def _preferences(*, stored: bool) -> dict[str, Any]:
    nullable_id = {**ID, "type": ["integer", "null"]}
    properties = {
        "service_id": nullable_id,
        "location_id": nullable_id,
        "agent_id": nullable_id,
        "time_slots": {
            "type": "array",
            "maxItems": MAX_TIME_SLOTS,
            "items": {"type": "string", "pattern": SLOT_PATTERN},
            "description": "Wall-clock times at the location, future, on the service's grid; "
            "they need service_id and location_id",
        },
    }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if stored:
        schema["required"] = list(properties)
    else:  # at least one id that is not null
        schema["anyOf"] = [{"required": [key], "properties": {key: ID}} for key in ID_KEYS]
    return schema


def _custom_fields(*, stored: bool) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": CUSTOM_FIELD_VALUE}


# The shapes of the object-valued customer fields, which the API describes in full.
OBJECT_SCHEMAS = {"custom_fields": _custom_fields, "preferences": _preferences}


def _customer_property(field: CustomerField, *, stored: bool = False) -> dict[str, Any]:
    """A customer field's schema, from its declaration: as accepted (``null``: not given),
    or as ``stored`` and returned (``null`` only where the field has no default)."""
    schema: dict[str, Any] = {"type": JSON_TYPES[field.json_type]}
    if field.json_type is dict:
        schema.update(OBJECT_SCHEMAS[field.key](stored=stored))
    if field.required and field.json_type is str:
        schema["minLength"] = 1
    if field.max_length is not None:
        schema["maxLength"] = field.max_length
    if field.minimum is not None:
        schema["minimum"] = field.minimum
    if field.maximum is not None:
        schema["maximum"] = field.maximum
    if field.choices is not None:
        schema["enum"] = list(field.choices)
    pattern = (field.stored_pattern if stored else None) or field.pattern
    if pattern is not None:
        schema["pattern"] = anchored(pattern)
    if field.format is not None:
        schema["format"] = field.format
    if field.default is not None and not stored:
        schema["default"] = field.default
    if field.description is not None:
        schema["description"] = field.description
    always_there = field.required or (stored and field.default_value() is not None)
    return schema if always_there else _nullable(schema)


def customer_input_schema() -> dict[str, Any]:
    """The create/validate body: unknown keys are an error; null means "not given"."""
    return {
        "type": "object",
        "required": [field.key for field in CUSTOMER_FIELDS if field.required],
        "properties": {field.key: _customer_property(field) for field in CUSTOMER_FIELDS},
        "additionalProperties": False,
    }


def create_customer_input_schema() -> dict[str, Any]:
    """The create body: a customer, and the option ``send_welcome_email`` (default false)."""
    schema = customer_input_schema()
    schema["properties"] = {
        **schema["properties"],
        "send_welcome_email": {
            "type": ["boolean", "null"],
            "description": "Queue a welcome message to the customer's email (default false)",
        },
    }
    return schema


def booking_customer_input_schema() -> dict[str, Any]:
    """The ``customer`` of ``POST /bookings``: a create body whose email is required (it finds
    a returning customer, and the confirmation goes to it) and which is a guest unless it
    says otherwise (as at /book)."""
    schema = customer_input_schema()
    email = replace(FIELDS_BY_KEY["email"], required=True)
    guest = replace(
        FIELDS_BY_KEY["is_guest"],
        default=True,
        description="A customer made by booking has no account (default true)",
    )
    schema["required"] = [*schema["required"], email.key]
    schema["properties"] = {
        **schema["properties"],
        email.key: _customer_property(email),
        guest.key: _customer_property(guest),
    }
    return schema


def booking_input_schema() -> dict[str, Any]:
    """The body of ``POST /bookings``."""
    return {
        "type": "object",
        "required": ["service_id", "location_id", "start", "customer"],
        "properties": {
            "service_id": ID,
            "location_id": ID,
            "agent_id": {
                **ID,
                "type": ["integer", "null"],
                "description": "null or left out: any free agent",
            },
            "start": {
                "type": "string",
                "pattern": SLOT_PATTERN,
                "description": "Wall-clock time at the location: a start GET /availability "
                "lists (a time offered but booked is 409 slot_taken)",
            },
            "customer": {
                "$ref": "#/components/schemas/BookingCustomerInput",
                "description": "New, or returning: an email on file books for that customer, "
                "whose record is not changed (differences are proposed to the stored address)",
            },
        },
        "additionalProperties": False,
    }


def _item(**properties: Any) -> dict[str, Any]:
    """An object with exactly these properties, all of them there."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def booking_made_schema() -> dict[str, Any]:
    """``data`` of ``POST /bookings`` (bookings/representation.py)."""
    text = {"type": "string"}
    moment = {"type": "string", "format": "date-time", "description": "Local, with its offset"}
    ref = _item(id=ID, key=text, name=text)
    made = _item(
        booking=_item(
            code={"type": "string", "pattern": anchored(BOOKING_CODE.regex())},
            status={"type": "string", "enum": list(BOOKING_STATUSES)},
            start=moment,
            end=moment,
            timezone=text,
            service=ref,
            location=ref,
            agent=ref,
        ),
        customer=_item(
            id=ID, customer_code={"type": "string", "pattern": anchored(CUSTOMER_CODE.regex())}
        ),
    )
    # Not to a publishable key: a public page's visitor must not learn whether the address
    # was on file (api/bookings.py).
    made["required"] = ["booking"]
    made["properties"]["customer"]["description"] = (
        "The customer booked for; left out when the key is publishable"
    )
    return made


def created_customer_schema() -> dict[str, Any]:
    """A new customer as create returns it: with ``welcome_email_sent``."""
    schema = customer_record_schema(created=True)
    schema["properties"] = {
        **schema["properties"],
        "welcome_email_sent": {
            "type": "boolean",
            "description": "True exactly when a welcome message was queued",
        },
    }
    schema["required"] = [*schema["required"], "welcome_email_sent"]
    return schema


def customer_record_schema(*, created: bool) -> dict[str, Any]:
    """A customer as the API returns it: every field, normalised (``input_as_json``); with
    what creating it generated when ``created``."""
    properties: dict[str, Any] = {
        field.key: _customer_property(field, stored=True) for field in CUSTOMER_FIELDS
    }
    if created:
        properties = {
            "id": ID,
            "uuid": {"type": "string", "format": "uuid"},
            "customer_code": {"type": "string", "pattern": anchored(CUSTOMER_CODE.regex())},
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


def catalog_schema() -> dict[str, Any]:
    """``data`` of ``GET /catalog``."""
    item = _item

    def array_of(schema: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "items": schema}

    text = {"type": "string"}
    optional_text = {"type": ["string", "null"]}
    minutes = {"type": "integer", "minimum": 1}
    return item(
        services=array_of(
            item(
                id=ID, key=text, name=text, duration_minutes=minutes, slot_interval_minutes=minutes
            )
        ),
        locations=array_of(
            item(
                id=ID,
                key=text,
                name=text,
                address=optional_text,
                country={"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
                timezone=text,
                phone=optional_text,
                language={"type": ["string", "null"], "enum": [*LANGUAGES, None]},
            )
        ),
        agents=array_of(item(id=ID, key=text, name=text)),
        offers=array_of(item(agent_id=ID, service_id=ID, location_id=ID)),
    )


def form_schema() -> dict[str, Any]:
    """``data`` of ``GET /form``: every input of the customer forms and its constraints."""
    text = {"type": "string"}
    optional_text = {"type": ["string", "null"]}
    optional_count = {"type": ["integer", "null"], "minimum": 0}
    option = {
        "type": "object",
        "required": ["value", "label"],
        "properties": {"value": text, "label": text},
        "additionalProperties": False,
    }
    properties: dict[str, Any] = {
        "name": {
            "type": "string",
            "description": "Its key in the create-customer body and in a 422's details "
            "(custom_fields.<key> for a custom field)",
        },
        "label": text,
        "input": {
            "type": "string",
            "enum": [
                "text",
                "email",
                "tel",
                "date",
                "select",
                "textarea",
                "number",
                "checkbox",
                "url",
            ],
        },
        "json_type": {"type": "string", "enum": ["string", "number", "boolean"]},
        "required": {"type": "boolean", "description": "The API refuses a body without it"},
        "required_on_web": {
            "type": "boolean",
            "description": "The web forms and the widget ask for it (the email, too)",
        },
        "minlength": optional_count,
        "maxlength": optional_count,
        "pattern": {
            "type": ["string", "null"],
            "description": "An HTML pattern attribute (the browser compiles it with the v flag)",
        },
        "min": optional_text,
        "max": optional_text,
        "step": optional_text,
        "autocomplete": optional_text,
        "options": {"type": ["array", "null"], "items": option},
        "value": optional_text,
        "placeholder": optional_text,
        "help_text": optional_text,
        "attributes": {
            "type": "object",
            "additionalProperties": {"type": ["string", "integer"]},
            "description": "Other HTML attributes of the input (spellcheck, autocapitalize, rows)",
        },
        "flows": {
            "type": "array",
            "items": {"type": "string", "enum": ["register", "booking"]},
            "description": "The widget's forms that ask for it",
        },
        "more": {"type": "boolean", "description": "Optional detail, shown folded away"},
    }
    item = {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["inputs"],
        "properties": {"inputs": {"type": "array", "items": item}},
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
                    "errors": FIELD_ERRORS,
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


# A validation failure's ``errors``: each failing field with its stable code (SPEC section 11).
FIELD_ERRORS: dict[str, Any] = {
    "type": "array",
    "description": "Each failing field (as in details) with a stable code, such as too_short, "
    "that clients can translate themselves, and the message in the response's language",
    "items": {
        "type": "object",
        "required": ["field", "code", "message", "params"],
        "properties": {
            "field": {"type": "string"},
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "message": {"type": "string"},
            "params": {
                "type": "object",
                "description": "The values the message names (label, min, max, num, …)",
            },
        },
        "additionalProperties": False,
    },
}
