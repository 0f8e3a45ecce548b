"""Accounts: the password rule, setting a password, checking credentials (both databases)."""

from __future__ import annotations

import pytest
from flask import Flask

from latepoint_forms.accounts.service import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    authenticate_customer,
    check_password,
    email_status,
    set_password,
)
from latepoint_forms.customers.errors import CustomerNotFound
from latepoint_forms.customers.input import RuleSettings
from latepoint_forms.customers.rules import RuleError
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.passwords import verify_password
from latepoint_forms.unit_of_work import unit_of_work

from .web_support import PASSWORD, make_customer

SETTINGS = RuleSettings(fast_password_hashing=True)


@pytest.mark.parametrize(
    "password",
    [
        "a" * PASSWORD_MIN_LENGTH,
        "correct horse battery",
        "ü" * PASSWORD_MAX_LENGTH,
        " spaced  out ",
    ],
)
def test_passwords_that_pass(password: str) -> None:
    assert check_password(password) == password


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("a" * (PASSWORD_MIN_LENGTH - 1), "Password must be at least 10 characters"),
        ("", "Password must be at least 10 characters"),
        ("a" * (PASSWORD_MAX_LENGTH + 1), "Password must be at most 128 characters"),
        (" " * 12, "Password cannot be only spaces"),
    ],
)
def test_passwords_that_fail(password: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        check_password(password)
    assert caught.value.message == message


def test_setting_a_password_turns_a_guest_into_an_account_holder(app: Flask) -> None:
    guest_id = make_customer(app, password=None, is_guest=True)
    with app.app_context(), unit_of_work():
        customer = set_password(guest_id, "a brand new password", SETTINGS)
        assert customer.is_guest is False
    with app.app_context():
        stored = db.session.get(Customer, guest_id)
        assert stored.is_guest is False
        assert verify_password(stored.password_hash, "a brand new password")


def test_setting_a_password_checks_the_rule_and_the_customer(app: Flask) -> None:
    guest_id = make_customer(app, password=None, is_guest=True)
    with app.app_context():
        with pytest.raises(RuleError):
            set_password(guest_id, "short", SETTINGS)
        with pytest.raises(CustomerNotFound):
            set_password(guest_id + 1000, "long enough password", SETTINGS)
        assert db.session.get(Customer, guest_id).password_hash is None


def test_authentication(app: Flask) -> None:
    ada = make_customer(app)
    make_customer(app, password=None, is_guest=True, email="guest@example.com")
    make_customer(app, email="gone@example.com", status="inactive")
    with app.app_context():
        assert authenticate_customer("ada@example.com", PASSWORD, SETTINGS).id == ada
        assert authenticate_customer("  ADA@Example.COM ", PASSWORD, SETTINGS).id == ada
        assert authenticate_customer("ada@example.com", PASSWORD + "!", SETTINGS) is None
        assert authenticate_customer("nobody@example.com", PASSWORD, SETTINGS) is None
        assert authenticate_customer("not an email", PASSWORD, SETTINGS) is None
        assert authenticate_customer("guest@example.com", "", SETTINGS) is None
        assert authenticate_customer("gone@example.com", PASSWORD, SETTINGS) is None


def test_email_status_tells_an_account_from_a_guest(app: Flask) -> None:
    make_customer(app)
    make_customer(app, password=None, is_guest=True, email="guest@example.com")
    with app.app_context():
        assert email_status("Ada@EXAMPLE.com") == "account"
        assert email_status(" GUEST@example.com") == "guest"
        assert email_status("bea@example.com") is None
        assert email_status("not an email") is None
