"""Owning an address (SPEC section 9): nobody gets an account under an email they cannot read.

A web registration, and a password set after a guest booking, are ``pending`` until a link
from the address is used: the browser that made them stays signed in, the password signs in
nowhere else. The owner's password reset takes such an account back (every other session
ends, a copied cookie too, and every link the registrant asked for). Any link used from the
address makes a pending customer active, but only the registrant's own confirmation (their
session, or their password on the confirmation page) keeps the registrant's password: a
sign-in or confirm-changes link ends every session and the password goes. Until then the
registrant sees no bookings (the owner's may be attached) and cannot change the account.
Each test runs on SQLite and PostgreSQL; the messages are read from the outbox rows.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.accounts import tokens
from latepoint_forms.clock import now
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.account_pending import CONFIRM_FIRST, CONFIRM_TO_SEE_BOOKINGS
from latepoint_forms.web.auth import CONFIRM_EMAIL_FIRST, WRONG_CREDENTIALS
from latepoint_forms.web.recovery import NOT_THE_REGISTRANT

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
    field_error,
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


def change_link(app: Flask, customer_id: int, to: str) -> str:
    """An email-change link of the customer's, as /account/email mails it to ``to``."""
    with app.app_context(), unit_of_work():
        return tokens.issue_token(customer_id, tokens.CHANGE_EMAIL, now(), payload={"email": to})


def apply_change(client: FlaskClient, token: str) -> Any:
    return client.post(
        f"/account/email/{token}", data={"csrf_token": csrf_token(client, "/sign-in")}
    )


@pytest.mark.parametrize("way_back", ["reset", "sign_in_link"])
def test_the_registrant_s_email_change_link_dies_when_the_owner_takes_the_account_back(
    app: Flask, way_back: str
) -> None:
    registrant = app.test_client()
    register(registrant)
    victim_id = customer_row(app, VICTIM).id
    # The registrant of the owner's address cannot ask to move it while it is pending…
    asked = registrant.get("/account/email")
    assert (asked.status_code, asked.headers["Location"]) == (303, "/account")
    # …and a link asked for before that rule (or by any other way) dies with the takeover.
    kept = change_link(app, victim_id, "mallory@evil.example")

    owner = app.test_client()
    if way_back == "reset":
        ask(owner, "/password/forgot", VICTIM)
        assert reset_password(owner, latest_link(app, "password_reset")).status_code == 303
    else:
        ask(owner, "/sign-in/link", VICTIM)
        assert press(owner, latest_link(app, "sign_in_link")).status_code == 303
    assert signed_in_as(registrant) is None

    fresh = app.test_client()  # the registrant, from a browser never signed in
    assert fresh.get(f"/account/email/{kept}").status_code == 410
    assert apply_change(fresh, kept).status_code == 410
    victim = customer_row(app, VICTIM)
    assert (victim.email, victim.status) == (VICTIM, "active")
    assert messages(app, "email_changed") == []


def test_the_confirmation_link_makes_the_account_active_and_signs_in(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant, first_name="Zoë", email="zoe@example.com")
    path = latest_link(app, "email_confirmation")

    # In the registering browser, the link confirms at once: its session shows who registered.
    shown = registrant.get(path)
    assert shown.status_code == 200
    assert "Confirm my email address" in page(shown)
    assert 'id="password"' not in page(shown)
    assert 'href="/password/forgot"' in page(shown)  # not yours? take it back instead
    assert "Did not ask for this? Do nothing" in page(shown)
    zoe = customer_row(app, "zoe@example.com")
    assert zoe.customer_code in page(shown)  # the account it confirms, named
    assert zoe.status == "pending"  # the page alone: nothing

    confirmed = press(registrant, path)
    assert (confirmed.status_code, confirmed.headers["Location"]) == (303, "/account")
    assert signed_in_as(registrant) == "Zoë"
    assert customer_row(app, "zoe@example.com").status == "active"
    # The account is ready now, and says so (once).
    [welcome] = messages(app, "welcome")
    assert welcome.recipient == "zoe@example.com"
    assert registrant.get(path).status_code == 410
    assert sign_in(app.test_client(), "zoe@example.com", PASSWORD).status_code == 302


def test_elsewhere_the_confirmation_asks_for_the_registrant_s_password(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant, first_name="Zoë", email="zoe@example.com")
    path = latest_link(app, "email_confirmation")

    other = app.test_client()  # the mail app on a phone, or the address's real owner
    assert 'id="password"' in page(other.get(path))
    for typed in ("", "not the password"):
        refused = press(other, path, password=typed)
        assert refused.status_code == 422
        assert field_error(page(refused), "password")
        assert customer_row(app, "zoe@example.com").status == "pending"  # the link unspent
    assert field_error(page(refused), "password") == NOT_THE_REGISTRANT
    assert 'href="/password/forgot"' in page(refused)
    assert signed_in_as(other) is None

    confirmed = press(other, path, password=PASSWORD)
    assert (confirmed.status_code, confirmed.headers["Location"]) == (303, "/account")
    assert signed_in_as(other) == "Zoë"
    assert customer_row(app, "zoe@example.com").status == "active"
    assert signed_in_as(registrant) == "Zoë"  # the registering browser keeps its session
    assert len(messages(app, "welcome")) == 1
    assert other.get(path).status_code == 410


