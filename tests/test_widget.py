"""``/widget.js`` and ``GET /form`` without a browser: the caching and cross-origin headers
of the widget's files, and the constraints the widget checks, derived from the rules (and
nowhere in the script). The browser side is tests/e2e/test_widget_browser.py."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.customers import rules
from latepoint_forms.customers.custom_fields import active_custom_field_definitions
from latepoint_forms.customers.fields import CUSTOMER_FIELDS
from latepoint_forms.settings import rule_settings
from latepoint_forms.web import widget as widget_files
from latepoint_forms.web.forms import WEB_FIELDS

from .catalog_fixtures import add_custom_fields
from .test_api import assert_error
from .test_publishable_keys import SHOP, Page, make_key


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"NAME_MIN_LENGTH": 3, "DEFAULT_COUNTRY": "GB"}


def test_the_script_is_served_cacheable_and_for_other_origins(client: FlaskClient) -> None:
    response = client.get("/widget.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.mimetype_params == {"charset": "utf-8"}
    assert response.headers["Cache-Control"] == widget_files.SHORT_CACHE
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # so the type must be right
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    version = response.headers["ETag"].strip('"')
    script = response.get_data(as_text=True)
    assert widget_files.VERSION_MARK not in script
    assert f'var VERSION = "{version}";' in script

    again = client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == widget_files.SHORT_CACHE


def test_the_versioned_files_are_immutable(client: FlaskClient) -> None:
    version = client.get("/widget.js").headers["ETag"].strip('"')

    script = client.get(f"/widget/{version}.js")
    styles = client.get(f"/widget/{version}.css")
    old = client.get("/widget/000000000000.css")

    assert script.status_code == styles.status_code == 200
    assert script.headers["Cache-Control"] == widget_files.IMMUTABLE_CACHE
    assert script.get_data() == client.get("/widget.js").get_data()
    assert styles.mimetype == "text/css"
    assert styles.headers["Cache-Control"] == widget_files.IMMUTABLE_CACHE
    # fetch()ed by the script from the host page's origin: it must be readable there.
    assert styles.headers["Access-Control-Allow-Origin"] == "*"
    assert ":host" in styles.get_data(as_text=True)
    # A page that still names another version gets today's file, not kept for long.
    assert old.status_code == 200
    assert old.headers["Cache-Control"] == widget_files.SHORT_CACHE
    assert old.get_data() == styles.get_data()


def test_the_script_carries_no_copy_of_the_rules() -> None:
    with open(f"static/widget/{widget_files.SCRIPT}", encoding="utf-8") as f:
        script = f.read()
    for field in CUSTOMER_FIELDS:
        if field.html_pattern:
            assert field.html_pattern not in script
    assert "\\p{" not in script
    assert "maxlength:" in script  # it reads them from GET /form (spec.maxlength)
    assert "maxlength: " + str(CUSTOMER_FIELDS[0].max_length) not in script


def test_the_form_publishes_the_rules_constraints(app: Flask, client: FlaskClient) -> None:
    add_custom_fields(app)
    page = Page(client, make_key(app))

    response = page.get("/form")

    assert response.status_code == 200, response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    inputs = {item["name"]: item for item in response.get_json()["data"]["inputs"]}
    with app.app_context():
        settings = rule_settings()
        definitions = active_custom_field_definitions()
    for field in CUSTOMER_FIELDS:
        if field.key not in WEB_FIELDS:
            assert field.key not in inputs  # status, is_guest, …: not the visitor's to give
            continue
        item = inputs[field.key]
        assert item["label"] == field.label
        assert item["input"] == field.html_input
        assert item["maxlength"] == field.max_length
        assert item["minlength"] == (field.min_length(settings) if field.min_length else None)
        assert item["pattern"] == field.html_pattern
        assert item["autocomplete"] == field.autocomplete
        assert item["required"] is field.required
        assert item["required_on_web"] is (field.required or field.required_on_web)
    assert inputs["first_name"]["minlength"] == 3  # NAME_MIN_LENGTH, from the config
    assert inputs["first_name"]["flows"] == ["register", "booking"]
    assert inputs["date_of_birth"]["flows"] == ["register"]
    assert inputs["country"]["value"] == "GB"
    assert {"value": "GB", "label": "United Kingdom"} in inputs["country"]["options"]
    for definition in definitions:
        item = inputs[f"custom_fields.{definition.key}"]
        assert item["label"] == definition.label
        assert item["required"] is definition.required
        # An email or phone custom field has the limits of the customer's own email/phone.
        limits = {"email": rules.EMAIL_MAX_LENGTH, "phone": rules.PHONE_MAX_LENGTH}
        expected = limits.get(definition.type, definition.effective_max_length)
        assert item["maxlength"] == expected, definition.key
    assert inputs["custom_fields.referral"]["maxlength"] == 20
    assert inputs["custom_fields.work_email"]["maxlength"] == rules.EMAIL_MAX_LENGTH
    assert inputs["custom_fields.mobile"]["maxlength"] == rules.PHONE_MAX_LENGTH
    assert inputs["email"]["maxlength"] == rules.EMAIL_MAX_LENGTH
    assert inputs["custom_fields.visits"]["min"] == "0"
    assert inputs["custom_fields.visits"]["max"] == "52"
    assert inputs["custom_fields.visits"]["json_type"] == "number"
    assert inputs["custom_fields.newsletter"]["json_type"] == "boolean"
    assert inputs["custom_fields.anniversary"]["min"] == "2000-01-01"
    # The custom fields come just before the notes, as /register shows them.
    names = list(inputs)
    assert names.index("custom_fields.website") == names.index("notes") - 1


def test_only_required_custom_fields_are_asked_when_booking(
    app: Flask, client: FlaskClient
) -> None:
    add_custom_fields(app, required=True)
    inputs = Page(client, make_key(app)).get("/form").get_json()["data"]["inputs"]

    referral = next(item for item in inputs if item["name"] == "custom_fields.referral")
    assert referral["flows"] == ["register", "booking"]
    assert referral["required"] is True
    assert referral["more"] is False


def test_the_form_is_for_creating_keys_and_listed_origins(
    app: Flask, client: FlaskClient, make_api_key: Any
) -> None:
    reader = make_api_key(("customers:read",))
    assert_error(
        client.get("/api/v1/form", headers={"X-API-Key": reader}), 403, "insufficient_permissions"
    )
    creator = make_api_key(("customers:create",))
    assert client.get("/api/v1/form", headers={"X-API-Key": creator}).status_code == 200
    stolen = Page(client, make_key(app), origin="https://evil.example")
    assert_error(stolen.get("/form"), 403, "origin_not_allowed")
