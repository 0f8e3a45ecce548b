"""Getting back in, as a customer meets it: in Chromium, with the links read from a real
mailbox (aiosmtpd on loopback, fed by the outbox).

- forgot the password: ask at /password/forgot, open the mailed link (which alone changes
  nothing), choose a new password, land signed in on /account;
- a sign-in link: a guest asks at /sign-in/link, opens the mailed link, presses "Sign in",
  lands on /account.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest

from latepoint_forms.customers.input import RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer
from latepoint_forms.outbox.delivery import deliver_due
from latepoint_forms.unit_of_work import unit_of_work

from ..mail_support import SmtpServer, text_body
from .conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OLD_PASSWORD = "the old forgotten one"
NEW_PASSWORD = "a fresh memorable passphrase"


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