def test_a_sign_in_link_proves_the_address_and_the_registrant_s_password_goes(
    app: Flask,
) -> None:
    registrant = app.test_client()
    register(registrant)
    copied = copy_of(app, registrant)
    confirmation = latest_link(app, "email_confirmation")

    # The owner of the address signs in by link: they read the mailbox, nothing more.
    owner = app.test_client()
    ask(owner, "/sign-in/link", VICTIM)
    assert press(owner, latest_link(app, "sign_in_link")).status_code == 303
    assert signed_in_as(owner) == "Mallory"  # the name is the owner's to change at /account
    victim = customer_row(app, VICTIM)
    assert (victim.status, victim.password_hash, victim.is_guest) == ("active", None, False)
    # The registrant is out, everywhere, and their password signs in nowhere.
    assert signed_in_as(registrant) is None
    assert signed_in_as(copied) is None
    assert sign_in(app.test_client(), VICTIM, PASSWORD).status_code == 422
    # The confirmation of a password that is gone does nothing any more.
    assert app.test_client().get(confirmation).status_code == 410
    assert messages(app, "welcome") == []  # nobody made an account

    # The owner may choose a password, as a guest does, without a current one.
    html = page(owner.get("/account/password"))
    assert 'id="current_password"' not in html
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert token
    chosen = owner.post(
        "/account/password",
        data={"csrf_token": token[1], "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert chosen.status_code == 302
    assert sign_in(app.test_client(), VICTIM, NEW_PASSWORD).status_code == 302


def test_a_fresh_confirmation_link_voids_the_older(app: Flask) -> None:
    register(app.test_client())
    first = latest_link(app, "email_confirmation")
    sign_in(app.test_client(), VICTIM, PASSWORD)
    second = latest_link(app, "email_confirmation")
    assert first != second
    browser = app.test_client()
    assert browser.get(first).status_code == 410
    assert press(browser, second, password=PASSWORD).status_code == 303


def test_a_reset_voids_every_link_of_the_customer(app: Flask) -> None:
    customer_id = make_customer(app)
    with app.app_context(), unit_of_work():
        outstanding = {
            purpose: tokens.issue_token(customer_id, purpose, now())
            for purpose in tokens.LIFETIMES
            if purpose != tokens.PASSWORD_RESET
        }
    owner = app.test_client()
    ask(owner, "/password/forgot", "ada@example.com")
    assert reset_password(owner, latest_link(app, "password_reset")).status_code == 303
    with app.app_context():
        for purpose, token in outstanding.items():
            assert tokens.find_token(token, purpose, now()) is None, purpose


def test_a_pending_change_link_is_a_dead_link(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant)
    token = change_link(app, customer_row(app, VICTIM).id, "mallory@evil.example")
    assert registrant.get(f"/account/email/{token}").status_code == 410
    assert apply_change(registrant, token).status_code == 410
    assert customer_row(app, VICTIM).status == "pending"
    assert messages(app, "email_changed") == []


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
    confirmation = latest_link(app, "email_confirmation")
    assert press(elsewhere, confirmation, password=PASSWORD).status_code == 303
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


def book_anonymously(app: Flask, catalog: WebCatalog, email: str = VICTIM) -> Booking:
    """The owner of ``email`` books at /book in a browser of theirs, not signed in."""
    browser = app.test_client()
    path = catalog.book_path(catalog.start())
    owner = {"first_name": "Olive", "last_name": "Owner", "email": email}
    booked = browser.post(path, data={**owner, "csrf_token": csrf_token(browser, path)})
    assert booked.headers["Location"].endswith("/book/confirmation")
    with app.app_context():
        booking = db.session.execute(select(Booking)).scalar_one()
        db.session.expunge(booking)
        return booking


def test_a_pending_registrant_sees_and_manages_none_of_the_owner_s_bookings(
    app: Flask, catalog: WebCatalog
) -> None:
    registrant = app.test_client()
    register(registrant)
    booking = book_anonymously(app, catalog)
    assert booking.customer_id == customer_row(app, VICTIM).id  # attached to the pending record

    account = page(registrant.get("/account"))
    assert CONFIRM_TO_SEE_BOOKINGS in account
    assert "Send the link again" in account
    assert booking.booking_code not in account
    assert "Cancel" not in account
    assert "Reschedule" not in account
    assert "/bookings/" not in account  # no manage link either
    cancel_path = f"/account/bookings/{booking.id}/cancel"
    assert registrant.get(cancel_path).status_code == 404
    token = csrf_token(registrant, "/account")
    assert registrant.post(cancel_path, data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(Booking, booking.id).status == "confirmed"  # type: ignore[union-attr]
    # Nor can the account be changed while nothing is proven.
    for path in ("/account/profile", "/account/email", "/account/password"):
        refused = registrant.get(path)
        assert (refused.status_code, refused.headers["Location"]) == (303, "/account"), path
    assert CONFIRM_FIRST in page(registrant.get("/account"))

    # Once confirmed (by the one who registered), the bookings of the address show.
    assert press(registrant, latest_link(app, "email_confirmation")).status_code == 303
    account = page(registrant.get("/account"))
    assert booking.booking_code in account
    assert CONFIRM_TO_SEE_BOOKINGS not in account
    assert registrant.get(cancel_path).status_code == 200


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "2/minute"}])
def test_the_banner_sends_the_confirmation_again_within_the_web_limits(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant)
    first = latest_link(app, "email_confirmation")
    statuses = []
    for _ in range(3):
        token = csrf_token(registrant, "/account")
        response = registrant.post("/account/confirmation-link", data={"csrf_token": token})
        statuses.append(response.status_code)
        if response.status_code == 303:
            assert f"We have sent the confirmation link again to {VICTIM}." in page(
                registrant.get(response.headers["Location"])
            )
    assert statuses == [303, 303, 429]
    confirmations = messages(app, "email_confirmation")
    assert [m.recipient for m in confirmations] == [VICTIM] * 3
    assert app.test_client().get(first).status_code == 410  # only the newest works


