"""What a rule puts into its sentence reads in the sentence's language (SPEC section 11): a
country by CLDR's name in the language (never "the United Kingdom" in German), the kind of
an area or postal code translated, the scripts an address mixes named the language's way, a
field named inside a sentence by its translated label, and email-validator's reasons as our
own messages. The codes and parameters the API publishes stay as in English; the country
menus of the forms and the widget's ``GET /form`` are in the page's language too."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.countries import country_name, country_names
from latepoint_forms.i18n import _readers_names

from .conftest import ApiClient
from .test_api import assert_error
from .test_i18n_catalogs import CATALOGS
from .web_support import make_customer, page, sign_in

pytestmark = pytest.mark.skipif(not CATALOGS, reason="no catalogs yet")

VALID = {"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com"}


def refused(api: ApiClient, body: dict[str, Any], language: str) -> dict[str, Any]:
    headers = {"Accept-Language": language}
    error = assert_error(api.post("/customers", body, headers=headers), 422, "validation_failed")
    return {item["field"]: item for item in error["errors"]}


def english_and(api: ApiClient, body: dict[str, Any], language: str) -> tuple[Any, Any]:
    return refused(api, body, "en"), refused(api, body, language)


def test_country_names_come_from_cldr_in_each_language() -> None:
    assert country_name("GB") == "United Kingdom"
    assert country_name("GB", "de") == "Vereinigtes Königreich"
    assert country_name("US", "fr") == "États-Unis"
    assert country_name("DE", "pl") == "Niemcy"
    assert country_name("JP", "ja") == "日本"
    assert country_name("ZZ", "de") == "ZZ"
    # The same codes in every language, sorted for a menu in that language's names.
    assert set(country_names("es")) == set(country_names())
    names = list(country_names("de").values())
    assert names.index("Österreich") < names.index("Polen")  # Ö sorted as O


def test_a_postal_code_for_a_country_reads_in_german(api: ApiClient) -> None:
    body = {**VALID, "country": "GB", "zipcode": "12345"}
    english, german = english_and(api, body, "de")

    assert "for the United Kingdom, such as" in english["zipcode"]["message"]
    message = german["zipcode"]["message"]
    assert "Vereinigtes Königreich" in message
    assert "United Kingdom" not in message
    assert "postal code" not in message
    assert "postcode" not in message
    assert german["zipcode"]["code"] == english["zipcode"]["code"] == "invalid_postal_code"
    assert german["zipcode"]["params"] == english["zipcode"]["params"]  # as the rule gave them
    assert english["zipcode"]["params"]["country_code"] == "GB"


def test_a_state_and_a_phone_for_a_country_read_in_french(api: ApiClient) -> None:
    body = {**VALID, "country": "US", "state": "Atlantis", "phone": "555 0199"}
    english, french = english_and(api, body, "fr")

    assert "the United States" in english["state"]["message"]
    assert "États-Unis" in french["state"]["message"]
    assert "state" not in french["state"]["message"]  # the kind of area, translated
    assert french["state"]["code"] == "invalid_area"
    assert french["phone"]["code"] == "invalid_phone_for_country"
    assert "États-Unis" in french["phone"]["message"]
    assert "United States" not in french["phone"]["message"]


def test_mixed_scripts_are_named_in_japanese(api: ApiClient) -> None:
    body = {**VALID, "email": "p\u0430ypal@example.com"}  # a Cyrillic "а"
    english, japanese = english_and(api, body, "ja")

    assert "Latin and Cyrillic" in english["email"]["message"]
    message = japanese["email"]["message"]
    assert "ラテン文字" in message
    assert "キリル文字" in message
    assert "Latin" not in message
    assert japanese["email"]["code"] == english["email"]["code"] == "mixed_scripts"
    assert japanese["email"]["params"]["script_codes"] == "Latn,Cyrl"


def test_email_validator_s_reasons_read_in_polish(api: ApiClient) -> None:
    for email in ("no-at-sign.example.com", "a b@example.com", "ann@example"):
        english, polish = english_and(api, {**VALID, "email": email}, "pl")
        assert polish["email"]["code"] == english["email"]["code"] == "invalid_email"
        message = polish["email"]["message"]
        assert "@-sign" not in message, message
        assert "email address" not in message, message
        assert polish["email"]["params"]["reason"] == english["email"]["params"]["reason"]


def test_a_field_named_inside_a_sentence_reads_in_spanish(api: ApiClient) -> None:
    english, spanish = english_and(api, {**VALID, "date_of_birth": "1990-02-30"}, "es")

    assert english["date_of_birth"]["message"] == "Enter a real date of birth"
    message = spanish["date_of_birth"]["message"]
    assert "fecha de nacimiento" in message  # the label, lower case inside the sentence
    assert "date of birth" not in message


def test_the_readers_names_leave_other_parameters_alone() -> None:
    assert _readers_names({"country": "the Netherlands"}, "de") == {}  # no code beside it
    assert _readers_names({"scripts": "Latin and Greek", "script_codes": "Latn,Grek"}, "de") == {
        "scripts": "Lateinisch und Griechisch"
    }


def test_the_country_menus_are_in_the_page_s_language(client: FlaskClient) -> None:
    german = page(client.get("/register?lang=de"))
    assert ">Vereinigtes Königreich</option>" in german
    assert ">United Kingdom</option>" not in german
    english = page(client.get("/register?lang=en"))
    assert ">United Kingdom</option>" in english


def test_the_account_shows_the_country_in_the_page_s_language(
    app: Flask, client: FlaskClient
) -> None:
    make_customer(app, email="ines@example.com", country="ES")
    sign_in(client, "ines@example.com")
    assert "Spanien" in page(client.get("/account?lang=de"))
    assert "España" in page(client.get("/account?lang=es"))


def test_the_widget_form_s_countries_follow_accept_language(api: ApiClient) -> None:
    answer = api.get("/form", headers={"Accept-Language": "pl"})
    assert answer.status_code == 200
    inputs = {item["name"]: item for item in answer.get_json()["data"]["inputs"]}
    labels = {option["value"]: option["label"] for option in inputs["country"]["options"]}
    assert labels["DE"] == "Niemcy"
    assert inputs["first_name"]["label"] != "First name"  # the labels are Polish too
