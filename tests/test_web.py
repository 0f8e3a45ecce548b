"""The web pages (SPEC sections 1 and 5): registration, signing in and out, the customer area.

CSRF protection stays on here, as in production: every POST carries the token read from the
rendered form, exactly as a browser sends it.
"""

from __future__ import annotations

import datetime
import html as html_text
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms import create_app
from latepoint_forms.bookings.service import book
from latepoint_forms.customers import rules
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, Customer, CustomFieldDefinition, OutboxMessage
from latepoint_forms.passwords import verify_password
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.auth import safe_next
from latepoint_forms.web.registration import EMAIL_ON_FILE_LINK_SENT

from .conftest import base_config
from .web_support import (
    PASSWORD,
    build_web_catalog,
    csrf_token,
    field_error,
    input_tag,
    make_customer,
    page,
    sign_in,
)

REGISTRATION = {
    "first_name": "Zoë",
    "last_name": "O’Brien",
    "email": "Zoe.OBrien@Example.com",
    "phone": "+44 20 7946 0958",
    "date_of_birth": "1990-05-15",
    "gender": "female",
    "address": "10 Downing Street",
    "city": "London",
    "state": "",
    "zipcode": "sw1a2aa",
    "country": "GB",
    "notes": "Prefers mornings.",
    "password": PASSWORD,
    "confirm_password": PASSWORD,
}


def customers(app: Flask) -> list[Customer]:
    with app.app_context():
        return list(db.session.execute(select(Customer).order_by(Customer.id)).scalars())


def register(client: FlaskClient, **overrides: Any) -> Any:
    data = {**REGISTRATION, **overrides, "csrf_token": csrf_token(client, "/register")}
    return client.post("/register", data=data)


# --- registration ------------------------------------------------------------------------------


def test_registration_form_takes_its_html_limits_from_the_rules(client: FlaskClient) -> None:
    html = page(client.get("/register"))

    first_name = input_tag(html, "first_name")
    assert "required" in first_name
    assert f'maxlength="{rules.NAME_MAX_LENGTH}"' in first_name
    assert 'minlength="2"' in first_name
    assert 'autocomplete="given-name"' in first_name
    assert "pattern=" in first_name
    email = input_tag(html, "email")
    assert 'type="email"' in email
    assert "required" in email
    assert f'maxlength="{rules.EMAIL_MAX_LENGTH}"' in email
    assert 'type="tel"' in input_tag(html, "phone")
    assert f'maxlength="{rules.PHONE_MAX_LENGTH}"' in input_tag(html, "phone")
    today = datetime.datetime.now(datetime.UTC).date()
    try:
        latest = today.replace(year=today.year - 13)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year - 13, day=28)
    date_of_birth = input_tag(html, "date_of_birth")
    assert 'type="date"' in date_of_birth
    assert f'max="{latest.isoformat()}"' in date_of_birth
    assert 'autocomplete="new-password"' in input_tag(html, "password")
    assert 'minlength="10"' in input_tag(html, "password")
    # Country is a select of names; status is not the visitor's to choose.
    assert '<option value="GB">United Kingdom</option>' in html
    assert '<option value="prefer_not_to_say">Prefer not to say</option>' in html
    assert 'name="status"' not in html
    # Every visible input has a label.
    for field_id in ("first_name", "email", "country", "gender", "notes", "confirm_password"):
        assert f'<label for="{field_id}">' in html


@pytest.mark.parametrize("app_config", [{"NAME_MIN_LENGTH": 1, "MIN_CUSTOMER_AGE": 18}])
def test_html_limits_follow_the_configuration(client: FlaskClient) -> None:
    html = page(client.get("/register"))

    assert 'minlength="1"' in input_tag(html, "first_name")
    today = datetime.datetime.now(datetime.UTC).date()
    assert f'max="{today.year - 18}-' in input_tag(html, "date_of_birth")