CHANGES_LINK = re.compile(r"https?://[^\s<>\"]+(/account/changes/[A-Za-z0-9_\-]+)")


def test_a_confirm_changes_link_takes_a_pending_account_back_too(
    app: Flask, catalog: WebCatalog
) -> None:
    registrant = app.test_client()
    register(registrant)
    # The owner books with their own name: the confirmation to the address carries the link.
    book_anonymously(app, catalog)
    [confirmation] = [m for m in messages(app) if CHANGES_LINK.search(m.body_text)]
    path = CHANGES_LINK.search(confirmation.body_text)[1]  # type: ignore[index]
    owner = app.test_client()
    assert press(owner, path).status_code == 200
    victim = customer_row(app, VICTIM)
    assert (victim.first_name, victim.status) == ("Olive", "active")
    assert (victim.password_hash, victim.is_guest) == (None, False)
    assert signed_in_as(registrant) is None
    assert sign_in(app.test_client(), VICTIM, PASSWORD).status_code == 422


def test_a_saved_booking_cookie_cannot_take_back_an_account_the_owner_recovered(
    app: Flask, catalog: WebCatalog
) -> None:
    """Mallory books with the victim's address (a new guest), keeps that browser's cookie,
    sets a password (pending); the owner signs in by link (the account is theirs: active, no
    password). Replaying the saved cookie at the set-password offer must not make it
    Mallory's again."""
    attacker = app.test_client()
    path = catalog.book_path(catalog.start())
    guest = {"first_name": "Mallory", "last_name": "Stone", "email": VICTIM}
    booked = attacker.post(path, data={**guest, "csrf_token": csrf_token(attacker, path)})
    assert booked.headers["Location"].endswith("/book/confirmation")
    saved = attacker.get_cookie("session")
    assert saved is not None
    token = csrf_token(attacker, "/book/confirmation")
    offer = {"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD}
    assert attacker.post("/book/confirmation", data=offer).headers["Location"] == "/account"

    owner = app.test_client()
    ask(owner, "/sign-in/link", VICTIM)
    assert press(owner, latest_link(app, "sign_in_link")).status_code == 303
    assert customer_row(app, VICTIM).status == "active"

    replay = app.test_client()
    replay.set_cookie("session", saved.value)
    html = page(replay.get("/book/confirmation"))
    assert 'id="password"' in html  # the offer is shown to every visitor alike…
    again = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1],  # type: ignore[index]
        "password": "mallory's second try",
        "confirm_password": "mallory's second try",
    }
    answer = replay.post("/book/confirmation", data=again)
    assert answer.headers.get("Location") != "/account"  # …but no longer signs anyone in
    victim = customer_row(app, VICTIM)
    assert (victim.status, victim.password_hash) == ("active", None)
    assert signed_in_as(replay) is None
    assert signed_in_as(owner) == "Mallory"  # the owner's session stands


def test_a_pending_registrant_cannot_book_while_signed_in(app: Flask, catalog: WebCatalog) -> None:
    """Booking would answer with fair-use refusals that map the owner's bookings."""
    registrant = app.test_client()
    register(registrant)
    book_anonymously(app, catalog)
    path = catalog.book_path(catalog.start())
    answer = registrant.get(path)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/account")
    posted = registrant.post(path, data=form_fields(registrant, "/account"))
    assert (posted.status_code, posted.headers["Location"]) == (303, "/account")
    assert "Confirm your email address first" in page(registrant.get("/account"))
    with app.app_context():
        assert len(db.session.execute(select(Booking)).scalars().all()) == 1


def test_a_sign_in_link_tells_a_pending_registrant_that_the_password_went(app: Flask) -> None:
    registrant = app.test_client()
    register(registrant)
    ask(registrant, "/sign-in/link", VICTIM)
    answer = press(registrant, latest_link(app, "sign_in_link"))
    assert answer.status_code == 303
    assert "never confirmed, so it no longer works" in page(registrant.get("/account"))
