"""The Python code's strings reach people in their language (SPEC section 11), end to end.

A real German gettext catalog, compiled with Babel into the test's own directory, holds a few
of the strings the code wraps: a field's label (customers/fields.py, ``N_``) and the rule's
message it is a parameter of, a WTForms label and validator message (``lazy_gettext``), flash
messages (``_()`` with named placeholders), a page message of errors.py, a plural
(``ngettext``) and the API's validation message. The app runs with that catalog; a German
visitor and a German API client see German, while the API's codes stay what they are in
English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.extensions import db
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, empty_all_tables
from .test_i18n import compiled_catalog
from .web_support import PASSWORD, csrf_token, field_error, page

GERMAN: dict[str | tuple[str, str], str | tuple[str, str]] = {
    # customers/fields.py's label, and the rule's message it fills (customers/rules.py).
    "First name": "Vorname",
    "%(label)s is required": "%(label)s ist erforderlich",
    # WTForms: a label and a validator's message (web/forms.py).
    "Repeat the password": "Passwort wiederholen",
    "Choose a password": "Wählen Sie ein Passwort",
    # Flash messages, one with placeholders (web/registration.py, web/auth.py).
    "Welcome, %(name)s. We have sent a link to %(email)s: please use it to confirm your "
    "address. Until then, you can sign in only in this browser.": "Willkommen, %(name)s. Wir "
    "haben einen Link an %(email)s geschickt.",
    "You are signed out.": "Sie sind abgemeldet.",
    # errors.py's page message for a 404.
    "We could not find that page. The link may be incomplete, or the page may have moved. "
    "You can start again from the booking page.": "Diese Seite gibt es nicht.",
    # A plural (web/recovery.py, the link's validity).
    ("%(num)d hour", "%(num)d hours"): ("%(num)d Stunde", "%(num)d Stunden"),
    # The API's 422 (customers/errors.py), and a refusal with a value (api/listing.py).
    "The provided data is not valid": "Die Angaben sind nicht gültig",
    "Must be a whole number from 1 to %(max)d": "Muss eine ganze Zahl von 1 bis %(max)d sein",
}


def german_catalog(directory: Path) -> Path:
    return compiled_catalog(directory, GERMAN)


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    config = {**base_config(sqlite_url), "TRANSLATIONS_DIRECTORY": str(german_catalog(tmp_path))}
    app = create_app(config)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables()  # the database is the session's shared SQLite file
            db.engine.dispose()


def german_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.get("/?lang=de")  # chosen, and remembered by the cookie
    return client


REGISTRATION = {
    "first_name": "Zoë",
    "last_name": "Weber",
    "email": "zoe.weber@example.com",
    "phone": "+49 30 901820",
    "country": "DE",
    "password": PASSWORD,
    "confirm_password": PASSWORD,
}


def register(client: FlaskClient, **overrides: Any) -> Any:
    data = {**REGISTRATION, **overrides, "csrf_token": csrf_token(client, "/register")}
    return client.post("/register", data=data)


def test_a_german_registration_with_mistakes_says_them_in_german(app: Flask) -> None:
    client = german_client(app)

    response = register(client, first_name="", last_name="", password="", confirm_password="")

    assert response.status_code == 422
    html = page(response)
    assert field_error(html, "first_name") == "Vorname ist erforderlich"
    assert field_error(html, "password") == "Wählen Sie ein Passwort"
    assert re.search(r'<label for="first_name"[^>]*>\s*Vorname', html)
    assert re.search(r'<label for="confirm_password"[^>]*>\s*Passwort wiederholen', html)
    assert "First name is required" not in html
    # The validator's message is the label's message id too.
    assert field_error(html, "confirm_password") == "Passwort wiederholen"
    # A label the catalog lacks stays English, inside the German sentence.
    assert field_error(html, "last_name") == "Last name ist erforderlich"

    # The same page in English, for the same mistakes.
    english = page(
        app.test_client().post(
            "/register",
            data={
                **REGISTRATION,
                "first_name": "",
                "csrf_token": csrf_token(app.test_client(), "/register"),
            },
        )
    )
    assert "Vorname" not in english


def test_flash_messages_are_german_with_their_values_filled_in(app: Flask) -> None:
    client = german_client(app)

    response = register(client)
    assert response.status_code == 302
    account = page(client.get(response.headers["Location"]))
    assert "Willkommen, Zoë. Wir haben einen Link an zoe.weber@example.com geschickt." in account
    assert "please use it to confirm your address" not in account

    signed_out = client.post("/sign-out", data={"csrf_token": csrf_token(client, "/account")})
    assert "Sie sind abgemeldet." in page(client.get(signed_out.headers["Location"]))


def test_error_pages_and_plurals_are_german(app: Flask) -> None:
    client = german_client(app)

    missing = client.get("/no-such-page")
    sent = client.get("/password/forgot/sent")

    assert missing.status_code == 404
    assert "Diese Seite gibt es nicht." in page(missing)
    assert "1 Stunde" in page(sent)
    english = app.test_client().get("/password/forgot/sent")
    assert "1 hour" in page(english)


def test_the_api_answers_in_german_when_asked_with_the_same_codes(app: Flask) -> None:
    with app.app_context(), unit_of_work():
        _, key = create_api_key("tests", ["customers:create", "customers:read"], mode="live")
    client = app.test_client()
    body = {"first_name": "", "last_name": "Weber"}

    german = client.post(
        "/api/v1/customers", json=body, headers={"X-API-Key": key, "Accept-Language": "de"}
    )
    english = client.post("/api/v1/customers", json=body, headers={"X-API-Key": key})

    assert german.status_code == english.status_code == 422
    de, en = german.get_json()["error"], english.get_json()["error"]
    assert de["message"] == "Die Angaben sind nicht gültig"
    assert en["message"] == "The provided data is not valid"
    assert de["details"] == {"first_name": "Vorname ist erforderlich"}
    assert en["details"] == {"first_name": "First name is required"}
    assert de["code"] == en["code"] == "validation_failed"
    assert [(e["field"], e["code"]) for e in de["errors"]] == [("first_name", "required")]
    assert [(e["field"], e["code"]) for e in en["errors"]] == [("first_name", "required")]
    assert de["errors"][0]["message"] == "Vorname ist erforderlich"

    listed = client.get(
        "/api/v1/customers?per_page=0", headers={"X-API-Key": key, "Accept-Language": "de"}
    )
    refused = listed.get_json()["error"]
    assert refused["details"] == {"per_page": "Muss eine ganze Zahl von 1 bis 100 sein"}
    assert refused["errors"][0]["code"] == "invalid"
