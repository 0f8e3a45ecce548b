"""Abuse on the web doors (SPEC section 9, "Abuse"): the honeypot, the fill time, the limits
per client address and per email address, and throw-away email domains on every door."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from latepoint_forms import create_app
from latepoint_forms.config import load_config
from latepoint_forms.customers import rules
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, Customer, OutboxMessage
from latepoint_forms.web.abuse import STAMP_MAX_AGE_SECONDS

from .conftest import ApiClient, base_config
from .web_support import PASSWORD, WebCatalog, build_web_catalog, field_error, input_tag, page

REDIS_URL = os.environ.get("TEST_REDIS_URL")
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_STARTED = re.compile(
    r'name="form_started"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_started"'
)

REGISTRATION = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@example.com",
    "country": "GB",
    "password": PASSWORD,
    "confirm_password": PASSWORD,
}
GUEST = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}


class Clock:
    """The app's CLOCK (clock.now): moved by the test, never read from the wall."""

    def __init__(self) -> None:
        self.moment = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@contextmanager
def another_app(config: dict[str, Any]) -> Iterator[Flask]:
    """A second app instance (another worker), its connections closed after."""
    other = create_app(config)
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def counts(app: Flask) -> tuple[int, int, int]:
    """(customers, bookings, outbox messages) stored."""
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Booking, OutboxMessage)
        )


