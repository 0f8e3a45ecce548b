"""Getting back in by the address alone (SPEC section 9): the password reset and the sign-in
link. Each test runs on SQLite and PostgreSQL; messages are read from the outbox rows, and in
one test from a real SMTP server after the outbox delivered them."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from latepoint_forms import create_app
from latepoint_forms.accounts.service import set_password
from latepoint_forms.customers.input import RuleSettings
from latepoint_forms.customers.rules import RuleError, normalise_email
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer, CustomerToken, OutboxMessage
from latepoint_forms.outbox.delivery import deliver_due
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, empty_all_tables
from .mail_support import SmtpServer, smtp_server, text_body
from .servers import TcpProxy, through_proxy, upstream_of
from .web_support import PASSWORD, field_error, make_customer, page, sign_in

NEW_PASSWORD = "a brand new passphrase"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_STARTED = re.compile(
    r'name="form_started"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_started"'
)
LINK_PATHS = {
    "password_reset": "/password/reset/",
    "sign_in_link": "/sign-in/link/",
    "email_confirmation": "/confirm-email/",
}


class Clock:
    """The app's CLOCK (clock.now): moved by the test, never read from the wall."""

    def __init__(self) -> None:
        self.moment = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def app_config(clock: Clock, smtp: SmtpServer) -> dict[str, Any]:
    # Messages wait in the outbox until a test delivers them (to the real SMTP server).
    return {"CLOCK": clock, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


# --- helpers (tests/test_ownership.py uses them too) -----------------------------------------


def form_fields(client: FlaskClient, path: str) -> dict[str, str]:
    """What a browser sends besides the typed values: the CSRF token (and the form's signed
    start, where it has one)."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    html = page(response)
    token = _TOKEN.search(html)
    assert token, f"no CSRF token on {path}"
    fields = {"csrf_token": token.group(1)}
    started = _STARTED.search(html)
    if started:
        fields["form_started"] = started.group(1) or started.group(2)
    return fields


def ask(client: FlaskClient, path: str, email: str, **extra: str) -> Any:
    """Ask ``/password/forgot`` or ``/sign-in/link`` for a link to ``email``."""
    return client.post(path, data={**form_fields(client, path), "email": email, **extra})


def messages(app: Flask, kind: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(db.session.execute(query).scalars())


def link_in(message: OutboxMessage | str) -> str:
    """The one-time link's path in a message (its plain text)."""
    text = message if isinstance(message, str) else message.body_text
    match = re.search(r"https?://[^/\s]+(/(?:password/reset|sign-in/link|confirm-email)/\S+)", text)
    assert match, text
    return match.group(1)


def latest_link(app: Flask, kind: str) -> str:
    found = messages(app, kind)
    assert found, f"no {kind} message"
    return link_in(found[-1])


def press(client: FlaskClient, path: str, **data: str) -> Any:
    """Open a link's page and press its button (POST with the page's CSRF token)."""
    return client.post(path, data={**form_fields(client, path), **data})


def reset_password(client: FlaskClient, path: str, password: str = NEW_PASSWORD) -> Any:
    return press(client, path, password=password, confirm_password=password)


def customer_row(app: Flask, email: str = "ada@example.com") -> Customer:
    with app.app_context():
        return db.session.execute(select(Customer).where(Customer.email == email)).scalar_one()


def signed_in_as(client: FlaskClient) -> str | None:
    """The first name /account greets, or None when it sends the browser to sign in."""
    response = client.get("/account")
    if response.status_code != 200:
        return None
    match = re.search(r"Hello, ([^<!.]+)", page(response))
    assert match, page(response)
    return match.group(1).strip()


def comparable(html: str) -> str:
    """A page body without what differs between any two requests (the CSRF token, the
    form's signed start, a request id)."""
    html = _TOKEN.sub('name="csrf_token" value="-"', html)
    html = re.sub(r'(name="form_started"[^>]*value=")[^"]*', r"\1-", html)
    return re.sub(r"[0-9a-f]{32}", "-", html)


# --- the same answer for every address -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/password/forgot", "password_reset"), ("/sign-in/link", "sign_in_link")],
)
def test_the_answer_is_identical_for_known_and_unknown_addresses(
    app: Flask, path: str, kind: str
) -> None:
    make_customer(app)  # an account holder
    make_customer(app, email="pending@example.com", status="pending")
    make_customer(app, password=None, is_guest=True, email="guest@example.com")
    make_customer(app, password=None, email="added@example.com")  # added by the business
    make_customer(app, email="gone@example.com", status="inactive")
    addresses = [
        "ada@example.com",
        "nobody@example.com",
        "pending@example.com",
        "guest@example.com",
        "added@example.com",
        "gone@example.com",
        "ADA@Example.COM",
    ]
    answers = []
    for email in addresses:
        browser = app.test_client()  # a fresh visitor each time
        posted = ask(browser, path, email)
        landing = browser.get(posted.headers["Location"])
        answers.append(
            (
                posted.status_code,
                posted.headers["Location"],
                comparable(page(posted)),
                landing.status_code,
                comparable(page(landing)),
            )
        )
    assert answers[0][0] == 303
    assert answers[0][3] == 200
    assert "Check your email" in answers[0][4]
    assert all(answer == answers[0] for answer in answers), "the answers differ"

    # Only the known, not inactive customers were sent a link; the unknown and inactive none.
    sent = sorted(message.recipient for message in messages(app, kind))
    assert sent == sorted(
        [
            "ada@example.com",
            "ada@example.com",
            "pending@example.com",
            "guest@example.com",
            "added@example.com",
        ]
    )
    assert len(messages(app)) == len(sent)  # nothing else


