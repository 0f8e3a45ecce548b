"""Property tests of the field rules (customers/rules.py) with Hypothesis.

For any text in, a rule gives a normalised value or a RuleError with a message: never another
exception. What a rule accepts it also accepts again unchanged (normalising is idempotent),
and the output keeps the documented limits. Bounded by EXAMPLES per property.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from latepoint_forms.customers import rules
from latepoint_forms.customers.rules import RuleError

EXAMPLES = 150
TODAY = datetime.date(2026, 6, 15)
COUNTRIES = ["GB", "US", "CA", "DE", "FR", "JP", "BR", "NL", "IE", "SE", "IN", "AU", "CN", "XX"]

bounded = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Every code point a JSON string can carry, lone surrogates and controls included.
any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
any_text = st.text(any_char, max_size=120)


def near(*examples: str, alphabet: str = "") -> st.SearchStrategy[str]:
    """Arbitrary text, plus valid examples with noise around them (to reach the happy path)."""
    noise = st.text(st.sampled_from(alphabet or " \t-'’.0aZé\u0301\u00a0\n"), max_size=4)
    edited = st.builds(
        lambda prefix, example, suffix, upper: (
            prefix + (example.upper() if upper else example) + suffix
        ),
        noise,
        st.sampled_from(examples),
        noise,
        st.booleans(),
    )
    return st.one_of(any_text, edited)


def outcome(rule: Callable[[str], Any], value: str) -> Any:
    """The rule's value, or None for a RuleError (whose message must be a non-empty str)."""
    try:
        result = rule(value)
    except RuleError as error:
        message = error.message
    else:
        event("accepted")  # --hypothesis-show-statistics: the happy path is reached too
        return result
    event("refused")
    assert isinstance(message, str)
    assert message.strip()
    return None


