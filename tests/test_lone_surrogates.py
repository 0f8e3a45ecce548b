"""Lone surrogates ("\\ud800" in JSON) wherever JSON is read: never a 500, never a partial write.

A member name that is not valid Unicode is a 400 ``invalid_json`` (SPEC section 7) in the API,
in a bulk request (before any item is written) and in a JSON-lines import (that line rejected,
the report written). A lone surrogate in a value is the field's rule to refuse: a 422 naming
the field. Both databases.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from latepoint_forms import create_app
from latepoint_forms.errors import AppError
from latepoint_forms.extensions import db

from .catalog_fixtures import add_custom_fields
from .conftest import base_config
from .test_api import assert_error, customer_count

NAME_NOT_UNICODE = "member name that is not valid Unicode"


def post_raw(client: Any, api_key: str, path: str, raw: str) -> Any:
    return client.post(
        path,
        data=raw.encode("ascii"),
        headers={"X-API-Key": api_key, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "raw",
    [
        r'{"first_name":"Ann","last_name":"Lee","\ud800":1}',
        r'{"first_name":"Ann","last_name":"Lee","\udfff\ud800":1}',
        r'{"first_name":"Ann","last_name":"Lee","custom_fields":{"\ud800":1}}',
        r'{"first_name":"Ann","last_name":"Lee","preferences":{"a\udc00":true}}',
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/customers/validate"])
def test_a_lone_surrogate_in_a_member_name_is_400(
    client: Any, api_key: str, path: str, raw: str
) -> None:
    error = assert_error(post_raw(client, api_key, path, raw), 400, "invalid_json")
    assert NAME_NOT_UNICODE in error["message"]
    assert customer_count(client.application) == 0


def test_a_surrogate_pair_in_a_member_name_is_just_an_unknown_field(
    client: Any, api_key: str
) -> None:
    raw = r'{"first_name":"Ann","last_name":"Lee","\ud83d\ude00":1}'  # U+1F600, well formed
    error = assert_error(
        post_raw(client, api_key, "/api/v1/customers", raw), 422, "validation_failed"
    )
    assert error["details"] == {"\U0001f600": "Unknown field"}


def test_bulk_with_a_lone_surrogate_name_writes_nothing(client: Any, api_key: str) -> None:
    raw = (
        r'{"customers":[{"first_name":"Ann","last_name":"Lee"},'
        r'{"first_name":"Bob","last_name":"Ray","\ud800":1}]}'
    )
    for headers in ({}, {"Idempotency-Key": "surrogate-bulk"}):
        response = client.post(
            "/api/v1/customers/bulk",
            data=raw,
            headers={"X-API-Key": api_key, "Content-Type": "application/json", **headers},
        )
        assert_error(response, 400, "invalid_json")
    assert customer_count(client.application) == 0


@pytest.mark.parametrize(
    ("member", "field"),
    [
        (r'"first_name":"An\ud800n"', "first_name"),
        (r'"email":"a\ud800@example.com"', "email"),
        (r'"notes":"\udfff"', "notes"),
        (r'"custom_fields":{"referral":"\ud800"}', "custom_fields.referral"),
        (r'"custom_fields":{"allergies":"nuts\ud800"}', "custom_fields.allergies"),
        (r'"custom_fields":{"membership_level":"\ud800"}', "custom_fields.membership_level"),
        (r'"custom_fields":{"work_email":"\ud800@example.com"}', "custom_fields.work_email"),
        (r'"custom_fields":{"website":"https://example.com/\ud800"}', "custom_fields.website"),
        (r'"custom_fields":{"anniversary":"\ud800"}', "custom_fields.anniversary"),
        (r'"custom_fields":{"mobile":"\ud800"}', "custom_fields.mobile"),
        (r'"custom_fields":{"visits":"\ud800"}', "custom_fields.visits"),
        (r'"preferences":{"language":"\ud800"}', "preferences.language"),
    ],
)
def test_a_lone_surrogate_in_a_value_is_the_fields_422(
    app: Flask, client: Any, api_key: str, member: str, field: str
) -> None:
    add_custom_fields(app)
    raw = '{"first_name":"Ann","last_name":"Lee",' + member + "}"
    if member.startswith('"first_name"'):
        raw = '{"last_name":"Lee",' + member + "}"

    response = post_raw(client, api_key, "/api/v1/customers", raw)

    error = assert_error(response, 422, "validation_failed")
    assert field in error["details"]
    assert customer_count(app) == 0


def test_import_rejects_the_line_and_writes_the_report(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    lines = [
        '{"first_name": "Ann", "last_name": "Lee"}',
        r'{"first_name": "Bob", "last_name": "Ray", "\ud800": 1}',
        r'{"first_name": "Cy", "last_name": "Ode", "custom_fields": {"\udc00": 1}}',
        r'{"first_name": "Di\ud800", "last_name": "Fox"}',
    ]
    file = tmp_path / "people.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="ascii")
    report = tmp_path / "report.csv"

    result = runner.invoke(args=["customers", "import", str(file), "--report", str(report)])

    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert result.stdout.strip().splitlines() == [
        "Created: 1",
        "Already present: 0",
        f"Rejected: 3 (see {report})",
    ]
    with report.open(encoding="utf-8", newline="") as opened:
        rows = list(csv.reader(opened))
    assert [(row[0], row[1]) for row in rows[1:]] == [
        ("2", "line"),
        ("3", "line"),
        ("4", "first_name"),
    ]
    assert NAME_NOT_UNICODE in rows[1][2]
    assert customer_count(app) == 1


@pytest.mark.parametrize("path", ["/api/v1/echo-failure", "/echo-failure"])
def test_an_error_that_cannot_be_rendered_is_still_server_error(database: str, path: str) -> None:
    """Were a message ever to carry text that cannot be encoded, Flask answers its own 500:
    the code stays SPEC's ``server_error``, not ``internal_server_error``."""
    app = create_app({**base_config(database), "TESTING": False})

    def fail() -> None:
        raise AppError("cannot be encoded: \ud800")

    app.add_url_rule(path, "echo_failure", fail)
    response = app.test_client().get(path)

    assert response.status_code == 500
    if path.startswith("/api/"):
        assert assert_error(response, 500, "server_error")["message"] == AppError.message
    assert "\\ud800" not in response.get_data(as_text=True)
    assert "internal_server_error" not in response.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
