"""One-time links (accounts/tokens.py): a link works once, for its purpose, until it expires;
a newer link of a purpose voids the older; the database lets one of two racing uses win.
Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms.accounts import tokens
from latepoint_forms.extensions import db
from latepoint_forms.models import CustomerToken
from latepoint_forms.unit_of_work import unit_of_work

from .web_support import make_customer

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _issue(app: Flask, customer_id: int, purpose: str, **kwargs: object) -> str:
    with app.app_context(), unit_of_work():
        return tokens.issue_token(customer_id, purpose, NOW, **kwargs)  # type: ignore[arg-type]


def _use(app: Flask, token: str, purpose: str, at: datetime = NOW) -> int | None:
    with app.app_context(), unit_of_work():
        row = tokens.use_token(token, purpose, at)
        return row.customer_id if row is not None else None


def test_a_link_works_once_and_only_for_its_purpose(app: Flask) -> None:
    customer_id = make_customer(app)
    token = _issue(app, customer_id, tokens.PASSWORD_RESET)
    with app.app_context():
        stored = db.session.execute(select(CustomerToken.token_hash)).scalar_one()
    assert token not in stored
    assert stored == tokens.token_hash(token)
    assert _use(app, token, tokens.SIGN_IN) is None  # another purpose
    with app.app_context():
        assert tokens.find_token(token, tokens.PASSWORD_RESET, NOW) is not None
    assert _use(app, token, tokens.PASSWORD_RESET) == customer_id
    assert _use(app, token, tokens.PASSWORD_RESET) is None  # never again
    with app.app_context():
        assert tokens.find_token(token, tokens.PASSWORD_RESET, NOW) is None


def test_a_link_expires(app: Flask) -> None:
    customer_id = make_customer(app)
    token = _issue(app, customer_id, tokens.SIGN_IN)
    late = NOW + tokens.LIFETIMES[tokens.SIGN_IN]
    assert _use(app, token, tokens.SIGN_IN, late) is None
    assert _use(app, token, tokens.SIGN_IN, late - timedelta(seconds=1)) == customer_id


def test_a_newer_link_voids_the_older_and_void_tokens_voids_all(app: Flask) -> None:
    customer_id = make_customer(app)
    first = _issue(app, customer_id, tokens.PASSWORD_RESET)
    second = _issue(app, customer_id, tokens.PASSWORD_RESET)
    sign_in = _issue(app, customer_id, tokens.SIGN_IN)
    assert _use(app, first, tokens.PASSWORD_RESET) is None
    with app.app_context(), unit_of_work():
        tokens.void_tokens(customer_id, [tokens.PASSWORD_RESET, tokens.SIGN_IN], NOW)
    assert _use(app, second, tokens.PASSWORD_RESET) is None
    assert _use(app, sign_in, tokens.SIGN_IN) is None


def test_a_payload_travels_with_the_link(app: Flask) -> None:
    customer_id = make_customer(app)
    token = _issue(app, customer_id, tokens.CHANGE_EMAIL, payload={"email": "new@example.com"})
    with app.app_context(), unit_of_work():
        row = tokens.use_token(token, tokens.CHANGE_EMAIL, NOW)
        assert row is not None
        assert row.payload == {"email": "new@example.com"}


@pytest.mark.parametrize("junk", ["", "x" * 65, "\ud800", "../../etc"])
def test_malformed_tokens_are_refused(app: Flask, junk: str) -> None:
    make_customer(app)
    assert _use(app, junk, tokens.SIGN_IN) is None
    with app.app_context():
        assert tokens.find_token(junk, tokens.SIGN_IN, NOW) is None


def test_two_racing_uses_of_one_link_one_wins(app: Flask) -> None:
    customer_id = make_customer(app)
    token = _issue(app, customer_id, tokens.SIGN_IN)
    barrier = threading.Barrier(8)
    results: list[int | None] = []
    lock = threading.Lock()

    def use() -> None:
        barrier.wait()
        try:
            got = _use(app, token, tokens.SIGN_IN)
        except Exception:
            got = None
        with lock:
            results.append(got)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results, key=lambda r: r is None) == [customer_id] + [None] * 7
    with app.app_context():
        used = db.session.execute(
            select(func.count()).where(CustomerToken.used_at.is_not(None))
        ).scalar_one()
    assert used == 1
