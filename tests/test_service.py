"""The customer service: one home for creation, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms.customers.errors import EmailExists, ValidationFailed
from latepoint_forms.customers.input import CustomerInput, RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer, validate_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.unit_of_work import unit_of_work

SETTINGS = RuleSettings()


def person(**overrides: Any) -> CustomerInput:
    raw = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", **overrides}
    return parse_customer_input(raw, SETTINGS)


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Customer)).scalar_one()


@pytest.mark.usefixtures("app_context")
def test_create_stores_generated_fields() -> None:
    customer = create_customer(
        person(), source="web_form", settings=SETTINGS, password="a long passphrase"
    )

    assert customer.id is not None
    assert len(customer.uuid) == 36
    assert customer.customer_code.startswith("CUS-")
    assert customer.source == "web_form"
    assert customer.is_guest is False
    assert customer.password_hash is not None
    assert customer.password_hash.startswith("$argon2id$")
    assert customer.created_at.tzinfo is not None


@pytest.mark.usefixtures("app_context")
def test_customer_codes_are_unique() -> None:
    codes = {
        create_customer(
            person(email=f"p{i}@example.com"), source="api", settings=SETTINGS
        ).customer_code
        for i in range(30)
    }
    assert len(codes) == 30


@pytest.mark.usefixtures("app_context")
def test_unknown_source_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        create_customer(person(), source="fax", settings=SETTINGS)


@pytest.mark.usefixtures("app_context")
def test_the_unique_index_decides_duplicates_not_a_pre_check() -> None:
    # The service has no "does it exist?" query before inserting: the second insert reaches
    # the database, which refuses it, and the refusal becomes EmailExists.
    with unit_of_work():
        create_customer(person(), source="api", settings=SETTINGS)

    with pytest.raises(EmailExists):
        create_customer(person(email="ANN@example.com"), source="api", settings=SETTINGS)
    # The session is usable afterwards: a refusal does not abort the transaction.
    create_customer(person(email="other@example.com"), source="api", settings=SETTINGS)
    assert db.session.execute(select(func.count()).select_from(Customer)).scalar_one() == 2


@pytest.mark.usefixtures("app_context")
def test_a_refused_insert_leaves_the_rest_of_the_unit_of_work_alone() -> None:
    """The service refuses and says why; what else the unit wrote is the unit's to keep."""
    with unit_of_work():
        create_customer(person(), source="api", settings=SETTINGS)
        with pytest.raises(EmailExists):
            create_customer(person(email="Ann@Example.com"), source="api", settings=SETTINGS)
        create_customer(person(email="bo@example.com"), source="api", settings=SETTINGS)
    emails = db.session.execute(select(Customer.email).order_by(Customer.id)).scalars().all()
    assert emails == ["ann@example.com", "bo@example.com"]


@pytest.mark.usefixtures("app_context")
def test_validate_customer_reports_duplicates_without_storing() -> None:
    create_customer(person(), source="api", settings=SETTINGS)
    with pytest.raises(EmailExists):
        validate_customer(person(), SETTINGS)
    with pytest.raises(ValidationFailed):
        validate_customer(person(email=None, custom_fields={"nope": 1}), SETTINGS)


def test_concurrent_creates_with_one_email_make_one_customer(app: Flask) -> None:
    """Threads with their own sessions race one email; exactly one wins, on both databases."""
    racers = 8
    barrier = threading.Barrier(racers)
    spellings = ["racer@example.com", "RACER@EXAMPLE.COM", "Racer@Example.com", "rAcEr@example.COM"]
    emails = [spellings[i % len(spellings)] for i in range(racers)]

    def attempt(email: str) -> str:
        with app.app_context():
            data = person(email=email)
            barrier.wait(timeout=10)
            try:
                with unit_of_work():
                    create_customer(data, source="api", settings=SETTINGS)
            except EmailExists:
                return "duplicate"
            return "created"

    with ThreadPoolExecutor(racers) as pool:
        outcomes = list(pool.map(attempt, emails))

    assert sorted(outcomes) == ["created"] + ["duplicate"] * (racers - 1)
    assert count(app) == 1


def test_update_profile_applies_the_given_fields_through_the_rules(app: Flask) -> None:
    from latepoint_forms.customers.service import PROFILE_KEYS, update_profile

    settings = RuleSettings(default_phone_region="GB")
    with app.app_context(), unit_of_work():
        customer = create_customer(
            parse_customer_input(
                {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
                settings,
            ),
            source="api",
            settings=settings,
        )
        typed = parse_customer_input(
            {"first_name": "  Augusta ", "last_name": "King", "phone": "07911 123456"}, settings
        )
        update_profile(customer, typed, settings, keys=("first_name", "phone"))
        assert (customer.first_name, customer.last_name) == ("Augusta", "Lovelace")
        assert customer.phone == "+447911123456"
        assert customer.email == "ada@example.com"
        assert "augusta" in customer.search_text
        with pytest.raises(ValueError, match="not profile fields"):
            update_profile(customer, typed, settings, keys=("email",))
        assert "email" not in PROFILE_KEYS
