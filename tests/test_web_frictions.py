"""Small page frictions a newcomer met, each checked as the person reads the page."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.bookings.service import book, cancel_booking
from latepoint_forms.countries import country_in_sentence
from latepoint_forms.extensions import db
from latepoint_forms.models import CustomFieldDefinition
from latepoint_forms.unit_of_work import unit_of_work

from .test_web import REGISTRATION
from .web_support import build_web_catalog, csrf_token, field_error, make_customer, page, sign_in


def text_of(html: str) -> str:
    """The page's words, tags stripped and spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_a_missing_page_speaks_in_the_products_voice(client: FlaskClient) -> None:
    response = client.get("/no-such-page")

    assert response.status_code == 404
    words = text_of(page(response))
    assert "We could not find that page." in words
    assert "requested URL was not found" not in words  # Werkzeug's stock sentence
    assert "If you entered the URL manually" not in words


def test_a_wrong_method_speaks_in_the_products_voice(client: FlaskClient) -> None:
    response = client.delete("/register")

    assert response.status_code == 405
    words = text_of(page(response))
    assert "That page cannot be used that way." in words
    assert "The method is not allowed" not in words
    assert "GET" in response.headers["Allow"]


def test_the_api_keeps_its_own_error_envelope(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_select_field_shows_its_options_label_on_the_account(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context(), unit_of_work():
        db.session.add(
            CustomFieldDefinition(
                key="tier",
                label="Membership",
                type="select",
                options=[
                    {"value": "gold", "label": "Gold"},
                    {"value": "silver", "label": "Silver"},
                ],
            )
        )
        db.session.add(CustomFieldDefinition(key="newsletter", label="Newsletter", type="checkbox"))
    make_customer(app, custom_fields={"tier": "gold", "newsletter": True})
    sign_in(client)

    words = text_of(page(client.get("/account")))

    assert "Membership Gold" in words
    assert "gold" not in words
    assert "Newsletter Yes" in words


def test_field_messages_name_the_country_as_the_menu_does(client: FlaskClient) -> None:
    token = csrf_token(client, "/register")
    response = client.post(
        "/register", data={**REGISTRATION, "csrf_token": token, "zipcode": "12345"}
    )

    assert response.status_code == 422
    message = field_error(page(response), "zipcode")
    assert message.startswith("Enter a valid postal code for the United Kingdom")
    assert "for GB" not in message


def test_country_names_in_a_sentence() -> None:
    assert country_in_sentence("GB") == "the United Kingdom"
    assert country_in_sentence("us") == "the United States"
    assert country_in_sentence("NL") == "the Netherlands"
    assert country_in_sentence("FR") == "France"
    assert country_in_sentence("JP") == "Japan"
    assert country_in_sentence("ZZ") == "ZZ"


def test_a_registered_email_offers_the_sign_in_once(app: Flask, client: FlaskClient) -> None:
    make_customer(app, email="zoe.obrien@example.com")
    token = csrf_token(client, "/register")
    response = client.post("/register", data={**REGISTRATION, "csrf_token": token})

    assert response.status_code == 422
    message = field_error(page(response), "email")
    assert message == "This email address is already registered. Sign in to use your account."
    assert message.count("Sign in") == 1


def test_after_cancelling_the_last_booking_nothing_is_upcoming(
    app: Flask, client: FlaskClient
) -> None:
    catalog = build_web_catalog(app)
    ada = make_customer(app)
    with app.app_context(), unit_of_work():
        booking = book(ada, catalog.service, catalog.location, None, catalog.start())
    sign_in(client)
    assert "Nothing booked yet" not in text_of(page(client.get("/account")))

    with app.app_context(), unit_of_work():
        cancel_booking(booking.id, ada)
    words = text_of(page(client.get("/account")))

    assert "Nothing upcoming." in words
    assert "Nothing booked yet" not in words
