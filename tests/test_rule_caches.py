"""The rules' caches (customers/rules.py) remember answers, never change them."""

from __future__ import annotations

import email_validator
import pytest
from phonenumbers import re_util

from latepoint_forms.customers import rules


def test_a_domain_answers_the_same_the_second_time_valid_or_not() -> None:
    assert rules.normalise_email("Ann@Bücher.de") == rules.normalise_email("ann@xn--bcher-kva.de")
    assert rules.normalise_email("ann@bücher.de") == "ann@bücher.de"
    messages = []
    for _ in range(2):
        with pytest.raises(rules.RuleError) as refused:
            rules.normalise_email("ann@exa_mple.com")
        messages.append(refused.value.message)
    assert messages[0] == messages[1]
    assert "invalid characters" in messages[0]


def test_the_special_use_list_is_read_at_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rules.normalise_email("ann@reserved-for-test.org") == "ann@reserved-for-test.org"
    monkeypatch.setattr(
        email_validator,
        "SPECIAL_USE_DOMAIN_NAMES",
        [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "reserved-for-test.org"],
    )
    with pytest.raises(rules.RuleError, match="special-use or reserved name"):
        rules.normalise_email("ann@reserved-for-test.org")


def test_the_local_part_is_checked_for_every_address_of_a_known_domain() -> None:
    assert rules.normalise_email("ann@example.org") == "ann@example.org"
    with pytest.raises(rules.RuleError, match="two periods in a row"):
        rules.normalise_email("a..nn@example.org")


def test_phone_patterns_are_compiled_once() -> None:
    rules.normalise_phone("020 7946 0958", region="GB")
    assert re_util._COMPILED_PATTERNS
    assert rules.normalise_phone("020 7946 0958", region="GB") == "+442079460958"
