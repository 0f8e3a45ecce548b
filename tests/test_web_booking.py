"""Quick registration during booking (``/book``), on SQLite and PostgreSQL, CSRF on."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.bookings.service import book
from latepoint_forms.extensions import db
from latepoint_forms.models import (
    Booking,
    Customer,
    CustomFieldDefinition,
    Location,
    OutboxMessage,
)
from latepoint_forms.passwords import verify_password
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.booking import ALREADY_SENT, PRIVATE_WINDOW_SECONDS

from .web_support import (
    PASSWORD,
    WebCatalog,
    build_web_catalog,
    csrf_token,
    field_error,
    input_tag,
    make_customer,
    page,
    sign_in,
)

GUEST = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}


@pytest.fixture
def catalog(app: Flask) -> WebCatalog:
    return build_web_catalog(app)


def rows(app: Flask, model: Any) -> list[Any]:
    with app.app_context():
        return list(db.session.execute(select(model).order_by(model.id)).scalars())


def book_as_guest(client: FlaskClient, path: str, **details: str) -> Any:
    return client.post(path, data={**GUEST, **details, "csrf_token": csrf_token(client, path)})


def test_each_step_asks_one_question(client: FlaskClient, catalog: WebCatalog) -> None:
    services = page(client.get("/book"))
    assert "What would you like to book?" in services
    assert f'href="/book?service={catalog.service}"' in services

    # One location: nothing to choose, so the next question is who.
    agents = page(client.get(f"/book?service={catalog.service}"))
    assert "Who would you like to see?" in agents
    assert "Any available" in agents
    assert "Amy Pond" in agents
    assert "Ben Okafor" in agents

    times = page(client.get(f"/book?service={catalog.service}&agent=any"))
    assert "Pick a day and time" in times
    assert 'class="time"' in times
    assert "&amp;start=" in times

    start = catalog.start()
    details = page(client.get(catalog.book_path(start)))
    assert "Your details" in details
    assert "required" in input_tag(details, "email")
    assert "Harbour Street" in details


def test_unknown_choices_fall_back_to_the_question(
    client: FlaskClient, catalog: WebCatalog
) -> None:
    assert "What would you like to book?" in page(client.get("/book?service=999999"))
    assert "What would you like to book?" in page(client.get("/book?service=abc"))
    html = page(client.get(f"/book?service={catalog.service}&agent=999999"))
    assert "Who would you like to see?" in html


def test_a_guest_books_and_the_confirmation_says_where_the_code_went(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    start = catalog.start()

    response = book_as_guest(client, catalog.book_path(start), phone="+44 20 7946 0958")

    assert response.status_code == 302
    assert response.headers["Location"] == "/book/confirmation"
    [guest] = rows(app, Customer)
    assert guest.is_guest is True
    assert guest.source == "quick_booking"
    assert guest.password_hash is None
    assert guest.email == "grace@example.com"
    assert guest.phone == "+442079460958"
    [booking] = rows(app, Booking)
    assert booking.customer_id == guest.id
    assert booking.start_at == start
    assert booking.status == "confirmed"

    # The page shows what was chosen and typed (the same for a known address: test_returning);
    # the code, the calendar file and the manage link go to the address typed.
    confirmation = page(client.get("/book/confirmation"))
    assert "Booking sent" in confirmation
    assert "Grace Hopper" in confirmation
    assert "grace@example.com" in confirmation
    assert booking.booking_code not in confirmation
    assert "Set a password" in confirmation
    [message] = [m for m in rows(app, OutboxMessage) if m.kind == "booking_confirmation"]
    assert message.recipient == "grace@example.com"
    assert booking.booking_code in message.body_text


def test_setting_a_password_after_booking_makes_an_account(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    book_as_guest(client, catalog.book_path(catalog.start()))
    token = csrf_token(client, "/book/confirmation")

    short = client.post(
        "/book/confirmation",
        data={"csrf_token": token, "password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 422
    assert field_error(page(short), "password") == "Password must be at least 10 characters"

    response = client.post(
        "/book/confirmation",
        data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    [customer] = rows(app, Customer)
    assert customer.is_guest is False
    with app.app_context():
        assert verify_password(customer.password_hash, PASSWORD)
    [booking] = rows(app, Booking)
    # Pending until the address is confirmed (SPEC section 9): /account shows no bookings yet.
    account = page(client.get("/account"))
    assert "Confirm your email address to see your bookings" in account
    assert booking.booking_code not in account


def test_only_the_browser_that_booked_can_see_the_confirmation_or_set_the_password(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    book_as_guest(client, catalog.book_path(catalog.start()))
    [booking] = rows(app, Booking)

    stranger = app.test_client()
    seen = stranger.get("/book/confirmation")
    assert seen.status_code == 302
    assert seen.headers["Location"] == "/book"
    token = csrf_token(stranger, "/sign-in")
    attempt = stranger.post(
        "/book/confirmation",
        data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert attempt.status_code == 302
    assert booking.booking_code not in page(
        stranger.get("/book/confirmation", follow_redirects=True)
    )
    [customer] = rows(app, Customer)
    assert customer.is_guest is True
    assert customer.password_hash is None


def test_a_known_email_books_for_that_customer_and_changes_nothing_of_theirs(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(
        app, email="grace@example.com", first_name="Original", phone="+442079460958"
    )
    path = catalog.book_path(catalog.start())

    response = book_as_guest(
        client, path, email="Grace@Example.com", first_name="Mallory", phone="+14155550123"
    )

    # Booked like a new address (SPEC section 9), for the customer who holds it.
    assert response.status_code == 302
    assert response.headers["Location"] == "/book/confirmation"
    [customer] = rows(app, Customer)
    assert customer.id == owner
    [booking] = rows(app, Booking)
    assert booking.customer_id == owner
    # Nothing of the existing customer is shown or changed: the page shows what was typed.
    html = page(client.get("/book/confirmation"))
    assert "Original" not in html
    assert "Mallory Hopper" in html
    assert customer.first_name == "Original"
    assert customer.phone == "+442079460958"


def test_a_signed_in_customer_books_with_their_own_record(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(app)
    sign_in(client)
    path = catalog.book_path(catalog.start())
    html = page(client.get(path))
    assert "You are booking as" in html
    assert 'id="email"' not in html

    response = client.post(path, data={"csrf_token": csrf_token(client, path)})

    assert response.status_code == 302
    assert [c.id for c in rows(app, Customer)] == [owner]
    [booking] = rows(app, Booking)
    assert booking.customer_id == owner
    confirmation = page(client.get("/book/confirmation"))
    assert booking.booking_code in confirmation
    assert "Set a password" not in confirmation


def test_guest_details_are_checked_by_the_rules_and_kept(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    response = book_as_guest(
        client, catalog.book_path(catalog.start()), first_name="<b>", email="", phone="12"
    )

    assert response.status_code == 422
    html = page(response)
    assert field_error(html, "email") == "Email is required"
    assert field_error(html, "first_name") == (
        "First name can only contain letters, spaces, hyphens and apostrophes"
    )
    assert field_error(html, "phone") == "Enter the phone number with its country code, such as +44"
    assert 'value="&lt;b&gt;"' in input_tag(html, "first_name")
    assert rows(app, Customer) == []
    assert rows(app, Booking) == []


def test_a_time_taken_while_typing_keeps_the_details(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    start = catalog.start()
    path = catalog.book_path(start)
    token = csrf_token(client, path)
    someone = make_customer(app, email="someone@example.com")
    other = make_customer(app, email="other@example.com")
    with app.app_context(), unit_of_work():  # both agents get booked at that time
        book(someone, catalog.service, catalog.location, catalog.agents[0], start)
        book(other, catalog.service, catalog.location, catalog.agents[1], start)

    response = client.post(path, data={**GUEST, "csrf_token": token})

    assert response.status_code == 409
    html = page(response)
    assert "someone has just booked that time" in html
    assert "Choose another time" in html
    assert 'value="Grace"' in input_tag(html, "first_name")
    assert sorted(c.email for c in rows(app, Customer)) == [
        "other@example.com",
        "someone@example.com",
    ]


def test_a_booking_form_without_a_csrf_token_is_refused(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    response = client.post(catalog.book_path(catalog.start()), data=GUEST)

    assert response.status_code == 400
    assert rows(app, Customer) == []
    assert rows(app, Booking) == []


def test_the_offer_to_set_a_password_expires(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    book_as_guest(client, catalog.book_path(catalog.start()))
    token = csrf_token(client, "/book/confirmation")
    with client.session_transaction() as session:
        for key in ("booked_request_since",):
            session[key] -= PRIVATE_WINDOW_SECONDS + 1  # as if booked long ago

    assert "Set a password" not in page(client.get("/book/confirmation", follow_redirects=True))
    response = client.post(
        "/book/confirmation",
        data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert response.status_code == 302
    [customer] = rows(app, Customer)
    assert customer.is_guest is True
    assert customer.password_hash is None


def test_booking_with_a_chosen_person(app: Flask, client: FlaskClient, catalog: WebCatalog) -> None:
    ben = catalog.agents[1]
    html = page(client.get(f"/book?service={catalog.service}&agent={ben}"))
    assert "Pick a day and time" in html
    start = catalog.start(hour=15)
    path = catalog.book_path(start).replace("agent=any", f"agent={ben}")
    assert "Ben Okafor" in page(client.get(path))

    assert book_as_guest(client, path).status_code == 302

    [booking] = rows(app, Booking)
    assert booking.agent_id == ben
    assert booking.start_at == start
    # Ben is taken at that time now; Amy is still free, so "any available" still offers it.
    ben_times = page(client.get(path.split("&start=")[0]))
    any_times = page(client.get(path.split("&start=")[0].replace(f"agent={ben}", "agent=any")))
    when = f"start={start:%Y-%m-%dT%H:%MZ}"
    assert when not in ben_times
    assert when in any_times


# --- required custom fields on the guest form ------------------------------------------------


def test_required_custom_fields_are_asked_of_a_guest(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    with app.app_context():
        db.session.add_all(
            [
                CustomFieldDefinition(
                    key="consent", label="I agree to the terms", type="checkbox", required=True
                ),
                CustomFieldDefinition(key="referral", label="How did you hear of us?", type="text"),
            ]
        )
        db.session.commit()
    path = catalog.book_path(catalog.start())

    html = page(client.get(path))
    consent = input_tag(html, "cf_consent")
    assert 'type="checkbox"' in consent
    assert "required" in consent
    assert 'id="cf_referral"' not in html  # optional: not asked while booking

    left = book_as_guest(client, path, first_name="Mallory")
    assert left.status_code == 422
    html = page(left)
    assert field_error(html, "cf_consent") == "I agree to the terms is required"
    assert 'value="Mallory"' in input_tag(html, "first_name")
    assert rows(app, Customer) == []
    assert rows(app, Booking) == []

    ticked = book_as_guest(client, path, cf_consent="y")
    assert ticked.status_code == 302
    [guest] = rows(app, Customer)
    assert guest.custom_fields == {"consent": True}
    [booking] = rows(app, Booking)
    assert booking.customer_id == guest.id


# --- a known email that is only a guest's -----------------------------------------------------


def test_a_guest_email_books_again_for_that_guest(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    make_customer(app, password=None, is_guest=True, email="grace@example.com")
    path = catalog.book_path(catalog.start())

    response = book_as_guest(client, path, email="GRACE@example.com", first_name="Gracie")

    assert response.status_code == 302
    [customer] = rows(app, Customer)
    assert customer.first_name == "Ada"  # the typed name waits for the confirm-changes link
    [booking] = rows(app, Booking)
    assert booking.customer_id == customer.id


# --- links edited by hand --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "question"),
    [
        ("service=%C2%B2", "What would you like to book?"),  # "²" passes str.isdigit()
        ("service=%EF%BC%91", "What would you like to book?"),  # full-width "1"
        ("service=99999999999999999999", "What would you like to book?"),
        ("service={service}&location=%C2%B9", "Who would you like to see?"),
        ("service={service}&agent=%C2%B3", "Who would you like to see?"),
        ("service={service}&agent=any&date=2026-W49-2", "Pick a day and time"),
        ("service={service}&agent=any&date=20261201", "Pick a day and time"),
        ("service={service}&agent=any&date=%C2%B2026-12-01", "Pick a day and time"),
        ("service={service}&agent=any&date=9999-12-31", "Pick a day and time"),
    ],
)
def test_an_edited_link_lands_on_the_question_to_answer(
    client: FlaskClient, catalog: WebCatalog, query: str, question: str
) -> None:
    response = client.get("/book?" + query.format(service=catalog.service))

    assert response.status_code == 200
    assert question in page(response)


@pytest.mark.parametrize("start", ["0001-01-01T00:00Z", "9999-12-31T23:45Z", "{day}T25:00Z"])
def test_an_edited_start_lands_on_the_day_to_pick_again(
    client: FlaskClient, catalog: WebCatalog, start: str
) -> None:
    day = datetime.now(ZoneInfo(catalog.timezone)).date() + timedelta(days=3)
    query = f"service={catalog.service}&agent=any&date={day.isoformat()}&start="

    response = client.get("/book?" + query + start.format(day=day.isoformat()))

    assert response.status_code == 200
    assert "Pick a day and time" in page(response)


def test_only_a_plain_iso_date_picks_the_day(client: FlaskClient, catalog: WebCatalog) -> None:
    day = datetime.now(ZoneInfo(catalog.timezone)).date() + timedelta(days=3)
    week_year, week, weekday = day.isocalendar()
    path = f"/book?service={catalog.service}&agent=any&date="

    chosen = page(client.get(path + day.isoformat()))
    assert f'value="{day.isoformat()}"' in input_tag(chosen, "date")
    for spelling in (f"{week_year}-W{week:02d}-{weekday}", f"{day:%Y%m%d}"):
        response = client.get(path + spelling)
        assert response.status_code == 200
        # Not read as that day: the first day with free times is offered instead.
        assert f'value="{day.isoformat()}"' not in input_tag(page(response), "date"), spelling


# --- personal pages do not linger ------------------------------------------------------------


def test_the_confirmation_is_shown_for_an_hour_and_never_cached(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    book_as_guest(client, catalog.book_path(catalog.start()))
    [booking] = rows(app, Booking)

    shown = client.get("/book/confirmation")
    assert "Grace Hopper" in page(shown)
    assert shown.headers["Cache-Control"] == "no-store"

    with client.session_transaction() as session:
        for key in ("booked_request_since",):
            session[key] -= PRIVATE_WINDOW_SECONDS + 1  # as if booked long ago
    expired = client.get("/book/confirmation")
    assert expired.status_code == 302
    assert expired.headers["Location"] == "/book"
    later = page(client.get("/book/confirmation", follow_redirects=True))
    assert "Grace Hopper" not in later
    assert booking.booking_code not in later


def test_pages_naming_a_signed_in_customer_are_never_cached(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    path = catalog.book_path(catalog.start())
    assert "Cache-Control" not in client.get(path).headers  # nobody's details on it yet
    make_customer(app)
    sign_in(client)

    booking_page = client.get(path)
    assert "You are booking as" in page(booking_page)
    assert booking_page.headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert client.get("/book/confirmation").headers["Cache-Control"] == "no-store"
    assert client.get("/account").headers["Cache-Control"] == "no-store"


# --- after booking: the confirmation, and the Back button ---------------------------------


def test_the_confirmation_shows_the_address_and_the_zone_and_mails_the_calendar_file(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    with app.app_context(), unit_of_work():
        location = db.session.get(Location, catalog.location)
        assert location is not None
        location.address, location.country, location.phone = (
            "12 Harbour Street, Bristol BS1 4RN",
            "GB",
            "+441179460000",
        )
    book_as_guest(client, catalog.book_path(catalog.start()))

    html = page(client.get("/book/confirmation"))

    assert "12 Harbour Street, Bristol BS1 4RN" in html
    assert 'href="tel:+441179460000"' in html
    assert re.search(r"Local time: Europe/London \((GMT|BST)\)", html)
    # The calendar file and the manage link are the booking's: they go by mail, to the address
    # the booking is for (a known address's owner, not whoever typed it).
    assert "/bookings/" not in html
    [booking] = rows(app, Booking)
    [message] = [m for m in rows(app, OutboxMessage) if m.kind == "booking_confirmation"]
    assert [a["filename"] for a in message.attachments] == [f"{booking.booking_code}.ics"]
    manage = re.search(r"/bookings/[A-Za-z0-9_.\-]+", message.body_text)
    assert manage is not None
    assert booking.booking_code in page(client.get(manage.group(0)))


def test_back_after_booking_shows_the_booking_not_that_someone_took_the_time(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    path = catalog.book_path(catalog.start()).replace("agent=any", f"agent={catalog.agents[0]}")
    book_as_guest(client, path)

    back = client.get(path)  # the details page again, from the browser's history

    assert back.status_code == 303
    assert back.headers["Location"] == "/book/confirmation"
    html = page(client.get("/book/confirmation"))
    assert ALREADY_SENT in html
    assert "someone has just booked" not in html
    # Sending the form again (restored from the history) books nothing twice.
    token = csrf_token(client, "/book/confirmation")
    again = client.post(path, data={**GUEST, "csrf_token": token})
    assert again.status_code == 303
    assert again.headers["Location"] == "/book/confirmation"
    assert len(rows(app, Booking)) == 1


def test_someone_elses_booking_of_the_time_is_still_called_taken(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    path = catalog.book_path(catalog.start()).replace("agent=any", f"agent={catalog.agents[0]}")
    book_as_guest(client, path)
    other = app.test_client()

    response = other.get(path)

    assert response.status_code == 302
    assert "someone has just booked that time" in page(other.get(response.headers["Location"]))
