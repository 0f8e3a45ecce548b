"""The account's own changes (SPEC section 9, "Account") and the shorter registration (issue 11
items 4, 5 and 8). Each test runs on SQLite and PostgreSQL.

- /account/profile: the registration form's rules (one pass, errors beside the fields), only
  the signed-in customer's own record;
- /account/password: the current password first; every other session ends (a copied cookie
  stops working), this browser stays signed in; a guest without a password sets one;
- /account/email: a link to the new address, the old one in force until it is used, the link
  works once, an address that is someone else's gets the same answer and no message;
- /register: name, email, phone (with its country) and password up front, the rest behind a
  disclosure; the page asks to retype the password after a refusal.
"""

from __future__ import annotations

import re
import threading
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.accounts import tokens
from latepoint_forms.accounts.sessions import start_session
from latepoint_forms.clock import now
from latepoint_forms.extensions import db
from latepoint_forms.models import (
    Customer,
    CustomerSession,
    CustomerToken,
    CustomFieldDefinition,
    OutboxMessage,
)
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.auth import SESSION_TOKEN_KEY

from .web_support import PASSWORD, csrf_token, field_error, input_tag, make_customer, page, sign_in

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"https?://[^\s<>\"]+/account/email/([A-Za-z0-9_\-]+)")
CSRF = re.compile(r'name="csrf_token"[^>]*value="[^"]+"')


def customer(app: Flask, customer_id: int) -> Customer:
    with app.app_context():
        row = db.session.get(Customer, customer_id)
        assert row is not None
        db.session.expunge(row)
        return row


def outbox(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())
        for row in rows:
            db.session.expunge(row)
        return rows


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/account")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def replay(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of ``client``'s cookie and nothing else."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie("session", cookie.value)
    return other


