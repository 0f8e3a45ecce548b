"""A create reads its key and the custom-field definitions in one statement, per request."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import update

from latepoint_forms.api.keys import revoke_api_key
from latepoint_forms.extensions import db
from latepoint_forms.models import CustomFieldDefinition

from .catalog_fixtures import add_custom_fields
from .conftest import ApiClient
from .web_support import counted_statements

BASIC = {"first_name": "Ann", "last_name": "Lee"}


def _reads(statements: list[str], table: str) -> int:
    return sum(
        1
        for text in (statement.lower().lstrip() for statement in statements)
        if text.startswith("select") and f"from {table}" in text
    )


def test_a_create_reads_key_and_definitions_in_one_statement(app: Flask, api: ApiClient) -> None:
    add_custom_fields(app)
    api.post("/customers", {**BASIC, "email": "warm@example.com"})  # the key's last use noted
    with counted_statements(app) as statements:
        response = api.post(
            "/customers", {**BASIC, "email": "ann@example.com", "custom_fields": {"visits": 3}}
        )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["custom_fields"] == {"visits": 3}
    selects = [s for s in statements if s.lower().lstrip().startswith("select")]
    assert len(selects) == 1, statements
    assert "from api_keys left outer join custom_field_definitions" in selects[0].lower()


def test_without_definitions_a_create_still_reads_its_key_once(app: Flask, api: ApiClient) -> None:
    with counted_statements(app) as statements:
        response = api.post("/customers", {**BASIC, "custom_fields": {"visits": 3}})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {
        "custom_fields.visits": "Unknown custom field"
    }
    assert _reads(statements, "api_keys") == 1
    assert _reads(statements, "custom_field_definitions") == 0


def test_a_definition_changed_between_requests_counts_at_once(app: Flask, api: ApiClient) -> None:
    add_custom_fields(app)
    assert api.post("/customers", {**BASIC, "custom_fields": {"visits": 3}}).status_code == 201
    with app.app_context():
        db.session.execute(
            update(CustomFieldDefinition)
            .where(CustomFieldDefinition.key == "visits")
            .values(active=False)
        )
        db.session.commit()
    refused = api.post("/customers", {**BASIC, "custom_fields": {"visits": 3}})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"] == {
        "custom_fields.visits": "Unknown custom field"
    }


def test_a_revoked_key_with_definitions_is_refused(app: Flask, api: ApiClient) -> None:
    add_custom_fields(app)
    with app.app_context():
        assert api.key is not None
        revoke_api_key(api.key)
        db.session.commit()
    response = api.post("/customers", BASIC)
    assert response.status_code == 401