@pytest.mark.parametrize("path", ["/password/forgot", "/sign-in/link"])
def test_a_malformed_address_is_said_beside_the_field(app: Flask, path: str) -> None:
    browser = app.test_client()
    response = ask(browser, path, "ada@")
    assert response.status_code == 422
    html = page(response)
    assert 'class="field-error" id="email-error"' in html
    assert 'value="ada@"' in html
    assert messages(app) == []


@pytest.mark.parametrize("app_config", [{"BLOCK_DISPOSABLE_EMAILS": True}])
@pytest.mark.parametrize("path", ["/password/forgot", "/sign-in/link"])
def test_a_throw_away_address_is_refused_beside_the_field_when_they_are_blocked(
    app: Flask, path: str
) -> None:
    response = ask(app.test_client(), path, "ada@mailinator.com")
    assert response.status_code == 422
    message = field_error(page(response), "email")
    # The message every other door gives (the email rule's own).
    with pytest.raises(RuleError) as refused:
        normalise_email("ada@mailinator.com", block_disposable=True)
    assert message == refused.value.message
    assert messages(app) == []
    assert ask(app.test_client(), path, "ada@example.com").status_code == 303


@pytest.mark.parametrize("app_config", [{"FORM_MIN_SECONDS": 2}])
@pytest.mark.parametrize("path", ["/password/forgot", "/sign-in/link"])
def test_a_tripped_trap_sends_nothing_and_looks_like_success(
    app: Flask, path: str, clock: Clock
) -> None:
    make_customer(app)
    app.config["CLOCK"] = clock
    browser = app.test_client()
    # The honeypot, filled after a person's time.
    fields = form_fields(browser, path)
    clock.advance(30)
    trapped = browser.post(path, data={**fields, "email": "ada@example.com", "website": "x"})
    # Too fast: sent a second after the page was served.
    fields = form_fields(browser, path)
    clock.advance(1)
    hasty = browser.post(path, data={**fields, "email": "ada@example.com"})
    assert messages(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerToken)) == 0

    fields = form_fields(browser, path)
    clock.advance(30)
    real = browser.post(path, data={**fields, "email": "ada@example.com"})
    assert len(messages(app)) == 1
    for bot in (trapped, hasty):
        assert (bot.status_code, bot.headers["Location"]) == (303, real.headers["Location"])
        assert page(bot) == page(real)


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_WEB": "2/minute"}])
@pytest.mark.parametrize("path", ["/password/forgot", "/sign-in/link"])
def test_asking_is_limited_per_email_across_addresses_and_per_address(
    app: Flask, path: str
) -> None:
    make_customer(app)
    statuses = []
    for n in range(1, 4):
        browser = app.test_client()
        data = {**form_fields(browser, path), "email": "ada@example.com"}
        address = {"REMOTE_ADDR": f"192.0.2.{n}"}
        statuses.append(browser.post(path, data=data, environ_base=address).status_code)
    assert statuses == [303, 303, 429]
    assert len(messages(app)) == 2

    browser = app.test_client()
    statuses = []
    for n in range(3):
        data = {**form_fields(browser, path), "email": f"u{n}@example.com"}
        address = {"REMOTE_ADDR": "203.0.113.7"}
        statuses.append(browser.post(path, data=data, environ_base=address).status_code)
    assert statuses == [303, 303, 429]


