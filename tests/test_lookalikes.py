"""Identities that look like another (SPEC section 7): mixed-script and compatibility-form
emails, invisible letters and "zalgo" stacks in names.

At the rule level (customers/rules.py, which every door calls), then once through the API and
once through a web form, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from latepoint_forms.customers import lookalikes, rules
from latepoint_forms.customers.rules import RuleError
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer

from .conftest import ApiClient
from .web_support import PASSWORD, csrf_token, field_error, page

CYRILLIC_A = "\u0430"  # а
GREEK_OMICRON = "\u03bf"  # ο
HANGUL_FILLERS = ["\u3164", "\u115f", "\u1160", "\uffa0"]


def refusal(rule: Any, value: str) -> str:
    with pytest.raises(RuleError) as caught:
        rule(value)
    return caught.value.message


# --- email: scripts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("user@example.com", "user@example.com"),
        ("zoë@bücher.de", "zoë@bücher.de"),
        ("josé.garcía@example.es", "josé.garcía@example.es"),
        ("łukasz@example.pl", "łukasz@example.pl"),
        ("øyvind@example.no", "øyvind@example.no"),
        ("иван@почта.рф", "иван@почта.рф"),  # all-Cyrillic local part and domain labels
        ("ivan@почта.рф", "ivan@почта.рф"),  # a Latin local part, a Cyrillic domain
        ("u@xn--80a1acny.xn--p1ai", "u@почта.рф"),  # the same domain as typed in ASCII
        ("ελένη@example.gr", "ελένη@example.gr"),
        ("用户@例子.中国", "用户@例子.中国"),
        # Japanese: Han + Hiragana + Katakana, and with Latin (UTS #39 "highly restrictive")
        ("山田たろう@example.jp", "山田たろう@example.jp"),
        ("やまだタロウ@example.jp", "やまだタロウ@example.jp"),
        ("taro山田たろう@example.jp", "taro山田たろう@example.jp"),
        ("ヤマダー@example.jp", "ヤマダー@example.jp"),  # the prolonged sound mark (Hira/Kana)
        # Korean (Hangul + Han) and Chinese with Bopomofo, alone or beside Latin
        ("김민준@example.kr", "김민준@example.kr"),
        ("kim김민준金@example.kr", "kim김민준金@example.kr"),
        ("ㄅㄆ中文@example.tw", "ㄅㄆ中文@example.tw"),
        ("अनीता@example.in", "अनीता@example.in"),  # Devanagari with vowel signs
        ("nguyễn.văn@example.vn", "nguyễn.văn@example.vn"),
    ],
)
def test_email_from_every_script_is_accepted(raw: str, stored: str) -> None:
    assert rules.normalise_email(raw) == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            f"p{CYRILLIC_A}ypal@example.com",
            "The part before the @-sign mixes Latin and Cyrillic letters, so it could pass "
            "for another address.",
        ),
        (
            f"g{GREEK_OMICRON}ogle@example.com",
            "The part before the @-sign mixes Latin and Greek letters, so it could pass "
            "for another address.",
        ),
        (
            f"paypal@ex{CYRILLIC_A}mple.com",
            f"The domain's part 'ex{CYRILLIC_A}mple' mixes Latin and Cyrillic letters, so it "
            "could pass for another domain.",
        ),
        (  # the same spoof typed as its ASCII (punycode) form
            "u@xn--pypal-4ve.com",
            f"The domain's part 'p{CYRILLIC_A}ypal' mixes Latin and Cyrillic letters, so it "
            "could pass for another domain.",
        ),
        (  # a Latin "o" in a Cyrillic domain label
            "ivan@пoчта.рф",
            "The domain's part 'пoчта' mixes Cyrillic and Latin letters, so it could pass "
            "for another domain.",
        ),
        (  # Han is fine with Latin, Greek is not, so Latin + Han + Greek is refused
            f"a山{GREEK_OMICRON}@example.com",
            "The part before the @-sign mixes Latin, Han and Greek letters, so it could pass "
            "for another address.",
        ),
        (  # Cyrillic beside Han: not one of the combinations "highly restrictive" allows
            "иван山@example.com",
            "The part before the @-sign mixes Cyrillic and Han letters, so it could pass "
            "for another address.",
        ),
    ],
)
def test_email_mixing_scripts_is_refused(raw: str, message: str) -> None:
    assert refusal(rules.normalise_email, raw) == f"Enter a valid email address. {message}"


# --- email: compatibility forms and invisible characters -------------------------------------


@pytest.mark.parametrize(
    ("raw", "characters"),
    [
        ("ｊｏｈｎ@example.com", "ｊ, ｏ, ｈ, ｎ"),  # full-width local part
        ("john@ｅｘａｍｐｌｅ.com", "ｅ, ｘ, ａ, ｍ, ｐ, ｌ"),  # IDNA would map it quietly
        ("proﬁle@example.com", "ﬁ"),  # the fi ligature
        ("u@proﬁle.com", "ﬁ"),
        ("john²@example.com", "²"),
        ("ｶﾀｶﾅ@example.jp", "ｶ, ﾀ, ﾅ"),  # half-width Katakana
    ],
)
def test_email_in_compatibility_forms_is_refused(raw: str, characters: str) -> None:
    assert refusal(rules.normalise_email, raw) == (
        "Enter a valid email address. It contains full-width letters, ligatures or other "
        f"compatibility characters: {characters}."
    )


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("ann\u3164@example.com", "HANGUL FILLER"),
        ("\uffa0ann@example.com", "HALFWIDTH HANGUL FILLER"),
        ("a\ufe0f@example.com", "VARIATION SELECTOR-16"),
        ("a\u034fb@example.com", "COMBINING GRAPHEME JOINER"),
    ],
)
def test_email_with_invisible_characters_is_refused(raw: str, name: str) -> None:
    assert refusal(rules.normalise_email, raw) == (
        f"Enter a valid email address. It contains invisible characters: {name}."
    )


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "José",
        "Zoë",
        "Nguyễn",
        "Øyvind",
        "Łukasz",
        "山田",
        "Иван",
        "Ελένη",
        "山田 たろう",  # Han + Hiragana
        "ヤマダ タロウ",  # Katakana with the prolonged sound mark's neighbours
        "김민준",  # Hangul
        "अनीता",  # Devanagari vowel signs (combining marks)
        "क्षत्रिय",  # Devanagari conjuncts: virama + vowel sign
        "བསྒྲུབས",  # Tibetan: three marks stacked on one base
        "葛\U000e0100城",  # an ideographic variation sequence (a default-ignorable mark)
        "Zoe\u0308",  # decomposed: one mark after NFC
        "Z" + "\u0301" * 5 + "oe",  # five marks raw, but NFC merges one into "Ź": four left
        "e\u0301\u0302\u0303\u0304\u0305",  # "é" and four more marks: the limit
    ],
)
def test_name_from_every_script_is_accepted(name: str) -> None:
    stored = rules.normalise_name(name, label="First name")
    assert stored == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize("filler", HANGUL_FILLERS)
def test_name_of_hangul_fillers_is_refused(filler: str) -> None:
    for name in (filler * 2, f"Ann{filler}", f"{filler}김민준"):
        message = refusal(lambda v: rules.normalise_name(v, label="First name"), name)
        assert message == "First name must not contain invisible characters"


@pytest.mark.parametrize(
    "name",
    [
        "Z" + "\u0334\u0335\u0336\u0337\u0338" + "oe",  # five marks no NFC can merge
        "Zoe" + "\u0300\u0301\u0302\u0303\u0304\u0305\u0306",
        "a" + "\u0489" * 5,  # enclosing marks (Me) count too
        "अ" + "\u093f" * 5,  # spacing marks (Mc) count too
    ],
)
def test_name_with_a_zalgo_stack_is_refused(name: str) -> None:
    message = refusal(lambda v: rules.normalise_name(v, label="Last name"), name)
    assert message == "Last name can have at most 4 accents or other marks on one letter"


@pytest.mark.parametrize(
    ("value", "browser_accepts"),
    [
        ("Zoë", True),
        ("김민준", True),
        ("\u3164\u3164", False),
        ("Ann\u3164", False),
        ("\uffa0\uffa0", False),
    ],
)
def test_name_html_pattern_refuses_invisible_letters(value: str, browser_accepts: bool) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        "const [p, v] = process.argv.slice(1); console.log(new RegExp(`^(?:${p})$`, 'v').test(v))"
    )
    result = subprocess.run(
        [node, "-e", script, rules.NAME_HTML_PATTERN, value],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == str(browser_accepts).lower()


# --- properties (bounded) --------------------------------------------------------------------

bounded = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

ascii_word = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=2, max_size=12)
# Lower-case Cyrillic and Greek letters, the usual stand-ins for Latin ones.
foreign_letter = st.one_of(
    st.characters(min_codepoint=0x0430, max_codepoint=0x044F),
    st.characters(min_codepoint=0x03B1, max_codepoint=0x03C9),
)


@bounded
@given(ascii_word, st.integers(min_value=0, max_value=12), foreign_letter, st.booleans())
def test_one_foreign_letter_in_a_latin_address_is_always_refused(
    word: str, position: int, letter: str, in_domain: bool
) -> None:
    position = min(position, len(word))
    spoof = word[:position] + letter + word[position:]
    address = f"a@{spoof}.com" if in_domain else f"{spoof}@example.com"
    message = refusal(rules.normalise_email, address)
    assert " mixes " in message
    assert "Latin" in message


SCRIPT_ALPHABETS = {
    "Latin": "abcdeéèçñøłßz",
    "Cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "Greek": "αβγδεζηθικλμνξοπρστυφχψωάέί",
    "Japanese": "山田花子たろうやまだタロウヤマダー",
    "Korean": "김민준이서연박金",
    "Arabic": "محمدعلي",
}


@bounded
@given(
    st.sampled_from(sorted(SCRIPT_ALPHABETS)).flatmap(
        lambda script: st.text(st.sampled_from(SCRIPT_ALPHABETS[script]), min_size=1, max_size=20)
    )
)
def test_a_single_script_local_part_is_always_accepted(local: str) -> None:
    assert rules.normalise_email(f"{local}@example.com") == f"{local.lower()}@example.com"


@bounded
@given(st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40))
def test_the_checks_answer_for_any_text(text: str) -> None:
    assert isinstance(lookalikes.is_highly_restrictive(text), bool)
    assert lookalikes.longest_mark_run(text) <= len(text)
    for char in lookalikes.invisible_characters(text) + lookalikes.compatibility_characters(text):
        assert char in text


marks = st.characters(categories=["Mn", "Me", "Mc"])
letters = st.characters(categories=["Lu", "Ll", "Lo"])


@bounded
@given(st.lists(st.tuples(letters, st.lists(marks, max_size=6)), min_size=2, max_size=8))
def test_an_accepted_name_has_visible_letters_and_short_stacks(
    parts: list[tuple[str, list[str]]],
) -> None:
    raw = "".join(letter + "".join(stack) for letter, stack in parts)
    try:
        name = rules.normalise_name(raw, label="First name")
    except RuleError:
        return
    assert lookalikes.longest_mark_run(name) <= lookalikes.MAX_MARKS_PER_CHARACTER
    assert not lookalikes.has_invisible_letter(name)
    assert any(unicodedata.category(c)[0] == "L" for c in name)


# --- through the doors (SQLite and PostgreSQL) -----------------------------------------------


def stored_emails(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(Customer.email).order_by(Customer.id)).scalars())


def test_api_refuses_a_look_alike_of_a_stored_address(api: ApiClient) -> None:
    body = {"first_name": "Pay", "last_name": "Pal", "email": "paypal@example.com"}
    assert api.post("/customers", body).status_code == 201
    for spoof in (
        f"p{CYRILLIC_A}ypal@example.com",
        "ｐａｙｐａｌ@example.com",
        f"paypal@ex{CYRILLIC_A}mple.com",
    ):
        response = api.post("/customers", {**body, "email": spoof})
        assert response.status_code == 422, spoof
        assert response.get_json()["error"]["details"]["email"].startswith(
            "Enter a valid email address. "
        )
    response = api.post("/customers", {**body, "first_name": "\u3164\u3164"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {
        "first_name": "First name must not contain invisible characters"
    }
    assert stored_emails(api.app) == ["paypal@example.com"]


def test_registration_form_refuses_invisible_names_and_mixed_script_emails(
    app: Flask, client: FlaskClient
) -> None:
    data = {
        "first_name": "\u3164\u3164",
        "last_name": "Lee",
        "email": f"ol{GREEK_OMICRON}ga@example.com",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "csrf_token": csrf_token(client, "/register"),
    }
    response = client.post("/register", data=data)
    assert response.status_code == 422
    html = page(response)
    assert field_error(html, "first_name") == "First name must not contain invisible characters"
    assert field_error(html, "email") == (
        "Enter a valid email address. The part before the @-sign mixes Latin and Greek "
        "letters, so it could pass for another address."
    )
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Customer)).scalar_one() == 0
