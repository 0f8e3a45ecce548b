"""Returning customers at ``/book`` (SPEC section 9), on SQLite and PostgreSQL, CSRF on.

An email already on file books like a new one, for the customer who holds it; the stored
record is not changed by the anonymous submission; differing details are proposed by a
"confirm your changes" link mailed to the stored address; nothing a visitor sees (pages,
status codes, the readable session cookie) tells a known address from a new one, fair-use
refusals of a known address included.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.accounts import tokens
from latepoint_forms.bookings.service import book, cancel_booking
from latepoint_forms.extensions import db
from latepoint_forms.models import (
    Booking,
    Customer,
    CustomerToken,
    CustomFieldDefinition,
    Location,
    OutboxMessage,
    Service,
)
from latepoint_forms.models.types import utcnow
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.booked_request import BookedRequest, password_offer_for_known_address

from .web_support import (
    PASSWORD,
    WebCatalog,
    build_web_catalog,
    csrf_token,
    make_customer,
    page,
    sign_in,
)

TYPED = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
CHANGES_LINK = re.compile(r"https?://[^\s<>\"]+(/account/changes/[A-Za-z0-9_\-]+)")
_CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')


@pytest.fixture
def catalog(app: Flask) -> WebCatalog:
    return build_web_catalog(app)


def rows(app: Flask, model: Any) -> list[Any]:
    with app.app_context():
        return list(db.session.execute(select(model).order_by(model.id)).scalars())


def customer(app: Flask, customer_id: int) -> Customer:
    with app.app_context():
        found = db.session.get(Customer, customer_id)
        assert found is not None
        return found


def messages(app: Flask, kind: str) -> list[OutboxMessage]:
    return [m for m in rows(app, OutboxMessage) if m.kind == kind]


def send_details(client: FlaskClient, path: str, **details: str) -> Any:
    return client.post(path, data={**TYPED, **details, "csrf_token": csrf_token(client, path)})


def without_tokens(html: str) -> str:
    """The page with its CSRF token blanked: the one part that differs between sessions."""
    return _CSRF_VALUE.sub(r"\1…\2", html)


def seen_by_visitor(client: FlaskClient, path: str, **details: str) -> tuple[Any, ...]:
    """Everything the details POST shows a visitor: status, where it leads, its body, the
    keys of the (readable) session cookie, and the confirmation page that follows."""
    answer = send_details(client, path, **details)
    with client.session_transaction() as session:
        keys = sorted(key for key in session if not key.startswith("_"))
        ref = session.get("booked_ref")
    confirmation = client.get("/book/confirmation")
    return (
        answer.status_code,
        answer.headers.get("Location"),
        page(answer),
        keys,
        len(ref or ""),
        confirmation.status_code,
        without_tokens(page(confirmation)),
    )


def set_stored_details(app: Flask, customer_id: int, **values: Any) -> None:
    with app.app_context(), unit_of_work():
        stored = db.session.get(Customer, customer_id)
        assert stored is not None
        for key, value in values.items():
            setattr(stored, key, value)


def changes_path(message: OutboxMessage) -> str:
    match = CHANGES_LINK.search(message.body_text)
    assert match, message.body_text
    return match.group(1)


# --- one page for a new and a known address ---------------------------------------------------


def test_a_new_a_known_and_a_quietly_refused_address_see_the_same_pages(
    app: Flask, catalog: WebCatalog
) -> None:
    start = catalog.start()
    path = catalog.book_path(start)

    new = seen_by_visitor(app.test_client(), path)
    [guest] = rows(app, Customer)
    [first] = rows(app, Booking)
    # The address is on file now, under other details; its booking is cancelled so that the
    # same time can be booked again by it.
    set_stored_details(app, guest.id, first_name="Original", phone="+442079460958")
    with app.app_context(), unit_of_work():
        cancel_booking(first.id, guest.id)

    known = seen_by_visitor(app.test_client(), path)
    # Now it holds a booking at that time: fair use refuses another, quietly.
    refused = seen_by_visitor(app.test_client(), path)

    assert new[0] == 302
    assert new[1] == "/book/confirmation"
    assert new[5] == 200
    assert "Grace Hopper" in new[6]
    assert "Set a password" in new[6]
    assert known == new
    assert refused == new
    # Behind the identical pages: one customer, the second booking made, the third not.
    assert [c.id for c in rows(app, Customer)] == [guest.id]
    assert [(b.customer_id, b.status) for b in rows(app, Booking)] == [
        (guest.id, "cancelled"),
        (guest.id, "confirmed"),
    ]
    [not_made] = messages(app, "booking_not_made")
    assert not_made.recipient == "grace@example.com"
    assert "you already have a booking at that time" in not_made.body_text


def test_the_answer_to_mistakes_is_the_same_for_a_known_address(
    app: Flask, catalog: WebCatalog
) -> None:
    path = catalog.book_path(catalog.start())
    unknown = send_details(app.test_client(), path, phone="not a phone")
    make_customer(app, email="grace@example.com", first_name="Zebedee", last_name="Quux")
    known = send_details(app.test_client(), path, phone="not a phone")

    assert unknown.status_code == known.status_code == 422
    assert without_tokens(page(known)) == without_tokens(page(unknown))
    assert "Zebedee" not in page(known)
    assert "already" not in page(known)


def test_nothing_of_a_known_record_is_shown_through_book(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    make_customer(
        app,
        email="grace@example.com",
        first_name="Zebedee",
        last_name="Quux",
        phone="+442079460958",
    )
    path = catalog.book_path(catalog.start())

    answer = send_details(client, path)
    shown = [page(answer), page(client.get("/book/confirmation")), page(client.get(path))]

    assert answer.status_code == 302
    for html in shown:
        assert "Zebedee" not in html
        assert "Quux" not in html
        assert "7946" not in html  # the stored phone, in any spelling
        assert "/bookings/" not in html  # the manage link shows the record: mail only


# --- the record stays until the owner confirms ----------------------------------------------


def test_a_returning_booking_leaves_the_record_until_the_changes_link_is_used(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(
        app,
        email="grace@example.com",
        first_name="Ada",
        last_name="Lovelace",
        phone="+442079460958",
        status="pending",
    )

    answer = send_details(
        client,
        catalog.book_path(catalog.start()),
        email="GRACE@Example.com",
        phone="+44 20 7946 0000",
    )

    assert answer.status_code == 302
    [booking] = rows(app, Booking)
    assert booking.customer_id == owner
    stored = customer(app, owner)
    assert (stored.first_name, stored.last_name, stored.phone, stored.status) == (
        "Ada",
        "Lovelace",
        "+442079460958",
        "pending",
    )
    # The confirmation goes to the stored address, listing what would change.
    [confirmation] = messages(app, "booking_confirmation")
    assert confirmation.recipient == "grace@example.com"
    assert confirmation.customer_id == owner
    assert "Confirm your changes" in confirmation.body_text
    assert "First name: Grace" in confirmation.body_text
    assert "Last name: Hopper" in confirmation.body_text
    assert "Phone: +44 20 7946 0000" in confirmation.body_text  # as people write it
    assert "+442079460000" not in confirmation.body_text
    assert "Confirm my changes" in confirmation.body_html
    link = changes_path(confirmation)

    # Opening the link (a mail scanner would) shows the changes and changes nothing.
    opened = client.get(link)
    assert opened.status_code == 200
    html = page(opened)
    assert "Confirm your changes" in html
    assert "Grace" in html
    assert "Yes, update my details" in html
    assert "+44 20 7946 0958" in html  # the stored phone, written as people write it
    assert "+44 20 7946 0000" in html
    assert "+4420794600" not in html
    assert customer(app, owner).first_name == "Ada"

    # A fresh browser (no sign-in: the link proves the address) confirms.
    other = app.test_client()
    done = other.post(link, data={"csrf_token": csrf_token(other, link)})
    assert done.status_code == 200
    assert "Your details are updated" in page(done)
    assert "Hopper" in page(done)
    stored = customer(app, owner)
    assert (stored.first_name, stored.last_name, stored.phone, stored.status) == (
        "Grace",
        "Hopper",
        "+442079460000",
        "active",  # the link proved the address
    )

    # Once only.
    token = csrf_token(client, "/sign-in")
    again = client.post(link, data={"csrf_token": token})
    assert again.status_code == 404
    assert "This link does not work" in page(again)
    assert client.get(link).status_code == 404


def test_the_same_details_typed_again_propose_nothing(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    make_customer(app, email="grace@example.com", first_name="Grace", last_name="Hopper")

    assert send_details(client, catalog.book_path(catalog.start())).status_code == 302

    [confirmation] = messages(app, "booking_confirmation")
    assert "Confirm your changes" not in confirmation.body_text
    assert "/account/changes/" not in confirmation.body_text
    assert rows(app, CustomerToken) == []


def test_the_changes_link_checks_the_values_again_when_used(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    with app.app_context(), unit_of_work():
        db.session.add(
            CustomFieldDefinition(
                key="heard_from",
                label="How did you hear of us?",
                type="select",
                required=True,
                options=[
                    {"value": "friend", "label": "A friend"},
                    {"value": "search", "label": "A web search"},
                ],
            )
        )
    owner = make_customer(
        app,
        email="grace@example.com",
        first_name="Grace",
        last_name="Hopper",
        custom_fields={"heard_from": "friend"},
    )
    path = catalog.book_path(catalog.start())
    assert send_details(client, path, cf_heard_from="search").status_code == 302
    [confirmation] = messages(app, "booking_confirmation")
    assert "How did you hear of us?: A web search" in confirmation.body_text
    link = changes_path(confirmation)
    # Before the link is used, the business stops offering that answer.
    with app.app_context(), unit_of_work():
        definition = db.session.execute(select(CustomFieldDefinition)).scalar_one()
        definition.options = [{"value": "friend", "label": "A friend"}]

    refused = client.post(link, data={"csrf_token": csrf_token(client, link)})

    assert refused.status_code == 422
    assert "These changes could not be made" in page(refused)
    assert customer(app, owner).custom_fields == {"heard_from": "friend"}
    assert client.get(link).status_code == 200  # nothing was spent by the refusal


def test_an_inactive_customer_books_and_stays_inactive(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(app, email="grace@example.com", first_name="Ada", status="inactive")

    assert send_details(client, catalog.book_path(catalog.start())).status_code == 302

    [booking] = rows(app, Booking)
    assert booking.customer_id == owner
    link = changes_path(messages(app, "booking_confirmation")[0])
    client.post(link, data={"csrf_token": csrf_token(client, link)})
    stored = customer(app, owner)
    assert (stored.first_name, stored.status) == ("Grace", "inactive")


# --- fair use, quietly ------------------------------------------------------------------------


def test_a_full_day_of_a_known_address_is_refused_quietly_and_told_by_mail(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    app.config["MAX_BOOKINGS_PER_DAY"] = 1
    owner = make_customer(app, email="grace@example.com", first_name="Ada")
    with app.app_context(), unit_of_work():
        book(owner, catalog.service, catalog.location, None, catalog.start(hour=9))
    path = catalog.book_path(catalog.start(hour=15))

    answer = send_details(client, path)
    again = send_details(app.test_client(), path)

    assert answer.status_code == again.status_code == 302
    assert len(rows(app, Booking)) == 1
    # One message however often it is asked: the owner is told, not flooded.
    [not_made] = messages(app, "booking_not_made")
    assert not_made.recipient == "grace@example.com"
    assert "as many bookings on that day as one person can make (1)" in not_made.body_text
    assert customer(app, owner).first_name == "Ada"


def test_a_signed_in_customer_still_hears_the_fair_use_refusal(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(app)
    start = catalog.start()
    with app.app_context(), unit_of_work():
        book(owner, catalog.service, catalog.location, None, start)
    sign_in(client)
    path = catalog.book_path(start)

    refused = client.post(path, data={"csrf_token": csrf_token(client, path)})

    assert refused.status_code == 409
    assert "You already have a booking at this time" in page(refused)


# --- the set-password offer ---------------------------------------------------------------------


def test_the_password_offer_to_a_known_address_never_touches_the_record(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(app, email="grace@example.com", first_name="Ada")
    before = customer(app, owner).password_hash
    send_details(client, catalog.book_path(catalog.start()))
    token = csrf_token(client, "/book/confirmation")  # the offer is shown, as for a new one

    mismatched = client.post(
        "/book/confirmation",
        data={"csrf_token": token, "password": "another password", "confirm_password": "x"},
    )
    chosen = client.post(
        "/book/confirmation",
        data={"csrf_token": token, "password": PASSWORD * 2, "confirm_password": PASSWORD * 2},
    )

    assert mismatched.status_code == 422
    assert chosen.status_code == 302
    assert customer(app, owner).password_hash == before
    # The owner is sent a reset link instead; the visitor is told so, and is not signed in.
    [reset] = messages(app, "password_reset")
    assert reset.recipient == "grace@example.com"
    shown = page(client.get(chosen.headers["Location"]))
    assert "We have sent a link to grace@example.com" in shown
    assert client.get("/account").status_code == 302


def test_the_known_address_password_offer_sends_the_owner_a_reset_link(
    app: Flask, catalog: WebCatalog
) -> None:
    owner = make_customer(app, email="grace@example.com", first_name="Ada")
    with app.test_request_context(), unit_of_work():
        service = db.session.get(Service, catalog.service)
        location = db.session.get(Location, catalog.location)
        assert service is not None
        assert location is not None
        requested = BookedRequest(
            service, location, None, catalog.start(), "Grace", "Hopper", "grace@example.com"
        )
        password_offer_for_known_address(requested)

    [reset] = messages(app, "password_reset")
    assert reset.recipient == "grace@example.com"
    assert reset.customer_id == owner
    [row] = rows(app, CustomerToken)
    assert row.purpose == tokens.PASSWORD_RESET


def test_sending_the_form_again_is_answered_alike_for_a_made_and_a_refused_booking(
    app: Flask, catalog: WebCatalog
) -> None:
    start = catalog.start()
    path = catalog.book_path(start).replace("agent=any", f"agent={catalog.agents[0]}")

    def twice(email: str) -> tuple[Any, ...]:
        visitor = app.test_client()
        token = csrf_token(visitor, path)
        form = {**TYPED, "email": email, "csrf_token": token}
        first = visitor.post(path, data=form)
        again = visitor.post(path, data=form)  # the browser's history, a double click
        shown = without_tokens(page(visitor.get("/book/confirmation")))
        return first.status_code, again.status_code, again.headers.get("Location"), shown

    # A known address that holds a booking at that time (with the other agent): refused
    # quietly, and the time stays free for the chosen agent.
    owner = make_customer(app, email="ada@example.com", first_name="Ada")
    with app.app_context(), unit_of_work():
        book(owner, catalog.service, catalog.location, catalog.agents[1], start)
    refused = twice("ada@example.com")
    made = twice("grace@example.com")  # a new address: booked, the time is gone

    assert made[:3] == refused[:3] == (302, 303, "/book/confirmation")
    assert made[3].replace("grace@example.com", "ada@example.com") == refused[3]
    assert "You have sent this booking already" in refused[3]
    assert len(rows(app, Booking)) == 2


def test_signing_in_after_typing_someone_elses_address_shows_nothing_of_theirs(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    make_customer(app, email="grace@example.com", first_name="Zebedee", password=None)
    make_customer(app, email="mallory@example.com", first_name="Mallory")
    send_details(client, catalog.book_path(catalog.start()))

    sign_in(client, "mallory@example.com")
    after = client.get("/book/confirmation", follow_redirects=True)

    assert "Zebedee" not in page(after)
    assert "Booking confirmed" not in page(after)


def offer_password(client: FlaskClient, address: str = "127.0.0.1") -> Any:
    """The set-password offer on the confirmation page, accepted (a valid password)."""
    token = csrf_token(client, "/book/confirmation")
    data = {"csrf_token": token, "password": PASSWORD * 2, "confirm_password": PASSWORD * 2}
    return client.post("/book/confirmation", data=data, environ_base={"REMOTE_ADDR": address})


def test_the_password_offer_mails_the_owner_once_per_booked_request(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(app, email="grace@example.com", first_name="Ada")
    send_details(client, catalog.book_path(catalog.start()))
    with client.session_transaction() as session:
        cookie = dict(session)

    answers = [offer_password(client) for _ in range(6)]
    # The same cookie replayed from another browser is the same booked request.
    replayed = app.test_client()
    with replayed.session_transaction() as session:
        session.update(cookie)
    answers.append(offer_password(replayed))

    assert {(a.status_code, a.headers["Location"]) for a in answers} == {
        (302, "/book/confirmation")
    }
    [reset] = messages(app, "password_reset")
    assert reset.recipient == "grace@example.com"
    # The one link sent still works: the later offers issued no token that would void it.
    [row] = [r for r in rows(app, CustomerToken) if r.purpose == tokens.PASSWORD_RESET]
    assert (row.customer_id, row.purpose, row.used_at) == (owner, tokens.PASSWORD_RESET, None)
    reset_link = re.search(r"/password/reset/[A-Za-z0-9_\-]+", reset.body_text)
    assert reset_link
    assert client.get(reset_link.group(0)).status_code == 200


def test_password_offers_sent_at_once_mail_the_owner_once(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    make_customer(app, email="grace@example.com", first_name="Ada")
    send_details(client, catalog.book_path(catalog.start()))
    with client.session_transaction() as session:
        cookie = dict(session)
    token = csrf_token(client, "/book/confirmation")
    data = {"csrf_token": token, "password": PASSWORD * 2, "confirm_password": PASSWORD * 2}
    browsers = []
    for _ in range(4):  # the one cookie, replayed from several browsers at once
        browser = app.test_client()
        with browser.session_transaction() as session:
            session.update(cookie)
        browsers.append(browser)
    statuses: list[int] = []
    start = threading.Barrier(len(browsers))

    def press(browser: FlaskClient) -> None:
        start.wait()
        answer = browser.post("/book/confirmation", data=data)
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=press, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [302] * len(browsers)
    [reset] = messages(app, "password_reset")
    mailed = re.search(r"/password/reset/([A-Za-z0-9_\-]+)", reset.body_text)
    assert mailed
    resets = [r for r in rows(app, CustomerToken) if r.purpose == tokens.PASSWORD_RESET]
    # The one link mailed is the one that works.
    assert [(r.token_hash, r.used_at) for r in resets] == [(tokens.token_hash(mailed[1]), None)]


def test_the_password_offer_mails_an_inactive_owner_nothing_and_answers_alike(
    app: Flask, catalog: WebCatalog
) -> None:
    make_customer(app, email="ada@example.com", first_name="Ada")
    make_customer(app, email="grace@example.com", first_name="Zebedee", status="inactive")
    path = catalog.book_path(catalog.start())

    def offered(email: str) -> tuple[Any, ...]:
        visitor = app.test_client()
        send_details(visitor, path, email=email)
        answer = offer_password(visitor)
        shown = without_tokens(page(visitor.get(answer.headers["Location"])))
        return answer.status_code, answer.headers["Location"], shown.replace(email, "…")

    active, inactive = offered("ada@example.com"), offered("grace@example.com")

    assert inactive == active
    assert "We have sent a link to …" in active[2]
    # Only the active owner was mailed a link; the inactive one could not use it.
    assert [m.recipient for m in messages(app, "password_reset")] == ["ada@example.com"]
    resets = [r for r in rows(app, CustomerToken) if r.purpose == tokens.PASSWORD_RESET]
    assert len(resets) == 1


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "2/minute"}])
def test_the_password_offer_spends_the_addresss_per_email_budget(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    make_customer(app, email="grace@example.com", first_name="Ada")
    send_details(client, catalog.book_path(catalog.start()))

    # The offer has no email field; each try comes from its own network.
    statuses = [offer_password(client, f"203.0.113.{n}").status_code for n in range(1, 4)]

    assert statuses == [302, 302, 429]  # the third is over the address's budget
    assert "Too many attempts" in page(offer_password(client, "203.0.113.9"))


def test_a_strangers_booking_leaves_the_owners_changes_link_working(
    app: Flask, catalog: WebCatalog
) -> None:
    owner = make_customer(app, email="grace@example.com", first_name="Ada", last_name="Hopper")
    send_details(app.test_client(), catalog.book_path(catalog.start(hour=9)))  # the owner
    send_details(  # someone else with the address, an hour later
        app.test_client(), catalog.book_path(catalog.start(hour=11)), first_name="Mallory"
    )

    first, second = (changes_path(m) for m in messages(app, "booking_confirmation"))
    visitor = app.test_client()
    assert visitor.get(second).status_code == 200
    done = visitor.post(first, data={"csrf_token": csrf_token(visitor, first)})

    assert done.status_code == 200
    assert customer(app, owner).first_name == "Grace"
    assert visitor.get(second).status_code == 200  # each booking's link stands on its own


def test_the_changes_page_and_message_do_not_assume_the_owner_booked(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    make_customer(app, email="grace@example.com", first_name="Ada")
    send_details(client, catalog.book_path(catalog.start()), phone="+447400123456")

    [confirmation] = messages(app, "booking_confirmation")
    link = changes_path(confirmation)
    shown = page(client.get(link))

    for text in (confirmation.body_text, confirmation.body_html, shown):
        assert "Someone booking with your email address typed these details" in text
        assert "Not you? Do nothing: nothing changes unless you" in text
        assert "When you last booked" not in text
        assert "+44 7400 123456" in text  # as people write it, not as stored
        assert "+447400123456" not in text
    assert "If it was you, confirm" in shown


class Clock:
    """The app's ``CLOCK``, set apart from the wall clock so a mixed reading shows."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_the_changes_link_lives_seven_days_on_the_apps_clock(
    app: Flask, catalog: WebCatalog
) -> None:
    # Ten days behind the wall clock: a link issued on the wall clock would still work on
    # the eighth day of this one.
    clock = Clock(utcnow() - timedelta(days=10))
    app.config["CLOCK"] = clock
    booked_at = clock.at
    owner = make_customer(app, email="grace@example.com", first_name="Ada")
    for hour in (9, 11):
        visitor = app.test_client()
        assert send_details(visitor, catalog.book_path(catalog.start(hour=hour))).status_code == 302
    first, second = (changes_path(m) for m in messages(app, "booking_confirmation"))
    assert {row.created_at.replace(tzinfo=None) for row in rows(app, CustomerToken)} == {
        booked_at.replace(tzinfo=None)
    }

    visitor = app.test_client()
    clock.at = booked_at + timedelta(days=6)
    token = csrf_token(visitor, first)
    assert visitor.post(first, data={"csrf_token": token}).status_code == 200
    assert customer(app, owner).first_name == "Grace"

    clock.at = booked_at + timedelta(days=8)
    assert visitor.get(second).status_code == 404
    assert visitor.post(second, data={"csrf_token": token}).status_code == 404
