"""Server-side web sessions (SPEC section 9: sign-out and a password change end sessions on the
server side, so a copied cookie stops working). Each test runs on SQLite and PostgreSQL.

A "copied cookie" is replayed by a second test client, which holds nothing but the cookie
value of the first: what someone who read it off the wire or the disk would have.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from latepoint_forms.accounts.service import set_password
from latepoint_forms.config import load_config
from latepoint_forms.customers.input import RuleSettings
from latepoint_forms.customers.rules import RuleError
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer, CustomerSession
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.auth import SESSION_TOKEN_KEY

from .web_support import (
    PASSWORD,
    counted_statements,
    csrf_token,
    make_customer,
    page,
    sign_in,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "a brand new passphrase"


class Clock:
    """The app's ``CLOCK``; a test moves it instead of sleeping."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(clock: Clock) -> dict[str, Any]:
    return {"CLOCK": clock}


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app: Flask, cookie: str) -> FlaskClient:
    """A second browser holding a copy of ``cookie`` and nothing else."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/account")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def token_of(client: FlaskClient) -> Any:
    with client.session_transaction() as session:
        return session.get(SESSION_TOKEN_KEY)


def session_rows(app: Flask) -> list[CustomerSession]:
    with app.app_context():
        query = select(CustomerSession).order_by(CustomerSession.id)
        return list(db.session.execute(query).scalars())


def sign_out(client: FlaskClient) -> None:
    token = csrf_token(client, "/account")
    response = client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 302


# --- sign-out ----------------------------------------------------------------------------------


def test_a_copied_cookie_stops_working_after_sign_out(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    sign_in(client)
    copied = cookie_of(client)
    thief = replay(app, copied)
    assert signed_in(thief)  # a copy works as long as the session does

    sign_out(client)

    assert not signed_in(client)
    assert not signed_in(thief)
    assert not signed_in(replay(app, copied))  # a fresh copy of the same cookie: refused too
    [row] = session_rows(app)
    assert row.revoked_at == NOW
    # The refused copy is forgotten by the browser that sent it.
    assert token_of(thief) is None


def test_signing_out_one_browser_leaves_the_others_signed_in(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app)
    phone = app.test_client()
    sign_in(client)
    sign_in(phone)
    sign_out(client)
    assert signed_in(phone)
    assert not signed_in(client)


# --- renewal at sign-in (no session fixation) --------------------------------------------------


def test_sign_in_renews_the_session_id(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    with client.session_transaction() as session:
        session[SESSION_TOKEN_KEY] = "planted-by-an-attacker"
        session["planted"] = "by someone else"
    sign_in(client)

    token = token_of(client)
    assert isinstance(token, str)
    assert token != "planted-by-an-attacker"
    with client.session_transaction() as session:
        assert "planted" not in session
    assert signed_in(client)
    # The planted id signs nobody in: only the new session exists on the server.
    attacker = app.test_client()
    with attacker.session_transaction() as session:
        session[SESSION_TOKEN_KEY] = "planted-by-an-attacker"
    assert not signed_in(attacker)
    assert len(session_rows(app)) == 1


def test_signing_in_again_ends_the_browsers_previous_session(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app)
    sign_in(client)
    before = cookie_of(client)
    first_token = token_of(client)

    sign_in(client)

    assert token_of(client) != first_token
    assert signed_in(client)
    assert not signed_in(replay(app, before))


def test_the_server_keeps_only_a_hash_of_the_session_id(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    sign_in(client)
    token = token_of(client)
    [row] = session_rows(app)
    assert token not in row.token_hash
    assert re.fullmatch(r"[0-9a-f]{64}", row.token_hash)


# --- a password change -------------------------------------------------------------------------


def test_a_password_change_ends_other_sessions_and_keeps_the_changer_signed_in(
    app: Flask, client: FlaskClient
) -> None:
    """The account's password page: the browser that changes it stays signed in (a new
    session), every other one is signed out. (The set-password offer after booking is no
    door for a record someone has signed in to: tests/test_ownership.py.)"""
    make_customer(app)
    other = app.test_client()
    sign_in(client)
    sign_in(other)
    assert signed_in(other)

    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"

    assert signed_in(client)  # the changer stays signed in, on a new session
    assert not signed_in(other)
    live = [row for row in session_rows(app) if row.revoked_at is None]
    assert len(live) == 1


def test_set_password_ends_every_session_of_the_customer(app: Flask, client: FlaskClient) -> None:
    """Whatever door changes a password (``set_password``), copied cookies stop working."""
    customer_id = make_customer(app)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop)
    sign_in(phone)
    copied = cookie_of(laptop)
    stranger_id = make_customer(app, email="grace@example.com", first_name="Grace")
    sign_in(client, "grace@example.com")

    with app.app_context(), unit_of_work():
        set_password(customer_id, NEW_PASSWORD, RuleSettings.from_config(app.config))

    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert not signed_in(replay(app, copied))
    assert signed_in(client)  # somebody else's session is not touched
    assert stranger_id != customer_id
    sign_in(laptop, password=NEW_PASSWORD)
    assert signed_in(laptop)


def test_a_refused_password_change_ends_no_session(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    with app.app_context(), pytest.raises(RuleError, match="at least"), unit_of_work():
        set_password(customer_id, "short", RuleSettings.from_config(app.config))
    assert signed_in(client)


# --- a unit of work that fails ----------------------------------------------------------------


@contextmanager
def failing_commit(app: Flask) -> Iterator[None]:
    """The next COMMIT fails as if the database went away (the unit of work rolls back)."""
    with app.app_context():
        engine = db.engine
    fired: list[bool] = []

    def fail(conn: Any) -> None:
        if not fired:
            fired.append(True)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(engine, "commit", fail)
    try:
        yield
    finally:
        event.remove(engine, "commit", fail)
    assert fired, "no commit was attempted"


def test_a_sign_in_whose_commit_fails_signs_nobody_in(app: Flask, client: FlaskClient) -> None:
    make_customer(app)
    token = csrf_token(client, "/sign-in")
    with failing_commit(app):
        response = client.post(
            "/sign-in", data={"csrf_token": token, "email": "ada@example.com", "password": PASSWORD}
        )
    assert response.status_code == 503
    assert token_of(client) is None  # the cookie session was restored as it was
    assert not signed_in(client)
    assert session_rows(app) == []


def test_a_sign_out_whose_commit_fails_leaves_the_session_as_it_was(
    app: Flask, client: FlaskClient
) -> None:
    """The page says it failed; browser and server agree that the session still stands, and
    the next sign-out ends it everywhere."""
    make_customer(app)
    sign_in(client)
    copied = cookie_of(client)
    token = csrf_token(client, "/account")
    with failing_commit(app):
        response = client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 503
    assert signed_in(client)
    [row] = session_rows(app)
    assert row.revoked_at is None

    sign_out(client)
    assert not signed_in(replay(app, copied))


# --- expiry ------------------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_SECONDS": 3600}])
def test_an_idle_session_is_refused(app: Flask, client: FlaskClient, clock: Clock) -> None:
    app.config["CLOCK"] = clock
    make_customer(app)
    sign_in(client)
    copied = cookie_of(client)

    clock.at = NOW + timedelta(minutes=50)
    assert signed_in(client)  # seen again: the idle hour starts over
    clock.at = NOW + timedelta(minutes=100)
    assert signed_in(client)
    clock.at = NOW + timedelta(minutes=150)
    assert signed_in(client)

    clock.at = NOW + timedelta(minutes=210)  # an hour after the last request
    assert not signed_in(replay(app, copied))
    assert not signed_in(client)


@pytest.mark.parametrize("app_config", [{"PERMANENT_SESSION_LIFETIME": timedelta(hours=3)}])
def test_a_session_ends_its_lifetime_after_sign_in_however_busy(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["CLOCK"] = clock
    make_customer(app)
    sign_in(client)
    for minutes in range(30, 180, 30):
        clock.at = NOW + timedelta(minutes=minutes)
        assert signed_in(client), minutes
    clock.at = NOW + timedelta(hours=3)
    assert not signed_in(client)

    sign_in(client)  # a new sign-in starts a new lifetime; the dead rows are pruned
    assert signed_in(client)
    [row] = session_rows(app)
    assert row.created_at == NOW + timedelta(hours=3)


def test_last_seen_is_written_at_most_once_a_minute(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    make_customer(app)
    sign_in(client)

    def session_writes() -> int:
        with counted_statements(app) as statements:
            assert signed_in(client)
        return sum(
            1
            for s in statements
            if re.match(r"\s*UPDATE customer_sessions", s, re.IGNORECASE) is not None
        )

    clock.at = NOW + timedelta(seconds=59)
    assert session_writes() == 0
    clock.at = NOW + timedelta(seconds=61)
    assert session_writes() == 1
    assert session_writes() == 0
    [row] = session_rows(app)
    assert row.last_seen_at == NOW + timedelta(seconds=61)


def test_a_deactivated_customer_is_signed_out(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    with app.app_context(), unit_of_work():
        customer = db.session.get(Customer, customer_id)
        assert customer is not None
        customer.status = "inactive"
    assert not signed_in(client)


def test_deleting_a_customer_deletes_their_sessions(app: Flask, client: FlaskClient) -> None:
    customer_id = make_customer(app)
    sign_in(client)
    with app.app_context(), unit_of_work():
        customer = db.session.get(Customer, customer_id)
        db.session.delete(customer)
    assert not signed_in(client)
    with app.app_context():
        assert db.session.execute(select(func.count(CustomerSession.id))).scalar_one() == 0


# --- cost per request --------------------------------------------------------------------------


def test_a_signed_in_page_checks_its_session_in_the_query_that_loads_the_customer(
    app: Flask, client: FlaskClient
) -> None:
    """The session check is one read by a unique index, and it brings the customer with it:
    a signed-in page costs no more queries than when the cookie alone was trusted (that
    code read the customer by id, one query)."""
    make_customer(app)
    sign_in(client)
    assert signed_in(client)  # past the first-request work (catalog caches and the like)

    with counted_statements(app) as statements:
        assert "Hello, Ada" in page(client.get("/account"))

    session_reads = [s for s in statements if "customer_sessions" in s]
    assert len(session_reads) == 1
    assert re.search(r"JOIN customers", session_reads[0])
    assert re.search(r"WHERE customer_sessions\.token_hash =", session_reads[0])
    by_id = re.compile(r"FROM customers\s+WHERE customers\.id =")
    assert not [s for s in statements if by_id.search(s)]  # no second read of the customer
    assert not [s for s in statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", s, re.I)]


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SESSION_IDLE_SECONDS", "SESSION_LIFETIME_SECONDS"])
def test_session_timeouts_under_a_minute_are_refused(name: str) -> None:
    with pytest.raises(RuntimeError, match=f"{name} must be 60 or more"):
        load_config({name: "59"})


def test_session_timeouts_are_read_from_the_environment() -> None:
    config = load_config({"SESSION_IDLE_SECONDS": "7200", "SESSION_LIFETIME_SECONDS": "86400"})
    assert config["SESSION_IDLE_SECONDS"] == 7200
    assert config["PERMANENT_SESSION_LIFETIME"] == 86400
