"""One validation pass: a web submission runs each rule once and reads the definitions once."""

from __future__ import annotations

from typing import Any

import email_validator
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.extensions import db
from latepoint_forms.models import Customer, CustomFieldDefinition

from .web_support import PASSWORD, counted_statements, csrf_token

REGISTRATION = {
    "first_name": "Zoë",
    "last_name": "O’Brien",
    "email": "Zoe.OBrien@Example.com",
    "phone": "+44 20 7946 0958",
    "zipcode": "sw1a2aa",
    "country": "GB",
    "cf_membership": "gold",
    "password": PASSWORD,
    "confirm_password": PASSWORD,
}


@pytest.fixture
def definitions(app: Flask) -> None:
    with app.app_context():
        db.session.add(
            CustomFieldDefinition(
                key="membership",
                label="Membership level",
                type="select",
                required=True,
                options=[{"value": "basic", "label": "Basic"}, {"value": "gold", "label": "Gold"}],
            )
        )
        db.session.commit()


@pytest.fixture
def email_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address email-validator is asked about while the test runs."""
    seen: list[str] = []
    real_validate = email_validator.validate_email

    def counting_validate(email: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(email)
        return real_validate(email, *args, **kwargs)

    monkeypatch.setattr(email_validator, "validate_email", counting_validate)
    return seen


def definition_reads(statements: list[str]) -> int:
    """How many of the statements read the custom-field definitions."""
    return sum(
        1
        for text in (statement.lower().lstrip() for statement in statements)
        if text.startswith("select") and "from custom_field_definitions" in text
    )


@pytest.mark.usefixtures("definitions")
def test_a_successful_registration_checks_the_email_once_and_reads_definitions_once(
    app: Flask, client: FlaskClient, email_checks: list[str]
) -> None:
    token = csrf_token(client, "/register")
    email_checks.clear()

    with counted_statements(app) as statements:
        response = client.post("/register", data={**REGISTRATION, "csrf_token": token})

    assert response.status_code == 302, response.get_data(as_text=True)
    assert len(email_checks) == 1
    assert definition_reads(statements) == 1
    with app.app_context():
        customer = db.session.execute(select(Customer)).scalar_one()
    assert customer.email == "zoe.obrien@example.com"
    assert customer.custom_fields == {"membership": "gold"}


@pytest.mark.usefixtures("definitions")
def test_a_refused_registration_reports_every_field_from_one_pass(
    app: Flask, client: FlaskClient, email_checks: list[str]
) -> None:
    """Field rules and the password are reported together; the rules still ran once each."""
    token = csrf_token(client, "/register")
    email_checks.clear()
    data = {**REGISTRATION, "first_name": "J0hn", "confirm_password": "something else"}

    with counted_statements(app) as statements:
        response = client.post("/register", data={**data, "csrf_token": token})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "First name can only contain letters" in html
    assert "The passwords do not match" in html
    assert definition_reads(statements) == 1
    # The parse normalised it once; the "already on file?" check reads the typed address.
    assert len(email_checks) == 2
    with app.app_context():
        assert db.session.execute(select(Customer)).first() is None
