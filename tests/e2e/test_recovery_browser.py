"""Getting back in, as a customer meets it: in Chromium, with the links read from a real
mailbox (aiosmtpd on loopback, fed by the outbox).

- forgot the password: ask at /password/forgot, open the mailed link (which alone changes
  nothing), choose a new password, land signed in on /account;
- a sign-in link: a guest asks at /sign-in/link, opens the mailed link, presses "Sign in",
  lands on /account.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from latepoint_forms import create_app
from latepoint_forms.customers.input import RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.outbox.delivery import deliver_due
from latepoint_forms.unit_of_work import unit_of_work

from ..mail_support import SmtpServer, smtp_server, text_body
from .conftest import DESKTOP, LiveServer, _build_catalog

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OLD_PASSWORD = "the old forgotten one"
NEW_PASSWORD = "a fresh memorable passphrase"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[LiveServer]:
    """The app on its own SQLite file, sending mail to ``smtp``; links point at itself."""
    path = Path(tmp_path_factory.mktemp("e2e-recovery")) / "recovery.sqlite3"
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SECRET_KEY": "e2e-recovery-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "FAST_PASSWORD_HASHING": True,
            "DEFAULT_COUNTRY": "GB",
            "DEFAULT_PHONE_REGION": "GB",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp.port,
            "FORM_MIN_SECONDS": 0,  # a browser driven by a test fills a form at once
        }
    )
    with app.app_context():
        upgrade()
    _build_catalog(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="e2e-recovery", daemon=True)
    thread.start()
    try:
        yield LiveServer(app.config["PUBLIC_URL"], app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def tab(browser: Any, mail_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies); page errors fail the test."""
    context = browser.new_context(viewport=DESKTOP, base_url=mail_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"browser errors: {errors}"


def add_customer(server: LiveServer, email: str, first_name: str, password: str | None) -> None:
    raw = {"first_name": first_name, "last_name": "Reed", "email": email}
    with server.app.app_context(), unit_of_work():
        settings = RuleSettings.from_config(server.app.config)
        data = parse_customer_input(raw, settings, defaults={"is_guest": password is None})
        create_customer(data, source="web_form", settings=settings, password=password)


def mailed_link(server: LiveServer, smtp: SmtpServer, to: str, path: str) -> str:
    """Deliver the outbox as `flask outbox deliver` does; the link in the one message to
    ``to`` that arrived."""
    before = len(smtp.messages)
    with server.app.app_context():
        deliver_due()
    arrived: list[EmailMessage] = smtp.messages[before:]
    assert [str(m["To"]) for m in arrived] == [to], [m["Subject"] for m in arrived]
    match = re.search(rf"{re.escape(server.url)}{re.escape(path)}\S+", text_body(arrived[0]))
    assert match, text_body(arrived[0])
    return match.group(0)


def test_forgot_password_then_reset_from_the_mailed_link_signs_in(
    tab: Any, mail_server: LiveServer, smtp: SmtpServer, snap: Any
) -> None:
    page = tab
    add_customer(mail_server, "rosalind@example.com", "Rosalind", OLD_PASSWORD)
    page.goto("/sign-in")
    page.click("a:has-text('Forgot your password?')")
    page.wait_for_url("**/password/forgot")
    snap(page, "password-forgot")
    page.fill("#email", "rosalind@example.com")
    page.click("button:has-text('Send me a reset link')")
    page.wait_for_url("**/password/forgot/sent")
    assert page.locator("h1").inner_text() == "Check your email"

    link = mailed_link(mail_server, smtp, "rosalind@example.com", "/password/reset/")
    page.goto(link)
    assert page.locator("h1").inner_text() == "Choose a new password"
    snap(page, "password-reset")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm_password", NEW_PASSWORD)
    page.click("button:has-text('Set my new password')")
    page.wait_for_url("**/account")
    assert "Hello, Rosalind" in page.locator("main").inner_text()
    assert "Your new password is set" in page.locator(".notice").inner_text()

    # The link is spent: opened again, it says so.
    page.goto(link)
    assert page.locator("h1").inner_text() == "This link does not work any more"


def test_a_sign_in_link_from_the_mailbox_reaches_the_account(
    tab: Any, mail_server: LiveServer, smtp: SmtpServer, snap: Any
) -> None:
    page = tab
    add_customer(mail_server, "dorothy@example.com", "Dorothy", None)  # a guest: no password
    page.goto("/sign-in")
    page.click("a:has-text('Email me a sign-in link')")
    page.wait_for_url("**/sign-in/link")
    page.fill("#email", "dorothy@example.com")
    page.click("button:has-text('Email me a sign-in link')")
    page.wait_for_url("**/sign-in/link/sent")

    link = mailed_link(mail_server, smtp, "dorothy@example.com", "/sign-in/link/")
    page.goto(link)
    assert page.locator("h1").inner_text() == "Sign in as Dorothy"
    snap(page, "sign-in-link")
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/account")
    assert "Hello, Dorothy" in page.locator("main").inner_text()
    # A guest who came by the link sets a password on the account page, and it signs them in
    # from now on.
    page.click("a:has-text('Set a password')")
    page.wait_for_url("**/account/password")
    assert page.locator("#current_password").count() == 0  # nothing to confirm: none yet
    page.fill("#password", "dorothy's own passphrase")
    page.fill("#confirm_password", "dorothy's own passphrase")
    page.click("button:has-text('Set password')")
    page.wait_for_url("**/account")
    page.click("button:has-text('Sign out')")
    page.goto("/sign-in")
    page.fill("#email", "dorothy@example.com")
    page.fill("#password", "dorothy's own passphrase")
    page.click("main button:has-text('Sign in')")
    page.wait_for_url("**/account")
    assert "Hello, Dorothy" in page.locator("main").inner_text()