def test_registration_creates_a_pending_account_holder_and_signs_them_in(
    app: Flask, client: FlaskClient
) -> None:
    response = register(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    [customer] = customers(app)
    assert customer.first_name == "Zoë"
    assert customer.last_name == "O'Brien"
    assert customer.email == "zoe.obrien@example.com"
    assert customer.phone == "+442079460958"
    assert customer.zipcode == "SW1A 2AA"
    # Until the address is confirmed (tests/test_ownership.py); this browser is signed in.
    assert customer.status == "pending"
    assert customer.source == "web_form"
    assert customer.is_guest is False
    assert customer.password_hash
    assert PASSWORD not in customer.password_hash
    with app.app_context():
        assert verify_password(customer.password_hash, PASSWORD)
    account = page(client.get("/account"))
    assert "Hello, Zoë" in account
    assert customer.customer_code in account


def test_errors_come_back_with_values_kept_summary_and_messages_beside_fields(
    app: Flask, client: FlaskClient
) -> None:
    response = register(
        client, last_name="J0nes", zipcode="12345", password="short", confirm_password="short"
    )

    assert response.status_code == 422
    html = page(response)
    assert customers(app) == []
    # The summary at the top links to each failing field.
    start = html.index('class="error-summary"')
    summary = html[start : html.index("</ul>", start)]
    for field_id in ("last_name", "zipcode", "password"):
        assert f'href="#{field_id}"' in summary
    # The messages are the rules' own (the API's), beside the fields, wired for screen readers.
    assert (
        field_error(html, "last_name")
        == "Last name can only contain letters, spaces, hyphens and apostrophes"
    )
    assert field_error(html, "zipcode").startswith(
        "Enter a valid postal code for the United Kingdom"
    )
    assert field_error(html, "password") == "Password must be at least 10 characters"
    zipcode = input_tag(html, "zipcode")
    assert 'aria-invalid="true"' in zipcode
    assert 'aria-describedby="zipcode-error"' in zipcode
    # Every typed value is kept, passwords excepted.
    assert 'value="J0nes"' in input_tag(html, "last_name")
    assert 'value="12345"' in zipcode
    assert 'value="+44 20 7946 0958"' in input_tag(html, "phone")
    assert 'value="1990-05-15"' in input_tag(html, "date_of_birth")
    assert '<option selected value="GB">' in html
    assert "Prefers mornings." in html
    assert 'value=""' in input_tag(html, "password")
    assert "short" not in input_tag(html, "password")
    assert "<title>Error: " in html


def test_duplicate_email_says_so_plainly_and_offers_sign_in(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app, email="zoe.obrien@example.com", first_name="Original")

    response = register(client)

    assert response.status_code == 422
    html = page(response)
    message = field_error(html, "email")
    assert message.startswith("This email address is already registered.")
    assert 'href="/sign-in?next=/account"' in html
    assert 'value="Zoe.OBrien@Example.com"' in input_tag(html, "email")
    [customer] = customers(app)
    assert customer.first_name == "Original"


def test_a_guest_email_is_refused_and_its_owner_is_sent_a_sign_in_link(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app, password=None, is_guest=True, email="zoe.obrien@example.com")

    response = register(client, first_name="Zoey")

    # Not registered; told where the way in went (a redirect: the link is kept).
    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in/link/sent"
    told = page(client.get(response.headers["Location"]))
    assert html_text.escape(EMAIL_ON_FILE_LINK_SENT) in told
    assert "sent a sign-in link" in EMAIL_ON_FILE_LINK_SENT
    with app.app_context():
        [link] = db.session.execute(select(OutboxMessage)).scalars().all()
        assert (link.kind, link.recipient) == ("sign_in_link", "zoe.obrien@example.com")
        assert "/sign-in/link/" in link.body_text
    [customer] = customers(app)
    assert customer.first_name == "Ada"
    assert customer.password_hash is None


def test_mismatched_password_confirmation_is_refused(app: Flask, client: FlaskClient) -> None:
    response = register(client, confirm_password="something else entirely")

    assert response.status_code == 422
    assert field_error(page(response), "confirm_password") == "The passwords do not match"
    assert customers(app) == []


def test_custom_fields_are_rendered_from_definitions_and_validated(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        db.session.add_all(
            [
                CustomFieldDefinition(
                    key="membership",
                    label="Membership level",
                    type="select",
                    required=True,
                    options=[
                        {"value": "basic", "label": "Basic"},
                        {"value": "gold", "label": "Gold"},
                    ],
                    position=1,
                ),
                CustomFieldDefinition(
                    key="visits", label="Visits a year", type="number", min_number=0, max_number=52
                ),
                CustomFieldDefinition(key="newsletter", label="Send me news", type="checkbox"),
            ]
        )
        db.session.commit()

    html = page(client.get("/register"))
    assert "required" in input_tag(html, "cf_membership")
    assert '<option value="gold">Gold</option>' in html
    visits = input_tag(html, "cf_visits")
    assert 'type="number"' in visits
    assert 'min="0"' in visits
    assert 'max="52"' in visits
    assert 'type="checkbox"' in input_tag(html, "cf_newsletter")

    refused = register(client, cf_membership="platinum", cf_visits="99")
    assert refused.status_code == 422
    assert field_error(page(refused), "cf_membership") == "Must be one of: basic, gold"
    assert field_error(page(refused), "cf_visits") == "Must be at most 52"
    assert 'value="99"' in input_tag(page(refused), "cf_visits")

    accepted = register(client, cf_membership="gold", cf_visits="12", cf_newsletter="y")
    assert accepted.status_code == 302
    [customer] = customers(app)
    assert customer.custom_fields == {"membership": "gold", "visits": 12, "newsletter": True}


def test_each_custom_field_type_gets_its_input(app: Flask, client: FlaskClient) -> None:
    kinds = ("text", "textarea", "number", "date", "select", "checkbox", "email", "phone", "url")
    with app.app_context():
        db.session.add_all(
            CustomFieldDefinition(key=f"f_{kind}", label=kind.title(), type=kind, position=n)
            for n, kind in enumerate(kinds)
        )
        db.session.commit()

    html = page(client.get("/register"))

    assert input_tag(html, "cf_f_textarea").startswith("<textarea")
    assert input_tag(html, "cf_f_select").startswith("<select")
    expected = {"text": "text", "number": "number", "date": "date", "checkbox": "checkbox"}
    expected |= {"email": "email", "phone": "tel", "url": "url"}
    for kind, input_type in expected.items():
        assert f'type="{input_type}"' in input_tag(html, f"cf_f_{kind}"), kind


# --- CSRF ------------------------------------------------------------------------------------


def test_a_form_without_a_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    response = client.post("/register", data=REGISTRATION)

    assert response.status_code == 400
    assert "did not come from this site" in page(response)
    assert customers(app) == []


def test_a_forged_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    csrf_token(client, "/register")  # a session exists, but the token is not its own
    response = client.post("/register", data={**REGISTRATION, "csrf_token": "forged.token.x"})

    assert response.status_code == 400
    assert customers(app) == []


def test_sign_in_and_sign_out_need_the_token_too(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    refused = client.post("/sign-in", data={"email": "ada@example.com", "password": PASSWORD})
    assert refused.status_code == 400
    assert client.get("/account").status_code == 302

    sign_in(client)
    assert client.post("/sign-out").status_code == 400
    assert client.get("/account").status_code == 200  # still signed in


# --- signing in and out ----------------------------------------------------------------------


def test_sign_in_sign_out_round_trip(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    assert client.get("/account").headers["Location"] == "/sign-in?next=/account"

    response = sign_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert "Hello, Ada" in page(client.get("/account"))

    token = csrf_token(client, "/account")
    signed_out = client.post("/sign-out", data={"csrf_token": token})
    assert signed_out.status_code == 302
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@example.com", "wrong password!"), ("nobody@example.com", PASSWORD), ("", "")],
)
def test_wrong_credentials_do_not_say_which_part_was_wrong(
    app: Flask, client: FlaskClient, email: str, password: str
) -> None:
    make_customer(app)
    response = sign_in(client, email, password)

    assert response.status_code == 422
    html = page(response)
    if email:
        assert "The email address or password is not right" in html
        assert f'value="{email}"' in input_tag(html, "email")
    assert 'value=""' in input_tag(html, "password")
    assert client.get("/account").status_code == 302


def test_a_guest_without_a_password_cannot_sign_in(app: Flask, client: FlaskClient) -> None:
    make_customer(app, password=None, is_guest=True)
    assert sign_in(client, "ada@example.com", "").status_code == 422
    assert sign_in(client, "ada@example.com", "anything at all").status_code == 422


def test_sign_in_follows_a_local_next_and_ignores_a_foreign_one(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app)
    token = csrf_token(client, "/sign-in")
    credentials = {"csrf_token": token, "email": "ada@example.com", "password": PASSWORD}

    local = client.post("/sign-in?next=/book?service%3D1", data=credentials)
    assert local.headers["Location"] == "/book?service=1"

    other = app.test_client()
    credentials["csrf_token"] = csrf_token(other, "/sign-in")
    foreign = other.post("/sign-in?next=https://evil.example/", data=credentials)
    assert foreign.headers["Location"] == "/account"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/book?service=1", "/book?service=1"),
        ("/account", "/account"),
        (None, "/account"),
        ("", "/account"),
        ("//evil.example/", "/account"),
        ("https://evil.example/", "/account"),
        ("/\\evil.example", "/account"),
        ("\\\\evil.example", "/account"),
        ("/\t/evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("evil.example", "/account"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # a path on this site, harmless
    ],
)
def test_safe_next_allows_only_paths_on_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_signing_in_starts_a_fresh_session(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    sign_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert isinstance(session["customer_id"], int)


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_sign_in_is_rate_limited_with_a_friendly_page(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/sign-in")
    statuses = [
        client.post(
            "/sign-in", data={"csrf_token": token, "email": "x@example.com", "password": "nope"}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    refused = client.post("/sign-in", data={"csrf_token": token, "email": "x@example.com"})
    assert refused.status_code == 429
    assert "Too many attempts" in page(refused)
    assert client.get("/sign-in").status_code == 200  # reading the page is not limited


# --- the customer area ---------------------------------------------------------------------


def test_a_customer_sees_and_cancels_only_their_own_bookings(
    app: Flask, client: FlaskClient
) -> None:
    catalog = build_web_catalog(app)
    ada = make_customer(app)
    bea = make_customer(app, first_name="Bea", email="bea@example.com")
    with app.app_context(), unit_of_work():
        adas = book(ada, catalog.service, catalog.location, None, catalog.start(hour=10))
        beas = book(bea, catalog.service, catalog.location, None, catalog.start(hour=11))

    sign_in(client, "bea@example.com")
    html = page(client.get("/account"))
    assert beas.booking_code in html
    assert adas.booking_code not in html

    token = csrf_token(client, "/account")
    refused = client.post(f"/account/bookings/{adas.id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 404
    with app.app_context():
        assert db.session.get(Booking, adas.id).status == "confirmed"

    cancelled = client.post(f"/account/bookings/{beas.id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 302
    html = page(client.get("/account"))
    assert f"Booking {beas.booking_code} is cancelled." in html
    with app.app_context():
        assert db.session.get(Booking, beas.id).status == "cancelled"


def test_cancelling_needs_a_signed_in_owner_and_a_token(app: Flask, client: FlaskClient) -> None:
    catalog = build_web_catalog(app)
    ada = make_customer(app)
    with app.app_context(), unit_of_work():
        booking = book(ada, catalog.service, catalog.location, None, catalog.start())

    token = csrf_token(client, "/sign-in")
    anonymous = client.post(f"/account/bookings/{booking.id}/cancel", data={"csrf_token": token})
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/sign-in"
    sign_in(client)
    assert client.post(f"/account/bookings/{booking.id}/cancel").status_code == 400
    with app.app_context():
        assert db.session.get(Booking, booking.id).status == "confirmed"


# --- the database out of reach ----------------------------------------------------------------


def test_an_unreachable_database_keeps_every_typed_value() -> None:
    # A real PostgreSQL URL with nothing listening: the connection is refused, as in an outage.
    app = create_app(base_config("postgresql+psycopg://u@127.0.0.1:9/unreachable"))
    client = app.test_client()
    token = csrf_token(client, "/register")

    response = client.post("/register", data={**REGISTRATION, "csrf_token": token})

    assert response.status_code == 503
    html = page(response)
    assert "We could not save your details just now. Nothing was lost" in html
    assert 'value="Zoë"' in input_tag(html, "first_name")
    assert 'value="sw1a2aa"' in input_tag(html, "zipcode")
    assert PASSWORD not in html

    # The booking form cannot even read the catalog: the details come back as they were sent.
    path = "/book?service=1&location=1&agent=any&date=2030-01-07&start=2030-01-07T10:00Z"
    details = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
    booking = client.post(path, data={**details, "csrf_token": token})
    assert booking.status_code == 503
    html = page(booking)
    assert "We could not save your details just now. Nothing was lost" in html
    assert 'value="Grace"' in input_tag(html, "first_name")
    assert 'value="grace@example.com"' in input_tag(html, "email")
    assert f'action="{path.replace("&", "&amp;")}"' in html
    with app.app_context():
        db.engine.dispose()


def test_pages_have_no_inline_script_or_style(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    pages = [page(client.get(path)) for path in ("/", "/register", "/sign-in", "/book")]
    sign_in(client)
    pages.append(page(client.get("/account")))
    for html in pages:
        assert "<script>" not in html
        assert "<style" not in html
        assert " style=" not in html
        assert " onclick=" not in html
        assert 'src="/static/app.js"' in html


def test_a_known_email_is_reported_together_with_other_mistakes(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app, email="zoe.obrien@example.com")

    response = register(client, zipcode="12345")

    assert response.status_code == 422
    html = page(response)
    assert field_error(html, "email").startswith("This email address is already registered.")
    assert field_error(html, "zipcode").startswith(
        "Enter a valid postal code for the United Kingdom"
    )
    assert len(customers(app)) == 1


def test_registration_is_rate_limited_too(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/register")
    statuses = [
        client.post("/register", data={"csrf_token": token, "first_name": "X"}).status_code
        for _ in range(11)
    ]
    assert statuses == [422] * 10 + [429]
    assert customers(app) == []
