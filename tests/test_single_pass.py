"""One validation pass: a web submission runs each rule once and reads the definitions once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import email_validator
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from latepoint_forms.extensions import db
from latepoint_forms.models import Customer, CustomFieldDefinition

from .web_support import PASSWORD, csrf_token

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


class Counts:
    def __init__(self) -> None:
        self.email_validations = 0
        self.definition_reads = 0


@pytest.fixture
def counts(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """Counts email normalisations (email-validator calls) and custom-field definition reads
    (SELECTs from their table) while the test runs."""
    seen = Counts()
    real_validate = email_validator.validate_email

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        seen.email_validations += 1
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(email_validator, "validate_email", counting_validate)

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = statement.lower()
        if text.lstrip().startswith("select") and "from custom_field_definitions" in text:
            seen.definition_reads += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


@pytest.mark.usefixtures("definitions")
def test_a_successful_registration_checks_the_email_once_and_reads_definitions_once(
    app: Flask, client: FlaskClient, counts: Counts
) -> None:
    token = csrf_token(client, "/register")
    counts.email_validations = counts.definition_reads = 0

    response = client.post("/register", data={**REGISTRATION, "csrf_token": token})

    assert response.status_code == 302, response.get_data(as_text=True)
    assert counts.email_validations == 1
    assert counts.definition_reads == 1
    with app.app_context():
        customer = db.session.execute(select(Customer)).scalar_one()
    assert customer.email == "zoe.obrien@example.com"
    assert customer.custom_fields == {"membership": "gold"}


@pytest.mark.usefixtures("definitions")
def test_a_refused_registration_reports_every_field_from_one_pass(
    app: Flask, client: FlaskClient, counts: Counts
) -> None:
    """Field rules and the password are reported together; the rules still ran once each."""
    token = csrf_token(client, "/register")
    counts.email_validations = counts.definition_reads = 0
    data = {**REGISTRATION, "first_name": "J0hn", "confirm_password": "something else"}

    response = client.post("/register", data={**data, "csrf_token": token})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "First name can only contain letters" in html
    assert "The passwords do not match" in html
    assert counts.definition_reads == 1
    # The parse normalised it once; the "already on file?" check reads the typed address.
    assert counts.email_validations == 2
    with app.app_context():
        assert db.session.execute(select(Customer)).first() is None
