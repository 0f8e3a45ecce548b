"""The OpenAPI document is the contract: fuzz every operation against it with schemathesis.

Every generated request must get a documented status with a body and headers that match the
document, and never a 5xx. Bounded: MAX_EXAMPLES per operation and backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from latepoint_forms.api.keys import PERMISSIONS

from .catalog_fixtures import add_custom_fields, build_catalog
from .test_api import BASIC

MAX_EXAMPLES = 25  # per operation, mode and backend: 900 requests in all
UNLIMITED = "1000000/minute"


@pytest.fixture
def app_config() -> dict[str, Any]:
    # The fuzzer sends hundreds of requests with one key: this test is about the contract.
    return {
        "RATE_LIMIT_LIVE": UNLIMITED,
        "RATE_LIMIT_TEST": UNLIMITED,
        "RATE_LIMIT_ANONYMOUS": UNLIMITED,
    }


@pytest.fixture
def api_key(make_api_key: Callable[..., str]) -> str:
    """A key that may call every operation: the fuzzer reaches past the 403s."""
    return make_api_key(PERMISSIONS)


OPERATIONS = [
    ("POST", "/customers"),
    ("GET", "/customers"),
    ("POST", "/customers/bulk"),
    ("POST", "/customers/validate"),
    ("GET", "/customers/{customer_id}"),
    ("POST", "/bookings"),
    ("GET", "/availability"),
    ("GET", "/catalog"),
    ("GET", "/form"),
    ("GET", "/status"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_operation_keeps_the_contract(
    app: Flask, api_key: str, method: str, path: str, mode: GenerationMode
) -> None:
    """Valid requests (positive) and requests that break the schema (negative, which must be
    refused with a documented 4xx) never get a 5xx or a response the document does not allow."""
    # Strategies from the served document; the cases run in process against the app. (The
    # lazy `schemathesis.pytest.from_fixture` loader does not run under pytest 9.)
    build_catalog(app)
    add_custom_fields(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    declared = {parameter.name for parameter in operation.query}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def keeps_the_contract(case: Any) -> None:
        # Undeclared query parameters that are in fact valid, so not a "negative" case: a
        # name starting with "_" is ignored on purpose (the list takes the ones WordPress and
        # jQuery add, api/listing.py), which OpenAPI cannot declare; one whose value is an
        # empty list is never sent at all. Every other extra name stays fuzzed.
        assume(
            not any(
                name not in declared and (str(name).startswith("_") or value == [])
                for name, value in (case.query or {}).items()
            )
        )
        checks = [*CHECKS, negative_data_rejection] if mode == GenerationMode.NEGATIVE else CHECKS
        case.call_and_validate(headers={"X-API-Key": api_key}, checks=checks)

    keeps_the_contract()


def test_every_route_is_documented_and_fuzzed(app: Flask) -> None:
    """A new API route fails here until the document (and the fuzzing above) covers it."""
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1") :])
            routed |= {(m, path) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {(m.upper(), path) for path, item in document["paths"].items() for m in item}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    fuzzed = {(r.ok().method.upper(), r.ok().path) for r in schema.get_all_operations()}

    assert routed == documented
    assert fuzzed == set(OPERATIONS) == documented - {("GET", "/openapi.json")}


def test_document_is_valid_openapi_3_1(client: Any) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1"}]
    assert set(document["paths"]) == {
        "/customers",
        "/customers/bulk",
        "/customers/validate",
        "/customers/{customer_id}",
        "/bookings",
        "/availability",
        "/catalog",
        "/form",
        "/status",
        "/openapi.json",
    }
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    # Every schema in it is valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1).
    for component in document["components"]["schemas"].values():
        jsonschema_rs.meta.validate(component)
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for response_doc in operation["responses"].values():
                jsonschema_rs.meta.validate(response_doc["content"]["application/json"]["schema"])


def test_document_carries_the_rules_limits(client: Any) -> None:
    document = client.get("/wp-json/latepoint-api/v1/openapi.json").get_json()
    assert document["servers"] == [{"url": "/wp-json/latepoint-api/v1"}]
    body = document["paths"]["/customers"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/CreateCustomerInput"}
    customer_input = document["components"]["schemas"]["CustomerInput"]
    properties = customer_input["properties"]
    create_input = document["components"]["schemas"]["CreateCustomerInput"]
    assert create_input["properties"] == {
        **properties,
        "send_welcome_email": {
            "type": ["boolean", "null"],
            "description": "Queue a welcome message to the customer's email (default false)",
        },
    }
    created = document["components"]["schemas"]["CreatedCustomer"]
    assert created["properties"]["welcome_email_sent"]["type"] == "boolean"
    assert "welcome_email_sent" in created["required"]

    assert properties["first_name"]["maxLength"] == 50
    assert properties["email"]["maxLength"] == 100
    assert properties["notes"]["maxLength"] == 1000
    assert properties["status"]["enum"] == ["active", "inactive", "pending", None]
    assert properties["gender"]["enum"] == ["male", "female", "other", "prefer_not_to_say", None]
    assert customer_input["additionalProperties"] is False
    assert customer_input["required"] == ["first_name", "last_name"]
    headers = document["paths"]["/customers"]["post"]["responses"]["201"]["headers"]
    assert headers["Location"]["required"] is True
    assert "Idempotent-Replayed" in headers
    assert "Retry-After" in document["paths"]["/customers"]["post"]["responses"]["429"]["headers"]


def conforms(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """Validate a real response's body against the document's schema for its status."""
    documented = document["paths"][path][method]["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    # The components ride along at the root, so "#/components/schemas/…" resolves.
    jsonschema_rs.Draft202012Validator({"components": document["components"], **schema}).validate(
        response.get_json()
    )


def test_real_responses_match_the_document(app: Flask, api: Any) -> None:
    """The paths random input rarely reaches: a replay, a real read, real free times."""
    catalog = build_catalog(app)
    document = api.client.get("/api/v1/openapi.json").get_json()
    created = api.post("/customers", BASIC, {"Idempotency-Key": "doc-check-1"})
    replayed = api.post("/customers", BASIC, {"Idempotency-Key": "doc-check-1"})
    customer_id = created.get_json()["data"]["id"]
    read = api.get(f"/customers/{customer_id}")
    monday = date.today() + timedelta(days=7 - date.today().weekday() + 7)
    query = f"service_id={catalog.haircut}&location_id={catalog.london}&date={monday}"
    free = api.get(f"/availability?{query}")

    assert (created.status_code, replayed.status_code, read.status_code) == (201, 201, 200)
    assert free.status_code == 200
    assert free.get_json()["data"]["slots"]
    conforms(document, "/customers", "post", created)
    conforms(document, "/customers", "post", replayed)
    conforms(document, "/customers/{customer_id}", "get", read)
    conforms(document, "/availability", "get", free)