def assert_clean_single_line(value: str) -> None:
    assert value == value.strip()
    assert unicodedata.is_normalized("NFC", value)
    assert not any(unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"} for c in value)


NAMES = ["Zoë", "José María", "O'Brien", "Anne-Marie", "Łukasz", "Nguyễn", "王小明", "J0hn", "--"]


@bounded
@given(near(*NAMES, alphabet=" \t-'’\u02bc\u2010abcé\u0301"), st.sampled_from([1, 2]))
def test_names(value: str, min_length: int) -> None:
    name = outcome(lambda v: rules.normalise_name(v, label="Name", min_length=min_length), value)
    if name is None:
        return
    assert isinstance(name, str)
    assert min_length <= len(name) <= rules.NAME_MAX_LENGTH
    assert_clean_single_line(name)
    assert "  " not in name
    assert any(unicodedata.category(c).startswith("L") for c in name)
    assert rules.normalise_name(name, label="Name", min_length=min_length) == name


EMAILS = ["john.doe@example.com", "U@Bücher.de", "u@xn--bcher-kva.de", "a@b", "x@localhost"]


@bounded
@given(near(*EMAILS, alphabet=" .+@-_aZ\u00a0"))
def test_emails(value: str) -> None:
    email = outcome(rules.normalise_email, value)
    if email is None:
        return
    assert isinstance(email, str)
    assert email == email.lower()
    assert len(email) <= rules.EMAIL_MAX_LENGTH
    assert "@" in email
    assert rules.normalise_email(email) == email


PHONES = ["+44 20 7946 0958", "020 7946 0958", "(415) 555-2671", "+1 415 555 2671", "12"]


@bounded
@given(near(*PHONES, alphabet=" +-().0123456789"), st.sampled_from([None, "GB", "US", "DE"]))
def test_phones(value: str, region: str | None) -> None:
    phone = outcome(lambda v: rules.normalise_phone(v, region=region), value)
    if phone is None:
        return
    assert re.fullmatch(rules.E164_PATTERN, phone)
    # E.164 carries its country: read again with any region, it is the same number.
    assert rules.normalise_phone(phone, region=None) == phone
    assert rules.normalise_phone(phone, region="JP") == phone


@bounded
@given(near(*rules.STATUSES, *rules.GENDERS))
def test_choices(value: str) -> None:
    for rule, choices in (
        (rules.normalise_status, rules.STATUSES),
        (rules.normalise_gender, rules.GENDERS),
    ):
        chosen = outcome(rule, value)
        if chosen is not None:
            assert chosen in choices
            assert rule(chosen) == chosen


@pytest.mark.parametrize(
    ("rule", "limit", "multiline"),
    [
        (rules.normalise_address, rules.ADDRESS_MAX_LENGTH, False),
        (rules.normalise_city, rules.CITY_MAX_LENGTH, False),
        (rules.normalise_notes, rules.NOTES_MAX_LENGTH, True),
    ],
)
@bounded
@given(value=st.one_of(any_text, st.text(any_char, min_size=95, max_size=1100)))
def test_free_text(rule: Callable[[str], str], limit: int, multiline: bool, value: str) -> None:
    text = outcome(rule, value)
    if text is None:
        return
    assert isinstance(text, str)
    assert len(text) <= limit
    assert text == text.strip()
    assert unicodedata.is_normalized("NFC", text)
    allowed = "\n" if multiline else ""
    assert not any(
        unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"} and c not in allowed for c in text
    )
    if not multiline:
        assert "\n" not in text
    assert rule(text) == text


@bounded
@given(
    st.one_of(
        any_text,
        st.dates().map(datetime.date.isoformat),
        st.dates(datetime.date(1890, 1, 1), TODAY).map(datetime.date.isoformat),
    ),
    st.integers(0, 30),
)
def test_date_of_birth(value: str, min_age: int) -> None:
    born = outcome(lambda v: rules.normalise_date_of_birth(v, today=TODAY, min_age=min_age), value)
    if born is None:
        return
    assert isinstance(born, datetime.date)
    assert born <= TODAY
    assert born.year >= TODAY.year - rules.MAX_AGE_YEARS - 1
    again = rules.normalise_date_of_birth(born.isoformat(), today=TODAY, min_age=min_age)
    assert again == born


@bounded
@given(near(*COUNTRIES, "gb", "us", alphabet=" aZ"))
def test_countries(value: str) -> None:
    country = outcome(rules.normalise_country, value)
    if country is None:
        return
    assert re.fullmatch(r"[A-Z]{2}", country)
    assert rules.normalise_country(country) == country
    assert rules.normalise_country(country.lower()) == country


STATES = ["California", "CA", "ca", "Québec", "quebec", "QC", "Bavaria", "東京都", "Nowhere"]


@bounded
@given(near(*STATES, alphabet=" -é"), st.sampled_from([None, *COUNTRIES]))
def test_states(value: str, country: str | None) -> None:
    state = outcome(lambda v: rules.normalise_state(v, country=country), value)
    if state is None:
        return
    assert isinstance(state, str)
    assert len(state) <= rules.STATE_MAX_LENGTH
    assert rules.normalise_state(state, country=country) == state


ZIPCODES = ["sw1a1aa", "SW1A 1AA", "k1a0b1", "94103", "941031234", "10115", "100-0001", "1234 AB"]


@bounded
@given(near(*ZIPCODES, alphabet=" -‐AZ09"), st.sampled_from([None, *COUNTRIES]))
def test_zipcodes(value: str, country: str | None) -> None:
    zipcode = outcome(lambda v: rules.normalise_zipcode(v, country=country), value)
    if zipcode is None:
        return
    assert isinstance(zipcode, str)
    assert len(zipcode) <= rules.ZIPCODE_MAX_LENGTH
    assert rules.normalise_zipcode(zipcode, country=country) == zipcode


@bounded
@given(st.one_of(st.integers(), st.booleans()))
def test_wordpress_user_ids(value: int) -> None:
    result = outcome(rules.check_wordpress_user_id, value)  # type: ignore[arg-type]
    if result is None:
        return
    assert result == value
    assert not isinstance(result, bool)
    assert 1 <= result <= 2**63 - 1
