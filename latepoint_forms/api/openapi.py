"""The OpenAPI 3.1 description of the JSON API, served at ``GET /openapi.json`` (no key needed).

Built from what the code itself uses: the customer's fields as ``customers/fields.py``
declares them, the rules' constants and compiled patterns (lengths, enums, dates, slots, ids,
the Idempotency-Key), and the error codes of the ``AppError`` classes, so the document cannot
drift from them. JSON Schema ``pattern`` is ECMA-262 without the
``v`` flag, so rules that need Unicode classes (names: letters of any script) are described
by length and in words, and the server's 422 ``details`` are the last word. The bodies'
schemas live in openapi_schemas.py. The test suite fuzzes every operation with schemathesis
against this document (tests/test_openapi.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from .. import errors as app_errors
from ..bookings import errors as booking_errors
from ..customers import errors as customer_errors
from ..customers.rules import STATUSES
from ..errors import AppError
from ..ids import ID_TEXT
from . import bp, idempotency
from .customers_bulk import MAX_ITEMS
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import KEY_PATTERN, REPLAYED_HEADER
from .listing import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    SEARCH_MAX_LENGTH,
    SEARCH_PATTERN,
)
from .openapi_schemas import (
    DATE_PATTERN,
    FIELD_ERRORS,
    ID,
    anchored,
    availability_schema,
    booking_customer_input_schema,
    booking_input_schema,
    booking_made_schema,
    bulk_request_schema,
    bulk_result_schema,
    catalog_schema,
    create_customer_input_schema,
    created_customer_schema,
    customer_input_schema,
    customer_record_schema,
    form_schema,
    list_meta_schema,
    status_schema,
)

# Every module that defines AppError subclasses: imported, so error_codes() finds them all
# whatever else was imported first (the document is the same inside the app and outside it).
ERROR_MODULES = (app_errors, customer_errors, booking_errors, idempotency)


def _error_classes(kind: type[AppError] = AppError) -> Iterator[type[AppError]]:
    yield kind
    for subclass in kind.__subclasses__():
        yield from _error_classes(subclass)


def error_codes() -> dict[int, list[str]]:
    """Status -> the codes of every ``AppError`` class with that status, sorted.

    Read from the classes when the document is built, so a new error class is documented
    without a list to keep. Every class the app defines is listed, on every operation with
    that status: a client told of a code it never gets there (``slot_taken`` from
    ``POST /customers``, ``booking_not_cancellable``, which only the web pages answer) loses
    nothing.
    """
    codes: dict[int, set[str]] = {}
    for kind in _error_classes():
        codes.setdefault(kind.status, set()).add(kind.code)
    return {status: sorted(names) for status, names in sorted(codes.items())}


ERROR_DESCRIPTIONS = {
    400: "The body is not parseable JSON, or not a JSON object",
    401: "Missing, unknown or revoked API key",
    403: "The key lacks the permission, is used from an origin it does not list, or is a "
    "publishable key setting what the business decides",
    404: "Unknown customer, or no such route",
    405: "The path does not answer this method (the Allow header lists those it does)",
    409: "Email already registered, the booking's time was taken (slot_taken), or the same "
    "Idempotency-Key is still in flight",
    413: "Body over the configured limit",
    415: "Body not sent as application/json (UTF-8)",
    422: "Field rules failed (details: one message per field), or Idempotency-Key reused",
    429: "Rate limit for this key exceeded; retry after Retry-After seconds",
    500: "Unexpected error (never with internal detail)",
    503: "The database is unreachable; retry later",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


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
                    "errors": FIELD_ERRORS,
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
    codes = error_codes()
    for status in (*statuses, 401, 429, 500, 503):
        headers: dict[str, Any] = dict(LIMIT_HEADERS)
        if status == 429:
            headers["Retry-After"] = _header("Seconds to wait", INT_HEADER, required=True)
        if replayable and status in (409, 422):
            headers.update(REPLAY_HEADERS)
        responses[str(status)] = _response(
            ERROR_DESCRIPTIONS[status], _error_schema(codes[status]), **headers
        )
    return responses


def _post_operation(
    summary: str, ok_status: int, ok: dict[str, Any], op_id: str, body: str = "CustomerInput"
) -> Any:
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
            "content": {"application/json": {"schema": ref(body)}},
        },
        "responses": {
            str(ok_status): ok,
            **_errors(400, 403, 409, 413, 415, 422, replayable=True),
        },
    }


def _list_operation(customer: dict[str, Any]) -> dict[str, Any]:
    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }

    page = {
        "type": "object",
        "required": ["status", "message", "data", "meta"],
        "properties": {
            "status": {"const": "success"},
            "message": {"type": "string"},
            "data": {"type": "array", "items": customer},
            "meta": ref("ListMeta"),
        },
        "additionalProperties": False,
    }
    return {
        "operationId": "listCustomers",
        "summary": "List customers, newest first, a page at a time",
        "description": "Each parameter at most once; an unknown parameter is a 422 (a typo "
        "must not quietly widen the list). Parameters whose name starts with `_` (`_locale`, "
        "`_wpnonce`, a cache-buster `_`) are ignored: WordPress and jQuery clients add them.",
        "security": [{"ApiKey": []}],
        "parameters": [
            query(
                "page",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                "Page number; a page past the last one is empty",
            ),
            query(
                "per_page",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PER_PAGE,
                    "default": DEFAULT_PER_PAGE,
                },
                "Customers per page",
            ),
            query(
                "search",
                {"type": "string", "maxLength": SEARCH_MAX_LENGTH, "pattern": SEARCH_PATTERN},
                "Part of the name, email, phone or customer code; case and accents are "
                "ignored (`soren` finds `Søren`). A phone may be written as people do: "
                "`+44 20 7946`, `020 7946 0958` find `+442079460958`",
            ),
            query("status", {"type": "string", "enum": list(STATUSES)}, "Only this status"),
        ],
        "responses": {
            "200": _response("One page of customers", page, **LIMIT_HEADERS),
            **_errors(403, 422),
        },
    }


def build_document(server_url: str) -> dict[str, Any]:
    customer = ref("Customer")
    created_headers = {
        "Location": _header("URL of the new customer", {"type": "string"}, required=True),
        **LIMIT_HEADERS,
        **REPLAY_HEADERS,
    }
    id_query = {"type": "string", "pattern": anchored(ID_TEXT)}
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
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "schemas": {
                "CustomerInput": customer_input_schema(),
                "CreateCustomerInput": create_customer_input_schema(),
                "Customer": customer_record_schema(created=True),
                "CreatedCustomer": created_customer_schema(),
                "NormalisedCustomer": customer_record_schema(created=False),
                "Availability": availability_schema(),
                "BookingInput": booking_input_schema(),
                "BookingCustomerInput": booking_customer_input_schema(),
                "BookingMade": booking_made_schema(),
                "Catalog": catalog_schema(),
                "CustomerForm": form_schema(),
                "Status": status_schema(),
                "BulkCustomersInput": bulk_request_schema(MAX_ITEMS),
                "BulkCustomersResult": bulk_result_schema(),
                "ListMeta": list_meta_schema(),
            },
        },
        "paths": {
            "/customers": {
                "post": _post_operation(
                    "Create a customer",
                    201,
                    _response("Created", _success(ref("CreatedCustomer")), **created_headers),
                    "createCustomer",
                    body="CreateCustomerInput",
                ),
                "get": _list_operation(customer),
            },
            "/customers/bulk": {
                "post": _post_operation(
                    f"Create up to {MAX_ITEMS} customers, each on its own; one result per item;"
                    " spends one unit of the key's rate-limit budget per item",
                    200,
                    _response(
                        "Each item created or refused (results in input order)",
                        _success(ref("BulkCustomersResult")),
                        **LIMIT_HEADERS,
                        **REPLAY_HEADERS,
                    ),
                    "bulkCreateCustomers",
                    body="BulkCustomersInput",
                )
            },
            "/customers/validate": {
                "post": _post_operation(
                    "Check a customer (every rule of create, uniqueness included); store nothing",
                    200,
                    _response(
                        "Valid; the normalised record",
                        _success(ref("NormalisedCustomer")),
                        **LIMIT_HEADERS,
                        **REPLAY_HEADERS,
                    ),
                    "validateCustomer",
                    body="CreateCustomerInput",
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
            "/bookings": {
                "post": _post_operation(
                    "Book a time for a customer, new or returning (publishable keys too)",
                    201,
                    _response(
                        "Booked; the confirmation is queued",
                        _success(ref("BookingMade")),
                        **LIMIT_HEADERS,
                        **REPLAY_HEADERS,
                    ),
                    "createBooking",
                    body="BookingInput",
                )
            },
            "/catalog": {
                "get": {
                    "operationId": "getCatalog",
                    "summary": "What can be booked: services, locations, agents, offers",
                    "security": [{"ApiKey": []}],
                    "responses": {
                        "200": _response(
                            "The bookable catalog", _success(ref("Catalog")), **LIMIT_HEADERS
                        ),
                        **_errors(403),
                    },
                }
            },
            "/form": {
                "get": {
                    "operationId": "getCustomerForm",
                    "summary": "The customer form's inputs and their constraints, derived from "
                    "the rules (what the embedded widget checks in the browser)",
                    "security": [{"ApiKey": []}],
                    "responses": {
                        "200": _response(
                            "Each input with its label and limits",
                            _success(ref("CustomerForm")),
                            **LIMIT_HEADERS,
                        ),
                        **_errors(403),
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
                            "Free start times", _success(ref("Availability")), **LIMIT_HEADERS
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
                            _success(ref("Status")),
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