# --- the reset link ----------------------------------------------------------------------------


def test_a_reset_link_sets_a_new_password_once_and_signs_in(app: Flask, clock: Clock) -> None:
    make_customer(app)
    browser = app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    [message] = messages(app, "password_reset")
    assert message.recipient == "ada@example.com"
    assert "1 hour" in message.body_text
    path = link_in(message)

    # Opening the link (a mail scanner does) changes nothing.
    shown = browser.get(path)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    assert 'autocomplete="new-password"' in page(shown)
    assert browser.get(path).status_code == 200
    # A new password the rule refuses, or a repetition that differs, leaves the link usable.
    short = reset_password(browser, path, "short")
    assert short.status_code == 422
    assert "at least 10 characters" in page(short)
    differs = press(browser, path, password=NEW_PASSWORD, confirm_password="something else")
    assert differs.status_code == 422
    assert signed_in_as(browser) is None

    done = reset_password(browser, path)
    assert (done.status_code, done.headers["Location"]) == (303, "/account")
    assert signed_in_as(browser) == "Ada"
    assert sign_in(app.test_client(), password=PASSWORD).status_code == 422  # the old one
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302

    # Never again: neither the page nor the button.
    other = app.test_client()
    assert other.get(path).status_code == 410
    assert "does not work any more" in page(other.get(path))
    again = other.post(path, data={"password": "x" * 12, "confirm_password": "x" * 12})
    assert again.status_code in (400, 410)  # no CSRF token from a page that is gone
    assert signed_in_as(other) is None


