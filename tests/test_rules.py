"""The field rules, as tables of raw input -> stored value (or refusal).

These tables are the reference for what each customer field accepts; see SPEC section 2.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from collections.abc import Callable

import pytest

from latepoint_forms.countries import country_in_sentence
from latepoint_forms.customers import rules
from latepoint_forms.customers.rules import RuleError

TODAY = datetime.date(2025, 6, 15)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        # SPEC examples
        ("Zoë", "Zoë"),
        ("José María", "José María"),
        ("O'Brien", "O'Brien"),
        ("Anne-Marie", "Anne-Marie"),
        ("Łukasz", "Łukasz"),
        ("Nguyễn", "Nguyễn"),
        ("王小明", "王小明"),
        # other scripts
        ("Ελένη", "Ελένη"),  # Greek
        ("Дмитрий", "Дмитрий"),  # Cyrillic
        ("محمد", "محمد"),  # Arabic
        ("अनीता", "अनीता"),  # Devanagari (vowel signs are combining marks)
        ("김민준", "김민준"),  # Hangul
        ("Søren Kierkegaard", "Søren Kierkegaard"),
        ("'t Hooft", "'t Hooft"),  # Dutch names may start with an apostrophe
        # normalisation
        ("Zoe\u0308", "Zoë"),  # decomposed -> NFC
        ("  Anne   Marie  ", "Anne Marie"),
        ("José\u00a0\u3000María", "José María"),  # no-break and ideographic spaces
        ("O’Brien", "O'Brien"),  # U+2019
        ("OʼBrien", "O'Brien"),  # U+02BC
        ("Anne\u2010Marie", "Anne-Marie"),  # U+2010 HYPHEN
        ("A" * 50, "A" * 50),
        ("  " + "A" * 50 + "  ", "A" * 50),
    ],
)
def test_name_valid(raw: str, stored: str) -> None:
    assert rules.normalise_name(raw, label="First name") == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("J0hn", "First name can only contain letters, spaces, hyphens and apostrophes"),
        ("<b>", "First name can only contain letters, spaces, hyphens and apostrophes"),
        ("Dr.", "First name can only contain letters, spaces, hyphens and apostrophes"),
        ("Anne😀", "First name can only contain letters, spaces, hyphens and apostrophes"),
        ("1234", "First name can only contain letters, spaces, hyphens and apostrophes"),
        ("Anne_Marie", "First name can only contain letters, spaces, hyphens and apostrophes"),
        ("Anne\u200bMarie", "First name can only contain letters, spaces, hyphens and apostrophes"),
        ("--", "First name must contain a letter"),
        ("' -", "First name must contain a letter"),
        ("'", "First name must be at least 2 characters"),
        ("A", "First name must be at least 2 characters"),
        ("王", "First name must be at least 2 characters"),
        ("", "First name is required"),
        ("   ", "First name is required"),
        ("A" * 51, "First name must be at most 50 characters"),
        ("Anne\nMarie", "First name must not contain control characters"),
    ],
)
def test_name_invalid(raw: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.normalise_name(raw, label="First name")
    assert caught.value.message == message
    assert str(caught.value) == message


@pytest.mark.parametrize("raw", ["王", "박", "A", "é"])
def test_name_one_character_allowed_when_minimum_is_one(raw: str) -> None:
    assert rules.normalise_name(raw, label="Last name", min_length=1) == raw


@pytest.mark.parametrize("raw", ["", "-", "'"])
def test_name_one_character_still_needs_a_letter(raw: str) -> None:
    with pytest.raises(RuleError):
        rules.normalise_name(raw, label="Last name", min_length=1)


def test_name_length_is_counted_after_normalisation() -> None:
    # 50 letters written decomposed are 100 code points raw but 50 after NFC.
    assert rules.normalise_name("e\u0301" * 50, label="Last name") == "é" * 50


def test_name_min_length_message_uses_singular() -> None:
    with pytest.raises(RuleError, match=r"^Last name must be at least 3 characters$"):
        rules.normalise_name("Li", label="Last name", min_length=3)


@pytest.mark.parametrize(
    ("value", "browser_accepts"),
    [
        ("Zoë", True),
        ("Zoe\u0308", True),
        (" José  María ", True),
        ("O’Brien", True),
        ("Anne-Marie", True),
        ("王小明", True),
        ("J0hn", False),
        ("<b>", False),
        ("Dr.", False),
        ("--", False),
    ],
)
def test_name_html_pattern_mirrors_the_rule(value: str, browser_accepts: bool) -> None:
    # Python's re has no \p{..}, so ask a JavaScript engine, compiling the way browsers do:
    # anchored, with the v flag.
    node = shutil.which("node")
    if node is None:
        pytest.skip("pattern-in-JavaScript tests: install Node.js (node on PATH)")
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


# --- email -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("user@example.com", "user@example.com"),
        ("  User@Example.COM ", "user@example.com"),
        ("first.last+booking@example.co.uk", "first.last+booking@example.co.uk"),
        # IDN domains are stored in their Unicode form, whichever form was typed
        ("U@Bücher.de", "u@bücher.de"),
        ("u@xn--bcher-kva.de", "u@bücher.de"),
        ("u@BÜCHER.DE", "u@bücher.de"),
        ("zoë@bücher.de", "zoë@bücher.de"),  # internationalised local part (SMTPUTF8)
        ("用户@例子.中国", "用户@例子.中国"),
    ],
)
def test_email_valid(raw: str, stored: str) -> None:
    assert rules.normalise_email(raw) == stored


def test_email_idn_forms_are_one_address() -> None:
    assert rules.normalise_email("U@Bücher.de") == rules.normalise_email("u@xn--bcher-kva.de")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "user",
        "user.example.com",  # no @
        "user@",
        "@example.com",
        "a b@example.com",  # space
        "user@exam ple.com",
        "user@localhost",  # single-label domain
        "user@example",
        "user@example.invalid",  # special-use domains
        "user@example.test",
        "user@printer.local",
        "user@[127.0.0.1]",  # IP literal
        '"quoted"@example.com',
        "Zoë <zoe@example.com>",  # display name
        "user@example.com.",
        "user..name@example.com",
    ],
)
def test_email_invalid(raw: str) -> None:
    with pytest.raises(RuleError, match=r"^Enter a valid email address"):
        rules.normalise_email(raw)


def test_email_message_carries_the_reason() -> None:
    with pytest.raises(RuleError) as caught:
        rules.normalise_email("user@[127.0.0.1]")
    assert caught.value.message.startswith("Enter a valid email address. ")
    assert "IP address" in caught.value.message


def test_email_max_length() -> None:
    local = "a" * 60
    domain = "b" * 27 + ".com"
    assert len(f"{local}@{domain}") == 92
    assert rules.normalise_email(f"{local}@{domain}") == f"{local}@{domain}"
    fits = f"{local}@{'b' * 35}.com"
    assert len(fits) == 100
    assert rules.normalise_email(fits) == fits
    with pytest.raises(RuleError, match=r"^Email address must be at most 100 characters$"):
        rules.normalise_email(f"{local}@{'b' * 36}.com")


def test_email_huge_input_fails_fast() -> None:
    with pytest.raises(RuleError, match=r"at most 100 characters"):
        rules.normalise_email("a" * 1_000_000 + "@example.com")


# --- phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "stored"),
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("(202) 456-1111", "US", "+12024561111"),
        ("+1 202-456-1111", None, "+12024561111"),
        ("030 901820", "DE", "+4930901820"),
        ("+49 30 901820", None, "+4930901820"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("+33 1 42 68 53 00", None, "+33142685300"),
        ("098765 43210", "IN", "+919876543210"),
        ("+91 98765 43210", None, "+919876543210"),
        ("(11) 91234-5678", "BR", "+5511912345678"),
        ("+55 11 91234-5678", None, "+5511912345678"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("+81 3-1234-5678", None, "+81312345678"),
        ("(02) 9876 5432", "AU", "+61298765432"),
        ("+61 2 9876 5432", None, "+61298765432"),
        ("021 123 4567", "ZA", "+27211234567"),
        ("+27 21 123 4567", None, "+27211234567"),
        # an international number wins over the region hint
        ("+1 202-456-1111", "GB", "+12024561111"),
        ("  020 7946 0958  ", "gb", "+442079460958"),
        ("020.7946.0958", "GB", "+442079460958"),
    ],
)
def test_phone_valid(raw: str, region: str | None, stored: str) -> None:
    assert rules.normalise_phone(raw, region=region) == stored


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("123", "GB", "Enter a valid phone number for the United Kingdom"),
        ("020 7946", "GB", "Enter a valid phone number for the United Kingdom"),
        ("+44 20", None, "Enter a valid phone number"),
        ("+44 20 7946 09", "US", "Enter a valid phone number"),
        ("+999 1234567", None, "Enter a valid phone number"),
        # valid to libphonenumber, but 16 digits: more than E.164 allows
        ("+49 20100000000000", None, "Enter a valid phone number: it has too many digits"),
        ("020 7946 0958", None, "Enter the phone number with its country code, such as +44"),
        ("1-800-FLOWERS", "US", "Phone numbers cannot contain letters"),
        ("020 7946 0958 ext 12", "GB", "Phone numbers cannot contain letters"),
        ("+44 (0)20 7946 0958 99", None, "Phone must be at most 20 characters"),
        ("", "GB", "Enter a phone number"),
        ("hello", "GB", "Phone numbers cannot contain letters"),
    ],
)
def test_phone_invalid(raw: str, region: str | None, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.normalise_phone(raw, region=region)
    assert caught.value.message == message


# --- status and gender -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["active", "inactive", "pending", " pending "])
def test_status_valid(raw: str) -> None:
    assert rules.normalise_status(raw) == raw.strip()


@pytest.mark.parametrize("raw", ["", "Active", "ACTIVE", "deleted", "activ"])
def test_status_invalid(raw: str) -> None:
    with pytest.raises(RuleError, match=r"^Status must be one of: active, inactive, pending$"):
        rules.normalise_status(raw)


@pytest.mark.parametrize("raw", ["male", "female", "other", "prefer_not_to_say"])
def test_gender_valid(raw: str) -> None:
    assert rules.normalise_gender(raw) == raw


@pytest.mark.parametrize("raw", ["", "Male", "m", "prefer not to say", "unknown"])
def test_gender_invalid(raw: str) -> None:
    with pytest.raises(
        RuleError, match=r"^Gender must be one of: male, female, other, prefer_not_to_say$"
    ):
        rules.normalise_gender(raw)


# --- date of birth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "today", "min_age", "born"),
    [
        ("2012-06-15", TODAY, 13, datetime.date(2012, 6, 15)),  # 13 today
        ("1990-01-31", TODAY, 13, datetime.date(1990, 1, 31)),
        (" 1990-01-31 ", TODAY, 13, datetime.date(1990, 1, 31)),
        ("1895-06-15", TODAY, 13, datetime.date(1895, 6, 15)),  # exactly 130
        ("1894-06-16", TODAY, 13, datetime.date(1894, 6, 16)),  # 130 and 364 days
        ("2025-06-15", TODAY, 0, datetime.date(2025, 6, 15)),  # born today, no minimum
        ("2000-02-29", TODAY, 13, datetime.date(2000, 2, 29)),  # a real leap day
        # born 29 Feb: in a non-leap year the birthday is reached on 1 March
        ("2012-02-29", datetime.date(2025, 3, 1), 13, datetime.date(2012, 2, 29)),
        # ... and on 29 Feb itself in a leap year
        ("2008-02-29", datetime.date(2024, 2, 29), 16, datetime.date(2008, 2, 29)),
    ],
)
def test_date_of_birth_valid(
    raw: str, today: datetime.date, min_age: int, born: datetime.date
) -> None:
    assert rules.normalise_date_of_birth(raw, today=today, min_age=min_age) == born


@pytest.mark.parametrize(
    ("raw", "today", "message"),
    [
        ("2012-06-16", TODAY, "Customers must be at least 13 years old"),  # one day short
        ("2012-02-29", datetime.date(2025, 2, 28), "Customers must be at least 13 years old"),
        ("2025-06-16", TODAY, "Date of birth cannot be in the future"),
        ("2999-01-01", TODAY, "Date of birth cannot be in the future"),
        ("1894-06-15", TODAY, "Date of birth cannot be more than 130 years ago"),  # 131
        ("1800-01-01", TODAY, "Date of birth cannot be more than 130 years ago"),
        ("2023-02-29", TODAY, "Enter a real date of birth"),  # 2023 is not a leap year
        ("2001-02-30", TODAY, "Enter a real date of birth"),
        ("2001-13-01", TODAY, "Enter a real date of birth"),
        ("2001-04-31", TODAY, "Enter a real date of birth"),
        ("0000-01-01", TODAY, "Enter a real date of birth"),
        ("2000-1-1", TODAY, "Enter the date of birth as YYYY-MM-DD"),
        ("20000101", TODAY, "Enter the date of birth as YYYY-MM-DD"),
        ("2000-01-01T00:00", TODAY, "Enter the date of birth as YYYY-MM-DD"),
        ("2000-01-01 00:00", TODAY, "Enter the date of birth as YYYY-MM-DD"),
        ("2000-W01-1", TODAY, "Enter the date of birth as YYYY-MM-DD"),
        ("01/02/2000", TODAY, "Enter the date of birth as YYYY-MM-DD"),
        ("2000/01/01", TODAY, "Enter the date of birth as YYYY-MM-DD"),
        ("２０００-０１-０１", TODAY, "Enter the date of birth as YYYY-MM-DD"),  # full-width digits
        ("", TODAY, "Enter the date of birth as YYYY-MM-DD"),
    ],
)
def test_date_of_birth_invalid(raw: str, today: datetime.date, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.normalise_date_of_birth(raw, today=today)
    assert caught.value.message == message


def test_date_of_birth_min_age_is_a_parameter() -> None:
    assert rules.normalise_date_of_birth("2007-06-15", today=TODAY, min_age=18)
    with pytest.raises(RuleError, match=r"^Customers must be at least 18 years old$"):
        rules.normalise_date_of_birth("2007-06-16", today=TODAY, min_age=18)


def test_date_format_constant_matches_the_rule() -> None:
    born = rules.normalise_date_of_birth("1990-01-31", today=TODAY)
    assert born.strftime(rules.DATE_FORMAT) == "1990-01-31"


# --- country ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("GB", "GB"), ("gb", "GB"), ("Us", "US"), (" de ", "DE"), ("jp", "JP"), ("BR", "BR")],
)
def test_country_valid(raw: str, stored: str) -> None:
    assert rules.normalise_country(raw) == stored


@pytest.mark.parametrize(
    "raw", ["", "G", "GBR", "USA", "UK", "XX", "United Kingdom", "Germany", "G1", "ＧＢ"]
)
def test_country_invalid(raw: str) -> None:
    with pytest.raises(RuleError, match=r"^Use a two-letter ISO 3166-1 country code such as GB$"):
        rules.normalise_country(raw)


# --- state -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "stored"),
    [
        ("California", "US", "CA"),
        ("california", "US", "CA"),
        ("ca", "US", "CA"),
        ("CA", "US", "CA"),
        ("  New   York ", "US", "NY"),
        ("Ontario", "CA", "ON"),
        ("Québec", "CA", "QC"),
        ("quebec", "CA", "QC"),  # accents are optional
        ("Colombie-Britannique", "CA", "BC"),  # the French name
        ("New South Wales", "AU", "NSW"),
        ("São Paulo", "BR", "SP"),
        ("Tokyo", "JP", "東京都"),  # Latin name -> the metadata's key
        ("東京都", "JP", "東京都"),
        ("California", "us", "CA"),
        # countries without a list of areas keep the cleaned text
        ("Bayern", "DE", "Bayern"),
        ("  Greater London ", "GB", "Greater London"),
        ("Anywhere", None, "Anywhere"),
        ("", "US", ""),
    ],
)
def test_state_valid(raw: str, country: str | None, stored: str) -> None:
    assert rules.normalise_state(raw, country=country) == stored


@pytest.mark.parametrize(
    ("raw", "country", "message"),
    [
        ("Narnia", "US", "Enter a valid state for the United States"),
        ("Bavaria", "US", "Enter a valid state for the United States"),
        ("ZZ", "CA", "Enter a valid province for Canada"),
        ("Atlantis", "JP", "Enter a valid prefecture for Japan"),
        ("x" * 101, None, "State must be at most 100 characters"),
    ],
)
def test_state_invalid(raw: str, country: str | None, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.normalise_state(raw, country=country)
    assert caught.value.message == message


# --- postal code -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "stored"),
    [
        ("sw1a1aa", "GB", "SW1A 1AA"),
        ("SW1A 1AA", "GB", "SW1A 1AA"),
        (" sw1a  1aa ", "GB", "SW1A 1AA"),
        ("m25bq", "GB", "M2 5BQ"),
        ("cr02yr", "GB", "CR0 2YR"),
        ("GIR0AA", "GB", "GIR 0AA"),
        ("BFPO 1", "GB", "BFPO 1"),  # no example has this shape: accepted as typed
        ("k1a0b1", "CA", "K1A 0B1"),
        ("K1A-0B1", "CA", "K1A 0B1"),
        ("1234ab", "NL", "1234 AB"),
        ("01310100", "BR", "01310-100"),
        ("01310-100", "BR", "01310-100"),
        ("1000001", "JP", "100-0001"),
        ("100-0001", "JP", "100-0001"),
        ("94103", "US", "94103"),
        ("941031234", "US", "94103-1234"),
        ("94103-1234", "US", "94103-1234"),
        ("94103 1234", "US", "94103-1234"),
        ("94103–1234", "US", "94103-1234"),  # en dash
        ("10115", "DE", "10115"),
        ("75 001", "FR", "75001"),
        ("d02x285", "IE", "D02 X285"),  # Eircode
        ("00950", "PL", "00-950"),
        ("2060", "AU", "2060"),
        ("110001", "IN", "110001"),
        ("1250096", "PT", "1250-096"),
        ("10000", "CZ", "100 00"),
        ("SE-114 55", "SE", "11455"),  # the metadata's postal prefix is dropped
        ("lv1073", "LV", "LV-1073"),
        ("sw1a1aa", "gb", "SW1A 1AA"),
        # no postal-code format for the country, or no country: cleaned text
        ("Kowloon 1", "HK", "Kowloon 1"),
        ("  anything  ", None, "anything"),
        ("", "GB", ""),
    ],
)
def test_zipcode_valid(raw: str, country: str | None, stored: str) -> None:
    assert rules.normalise_zipcode(raw, country=country) == stored


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("SW1A 1AAX", "GB"),  # the metadata's anchors do not cover GB's alternation
        ("XSW1A 1AA", "GB"),
        ("SW1A", "GB"),
        ("QQ1 1QQ", "GB"),
        ("12345", "GB"),
        ("D1A 0B1", "CA"),  # D is not a Canadian first letter
        ("K1A 0B", "CA"),
        ("0123 AB", "NL"),  # NL codes do not start with 0
        ("1234 SA", "NL"),  # SA, SD and SS are not used
        ("1234", "NL"),
        ("0131010", "BR"),
        ("100001", "JP"),
        ("9410", "US"),
        ("941031", "US"),
        ("94103-12345", "US"),
        ("1011", "DE"),
        ("١٠١١٥", "DE"),  # Arabic-Indic digits
        ("１０１１５", "DE"),  # full-width digits
        ("0095", "PL"),
        ("ABCD", "AU"),
    ],
)
def test_zipcode_invalid(raw: str, country: str) -> None:
    name = re.escape(country_in_sentence(country))
    with pytest.raises(RuleError, match=rf"for {name}, such as "):
        rules.normalise_zipcode(raw, country=country)


@pytest.mark.parametrize(
    ("country", "message"),
    [
        ("GB", "Enter a valid postal code for the United Kingdom, such as EC1Y 8SY"),
        ("US", "Enter a valid ZIP code for the United States, such as 95014"),
        ("IN", "Enter a valid PIN code for India, such as 110034"),
        ("IE", "Enter a valid Eircode for Ireland, such as A65 F4E2"),
    ],
)
def test_zipcode_message_names_the_country_format(country: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.normalise_zipcode("!!", country=country)
    assert caught.value.message == message


def test_zipcode_max_length() -> None:
    with pytest.raises(RuleError, match=r"^Postal code must be at most 20 characters$"):
        rules.normalise_zipcode("1" * 21, country=None)


# --- free text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "max_length"),
    [(rules.normalise_address, 200), (rules.normalise_city, 100), (rules.normalise_notes, 1000)],
)
def test_free_text_max_length(rule: Callable[[str], str], max_length: int) -> None:
    assert rule(" " + "x" * max_length + " ") == "x" * max_length
    with pytest.raises(RuleError, match=rf"must be at most {max_length} characters$"):
        rule("x" * (max_length + 1))


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  221B Baker Street ", "221B Baker Street"),
        ("Calle Mayor, 3º 2ª", "Calle Mayor, 3º 2ª"),
        ("Rue de l’Église", "Rue de l’Église"),  # free text keeps typography
        ("Cafe\u0301 Street", "Café Street"),  # NFC
        ("   ", ""),
    ],
)
def test_address_valid(raw: str, stored: str) -> None:
    assert rules.normalise_address(raw) == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("line one\nline two", "line one\nline two"),
        ("windows\r\nline", "windows\nline"),
        ("old mac\rline", "old mac\nline"),
        ("\n  trimmed  \n", "trimmed"),
        ("Allergic to latex.\n\nPrefers mornings.", "Allergic to latex.\n\nPrefers mornings."),
    ],
)
def test_notes_keep_newlines(raw: str, stored: str) -> None:
    assert rules.normalise_notes(raw) == stored


def test_clean_text_single_line_refuses_newlines() -> None:
    with pytest.raises(RuleError, match=r"^Town must not contain control characters$"):
        rules.clean_text("a\nb", label="Town", max_length=10)
    assert rules.clean_text("a\nb", label="Town", max_length=10, multiline=True) == "a\nb"


CONTROL_CHARACTERS = [
    "\t",  # TAB: a control character too (SPEC section 2)
    "\x00",  # NUL
    "\x1b",  # ESC
    "\x7f",  # DEL
    "\x85",  # NEL (C1 control; Python counts it as whitespace)
    "\x1f",  # unit separator (also "whitespace" to str.split)
    "\u2028",  # LINE SEPARATOR
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\ud800",  # a lone surrogate, as JSON "\ud800" decodes
]

TEXT_RULES: dict[str, Callable[[str], object]] = {
    "first_name": lambda v: rules.normalise_name(v, label="First name"),
    "email": rules.normalise_email,
    "phone": lambda v: rules.normalise_phone(v, region="GB"),
    "status": rules.normalise_status,
    "gender": rules.normalise_gender,
    "date_of_birth": lambda v: rules.normalise_date_of_birth(v, today=TODAY),
    "country": rules.normalise_country,
    "state": lambda v: rules.normalise_state(v, country="US"),
    "state_free": lambda v: rules.normalise_state(v, country="DE"),
    "zipcode": lambda v: rules.normalise_zipcode(v, country="GB"),
    "zipcode_free": lambda v: rules.normalise_zipcode(v, country=None),
    "address": rules.normalise_address,
    "city": rules.normalise_city,
    "notes": rules.normalise_notes,
}

# A valid value for each field, with the control character spliced into the middle.
VALID_TEXT = {
    "first_name": "Anne",
    "email": "anne@example.com",
    "phone": "02079460958",
    "status": "active",
    "gender": "female",
    "date_of_birth": "1990-01-31",
    "country": "GB",
    "state": "CA",
    "state_free": "Bayern",
    "zipcode": "SW1A1AA",
    "zipcode_free": "12345",
    "address": "1 High Street",
    "city": "London",
    "notes": "Line one\nLine two",
}


@pytest.mark.parametrize("where", ["start", "middle", "end"])
@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", sorted(TEXT_RULES))
def test_control_characters_are_refused_in_every_text_field(
    field: str, char: str, where: str
) -> None:
    valid = VALID_TEXT[field]
    TEXT_RULES[field](valid)  # the value itself passes
    # At either end too: trimming must not quietly remove a control character Python counts
    # as whitespace (\x1f, \x85, U+2028).
    at = {"start": 0, "middle": len(valid) // 2, "end": len(valid)}[where]
    with pytest.raises(RuleError):
        TEXT_RULES[field](valid[:at] + char + valid[at:])


@pytest.mark.parametrize("field", ["address", "city", "notes", "state_free", "zipcode_free"])
def test_control_character_message(field: str) -> None:
    with pytest.raises(RuleError, match=r"must not contain control characters$"):
        TEXT_RULES[field]("a\x00b")


@pytest.mark.parametrize("raw", ["Persian\u200cword", "Private\ue000use"])
def test_free_text_keeps_joiners_and_private_use(raw: str) -> None:
    assert rules.normalise_notes(raw) == raw


# --- external ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 42, 2**63 - 1])
def test_wordpress_user_id_valid(value: int) -> None:
    assert rules.check_wordpress_user_id(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "WordPress user ID must be a positive integer"),
        (-5, "WordPress user ID must be a positive integer"),
        (True, "WordPress user ID must be a positive integer"),
        (2**63, "WordPress user ID is too large"),
    ],
)
def test_wordpress_user_id_invalid(value: int, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.check_wordpress_user_id(value)
    assert caught.value.message == message


# --- the error type and constants ------------------------------------------------------------


def test_rule_error_is_a_value_error_with_a_message() -> None:
    err = RuleError("First name must be at least 2 characters")
    assert isinstance(err, ValueError)
    assert err.message == str(err) == "First name must be at least 2 characters"


def test_constants() -> None:
    assert rules.STATUSES == ("active", "inactive", "pending")
    assert rules.GENDERS == ("male", "female", "other", "prefer_not_to_say")
    assert (rules.NAME_MAX_LENGTH, rules.EMAIL_MAX_LENGTH, rules.PHONE_MAX_LENGTH) == (50, 100, 20)
    assert (rules.ADDRESS_MAX_LENGTH, rules.CITY_MAX_LENGTH, rules.STATE_MAX_LENGTH) == (
        200,
        100,
        100,
    )
    assert rules.NOTES_MAX_LENGTH == 1000
    assert rules.MAX_AGE_YEARS == 130
