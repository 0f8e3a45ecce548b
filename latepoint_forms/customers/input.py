"""From an untrusted mapping (a JSON object or a web form's data) to a checked ``CustomerInput``.

JSON types are checked strictly here, then each field goes through its rule in ``rules``, as
``fields.CUSTOMER_FIELDS`` declares them. Every failing field is reported at once, keyed by
its JSON name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime
from typing import Any

from ..problems import N_, Problem
from . import rules
from .errors import ValidationFailed
from .fields import COUNTRY, CUSTOMER_FIELDS, FIELDS_BY_KEY, CustomerField


@dataclass(frozen=True)
class RuleSettings:
    """The configurable parts of the rules (SPEC section 4)."""

    min_customer_age: int = 13
    name_min_length: int = 2
    default_phone_region: str | None = None
    default_country: str | None = None
    check_deliverability: bool = False
    block_disposable_emails: bool = False  # BLOCK_DISPOSABLE_EMAILS
    today: date | None = None  # None: today's date in UTC when the input is parsed
    fast_password_hashing: bool = False  # the test suite's cheap Argon2 parameters

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RuleSettings:
        return cls(
            min_customer_age=config["MIN_CUSTOMER_AGE"],
            name_min_length=config["NAME_MIN_LENGTH"],
            default_phone_region=config["DEFAULT_PHONE_REGION"],
            default_country=config["DEFAULT_COUNTRY"],
            check_deliverability=config["EMAIL_CHECK_DELIVERABILITY"],
            block_disposable_emails=bool(config.get("BLOCK_DISPOSABLE_EMAILS")),
            fast_password_hashing=bool(config.get("FAST_PASSWORD_HASHING")),
        )

    def phone_region(self, country: str | None) -> str | None:
        """The region national phone numbers are read in: the customer's country, else the
        configured default."""
        return country or self.default_phone_region

    def current_date(self) -> date:
        """The date the rules judge by: ``today`` if fixed, else today's date in UTC."""
        return self.today or datetime.now(UTC).date()


@dataclass(frozen=True)
class CustomerInput:
    """A customer's fields after every field rule passed (business rules are the service's).

    One attribute per ``fields.CUSTOMER_FIELDS`` entry, in its order and with its default
    (checked below when this module is imported), written out so type checkers see them.
    """

    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    status: str = "active"
    date_of_birth: date | None = None
    gender: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country: str | None = None
    # Checked against the configured definitions and the catalog by the service.
    custom_fields: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None
    is_guest: bool = False
    wordpress_user_id: int | None = None
    preferences: dict[str, Any] | None = None


def _check_matches_declaration() -> None:
    """Refuse to load if ``CustomerInput`` and ``CUSTOMER_FIELDS`` disagree."""
    written = [
        (f.name, f.default_factory() if f.default_factory is not MISSING else f.default)
        for f in dataclass_fields(CustomerInput)
    ]
    declared = [(d.key, MISSING if d.required else d.default_value()) for d in CUSTOMER_FIELDS]
    if written != declared:
        raise TypeError(f"CustomerInput {written} does not follow customers/fields.py {declared}")


_check_matches_declaration()

STRING_FIELDS = tuple(d.key for d in CUSTOMER_FIELDS if d.json_type is str)
KNOWN_FIELDS = frozenset(FIELDS_BY_KEY)
REQUIRED_FIELDS = tuple(d.key for d in CUSTOMER_FIELDS if d.required)

_TYPE_MESSAGES = {
    str: Problem("not_a_string", N_("Must be a string")),
    bool: Problem("not_a_boolean", N_("Must be true or false")),
    int: Problem("not_an_integer", N_("Must be an integer")),
    dict: Problem("not_an_object", N_("Must be an object")),
}
UNKNOWN_FIELD = Problem("unknown_field", N_("Unknown field"))


def _has_type(value: Any, expected: type) -> bool:
    # bool is a subclass of int in Python; JSON keeps them apart, and so do we.
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def parse_customer_input(
    raw: Mapping[str, Any],
    settings: RuleSettings,
    *,
    require_email: bool = False,
    defaults: Mapping[str, Any] | None = None,
) -> CustomerInput:
    """Check types and every field rule; raise ``ValidationFailed`` with all failures at once.

    ``None`` and blank strings count as "not given". ``defaults`` fill fields the caller
    decides (``is_guest`` for quick booking, say) when the raw data does not give them.
    """
    errors: dict[str, Problem] = {}
    values: dict[str, Any] = {}

    for key in raw:
        if key not in KNOWN_FIELDS:
            errors[str(key)[:100]] = UNKNOWN_FIELD

    for declared in CUSTOMER_FIELDS:
        name, expected = declared.key, declared.json_type
        value = raw.get(name)
        if value is None:
            continue
        if not _has_type(value, expected):
            errors[name] = _TYPE_MESSAGES[expected]
            continue
        if expected is str and _blank(value):
            continue
        values[name] = value

    if defaults:
        for name, value in defaults.items():
            values.setdefault(name, value)

    required = (*REQUIRED_FIELDS, "email") if require_email else REQUIRED_FIELDS
    for name in required:
        if name not in values and name not in errors:
            errors[name] = required_problem(FIELDS_BY_KEY[name].label)

    cleaned = _apply_rules(values, errors, settings)
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    return CustomerInput(**cleaned)


def _blank(text: str) -> bool:
    """Nothing but spaces: "not given". The value is *not* trimmed here: the rules trim after
    refusing control characters, which str.strip() would quietly remove (\x1f, \x85)."""
    return text.isprintable() and text.strip() == ""


def required_problem(label: str) -> Problem:
    """ "First name is required"."""
    return Problem("required", N_("%(label)s is required"), {"label": label})


def _apply_rules(
    values: dict[str, Any], errors: dict[str, Problem], settings: RuleSettings
) -> dict[str, Any]:
    # The country decides how phone, state and postcode are read, so it goes first.
    country: str | None = None
    if COUNTRY in values:
        country = _run(errors, FIELDS_BY_KEY[COUNTRY], values[COUNTRY], settings, None)
    country_known = COUNTRY not in errors

    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name in errors:
            continue
        declared = FIELDS_BY_KEY[name]
        if name == COUNTRY:
            cleaned[name] = country
            continue
        if declared.reads_country and not country_known:
            continue  # judged against a country we could not read: one error is enough
        result = _run(errors, declared, value, settings, country)
        if name not in errors and result != "":  # blank after cleaning: not given
            cleaned[name] = result
    return cleaned


def _run(
    errors: dict[str, Problem],
    declared: CustomerField,
    value: Any,
    settings: RuleSettings,
    country: str | None,
) -> Any:
    """The field's rule on ``value`` (the value itself if it has none); None on failure."""
    if declared.rule is None:
        return value
    try:
        return declared.rule(value, settings, country)
    except rules.RuleError as exc:
        errors[declared.key] = exc.problem
        return None