def test_a_reset_link_expires_after_an_hour(app: Flask, clock: Clock) -> None:
    make_customer(app)
    browser = app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    path = latest_link(app, "password_reset")
    fields = form_fields(browser, path)
    clock.advance(60 * 60)
    late = browser.post(
        path, data={**fields, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert late.status_code == 410
    assert signed_in_as(browser) is None
    assert sign_in(app.test_client(), password=PASSWORD).status_code == 302  # unchanged


def test_a_password_change_voids_the_reset_and_sign_in_links(app: Flask) -> None:
    customer_id = make_customer(app)
    browser = app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    ask(browser, "/sign-in/link", "ada@example.com")
    reset_path = latest_link(app, "password_reset")
    sign_in_path = latest_link(app, "sign_in_link")
    assert browser.get(reset_path).status_code == 200

    with app.app_context(), unit_of_work():  # the password changed some other way
        set_password(customer_id, "changed elsewhere!", RuleSettings.from_config(app.config))

    assert browser.get(reset_path).status_code == 410
    assert browser.get(sign_in_path).status_code == 410
    assert sign_in(app.test_client(), password="changed elsewhere!").status_code == 302


def test_a_newer_link_voids_the_older(app: Flask) -> None:
    make_customer(app)
    browser = app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    ask(browser, "/password/forgot", "ada@example.com")
    first, second = (link_in(m) for m in messages(app, "password_reset"))
    assert browser.get(first).status_code == 410
    assert reset_password(browser, second).status_code == 303


def test_a_guest_without_a_password_can_set_one_by_reset(app: Flask) -> None:
    make_customer(app, password=None, is_guest=True)
    browser = app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    assert reset_password(browser, latest_link(app, "password_reset")).status_code == 303
    ada = customer_row(app)
    assert (ada.is_guest, ada.status) == (False, "active")
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_an_inactive_customer_s_link_does_not_work(app: Flask) -> None:
    customer_id = make_customer(app)
    browser = app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    ask(browser, "/sign-in/link", "ada@example.com")
    reset_path = latest_link(app, "password_reset")
    sign_in_path = latest_link(app, "sign_in_link")
    with app.app_context(), unit_of_work():
        customer = db.session.get(Customer, customer_id)
        assert customer is not None
        customer.status = "inactive"
    assert browser.get(reset_path).status_code == 410
    assert browser.get(sign_in_path).status_code == 410
    assert customer_row(app).status == "inactive"


def test_two_racing_resets_with_one_link_one_wins(app: Flask) -> None:
    make_customer(app)
    ask(app.test_client(), "/password/forgot", "ada@example.com")
    path = latest_link(app, "password_reset")
    browsers = [app.test_client() for _ in range(2)]
    forms = [form_fields(b, path) for b in browsers]
    passwords = ["first racer password", "second racer password"]
    barrier = threading.Barrier(2)
    statuses: dict[int, int] = {}

    def race(n: int) -> None:
        barrier.wait()
        data = {**forms[n], "password": passwords[n], "confirm_password": passwords[n]}
        statuses[n] = browsers[n].post(path, data=data).status_code

    threads = [threading.Thread(target=race, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses.values()) == [303, 410]
    winner = next(n for n, status in statuses.items() if status == 303)
    assert signed_in_as(browsers[winner]) == "Ada"
    assert signed_in_as(browsers[1 - winner]) is None
    assert sign_in(app.test_client(), password=passwords[winner]).status_code == 302
    assert sign_in(app.test_client(), password=passwords[1 - winner]).status_code == 422


# --- the sign-in link ---------------------------------------------------------------------------


@pytest.mark.parametrize("password", [PASSWORD, None], ids=["account", "guest"])
def test_a_sign_in_link_signs_in_once(app: Flask, password: str | None) -> None:
    make_customer(app, password=password, is_guest=password is None)
    browser = app.test_client()
    ask(browser, "/sign-in/link", "ada@example.com")
    [message] = messages(app, "sign_in_link")
    assert "15 minutes" in message.body_text
    path = link_in(message)

    shown = browser.get(path)
    assert shown.status_code == 200
    assert "<button" in page(shown)
    assert ">Sign in</button>" in page(shown)
    assert signed_in_as(browser) is None  # the page alone signs nobody in

    done = press(browser, path)
    assert (done.status_code, done.headers["Location"]) == (303, "/account")
    assert signed_in_as(browser) == "Ada"
    assert app.test_client().get(path).status_code == 410
    assert press_gone(app.test_client(), path) == 410


def press_gone(client: FlaskClient, path: str) -> int:
    """POST a link whose page is gone, with a CSRF token from another page."""
    return client.post(path, data=form_fields(client, "/sign-in/link")).status_code


def test_a_sign_in_link_expires_after_15_minutes(app: Flask, clock: Clock) -> None:
    make_customer(app)
    browser = app.test_client()
    ask(browser, "/sign-in/link", "ada@example.com")
    path = latest_link(app, "sign_in_link")
    fields = form_fields(browser, path)
    clock.advance(15 * 60)
    assert browser.post(path, data=fields).status_code == 410
    assert signed_in_as(browser) is None


def test_signing_in_by_link_renews_the_session(app: Flask) -> None:
    make_customer(app)
    browser = app.test_client()
    ask(browser, "/sign-in/link", "ada@example.com")
    path = latest_link(app, "sign_in_link")
    form_fields(browser, path)
    before = browser.get_cookie("session")
    assert before is not None
    press(browser, path)
    after = browser.get_cookie("session")
    assert after is not None
    assert after.value != before.value
    # The cookie from before the sign-in is no way in (session fixation).
    planted = app.test_client()
    planted.set_cookie("session", before.value)
    assert signed_in_as(planted) is None


def test_two_racing_sign_ins_with_one_link_one_wins(app: Flask) -> None:
    make_customer(app)
    ask(app.test_client(), "/sign-in/link", "ada@example.com")
    path = latest_link(app, "sign_in_link")
    browsers = [app.test_client() for _ in range(2)]
    forms = [form_fields(b, path) for b in browsers]
    barrier = threading.Barrier(2)
    statuses: dict[int, int] = {}

    def race(n: int) -> None:
        barrier.wait()
        statuses[n] = browsers[n].post(path, data=forms[n]).status_code

    threads = [threading.Thread(target=race, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses.values()) == [303, 410]
    assert sorted(signed_in_as(b) or "" for b in browsers) == ["", "Ada"]


def test_the_sign_in_page_links_to_both_ways_back_in(client: FlaskClient) -> None:
    html = page(client.get("/sign-in"))
    assert 'href="/password/forgot"' in html
    assert 'href="/sign-in/link"' in html


# --- through a real mail server ----------------------------------------------------------------


def test_a_reset_link_arrives_by_smtp_and_works(app: Flask, clock: Clock, smtp: SmtpServer) -> None:
    make_customer(app)
    browser = app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    ask(browser, "/password/forgot", "nobody@example.com")
    before = len(smtp.messages)
    with app.app_context():
        deliver_due(clock)
    [mail] = smtp.messages[before:]
    assert mail["To"] == "ada@example.com"
    assert mail["Subject"] == "Reset your password"
    assert smtp.envelopes[before][1] == ["ada@example.com"]
    path = link_in(text_body(mail))
    assert path.startswith("/password/reset/")
    assert reset_password(browser, path).status_code == 303
    assert signed_in_as(browser) == "Ada"
    [row] = messages(app, "password_reset")
    assert row.state == "sent"


# --- when the database goes away -----------------------------------------------------------------


@pytest.fixture
def proxy(postgresql_url: str) -> Iterator[TcpProxy]:
    with TcpProxy(upstream_of(postgresql_url)) as running:
        yield running


@pytest.fixture
def proxied_app(postgresql_url: str, proxy: TcpProxy) -> Iterator[Flask]:
    app = create_app(base_config(through_proxy(postgresql_url, proxy)))
    yield app
    direct = create_app(base_config(postgresql_url))  # the proxy may be down by now
    with direct.app_context():
        empty_all_tables()
        db.engine.dispose()
    with app.app_context():
        db.engine.dispose()


@pytest.mark.postgres
def test_the_forms_answer_503_and_keep_what_was_typed_when_the_database_goes_away(
    proxied_app: Flask, proxy: TcpProxy
) -> None:
    make_customer(proxied_app)
    browser = proxied_app.test_client()
    ask(browser, "/password/forgot", "ada@example.com")
    path = latest_link(proxied_app, "password_reset")
    reset_fields = form_fields(browser, path)
    forgot_fields = form_fields(browser, "/sign-in/link")

    proxy.stop()
    asked = browser.post("/sign-in/link", data={**forgot_fields, "email": "ada@example.com"})
    assert asked.status_code == 503
    assert 'value="ada@example.com"' in page(asked)
    assert "Traceback" not in page(asked)
    data = {**reset_fields, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    reset = browser.post(path, data=data)
    assert reset.status_code == 503
    assert "Traceback" not in page(reset)
    assert NEW_PASSWORD not in page(reset)