def form_fields(client: FlaskClient, path: str) -> dict[str, str]:
    """The CSRF token and the signed start of the form at ``path``, as a browser sends them."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    html = page(response)
    token = _TOKEN.search(html)
    assert token, f"no CSRF token on {path}"
    started = _STARTED.search(html)
    assert started, f"no form_started on {path}"
    return {"csrf_token": token.group(1), "form_started": started.group(1) or started.group(2)}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(clock: Clock) -> dict[str, Any]:
    return {"FORM_MIN_SECONDS": 2, "CLOCK": clock}


@pytest.fixture
def catalog(app: Flask) -> WebCatalog:
    return build_web_catalog(app)


# --- the honeypot ------------------------------------------------------------------------------


def test_the_honeypot_is_hidden_from_people_and_assistive_technology(
    client: FlaskClient, catalog: WebCatalog, clock: Clock
) -> None:
    for path in ("/register", catalog.book_path(catalog.start(now=clock.moment))):
        html = page(client.get(path))
        tag = input_tag(html, "website")
        assert 'type="text"' in tag
        assert 'aria-hidden="true"' in tag
        assert 'tabindex="-1"' in tag
        assert 'autocomplete="off"' in tag
        wrapper = re.search(
            r'<div class="visually-hidden" aria-hidden="true">\s*<label for="website">'
            r"Leave this field empty</label>",
            html,
        )
        assert wrapper, path
        assert "style=" not in tag


def test_a_filled_honeypot_on_register_stores_and_sends_nothing_and_looks_like_success(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    data = {**REGISTRATION, **form_fields(client, "/register"), "website": "http://spam.example"}
    clock.advance(30)  # slow enough: only the honeypot trips
    response = client.post("/register", data=data)

    assert response.status_code == 302  # what a real registration answers
    assert counts(app) == (0, 0, 0)
    landing = client.get(response.headers["Location"])
    assert landing.status_code == 200
    assert "Please check your email" in page(landing)
    assert "refused" not in page(landing).lower()

    # The same person, without the trap, registers.
    data = {**REGISTRATION, **form_fields(client, "/register")}
    clock.advance(30)
    assert client.post("/register", data=data).status_code == 302
    assert counts(app) == (1, 0, 1)  # the customer and the welcome


def test_a_filled_honeypot_on_book_stores_and_sends_nothing_and_looks_like_success(
    app: Flask, client: FlaskClient, catalog: WebCatalog, clock: Clock
) -> None:
    path = catalog.book_path(catalog.start(now=clock.moment))
    data = {**GUEST, **form_fields(client, path), "website": "spam"}
    clock.advance(30)
    response = client.post(path, data=data)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/book/confirmation")  # as a booking's
    assert counts(app) == (0, 0, 0)
    landing = client.get(response.headers["Location"])
    assert landing.status_code == 200
    assert "Please check your email" in page(landing)

    fields = form_fields(client, path)
    clock.advance(30)
    real = client.post(path, data={**GUEST, **fields})
    assert real.headers["Location"].endswith("/book/confirmation")
    customers, bookings, _ = counts(app)
    assert (customers, bookings) == (1, 1)


# --- the fill time -----------------------------------------------------------------------------


def test_a_too_fast_registration_stores_and_sends_nothing(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    fields = form_fields(client, "/register")
    clock.advance(1.5)
    response = client.post("/register", data={**REGISTRATION, **fields})
    assert response.status_code == 302
    assert counts(app) == (0, 0, 0)

    clock.advance(1)  # 2.5 s after the page was served: a person's pace
    response = client.post("/register", data={**REGISTRATION, **fields})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account")
    assert counts(app) == (1, 0, 1)


def test_a_too_fast_booking_stores_and_sends_nothing(
    app: Flask, client: FlaskClient, catalog: WebCatalog, clock: Clock
) -> None:
    path = catalog.book_path(catalog.start(now=clock.moment))
    fields = form_fields(client, path)
    clock.advance(0.5)
    response = client.post(path, data={**GUEST, **fields})
    assert response.status_code == 302
    assert counts(app) == (0, 0, 0)
    assert "Please check your email" in page(client.get("/book/confirmation"))

    clock.advance(2)
    client.post(path, data={**GUEST, **fields})
    customers, bookings, _ = counts(app)
    assert (customers, bookings) == (1, 1)


@pytest.mark.parametrize("stamp", [None, "", "forged", "MTIz.bad-signature"])
def test_a_missing_or_forged_start_asks_to_send_again_with_a_fresh_one(
    app: Flask, client: FlaskClient, clock: Clock, stamp: str | None
) -> None:
    # A page served before a deploy or a key change has no valid stamp: a person may have
    # left it open, so it is not a bot's silent success but the form again, stamped anew.
    fields = form_fields(client, "/register")
    clock.advance(60)
    if stamp is None:
        del fields["form_started"]
    else:
        fields["form_started"] = stamp
    response = client.post("/register", data={**REGISTRATION, **fields})

    assert response.status_code == 422
    html = page(response)
    assert "This page was open for a long time, so nothing was sent yet." in html
    assert counts(app) == (0, 0, 0)
    fresh = re.search(r'name="form_started"[^>]*value="([^"]+)"', html)
    assert fresh is not None
    # Sent again with the fresh stamp, after the fill time: it is stored.
    clock.advance(3)
    again = client.post(
        "/register", data={**REGISTRATION, **fields, "form_started": fresh.group(1)}
    )
    assert again.status_code == 302
    assert counts(app)[0] == 1


def test_a_stamp_older_than_a_day_proves_nothing(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    fields = form_fields(client, "/register")
    clock.advance(STAMP_MAX_AGE_SECONDS + 1)

    response = client.post("/register", data={**REGISTRATION, **fields})

    assert response.status_code == 422
    assert counts(app) == (0, 0, 0)


def test_a_start_signed_with_another_secret_is_refused(
    app: Flask, client: FlaskClient, clock: Clock, database: str
) -> None:
    config = {**base_config(database), "SECRET_KEY": "another", "CLOCK": clock}
    with another_app(config) as other:
        foreign = form_fields(other.test_client(), "/register")["form_started"]
    fields = {**form_fields(client, "/register"), "form_started": foreign}
    clock.advance(60)
    response = client.post("/register", data={**REGISTRATION, **fields})
    assert response.status_code == 422  # not this app's stamp: sent again, never stored
    assert counts(app) == (0, 0, 0)


def test_a_form_shown_again_with_errors_keeps_its_start(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    fields = form_fields(client, "/register")
    clock.advance(5)
    refused = client.post("/register", data={**REGISTRATION, **fields, "first_name": "G"})
    assert refused.status_code == 422
    assert f'value="{fields["form_started"]}"' in page(refused)


def test_the_fill_time_is_real_by_default() -> None:
    config = load_config({})
    assert config["FORM_MIN_SECONDS"] == 2
    assert config["RATE_LIMIT_WEB"] == "10/minute;50/day"
    assert config["BLOCK_DISPOSABLE_EMAILS"] is False
    assert load_config({"FORM_MIN_SECONDS": "0.5"})["FORM_MIN_SECONDS"] == 0.5
    with pytest.raises(RuntimeError, match="FORM_MIN_SECONDS"):
        load_config({"FORM_MIN_SECONDS": "-1"})


# --- limits per client address and per email address ----------------------------------------


def _sign_in_attempt(client: FlaskClient, email: str, address: str) -> int:
    html = page(client.get("/sign-in"))
    match = _TOKEN.search(html)
    assert match
    data = {"csrf_token": match.group(1), "email": email, "password": "not-it"}
    return client.post("/sign-in", data=data, environ_base={"REMOTE_ADDR": address}).status_code


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "3/minute;50/day"}])
def test_the_per_email_limit_holds_across_client_addresses(client: FlaskClient) -> None:
    statuses = [_sign_in_attempt(client, "ada@example.com", f"198.51.100.{n}") for n in range(1, 6)]
    assert statuses == [422, 422, 422, 429, 429]
    # Another address's attempts are not blocked by this email's.
    assert _sign_in_attempt(client, "bea@example.com", "198.51.100.9") == 422


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "3/minute;50/day"}])
def test_respellings_of_one_email_share_its_budget(client: FlaskClient) -> None:
    spellings = ["u@bücher.de", "U@Bücher.DE", "u@xn--bcher-kva.de", "u@XN--BCHER-KVA.DE"]
    statuses = [
        _sign_in_attempt(client, email, f"198.51.100.{n}")
        for n, email in enumerate(spellings, start=20)
    ]
    assert statuses == [422, 422, 422, 429]  # one address, however it is written


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "3/minute;50/day"}])
def test_the_per_address_limit_holds_across_emails(client: FlaskClient) -> None:
    statuses = [_sign_in_attempt(client, f"u{n}@example.com", "203.0.113.7") for n in range(5)]
    assert statuses == [422, 422, 422, 429, 429]
    assert _sign_in_attempt(client, "other@example.com", "203.0.113.8") == 422


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "2/minute"}])
def test_registration_is_limited_per_email_across_addresses(
    app: Flask, client: FlaskClient
) -> None:
    statuses = []
    for n in range(1, 4):
        browser = app.test_client()  # a new visitor from another network each time
        data = {**REGISTRATION, **form_fields(browser, "/register")}
        address = {"REMOTE_ADDR": f"192.0.2.{n}"}
        statuses.append(browser.post("/register", data=data, environ_base=address).status_code)
    assert statuses == [302, 422, 429]  # made; the email is taken; over the email's limit
    assert counts(app)[0] == 1
    browser = app.test_client()
    refused = browser.post(
        "/register",
        data={**REGISTRATION, **form_fields(browser, "/register")},
        environ_base={"REMOTE_ADDR": "192.0.2.99"},
    )
    assert refused.status_code == 429
    assert "Too many attempts" in page(refused)


@pytest.mark.skipif(not REDIS_URL, reason="Redis tests: set TEST_REDIS_URL")
@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "2/minute", "REDIS_URL": REDIS_URL}])
def test_the_web_limits_are_shared_through_redis(app: Flask, database: str) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    # Two app instances (two workers) on the one store spend one budget per email.
    config = {**base_config(database), "RATE_LIMIT_WEB": "2/minute", "REDIS_URL": REDIS_URL}
    with another_app(config) as second:
        first_client, second_client = app.test_client(), second.test_client()
        # Addresses of this run's own (the store outlives the test by a minute).
        a, b, c = (f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{n}" for n in (1, 2, 3))
        assert _sign_in_attempt(first_client, email, a) == 422
        assert _sign_in_attempt(second_client, email, b) == 422
        assert _sign_in_attempt(first_client, email, c) == 429
    store = redis.Redis.from_url(REDIS_URL or "")
    try:
        assert list(store.scan_iter(match=f"*email:{email}*"))
    finally:
        store.close()


def test_a_malformed_web_limit_stops_the_start(database: str) -> None:
    with pytest.raises(RuntimeError, match="RATE_LIMIT_WEB"):
        create_app({**base_config(database), "RATE_LIMIT_WEB": "ten a minute"})


# --- throw-away email domains --------------------------------------------------------------


def test_the_rule_refuses_listed_domains_and_their_subdomains_only_when_asked() -> None:
    for address in ("x@mailinator.com", "x@mx.mailinator.com", "X@Mailinator.COM"):
        with pytest.raises(rules.RuleError, match="throw-away"):
            rules.normalise_email(address, block_disposable=True)
        assert rules.normalise_email(address) == address.lower()
    assert rules.normalise_email("x@example.com", block_disposable=True) == "x@example.com"
    assert not rules.is_disposable_domain("com")


BLOCKING = {"BLOCK_DISPOSABLE_EMAILS": True}


@pytest.mark.parametrize("app_config", [BLOCKING])
def test_a_disposable_domain_is_refused_on_the_api_and_the_web_alike(
    app: Flask, client: FlaskClient, api: ApiClient, catalog: WebCatalog
) -> None:
    body = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@mailinator.com"}
    response = api.post("/customers", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {"email": rules.DISPOSABLE_EMAIL}

    data = {**REGISTRATION, **form_fields(client, "/register"), "email": "grace@mailinator.com"}
    refused = client.post("/register", data=data)
    assert refused.status_code == 422
    assert field_error(page(refused), "email") == rules.DISPOSABLE_EMAIL

    path = catalog.book_path(catalog.start())
    data = {**GUEST, **form_fields(client, path), "email": "grace@mailinator.com"}
    refused = client.post(path, data=data)
    assert refused.status_code == 422
    assert field_error(page(refused), "email") == rules.DISPOSABLE_EMAIL
    assert counts(app) == (0, 0, 0)


def test_disposable_domains_are_accepted_unless_blocked(api: ApiClient) -> None:
    body = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@mailinator.com"}
    assert api.post("/customers", body).status_code == 201
