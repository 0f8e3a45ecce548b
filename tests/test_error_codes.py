"""The API's 422 lists each failing field with a stable code beside ``details`` (SPEC section
11): codes and parameters come from the rules (latepoint_forms/problems.py), the sentence in
the response's language (English here: no catalog is installed in the tests)."""

from __future__ import annotations

from typing import Any

import pytest

from latepoint_forms.customers.errors import ValidationFailed
from latepoint_forms.customers.input import parse_customer_input
from latepoint_forms.customers.rules import RuleError, normalise_name
from latepoint_forms.problems import Problem

from .conftest import ApiClient
from .test_api import assert_error


def test_a_422_lists_every_failing_field_with_its_code(api: ApiClient) -> None:
    body = {
        "first_name": "A",
        "last_name": "Lee",
        "email": "not an address",
        "phone": "12",
        "country": "GBR",
        "date_of_birth": "2000-13-01",
        "nickname": "x",
    }
    error = assert_error(api.post("/customers", body), 422, "validation_failed")

    codes = {item["field"]: item["code"] for item in error["errors"]}
    assert codes == {
        "first_name": "too_short",
        "email": "invalid_email",
        "country": "invalid_country",
        "date_of_birth": "not_a_date",
        "nickname": "unknown_field",
    }  # the phone is not judged against a country that could not be read
    # The same sentences as details, field by field, in the same order.
    assert {item["field"]: item["message"] for item in error["errors"]} == error["details"]
    assert error["details"]["first_name"] == "First name must be at least 2 characters"
    [first_name] = [item for item in error["errors"] if item["field"] == "first_name"]
    assert first_name["params"] == {"label": "First name", "num": 2}


def test_codes_of_types_and_required_fields(api: ApiClient) -> None:
    error = assert_error(api.post("/customers", {"last_name": 7}), 422, "validation_failed")

    assert {item["field"]: item["code"] for item in error["errors"]} == {
        "first_name": "required",
        "last_name": "not_a_string",
    }
    assert error["details"]["first_name"] == "First name is required"


def test_a_problem_keeps_its_parameters_and_english_sentence() -> None:
    with pytest.raises(RuleError) as raised:
        normalise_name("A", label="First name", min_length=2)
    exc = raised.value
    problem = exc.problem
    assert problem.code == "too_short"
    assert problem.params == {"label": "First name"}
    assert problem.count == 2
    assert str(problem) == exc.message == "First name must be at least 2 characters"
    # One character: the singular form.
    single = Problem.counted("too_short", (problem.template, problem.plural), 1, label="Name")
    assert single.english() == "Name must be at least 1 character"


def test_validation_failed_keeps_problems_and_english_details(app: Any) -> None:
    with app.app_context():
        from latepoint_forms.settings import rule_settings

        with pytest.raises(ValidationFailed) as raised:
            parse_customer_input(
                {"first_name": "Ann", "last_name": "Lee", "phone": "abc"}, rule_settings()
            )
    assert raised.value.problems["phone"].code == "phone_letters"
    assert raised.value.details == {"phone": "Phone numbers cannot contain letters"}
    plain = ValidationFailed({"start": "This time is no longer free"})
    assert plain.problems["start"].code == "invalid"
    assert plain.details == {"start": "This time is no longer free"}


def test_accept_language_pl_gives_polish_messages_with_the_same_codes(api: ApiClient) -> None:
    body = {"first_name": "A", "last_name": "Lee", "email": "not an address", "nickname": "x"}
    english = assert_error(api.post("/customers", body), 422, "validation_failed")
    polish = assert_error(
        api.post("/customers", body, headers={"Accept-Language": "pl"}), 422, "validation_failed"
    )

    assert [(e["field"], e["code"]) for e in polish["errors"]] == [
        (e["field"], e["code"]) for e in english["errors"]
    ]
    for field in ("first_name", "nickname"):
        assert polish["details"][field] != english["details"][field]
    assert polish["message"] != english["message"]
    assert polish["details"]["first_name"].startswith("Pole")  # „Imię” … (a Polish sentence)
