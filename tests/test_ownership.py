"""Owning an address (SPEC section 9): nobody gets an account under an email they cannot read.

A web registration, and a password set after a guest booking, are ``pending`` until a link
from the address is used: the browser that made them stays signed in, the password signs in
nowhere else. The owner's password reset takes such an account back (every other session
ends, a copied cookie too). Any link used from the address makes a pending customer active.
Each test runs on SQLite and PostgreSQL; the messages are read from the outbox rows.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.web.auth import CONFIRM_EMAIL_FIRST, WRONG_CREDENTIALS

from .test_recovery import (
    NEW_PASSWORD,
    ask,
    customer_row,
    form_fields,
    latest_link,
    link_in,
    messages,
    press,
    reset_password,
    signed_in_as,
)
from .web_support import (
    PASSWORD,
    WebCatalog,
    build_web_catalog,
    csrf_token,
    make_customer,
    page,
    sign_in,
)

VICTIM = "victim@example.com"
REGISTRATION = {
    "first_name": "Mallory",
    "last_name": "Stone",
    "email": VICTIM,
    "country": "GB",
    "password": PASSWORD,
    "confirm_password": PASSWORD,
}


def register(client: FlaskClient, **overrides: str) -> Any:
    data = {**REGISTRATION, **overrides, **form_fields(client, "/register")}
    return client.post("/register", data=data)


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_registration_is_pending_signed_in_here_and_sends_the_confirmation(
    app: Flask, client: FlaskClient
) -> None:
    response = register(client)
    assert (response.status_code, response.headers["Location"]) == (302, "/account")
    assert customer_row(app, VICTIM).status == "pending"
    assert signed_in_as(client) == "Mallory"  # the registering browser stays signed in
    [message] = messages(app)  # one message to an address that may not be theirs
    assert (message.kind, message.recipient) == ("email_confirmation", VICTIM)
    assert "/confirm-email/" in link_in(message)
    assert "7 days" in message.body_text


def test_registering_someone_else_s_address_gives_no_way_in_elsewhere(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant)

    # Another browser, the right password: not signed in; asked to confirm, a new link sent
    # (to the address, which the registrant cannot read).
    elsewhere = app.test_client()
    response = sign_in(elsewhere, VICTIM, PASSWORD)
    assert (response.status_code, response.headers["Location"]) == (303, "/confirm-email/sent")
    landing = page(elsewhere.get(response.headers["Location"]))
    assert "Check your email" in landing
    assert CONFIRM_EMAIL_FIRST in landing  # said after the right password only
    assert signed_in_as(elsewhere) is None
    confirmations = messages(app, "email_confirmation")
    assert [m.recipient for m in confirmations] == [VICTIM, VICTIM]

    # A wrong password is told exactly what an unknown address is told, and sends nothing.
    wrong = sign_in(app.test_client(), VICTIM, "not the password")
    unknown = sign_in(app.test_client(), "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 422
    assert WRONG_CREDENTIALS in page(wrong)
    assert CONFIRM_EMAIL_FIRST not in page(wrong)
    assert len(messages(app)) == 2

    # Signed out, the registrant cannot come back with the password either.
    registrant.post("/sign-out", data={"csrf_token": csrf_token(registrant, "/")})
    assert signed_in_as(registrant) is None
    assert sign_in(registrant, VICTIM, PASSWORD).headers["Location"] == "/confirm-email/sent"
    assert signed_in_as(registrant) is None
    assert customer_row(app, VICTIM).status == "pending"


def test_the_owner_s_reset_takes_the_account_back(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant)
    copied = copy_of(app, registrant)
    assert signed_in_as(copied) == "Mallory"  # a copy of the cookie works, until…

    owner = app.test_client()
    ask(owner, "/password/forgot", VICTIM)
    [reset] = messages(app, "password_reset")
    assert reset.recipient == VICTIM
    assert reset_password(owner, link_in(reset)).status_code == 303

    assert signed_in_as(owner) == "Mallory"  # the name is the owner's to change at /account
    assert customer_row(app, VICTIM).status == "active"
    # Every other session ended: the registrant's browser and the copy of its cookie.
    assert signed_in_as(registrant) is None
    assert signed_in_as(copied) is None
    # The registrant's password is gone; the owner's works anywhere.
    assert sign_in(app.test_client(), VICTIM, PASSWORD).status_code == 422
    assert sign_in(app.test_client(), VICTIM, NEW_PASSWORD).status_code == 302


def test_the_confirmation_link_makes_the_account_active_and_signs_in(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant, first_name="Zoë", email="zoe@example.com")
    path = latest_link(app, "email_confirmation")

    other = app.test_client()
    shown = other.get(path)
    assert shown.status_code == 200
    assert "Confirm my email address" in page(shown)
    assert 'href="/password/forgot"' in page(shown)  # not yours? take it back instead
    assert customer_row(app, "zoe@example.com").status == "pending"  # the page alone: nothing

    confirmed = press(other, path)
    assert (confirmed.status_code, confirmed.headers["Location"]) == (303, "/account")
    assert signed_in_as(other) == "Zoë"
    assert customer_row(app, "zoe@example.com").status == "active"
    assert signed_in_as(registrant) == "Zoë"  # the registering browser keeps its session
    # The account is ready now, and says so (once).
    [welcome] = messages(app, "welcome")
    assert welcome.recipient == "zoe@example.com"
    assert other.get(path).status_code == 410
    assert sign_in(app.test_client(), "zoe@example.com", PASSWORD).status_code == 302


def test_a_sign_in_link_proves_the_address_too(app: Flask) -> None:
    make_customer(app, status="pending")
    browser = app.test_client()
    ask(browser, "/sign-in/link", "ada@example.com")
    assert press(browser, latest_link(app, "sign_in_link")).status_code == 303
    assert customer_row(app).status == "active"
    assert sign_in(app.test_client()).status_code == 302


def test_a_fresh_confirmation_link_voids_the_older(app: Flask) -> None:
    register(app.test_client())
    first = latest_link(app, "email_confirmation")
    sign_in(app.test_client(), VICTIM, PASSWORD)
    second = latest_link(app, "email_confirmation")
    assert first != second
    browser = app.test_client()
    assert browser.get(first).status_code == 410
    assert press(browser, second).status_code == 303


@pytest.fixture
def catalog(app: Flask) -> WebCatalog:
    return build_web_catalog(app)


def test_a_password_set_after_booking_is_pending_until_confirmed(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    path = catalog.book_path(catalog.start())
    guest = {"first_name": "Mallory", "last_name": "Stone", "email": VICTIM}
    booked = client.post(path, data={**guest, "csrf_token": csrf_token(client, path)})
    assert booked.headers["Location"].endswith("/book/confirmation")
    assert messages(app, "email_confirmation") == []  # booking alone proves nothing
    token = csrf_token(client, "/book/confirmation")
    response = client.post(
        "/book/confirmation",
        data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/account")
    customer = customer_row(app, VICTIM)
    assert (customer.is_guest, customer.status) == (False, "pending")
    assert signed_in_as(client) == "Mallory"
    assert [m.recipient for m in messages(app, "email_confirmation")] == [VICTIM]

    # Nowhere else, until the address is confirmed.
    elsewhere = app.test_client()
    assert sign_in(elsewhere, VICTIM, PASSWORD).headers["Location"] == "/confirm-email/sent"
    assert signed_in_as(elsewhere) is None
    assert press(elsewhere, latest_link(app, "email_confirmation")).status_code == 303
    assert sign_in(app.test_client(), VICTIM, PASSWORD).status_code == 302


def test_registering_a_guest_s_address_sends_its_owner_a_way_in(app: Flask) -> None:
    make_customer(app, password=None, is_guest=True, email=VICTIM, first_name="Olive")
    stranger = app.test_client()
    response = register(stranger)
    assert (response.status_code, response.headers["Location"]) == (303, "/sign-in/link/sent")
    assert signed_in_as(stranger) is None
    guest = customer_row(app, VICTIM)
    assert (guest.first_name, guest.password_hash, guest.is_guest) == ("Olive", None, True)
    [link] = messages(app)
    assert (link.kind, link.recipient) == ("sign_in_link", VICTIM)

    # The owner follows it to the account.
    owner = app.test_client()
    signed = press(owner, link_in(link))
    assert (signed.status_code, signed.headers["Location"]) == (303, "/account")
    assert signed_in_as(owner) == "Olive"


def test_an_account_holder_s_address_is_still_offered_the_sign_in(app: Flask) -> None:
    make_customer(app, email=VICTIM)
    response = register(app.test_client())
    assert response.status_code == 422
    assert "This email address is already registered." in page(response)
    assert 'href="/sign-in?next=/account"' in page(response)
    assert messages(app) == []


def test_an_inactive_guest_s_address_gets_nothing_and_the_same_answer(app: Flask) -> None:
    make_customer(app, password=None, is_guest=True, email=VICTIM, status="inactive")
    response = register(app.test_client())
    assert (response.status_code, response.headers["Location"]) == (303, "/sign-in/link/sent")
    assert messages(app) == []
