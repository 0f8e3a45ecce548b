"""The OpenAPI 3.1 description of the JSON API, served at ``GET /openapi.json`` (no key needed).

Built from the same constants as the rules (lengths, enums, the Idempotency-Key pattern),
so the document cannot drift from them. JSON Schema ``pattern`` is ECMA-262 without the
``v`` flag, so rules that need Unicode classes (names: letters of any script) are described
by length and in words, and the server's 422 ``details`` are the last word. The test suite
fuzzes every operation with schemathesis against this document (tests/test_openapi.py).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from ..customers import rules
from ..customers.preferences import MAX_TIME_SLOTS
from ..models import CUSTOMER_SOURCES
from . import bp
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import KEY_PATTERN, REPLAYED_HEADER

MAX_ID = 2**63 - 1
ERROR_CODES = {
    400: ["invalid_json"],
    401: ["unauthorized"],
    403: ["insufficient_permissions"],
    404: ["not_found"],
    409: ["email_exists", "idempotency_conflict"],
    413: ["payload_too_large"],
    415: ["unsupported_media_type"],
    422: ["validation_failed", "idempotency_key_reused"],
    429: ["rate_limit_exceeded"],
    500: ["server_error"],
    503: ["service_unavailable"],
}
ERROR_DESCRIPTIONS = {
    400: "The body is not parseable JSON, or not a JSON object",
    401: "Missing, unknown or revoked API key",
    403: "The key lacks the permission, or is used from an origin it does not list",
    404: "Unknown customer",
    409: "Email already registered, or the same Idempotency-Key is still in flight",
    413: "Body over the configured limit",
    415: "Body not sent as application/json (UTF-8)",
    422: "Field rules failed (details: one message per field), or Idempotency-Key reused",
    429: "Rate limit for this key exceeded; retry after Retry-After seconds",
    500: "Unexpected error (never with internal detail)",
    503: "The database is unreachable; retry later",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _text(max_length: int, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "description": description, **extra}


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
SLOT_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$"
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
            "pattern": "^[A-Za-z]{2}$",
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


def _customer_record(*, created: bool) -> dict[str, Any]:
    fields = _customer_fields()
    properties: dict[str, Any] = {
        "first_name": {"type": "string", "minLength": 1, "maxLength": rules.NAME_MAX_LENGTH},
        "last_name": {"type": "string", "minLength": 1, "maxLength": rules.NAME_MAX_LENGTH},
        "email": _nullable(fields["email"]),
        # libphonenumber's E.164, which can exceed ITU's 15 digits for a few valid numbers.
        "phone": {"type": ["string", "null"], "pattern": r"^\+[1-9][0-9]+$", "maxLength": 20},
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
            "customer_code": {"type": "string", "pattern": "^CUS-[0-9A-Z]{5}-[0-9A-Z]{5}$"},
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


def _success(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "message", "data"],
        "properties": {
            "status": {"const": "success"},
            "message": {"type": "string"},
            "data": data,
        },
        "additionalProperties": False,
    }


def _error_schema(codes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "error"],
        "properties": {
            "status": {"const": "error"},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string", "minLength": 1},
                    "details": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "One message per failing field (JSON name)",
                    },
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }


def _header(description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


INT_HEADER = {"type": "string", "pattern": "^[0-9]+$"}
COMMON_HEADERS = {
    "X-Request-ID": _header("Id of this request, also in the server's logs", {"type": "string"}),
}
LIMIT_HEADERS = {
    "X-RateLimit-Limit": _header("Requests allowed in the current window", INT_HEADER),
    "X-RateLimit-Remaining": _header("Requests left in the current window", INT_HEADER),
    "X-RateLimit-Reset": _header("When the window resets (Unix time)", INT_HEADER),
}
REPLAY_HEADERS = {
    REPLAYED_HEADER: _header("Present on a replayed response", {"const": "true"}),
}


def _response(description: str, schema: dict[str, Any], **headers: Any) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**COMMON_HEADERS, **headers},
        "content": {"application/json": {"schema": schema}},
    }


def _errors(*statuses: int, replayable: bool = False) -> dict[str, Any]:
    responses = {}
    for status in (*statuses, 401, 429, 500, 503):
        headers: dict[str, Any] = dict(LIMIT_HEADERS)
        if status == 429:
            headers["Retry-After"] = _header("Seconds to wait", INT_HEADER, required=True)
        if replayable and status in (409, 422):
            headers.update(REPLAY_HEADERS)
        responses[str(status)] = _response(
            ERROR_DESCRIPTIONS[status], _error_schema(ERROR_CODES[status]), **headers
        )
    return responses


def _post_operation(summary: str, ok_status: int, ok: dict[str, Any], op_id: str) -> Any:
    return {
        "operationId": op_id,
        "summary": summary,
        "security": [{"ApiKey": []}],
        "parameters": [
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Retry safely: same key and body replay the first response "
                "(kept 24 hours, scoped to the API key)",
                "schema": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 255},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": customer_input_schema()}},
        },
        "responses": {
            str(ok_status): ok,
            **_errors(400, 403, 409, 413, 415, 422, replayable=True),
        },
    }


def build_document(server_url: str) -> dict[str, Any]:
    customer = _customer_record(created=True)
    created_headers = {
        "Location": _header("URL of the new customer", {"type": "string"}, required=True),
        **LIMIT_HEADERS,
        **REPLAY_HEADERS,
    }
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
    availability = {
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
    id_query = {"type": "string", "pattern": "^[0-9]{1,19}$"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "latepoint_forms API",
            "version": "1",
            "description": "Customer registration for a booking business, compatible with the "
            "LatePoint API Extension's create-customer contract. Also served under "
            "/wp-json/latepoint-api/v1. Every error is the envelope shown in the responses.",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
        },
        "paths": {
            "/customers": {
                "post": _post_operation(
                    "Create a customer",
                    201,
                    _response("Created", _success(customer), **created_headers),
                    "createCustomer",
                )
            },
            "/customers/validate": {
                "post": _post_operation(
                    "Check a customer (every rule of create, uniqueness included); store nothing",
                    200,
                    _response(
                        "Valid; the normalised record",
                        _success(_customer_record(created=False)),
                        **LIMIT_HEADERS,
                        **REPLAY_HEADERS,
                    ),
                    "validateCustomer",
                )
            },
            "/customers/{customer_id}": {
                "get": {
                    "operationId": "getCustomer",
                    "summary": "Read one customer",
                    "security": [{"ApiKey": []}],
                    "parameters": [
                        {"name": "customer_id", "in": "path", "required": True, "schema": ID}
                    ],
                    "responses": {
                        "200": _response("The customer", _success(customer), **LIMIT_HEADERS),
                        **_errors(403, 404),
                    },
                }
            },
            "/availability": {
                "get": {
                    "operationId": "getAvailability",
                    "summary": "Free start times of a service at a location on a day",
                    "security": [{"ApiKey": []}],
                    "parameters": [
                        {"name": "service_id", "in": "query", "required": True, "schema": id_query},
                        {
                            "name": "location_id",
                            "in": "query",
                            "required": True,
                            "schema": id_query,
                        },
                        {"name": "agent_id", "in": "query", "required": False, "schema": id_query},
                        {
                            "name": "date",
                            "in": "query",
                            "required": False,
                            "description": "Default: today at the location",
                            "schema": {"type": "string", "pattern": DATE_PATTERN},
                        },
                    ],
                    "responses": {
                        "200": _response(
                            "Free start times", _success(availability), **LIMIT_HEADERS
                        ),
                        **_errors(403, 422),
                    },
                }
            },
            "/status": {
                "get": {
                    "operationId": "getStatus",
                    "summary": "Health; any valid key",
                    "security": [{"ApiKey": []}],
                    "responses": {
                        "200": _response(
                            "Up",
                            _success(
                                {
                                    "type": "object",
                                    "required": ["service", "version", "key_mode"],
                                    "properties": {
                                        "service": {"type": "string"},
                                        "version": {"type": "string"},
                                        "key_mode": {"type": "string", "enum": ["live", "test"]},
                                    },
                                    "additionalProperties": False,
                                }
                            ),
                            **LIMIT_HEADERS,
                        ),
                        **_errors(),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "headers": COMMON_HEADERS,
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "429": _errors()["429"],
                    },
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    prefix = request.path.rsplit("/openapi.json", 1)[0]
    return jsonify(build_document(prefix))
