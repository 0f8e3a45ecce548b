"""``flask api-keys``: create prints the key alone on its last line, list, revoke."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from latepoint_forms.api.keys import hash_key
from latepoint_forms.extensions import db
from latepoint_forms.models import ApiKey

from .test_api import BASIC


def create_key(runner: Any, *args: str) -> str:
    result = runner.invoke(args=["api-keys", "create", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_create_prints_a_working_key_once(runner: Any, client: Any, app: Flask) -> None:
    key = create_key(runner, "--name", "Widget", "--permissions", "customers:create")

    assert key.startswith("lp_live_")
    assert len(key) == len("lp_live_") + 40
    with app.app_context():
        stored = db.session.query(ApiKey).one()
        assert stored.key_hash == hash_key(key)
        assert key not in (stored.prefix, stored.key_hash)
    response = client.post("/api/v1/customers", json=BASIC, headers={"X-API-Key": key})
    assert response.status_code == 201


def test_test_mode_key(runner: Any) -> None:
    key = create_key(runner, "--name", "CI", "--permissions", "customers:read", "--mode", "test")
    assert key.startswith("lp_test_")


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "x", "--permissions", "customers:delete"],
        ["--name", "x", "--permissions", ""],
        ["--name", "   ", "--permissions", "customers:read"],
        ["--name", "x", "--permissions", "customers:read", "--mode", "staging"],
    ],
)
def test_create_refuses_bad_arguments(runner: Any, app: Flask, args: list[str]) -> None:
    result = runner.invoke(args=["api-keys", "create", *args])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.query(ApiKey).count() == 0


def test_list_shows_prefix_and_state_never_the_key(runner: Any) -> None:
    key = create_key(runner, "--name", "Widget", "--permissions", "customers:read")

    output = runner.invoke(args=["api-keys", "list"]).output

    assert key[:12] in output
    assert key not in output
    assert "Widget" in output
    assert "active" in output


def test_revoke_by_prefix_and_by_id(runner: Any, client: Any, app: Flask) -> None:
    first = create_key(runner, "--name", "One", "--permissions", "customers:read")
    create_key(runner, "--name", "Two", "--permissions", "customers:read")

    result = runner.invoke(args=["api-keys", "revoke", first])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/status", headers={"X-API-Key": first}).status_code == 401
    with app.app_context():
        second_id = db.session.query(ApiKey).filter_by(name="Two").one().id
    assert runner.invoke(args=["api-keys", "revoke", str(second_id)]).exit_code == 0
    assert "revoked" in runner.invoke(args=["api-keys", "list"]).output


@pytest.mark.parametrize("target", ["999", "lp_live_zzzz", "lp"])
def test_revoke_unknown_key_fails_clearly(runner: Any, target: str) -> None:
    result = runner.invoke(args=["api-keys", "revoke", target])
    assert result.exit_code != 0
    assert "API key" in result.output or "key" in result.output


def test_revoke_by_the_listed_prefix(runner: Any, client: Any) -> None:
    key = create_key(runner, "--name", "One", "--permissions", "customers:read")

    result = runner.invoke(args=["api-keys", "revoke", key[:12]])

    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/status", headers={"X-API-Key": key}).status_code == 401


@pytest.mark.parametrize(
    "mistyped",
    [
        lambda key: key[:12] + "X",  # a longer prefix with a typo after the 12th character
        lambda key: key[:20],  # a longer prefix: cannot be confirmed, only a hash is stored
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # the whole key, mistyped
    ],
    ids=["typo-after-the-prefix", "longer-prefix", "mistyped-key"],
)
def test_revoke_never_guesses_from_more_than_the_prefix(
    runner: Any, client: Any, mistyped: Any
) -> None:
    key = create_key(runner, "--name", "One", "--permissions", "customers:read")

    result = runner.invoke(args=["api-keys", "revoke", mistyped(key)])

    assert result.exit_code != 0
    assert "not a whole API key" in result.output
    assert "first 12 characters" in result.output
    assert key not in result.output
    assert client.get("/api/v1/status", headers={"X-API-Key": key}).status_code == 200
