"""The shared text helpers: one accent fold, one yes/no word list."""

from __future__ import annotations

import pytest

from latepoint_forms.booleans import parse_bool
from latepoint_forms.config import load_config
from latepoint_forms.customers.custom_fields import FieldDefinition, form_values_to_json
from latepoint_forms.folding import fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Québec", "quebec"),
        ("Straße", "strasse"),
        ("ﬁne", "fine"),  # a ligature is its letters
        ("Nguyễn", "nguyen"),
        ("Łódź", "łodz"),  # ł is a letter of its own, not l plus a mark
        ("São Paulo", "sao paulo"),  # spacing is kept
        ("ＡＢＣ", "abc"),  # full-width forms
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize("word", ["1", "true", "TRUE", " yes ", "y", "On"])
def test_yes_words(word: str) -> None:
    assert parse_bool(word) is True


@pytest.mark.parametrize("word", ["0", "false", "No", "n", " off"])
def test_no_words(word: str) -> None:
    assert parse_bool(word) is False


@pytest.mark.parametrize("word", ["", "  ", "maybe", "2", "ja", "yess"])
def test_other_words_are_the_callers_to_judge(word: str) -> None:
    assert parse_bool(word) is None


@pytest.mark.parametrize(("word", "expected"), [("on", True), ("off", False), ("yes", True)])
def test_the_doors_agree_on_a_word(word: str, expected: bool) -> None:
    """The environment and a web checkbox read one word the same way."""
    config = load_config({"EMAIL_CHECK_DELIVERABILITY": word})
    assert config["EMAIL_CHECK_DELIVERABILITY"] is expected
    box = FieldDefinition(key="news", label="News", type="checkbox")
    assert form_values_to_json({"news": word}, [box]) == {"news": expected}


def test_an_unknown_word_in_the_environment_stops_start_up() -> None:
    with pytest.raises(RuntimeError, match="EMAIL_CHECK_DELIVERABILITY"):
        load_config({"EMAIL_CHECK_DELIVERABILITY": "maybe"})