def post_form(client: FlaskClient, path: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


PROFILE = {
    "first_name": "Ada",
    "last_name": "King",
    "phone": "07911 123456",
    "country": "GB",
    "date_of_birth": "1990-12-10",
    "gender": "female",
    "address": "12 St James's Square",
    "city": "London",
    "state": "",
    "zipcode": "sw1y 4jh",
}


# --- the profile -------------------------------------------------------------------------------


def test_the_profile_form_shows_what_is_stored(app: Flask, client: FlaskClient) -> None:
    make_customer(app, phone="+447911123456", country="GB", city="London", zipcode="EC1Y 8SY")
    sign_in(client)
    html = page(client.get("/account/profile"))
    assert 'value="Ada"' in input_tag(html, "first_name")
    assert 'value="07911 123456"' in input_tag(html, "phone")  # as people there type it
    assert 'placeholder="07400 123456"' in input_tag(html, "phone")
    assert 'value="London"' in input_tag(html, "city")
    assert re.search(r'<option selected value="GB">|<option value="GB" selected>', html)
    assert 'id="email"' not in html  # the email has its own page
    assert 'id="password"' not in html


def test_a_profile_edit_is_saved(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    response = post_form(client, "/account/profile", **PROFILE)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"

    stored = customer(app, customer_id)
    assert (stored.first_name, stored.last_name) == ("Ada", "King")
    assert stored.phone == "+447911123456"
    assert stored.date_of_birth == date(1990, 12, 10)
    assert stored.zipcode == "SW1Y 4JH"
    assert stored.email == "ada@example.com"  # untouched
    html = page(client.get("/account"))
    assert "Your details are saved." in html
    assert "Ada King" in html


def test_profile_errors_come_back_beside_the_fields_and_nothing_is_saved(
    app: Flask, client: FlaskClient
) -> None:
    customer_id = make_customer(app, city="Bath")
    sign_in(client)
    bad = {**PROFILE, "first_name": "J0hn", "zipcode": "12345", "city": "Leeds"}
    response = post_form(client, "/account/profile", **bad)
    assert response.status_code == 422
    html = page(response)
    # Every failing field at once, each beside its input (the registration's messages).
    assert "letters" in field_error(html, "first_name").lower()
    assert field_error(html, "zipcode").endswith(
        "Enter a valid postal code for the United Kingdom, such as EC1Y 8SY"
    )
    assert 'aria-invalid="true"' in input_tag(html, "zipcode")
    assert 'value="Leeds"' in input_tag(html, "city")  # what was typed stays
    stored = customer(app, customer_id)
    assert (stored.first_name, stored.city, stored.zipcode) == ("Ada", "Bath", None)


def test_a_blank_name_is_refused_as_registration_refuses_it(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app)
    sign_in(client)
    response = post_form(client, "/account/profile", **{**PROFILE, "last_name": " "})
    assert response.status_code == 422
    assert field_error(page(response), "last_name") == "Last name is required"


def test_a_profile_edit_changes_only_the_signed_in_customers_record(
    app: Flask, client: FlaskClient
) -> None:
    ada = make_customer(app)
    grace = make_customer(app, email="grace@example.com", first_name="Grace", last_name="Hopper")
    sign_in(client, "grace@example.com")
    # Whatever else the request names (an id, another email), it edits the signed-in record.
    response = post_form(
        client,
        "/account/profile",
        **{**PROFILE, "first_name": "Amazing", "email": "ada@example.com", "id": str(ada)},
    )
    assert response.status_code == 302
    assert customer(app, grace).first_name == "Amazing"
    assert customer(app, grace).email == "grace@example.com"
    untouched = customer(app, ada)
    assert (untouched.first_name, untouched.last_name, untouched.phone) == ("Ada", "Lovelace", None)


def test_the_profile_is_not_open_without_signing_in(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    response = client.get("/account/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=/account/profile")
    token = csrf_token(client, "/sign-in")
    response = client.post("/account/profile", data={"csrf_token": token, **PROFILE})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")
    assert customer(app, customer_id).last_name == "Lovelace"


def test_custom_fields_are_edited_and_an_emptied_one_is_removed(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context(), unit_of_work():
        db.session.add(CustomFieldDefinition(key="pet", label="Your pet's name", type="text"))
        db.session.add(
            CustomFieldDefinition(key="visits", label="Visits a year", type="number", max_number=52)
        )
    customer_id = make_customer(app, custom_fields={"pet": "Rex", "visits": 4})
    sign_in(client)
    html = page(client.get("/account/profile"))
    assert 'value="Rex"' in input_tag(html, "cf_pet")
    assert 'value="4"' in input_tag(html, "cf_visits")

    refused = post_form(client, "/account/profile", **PROFILE, cf_pet="Rex", cf_visits="99")
    assert refused.status_code == 422
    assert "52" in field_error(page(refused), "cf_visits")
    assert customer(app, customer_id).custom_fields == {"pet": "Rex", "visits": 4}

    saved = post_form(client, "/account/profile", **PROFILE, cf_pet="", cf_visits="6")
    assert saved.status_code == 302
    assert customer(app, customer_id).custom_fields == {"visits": 6}


# --- the password ------------------------------------------------------------------------------


def change_password(client: FlaskClient, current: str, new: str = NEW_PASSWORD) -> Any:
    return post_form(
        client,
        "/account/password",
        current_password=current,
        password=new,
        confirm_password=new,
    )


def test_a_password_change_needs_the_current_password(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    sign_in(client)
    response = change_password(client, "not my password at all")
    assert response.status_code == 422
    assert field_error(page(response), "current_password") == "This is not your current password"
    assert signed_in(client)  # a refused change ends no session

    other = app.test_client()
    assert sign_in(other).status_code == 302  # the old password still works
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 422


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("short", "short", "password", "Password must be at least 10 characters"),
        (NEW_PASSWORD, "something else entirely", "confirm_password", "The passwords do not match"),
        ("", "", "password", "Choose a password"),
    ],
)
def test_the_new_password_follows_the_password_rule(
    app: Flask, client: FlaskClient, new: str, confirm: str, field: str, message: str
) -> None:
    make_customer(app)
    sign_in(client)
    response = post_form(
        client,
        "/account/password",
        current_password=PASSWORD,
        password=new,
        confirm_password=confirm,
    )
    assert response.status_code == 422
    assert field_error(page(response), field) == message
    assert sign_in(app.test_client()).status_code == 302  # unchanged


def test_a_password_change_signs_out_every_other_browser(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    sign_in(client)
    phone = app.test_client()
    sign_in(phone)
    copied = replay(app, client)
    assert signed_in(copied)

    response = change_password(client, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"

    assert signed_in(client)  # the changer stays signed in, on a new session
    assert not signed_in(copied)  # a copy of the cookie from before the change: refused
    assert not signed_in(phone)
    assert signed_in(replay(app, client))  # the new session is the one that works
    with app.app_context():
        live = db.session.execute(
            select(CustomerSession).where(CustomerSession.revoked_at.is_(None))
        ).scalars()
        assert len(list(live)) == 1
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    assert sign_in(app.test_client()).status_code == 422  # the old password no longer


def test_a_password_change_voids_the_reset_and_sign_in_links(
    app: Flask, client: FlaskClient
) -> None:
    customer_id = make_customer(app)
    with app.app_context(), unit_of_work():
        reset = tokens.issue_token(customer_id, tokens.PASSWORD_RESET, now())
        link = tokens.issue_token(customer_id, tokens.SIGN_IN, now())
    sign_in(client)
    assert change_password(client, PASSWORD).status_code == 302
    with app.app_context():
        assert tokens.find_token(reset, tokens.PASSWORD_RESET, now()) is None
        assert tokens.find_token(link, tokens.SIGN_IN, now()) is None


def guest_signed_in(app: Flask, client: FlaskClient, email: str = "guest@example.com") -> int:
    """A guest without a password, signed in as a sign-in link would leave them."""
    guest_id = make_customer(app, password=None, email=email, is_guest=True, first_name="Gil")
    with app.app_context(), unit_of_work():
        guest = db.session.get(Customer, guest_id)
        assert guest is not None
        token = start_session(guest, now())
    with client.session_transaction() as session:
        session[SESSION_TOKEN_KEY] = token
        session["customer_id"] = guest_id
        session["customer_name"] = "Gil"
    assert signed_in(client)
    return guest_id


def test_a_guest_sets_a_password_without_a_current_one(app: Flask, client: FlaskClient) -> None:
    guest_id = guest_signed_in(app, client)
    account = page(client.get("/account"))
    assert "Set a password" in account
    html = page(client.get("/account/password"))
    assert "<h1>Set a password</h1>" in html
    assert 'id="current_password"' not in html

    response = post_form(
        client, "/account/password", password=NEW_PASSWORD, confirm_password=NEW_PASSWORD
    )
    assert response.status_code == 302
    stored = customer(app, guest_id)
    assert stored.is_guest is False
    assert stored.password_hash
    assert signed_in(client)
    assert sign_in(app.test_client(), "guest@example.com", NEW_PASSWORD).status_code == 302
    # Now a current password is asked for.
    assert 'id="current_password"' in page(client.get("/account/password"))


# --- the email address -------------------------------------------------------------------------


def ask_for(client: FlaskClient, address: str, password: str | None = PASSWORD) -> Any:
    data = (
        {"email": address} if password is None else {"email": address, "current_password": password}
    )
    return post_form(client, "/account/email", **data)


def link_token(app: Flask, to: str) -> str:
    [message] = [m for m in outbox(app) if m.kind == "email_change" and m.recipient == to]
    match = LINK.search(message.body_text)
    assert match, message.body_text
    return match.group(1)


def test_the_email_changes_only_once_the_new_address_confirms(
    app: Flask, client: FlaskClient
) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    response = ask_for(client, "Ada.New@Example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/email/sent"
    sent = page(client.get("/account/email/sent"))
    assert "Check your inbox" in sent
    assert "ada@example.com" in sent  # the address still in force

    token = link_token(app, "ada.new@example.com")  # to the new address, normalised
    # Until the link is used the old address is the one in force: it signs in, the new not.
    assert customer(app, customer_id).email == "ada@example.com"
    assert sign_in(app.test_client(), "ada@example.com").status_code == 302
    assert sign_in(app.test_client(), "ada.new@example.com").status_code == 422

    # Opening the link changes nothing (mail scanners follow links); it shows a button.
    shown = client.get(f"/account/email/{token}")
    assert shown.status_code == 200
    assert "ada.new@example.com" in page(shown)
    assert "Use this email address" in page(shown)
    assert customer(app, customer_id).email == "ada@example.com"

    applied = post_form(client, f"/account/email/{token}")
    assert applied.status_code == 302
    assert applied.headers["Location"] == "/account"
    assert customer(app, customer_id).email == "ada.new@example.com"
    assert "Your email address is now ada.new@example.com." in page(client.get("/account"))
    assert sign_in(app.test_client(), "ada.new@example.com").status_code == 302
    assert sign_in(app.test_client(), "ada@example.com").status_code == 422

    # The old address is told.
    [notice] = [m for m in outbox(app) if m.kind == "email_changed"]
    assert notice.recipient == "ada@example.com"
    assert "no longer ada@example.com" in notice.body_text


def test_a_change_link_works_once(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    ask_for(client, "first@example.com")
    token = link_token(app, "first@example.com")
    confirm_token = csrf_token(client, f"/account/email/{token}")
    first = client.post(f"/account/email/{token}", data={"csrf_token": confirm_token})
    assert first.status_code == 302

    again = client.post(f"/account/email/{token}", data={"csrf_token": confirm_token})
    assert again.status_code == 410  # a dead link, as every used link answers
    assert "This link cannot be used" in page(again)
    assert client.get(f"/account/email/{token}").status_code == 410
    assert customer(app, customer_id).email == "first@example.com"
    assert len([m for m in outbox(app) if m.kind == "email_changed"]) == 1


def test_a_newer_request_voids_the_older_link(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    ask_for(client, "first@example.com")
    first = link_token(app, "first@example.com")
    ask_for(client, "second@example.com")
    assert client.get(f"/account/email/{first}").status_code == 410
    second = link_token(app, "second@example.com")
    assert post_form(client, f"/account/email/{second}").status_code == 302
    assert customer(app, customer_id).email == "second@example.com"


def test_the_link_works_in_a_browser_that_is_not_signed_in(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    ask_for(client, "phone@example.com")
    token = link_token(app, "phone@example.com")
    elsewhere = app.test_client()  # the mail app on a phone
    response = post_form(elsewhere, f"/account/email/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")
    assert customer(app, customer_id).email == "phone@example.com"


def test_the_link_of_an_unknown_token_changes_nothing(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    for token in ("nope", "x" * 200):
        assert client.get(f"/account/email/{token}").status_code == 410
    token = csrf_token(client, "/sign-in")
    assert client.post("/account/email/nope", data={"csrf_token": token}).status_code == 410
    assert customer(app, customer_id).email == "ada@example.com"


def comparable(html: str) -> str:
    return CSRF.sub("", html)


def test_an_address_that_is_someone_elses_gets_the_same_answer_and_no_link(
    app: Flask, client: FlaskClient
) -> None:
    customer_id = make_customer(app)
    make_customer(app, email="grace@example.com", first_name="Grace", password=None)
    sign_in(client)

    free = ask_for(client, "free@example.com")
    free_page = page(client.get(free.headers["Location"]))
    taken = ask_for(client, "Grace@Example.com")
    taken_page = page(client.get(taken.headers["Location"]))

    assert (free.status_code, free.headers["Location"]) == (
        taken.status_code,
        taken.headers["Location"],
    )
    assert comparable(free_page) == comparable(taken_page)
    # Nothing went to the owner of the taken address, and nothing changed.
    assert [m.recipient for m in outbox(app)] == ["free@example.com"]
    assert customer(app, customer_id).email == "ada@example.com"
    with app.app_context():
        payloads = [
            row.payload
            for row in db.session.execute(select(CustomerToken)).scalars()
            if row.used_at is None
        ]
    assert payloads == []  # the later request voided the earlier link too


def test_an_address_taken_meanwhile_changes_nothing(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    ask_for(client, "wanted@example.com")
    token = link_token(app, "wanted@example.com")
    make_customer(app, email="wanted@example.com", first_name="Quick", password=None)

    response = post_form(client, f"/account/email/{token}")
    assert response.status_code == 409
    assert "Another account uses this address now" in page(response)
    assert customer(app, customer_id).email == "ada@example.com"
    assert [m.kind for m in outbox(app)] == ["email_change"]  # no notice: nothing changed
    with app.app_context():
        # The unit of work kept nothing: the link is unused still.
        assert tokens.find_token(token, tokens.CHANGE_EMAIL, now()) is not None


def test_the_unique_index_decides_when_two_confirm_one_address_at_once(
    app: Flask, client: FlaskClient
) -> None:
    """Two customers asked for the same free address; both press their link at the same
    moment: one gets it, the other is told it is taken, and nobody's record is half-changed."""
    ada = make_customer(app)
    grace = make_customer(app, email="grace@example.com", first_name="Grace")
    ada_browser, grace_browser = app.test_client(), app.test_client()
    sign_in(ada_browser)
    sign_in(grace_browser, "grace@example.com")
    ask_for(ada_browser, "shared@example.com")
    ask_for(grace_browser, "shared@example.com")
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "email_change")
        ).scalars()
        links = {row.customer_id: LINK.search(row.body_text).group(1) for row in rows}  # type: ignore[union-attr]
    forms = {
        who: (browser, csrf_token(browser, f"/account/email/{links[who]}"))
        for who, browser in ((ada, ada_browser), (grace, grace_browser))
    }
    statuses: dict[int, int] = {}
    start = threading.Barrier(2)

    def press(who: int) -> None:
        browser, token = forms[who]
        start.wait()
        response = browser.post(f"/account/email/{links[who]}", data={"csrf_token": token})
        statuses[who] = response.status_code

    threads = [threading.Thread(target=press, args=(who,)) for who in (ada, grace)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses.values()) == [302, 409]
    emails = {customer(app, ada).email, customer(app, grace).email}
    winner = ada if statuses[ada] == 302 else grace
    assert customer(app, winner).email == "shared@example.com"
    assert len(emails & {"shared@example.com"}) == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("not-an-email", "valid email"),
        ("", "Enter your new email address"),
        ("ADA@example.com", "This is already your email address"),
    ],
)
def test_the_new_address_goes_through_the_email_rule(
    app: Flask, client: FlaskClient, typed: str, message: str
) -> None:
    make_customer(app)
    sign_in(client)
    response = ask_for(client, typed)
    assert response.status_code == 422
    assert message.lower() in field_error(page(response), "email").lower()
    assert outbox(app) == []  # no link sent


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("not my password at all", "This is not your current password"),
        ("", "Enter your current password"),
    ],
)
def test_an_email_change_needs_the_current_password(
    app: Flask, client: FlaskClient, password: str, message: str
) -> None:
    """A browser left signed in is not enough to move the account to another address."""
    customer_id = make_customer(app)
    sign_in(client)
    response = ask_for(client, "not-an-email", password=password)
    assert response.status_code == 422
    html = page(response)
    assert field_error(html, "current_password") == message
    assert "valid email" in field_error(html, "email").lower()  # every failure at once
    response = ask_for(client, "thief@example.com", password=password)
    assert response.status_code == 422
    assert outbox(app) == []
    assert customer(app, customer_id).email == "ada@example.com"


def test_a_guest_without_a_password_changes_the_email_by_the_link_alone(
    app: Flask, client: FlaskClient
) -> None:
    guest_id = guest_signed_in(app, client)
    assert 'id="current_password"' not in page(client.get("/account/email"))
    response = ask_for(client, "gil@example.org", password=None)
    assert response.status_code == 302
    token = link_token(app, "gil@example.org")
    assert post_form(client, f"/account/email/{token}").status_code == 302
    assert customer(app, guest_id).email == "gil@example.org"


@pytest.mark.parametrize("app_config", [{"BLOCK_DISPOSABLE_EMAILS": True}])
def test_a_throw_away_address_is_refused_when_they_are_blocked(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app)
    sign_in(client)
    response = ask_for(client, "ada@mailinator.com")
    assert response.status_code == 422
    assert "throw-away" in field_error(page(response), "email")
    assert outbox(app) == []


# --- the shorter registration ------------------------------------------------------------------


def _disclosure(html: str) -> str:
    match = re.search(r"<details[^>]*>.*?</details>", html, re.DOTALL)
    assert match, "no disclosure"
    return match.group(0)


def test_registration_asks_the_essentials_up_front_and_the_rest_behind_a_disclosure(
    client: FlaskClient,
) -> None:
    html = page(client.get("/register"))
    hidden = _disclosure(html)
    up_front = html.replace(hidden, "")
    for name in ("first_name", "last_name", "email", "phone", "country", "password"):
        assert f'id="{name}"' in up_front, name
    for name in ("date_of_birth", "gender", "address", "city", "state", "zipcode", "notes"):
        assert f'id="{name}"' in hidden, name
    assert re.match(r"<details[^>]*>", hidden).group(0) == '<details class="disclosure">'  # type: ignore[union-attr]
    assert "<summary>More about you" in hidden
    assert "type your password again" not in html


def test_a_required_custom_field_is_up_front_an_optional_one_behind_the_disclosure(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context(), unit_of_work():
        db.session.add(
            CustomFieldDefinition(key="member", label="Member number", type="text", required=True)
        )
        db.session.add(CustomFieldDefinition(key="pet", label="Your pet's name", type="text"))
    html = page(client.get("/register"))
    hidden = _disclosure(html)
    assert 'id="cf_member"' not in hidden
    assert 'id="cf_member"' in html
    assert 'id="cf_pet"' in hidden


def register(client: FlaskClient, **values: str) -> Any:
    data = {
        "first_name": "Zoë",
        "last_name": "O'Brien",
        "email": "zoe@example.com",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        **values,
    }
    return post_form(client, "/register", **data)


def test_a_refusal_opens_the_disclosure_and_asks_to_retype_the_password(
    app: Flask, client: FlaskClient
) -> None:
    response = register(client, country="GB", zipcode="12345")
    assert response.status_code == 422
    html = page(response)
    assert '<details class="disclosure" open>' in html
    assert field_error(html, "zipcode").endswith("such as EC1Y 8SY")
    hint = re.search(r'<p class="hint" id="password-hint">(.*?)</p>', html)
    assert hint is not None
    assert hint.group(1).startswith("Please type your password again")
    assert 'value=""' in input_tag(html, "password")  # never echoed back


def test_a_refusal_of_the_essentials_leaves_the_disclosure_shut(client: FlaskClient) -> None:
    response = register(client, first_name="J0hn")
    assert response.status_code == 422
    html = page(response)
    assert '<details class="disclosure">' in html
    assert "Please type your password again" in html


def test_a_password_error_is_said_by_its_own_message(client: FlaskClient) -> None:
    response = register(client, password="short", confirm_password="short")
    assert response.status_code == 422
    html = page(response)
    assert field_error(html, "password") == "Password must be at least 10 characters"
    assert "Please type your password again" not in html


@pytest.mark.parametrize("app_config", [{"DEFAULT_COUNTRY": "US"}])
def test_the_phone_country_defaults_to_the_configured_one(client: FlaskClient) -> None:
    html = page(client.get("/register", headers={"Accept-Language": "de-DE,de;q=0.9"}))
    assert re.search(r'<option selected value="US">|<option value="US" selected>', html)
    assert 'placeholder="(201) 555-0123"' in input_tag(html, "phone")


@pytest.mark.parametrize(
    ("accept", "country", "example"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "DE", "01512 3456789"),
        ("fr;q=0.9, en-GB", "GB", "07400 123456"),
    ],
)
def test_without_a_configured_country_the_browsers_region_is_the_default(
    client: FlaskClient, accept: str, country: str, example: str
) -> None:
    html = page(client.get("/register", headers={"Accept-Language": accept}))
    assert re.search(
        rf'<option selected value="{country}">|<option value="{country}" selected>', html
    )
    assert f'placeholder="{example}"' in input_tag(html, "phone")


def test_without_any_region_no_country_is_chosen(client: FlaskClient) -> None:
    html = page(client.get("/register", headers={"Accept-Language": "en"}))
    assert "selected" not in input_tag(html, "country")
    assert not re.search(r"<option selected value=\"[A-Z]{2}\"", html)
    assert "placeholder" not in input_tag(html, "phone")


def test_a_national_number_is_read_in_the_chosen_country(app: Flask, client: FlaskClient) -> None:
    response = register(client, country="DE", phone="01512 3456789")
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.execute(select(Customer)).scalar_one()
        assert (stored.country, stored.phone) == ("DE", "+4915123456789")


def test_a_confirmed_change_voids_the_links_sent_to_the_old_address(
    app: Flask, client: FlaskClient
) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    with app.app_context(), unit_of_work():
        reset = tokens.issue_token(customer_id, tokens.PASSWORD_RESET, now())
    ask_for(client, "ada@example.org")
    token = link_token(app, "ada@example.org")
    page_html = page(client.get(f"/account/email/{token}"))
    # The page names the account the address would join, and what doing nothing does.
    assert customer(app, customer_id).customer_code in page_html
    assert "Ada" in page_html
    assert "Did not ask for this? Do nothing: nothing changes until you press the button." in (
        page_html
    )
    assert post_form(client, f"/account/email/{token}").status_code == 302
    stored = customer(app, customer_id)
    assert (stored.email, stored.status) == ("ada@example.org", "active")
    with app.app_context():
        assert tokens.find_token(reset, tokens.PASSWORD_RESET, now()) is None


def test_an_inactive_customer_s_change_link_is_a_dead_link(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    ask_for(client, "ada@example.org")
    token = link_token(app, "ada@example.org")
    with app.app_context(), unit_of_work():
        row = db.session.get(Customer, customer_id)
        assert row is not None
        row.status = "inactive"  # the business closed the account meanwhile
    elsewhere = app.test_client()
    assert elsewhere.get(f"/account/email/{token}").status_code == 410
    form_token = csrf_token(elsewhere, "/sign-in")
    applied = elsewhere.post(f"/account/email/{token}", data={"csrf_token": form_token})
    assert applied.status_code == 410
    assert "This link cannot be used" in page(applied)
    stored = customer(app, customer_id)
    assert (stored.email, stored.status) == ("ada@example.com", "inactive")
    assert [m for m in outbox(app) if m.kind == "email_changed"] == []


def test_the_error_summary_follows_the_page(client: FlaskClient) -> None:
    response = register(client, first_name="J0hn", zipcode="12345", country="GB", password="x")
    html = page(response)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.DOTALL)
    assert summary is not None
    targets = re.findall(r'<a href="#([a-z_]+)">', summary.group(0))
    assert targets == ["first_name", "password", "confirm_password", "zipcode"]
