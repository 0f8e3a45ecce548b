"""Custom fields (SPEC section 4): every type valid, invalid, missing when required, unknown."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.customers.custom_fields import (
    FieldDefinition,
    FieldOption,
    active_custom_field_definitions,
    form_values_to_json,
    validate_custom_fields,
)
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer

from .catalog_fixtures import add_custom_fields
from .conftest import ApiClient

DEFINITIONS = {
    "text": FieldDefinition("referral", "Referral", "text", max_length=20),
    "textarea": FieldDefinition("allergies", "Allergies", "textarea", max_length=100),
    "number": FieldDefinition("visits", "Visits", "number", min=0, max=52),
    "date": FieldDefinition(
        "anniversary",
        "Anniversary",
        "date",
        min=datetime.date(2000, 1, 1),
        max=datetime.date(2030, 12, 31),
    ),
    "select": FieldDefinition(
        "membership_level",
        "Membership level",
        "select",
        options=(FieldOption("basic", "Basic"), FieldOption("gold", "Gold")),
    ),
    "checkbox": FieldDefinition("newsletter", "Newsletter", "checkbox"),
    "email": FieldDefinition("work_email", "Work email", "email"),
    "phone": FieldDefinition("mobile", "Mobile", "phone"),
    "url": FieldDefinition("website", "Website", "url", max_length=60),
}

# (type, raw value, stored value)
VALID: list[tuple[str, Any, Any]] = [
    ("text", "  A friend ", "A friend"),
    ("text", "  Zoë and Łukasz ", "Zoë and Łukasz"),
    ("textarea", "Latex\r\nNuts", "Latex\nNuts"),
    ("number", 3, 3),
    ("number", 0, 0),
    ("number", 52, 52),
    ("number", 2.5, 2.5),
    ("number", 4.0, 4),
    ("date", "2024-02-29", "2024-02-29"),
    ("date", "2000-01-01", "2000-01-01"),
    ("select", "gold", "gold"),
    ("select", " basic ", "basic"),
    ("checkbox", True, True),
    ("checkbox", False, False),
    ("email", "Ann.Lee@Example.COM", "ann.lee@example.com"),
    ("phone", "+44 20 7946 0958", "+442079460958"),
    ("phone", "020 7946 0958", "+442079460958"),  # national: read with the customer's country
    ("url", "HTTPS://Example.com/a?b=1#c", "https://example.com/a?b=1#c"),
    ("url", "http://example.com:8080", "http://example.com:8080"),
]

# (type, raw value, part of the message)
INVALID: list[tuple[str, Any, str]] = [
    ("text", 5, "Must be a string"),
    ("text", "x" * 21, "at most 20 characters"),
    ("text", "bad\x00byte", "control characters"),
    ("text", "two\nlines", "control characters"),
    ("textarea", "y" * 101, "at most 100 characters"),
    ("textarea", ["a"], "Must be a string"),
    ("number", "3", "Must be a number"),
    ("number", True, "Must be a number"),
    ("number", -1, "at least 0"),
    ("number", 52.5, "at most 52"),
    ("number", 10**30, "too large"),
    ("date", "2023-02-29", "not a real date"),
    ("date", "01/02/2020", "YYYY-MM-DD"),
    ("date", "1999-12-31", "on or after 2000-01-01"),
    ("date", "2031-01-01", "on or before 2030-12-31"),
    ("date", 20200101, "Must be a string"),
    ("select", "platinum", "Must be one of: basic, gold"),
    ("select", "Gold", "Must be one of: basic, gold"),
    ("select", 1, "Must be a string"),
    ("checkbox", "yes", "Must be true or false"),
    ("checkbox", 1, "Must be true or false"),
    ("email", "not-an-email", "valid email"),
    ("email", "a@localhost", "valid email"),
    ("phone", "12345", "valid phone"),
    ("phone", "+44 20 CALL ME", "letters"),
    ("url", "javascript:alert(1)", "http:// or https://"),
    ("url", "ftp://example.com/file", "http:// or https://"),
    ("url", "https://", "valid web address"),
    ("url", "https://user:pw@example.com", "user name or password"),
    ("url", "https://example.com/" + "a" * 60, "at most 60 characters"),
    ("url", "https://exa mple.com", "spaces"),
    ("url", "https://example.com:99999", "valid web address"),
]


def english(errors: dict[str, object]) -> dict[str, str]:
    """The errors' English sentences (the values are the rules' Problems)."""
    return {key: str(problem) for key, problem in errors.items()}


@pytest.mark.parametrize(("kind", "raw", "stored"), VALID)
def test_valid_values_are_normalised(kind: str, raw: Any, stored: Any) -> None:
    definition = DEFINITIONS[kind]
    values, errors = validate_custom_fields({definition.key: raw}, [definition], region="GB")
    assert errors == {}
    assert values == {definition.key: stored}
    assert type(values[definition.key]) is type(stored)


@pytest.mark.parametrize(("kind", "raw", "message"), INVALID)
def test_invalid_values_name_the_field(kind: str, raw: Any, message: str) -> None:
    definition = DEFINITIONS[kind]
    values, errors = validate_custom_fields({definition.key: raw}, [definition], region="GB")
    assert list(errors) == [f"custom_fields.{definition.key}"]
    assert message in str(errors[f"custom_fields.{definition.key}"])
    assert values == {}


@pytest.mark.parametrize("kind", sorted(DEFINITIONS))
@pytest.mark.parametrize("given", [{}, {"KEY": None}, {"KEY": ""}, {"KEY": "   "}])
def test_a_missing_required_field_is_an_error(kind: str, given: dict[str, Any]) -> None:
    definition = FieldDefinition(**{**DEFINITIONS[kind].__dict__, "required": True})
    raw = {definition.key if k == "KEY" else k: v for k, v in given.items()}
    values, errors = validate_custom_fields(raw, [definition])
    assert english(errors) == {f"custom_fields.{definition.key}": f"{definition.label} is required"}
    assert values == {}


@pytest.mark.parametrize("kind", sorted(DEFINITIONS))
def test_a_missing_optional_field_is_not_stored(kind: str) -> None:
    definition = DEFINITIONS[kind]
    assert validate_custom_fields({}, [definition]) == ({}, {})
    assert validate_custom_fields({definition.key: None}, [definition]) == ({}, {})


def test_a_required_checkbox_must_be_ticked() -> None:
    definition = FieldDefinition("terms", "Terms", "checkbox", required=True)
    assert validate_custom_fields({"terms": True}, [definition]) == ({"terms": True}, {})
    _, errors = validate_custom_fields({"terms": False}, [definition])
    assert english(errors) == {"custom_fields.terms": "Terms must be ticked"}


@pytest.mark.parametrize("kind", sorted(DEFINITIONS))
def test_unknown_keys_are_errors_beside_every_type(kind: str) -> None:
    definition = DEFINITIONS[kind]
    valid = next(raw for k, raw, _ in VALID if k == kind)
    values, errors = validate_custom_fields(
        {definition.key: valid, "membership": "gold", "x" * 300: 1}, [definition], region="GB"
    )
    assert str(errors["custom_fields.membership"]) == "Unknown custom field"
    assert f"custom_fields.{'x' * 106}" in errors  # error keys are bounded
    assert len(errors) == 2
    assert definition.key in values


def test_every_failing_field_is_reported_at_once() -> None:
    raw = {"visits": "many", "website": "nope", "newsletter": "yes", "nickname": "Al"}
    _, errors = validate_custom_fields(raw, DEFINITIONS.values())
    assert set(errors) == {
        "custom_fields.visits",
        "custom_fields.website",
        "custom_fields.newsletter",
        "custom_fields.nickname",
    }


def test_a_national_phone_needs_a_region() -> None:
    definition = DEFINITIONS["phone"]
    _, errors = validate_custom_fields({"mobile": "020 7946 0958"}, [definition], region=None)
    assert "country code" in str(errors["custom_fields.mobile"])


def test_form_strings_become_json_values() -> None:
    form = {"visits": "4", "anniversary": "2020-05-01", "website": "", "newsletter": "y"}
    assert form_values_to_json(form, DEFINITIONS.values()) == {
        "visits": 4,
        "anniversary": "2020-05-01",
        "newsletter": True,
    }
    assert form_values_to_json({"visits": "2.5"}, DEFINITIONS.values())["visits"] == 2.5
    assert form_values_to_json({"visits": "lots"}, DEFINITIONS.values())["visits"] == "lots"
    assert form_values_to_json({}, DEFINITIONS.values()) == {"newsletter": False}


# --- through the API, on SQLite and PostgreSQL ---------------------------------------------------

BASIC = {"first_name": "Ann", "last_name": "Lee", "country": "GB"}


@pytest.fixture
def fields(app: Flask) -> None:
    add_custom_fields(app)


@pytest.mark.usefixtures("fields")
def test_definitions_carry_what_a_form_needs(app: Flask) -> None:
    with app.app_context():
        definitions = active_custom_field_definitions()
    assert [d.key for d in definitions][:3] == ["referral", "allergies", "visits"]
    by_key = {d.key: d for d in definitions}
    assert by_key["membership_level"].options == (
        FieldOption("basic", "Basic"),
        FieldOption("gold", "Gold"),
    )
    assert by_key["visits"].min == 0
    assert by_key["visits"].max == 52
    assert by_key["anniversary"].max == datetime.date(2030, 12, 31)
    assert by_key["mobile"].type == "phone"  # rendered as <input type="tel">: see test_web.py
    assert by_key["referral"].effective_max_length == 20


@pytest.mark.usefixtures("fields")
def test_custom_fields_are_stored_normalised_and_returned(api: ApiClient) -> None:
    custom = {
        "referral": " A friend ",
        "visits": 4.0,
        "anniversary": "2020-05-01",
        "membership_level": "gold",
        "newsletter": True,
        "work_email": "Ann@Example.com",
        "mobile": "07400 123456",
        "website": "HTTPS://Ann.Example.com",
    }
    response = api.post("/customers", {**BASIC, "custom_fields": custom})
    assert response.status_code == 201, response.get_json()
    expected = {
        "referral": "A friend",
        "visits": 4,
        "anniversary": "2020-05-01",
        "membership_level": "gold",
        "newsletter": True,
        "work_email": "ann@example.com",
        "mobile": "+447400123456",
        "website": "https://ann.example.com",
    }
    data = response.get_json()["data"]
    assert data["custom_fields"] == expected
    assert api.get(f"/customers/{data['id']}").get_json()["data"]["custom_fields"] == expected
    with api.app.app_context():
        stored = db.session.execute(select(Customer.custom_fields)).scalar_one()
    assert stored == expected


@pytest.mark.usefixtures("fields")
@pytest.mark.parametrize(("kind", "raw", "message"), INVALID[::3])
def test_invalid_custom_field_is_a_422_naming_it(
    api: ApiClient, kind: str, raw: Any, message: str
) -> None:
    key = DEFINITIONS[kind].key
    response = api.post("/customers", {**BASIC, "custom_fields": {key: raw}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert list(error["details"]) == [f"custom_fields.{key}"]
    assert message.split()[0] in error["details"][f"custom_fields.{key}"]


@pytest.mark.usefixtures("fields")
def test_unknown_key_and_validate_endpoint(api: ApiClient) -> None:
    body = {**BASIC, "custom_fields": {"membership": "gold", "visits": 3}}
    response = api.post("/customers/validate", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {
        "custom_fields.membership": "Unknown custom field"
    }
    ok = api.post("/customers/validate", {**BASIC, "custom_fields": {"visits": 3.0}})
    assert ok.status_code == 200
    assert ok.get_json()["data"]["custom_fields"] == {"visits": 3}


def test_required_fields_are_enforced_by_the_api(app: Flask, api: ApiClient) -> None:
    add_custom_fields(app, required=True)
    response = api.post("/customers", {**BASIC, "custom_fields": {"visits": 3}})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert set(details) == {
        f"custom_fields.{key}"
        for key in (
            "referral",
            "allergies",
            "anniversary",
            "membership_level",
            "newsletter",
            "work_email",
            "mobile",
            "website",
        )
    }
    assert details["custom_fields.membership_level"] == "Membership level is required"
