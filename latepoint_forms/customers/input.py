"""From an untrusted mapping (a JSON object or a web form's data) to a checked ``CustomerInput``.

JSON types are checked strictly here, then each field goes through its rule in ``rules``.
Every failing field is reported at once, keyed by its JSON name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from . import rules
from .errors import ValidationFailed


@dataclass(frozen=True)
class RuleSettings:
    """The configurable parts of the rules (SPEC section 4)."""

    min_customer_age: int = 13
    name_min_length: int = 2
    default_phone_region: str | None = None
    default_country: str | None = None
    check_deliverability: bool = False
    today: date | None = None  # None: today's date in UTC when the input is parsed

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RuleSettings:
        return cls(
            min_customer_age=config["MIN_CUSTOMER_AGE"],
            name_min_length=config["NAME_MIN_LENGTH"],
            default_phone_region=config["DEFAULT_PHONE_REGION"],
            default_country=config["DEFAULT_COUNTRY"],
            check_deliverability=config["EMAIL_CHECK_DELIVERABILITY"],
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
    """A customer's fields after every field rule passed (business rules are the service's)."""

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
    notes: str | None = None
    is_guest: bool = False
    wordpress_user_id: int | None = None
    # Checked against the configured definitions and the catalog by the service.
    custom_fields: dict[str, Any] = field(default_factory=dict)
    preferences: dict[str, Any] | None = None


STRING_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "date_of_birth",
    "gender",
    "address",
    "city",
    "state",
    "zipcode",
    "country",
    "notes",
)
KNOWN_FIELDS = frozenset(
    (*STRING_FIELDS, "is_guest", "wordpress_user_id", "custom_fields", "preferences")
)
REQUIRED_FIELDS = ("first_name", "last_name")

_TYPE_MESSAGES = {
    str: "Must be a string",
    bool: "Must be true or false",
    int: "Must be an integer",
    dict: "Must be an object",
}


def _has_type(value: Any, expected: type) -> bool:
    # bool is a subclass of int in Python; JSON keeps them apart, and so do we.
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _expected_type(name: str) -> type:
    if name == "is_guest":
        return bool
    if name == "wordpress_user_id":
        return int
    if name in ("custom_fields", "preferences"):
        return dict
    return str


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
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    for key in raw:
        if key not in KNOWN_FIELDS:
            errors[str(key)[:100]] = "Unknown field"

    for name in KNOWN_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        expected = _expected_type(name)
        if not _has_type(value, expected):
            errors[name] = _TYPE_MESSAGES[expected]
            continue
        if expected is str and _blank(value):
            continue
        values[name] = value

    if defaults:
        for name, value in defaults.items():
            values.setdefault(name, value)

    for name in REQUIRED_FIELDS:
        if name not in values and name not in errors:
            errors[name] = f"{_label(name)} is required"
    if require_email and "email" not in values and "email" not in errors:
        errors["email"] = "Email is required"

    cleaned = _apply_rules(values, errors, settings)
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))
    return CustomerInput(**cleaned)


def _blank(text: str) -> bool:
    """Nothing but spaces: "not given". The value is *not* trimmed here: the rules trim after
    refusing control characters, which str.strip() would quietly remove (\x1f, \x85)."""
    return text.isprintable() and text.strip() == ""


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _apply_rules(
    values: dict[str, Any], errors: dict[str, str], settings: RuleSettings
) -> dict[str, Any]:
    today = settings.current_date()
    # The country decides how phone, state and postcode are read, so it goes first.
    country: str | None = None
    if "country" in values:
        country = _run(errors, "country", rules.normalise_country, values["country"])
    country_known = "country" not in errors
    region = settings.phone_region(country)
    address_country = country or settings.default_country

    field_rules: dict[str, Callable[[Any], Any]] = {
        "first_name": lambda v: rules.normalise_name(
            v, label="First name", min_length=settings.name_min_length
        ),
        "last_name": lambda v: rules.normalise_name(
            v, label="Last name", min_length=settings.name_min_length
        ),
        "email": lambda v: rules.normalise_email(
            v, check_deliverability=settings.check_deliverability
        ),
        "phone": lambda v: rules.normalise_phone(v, region=region),
        "status": rules.normalise_status,
        "date_of_birth": lambda v: rules.normalise_date_of_birth(
            v, today=today, min_age=settings.min_customer_age
        ),
        "gender": rules.normalise_gender,
        "address": rules.normalise_address,
        "city": rules.normalise_city,
        "state": lambda v: rules.normalise_state(v, country=address_country),
        "zipcode": lambda v: rules.normalise_zipcode(v, country=address_country),
        "notes": rules.normalise_notes,
        "wordpress_user_id": rules.check_wordpress_user_id,
    }
    country_dependent = {"phone", "state", "zipcode"}

    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name in errors:
            continue
        if name == "country":
            cleaned[name] = country
        elif name in field_rules:
            if name in country_dependent and not country_known:
                continue  # judged against a country we could not read: one error is enough
            result = _run(errors, name, field_rules[name], value)
            if name not in errors and result != "":  # blank after cleaning: not given
                cleaned[name] = result
        else:
            cleaned[name] = value
    return cleaned


def _run(errors: dict[str, str], name: str, rule: Callable[[Any], Any], value: Any) -> Any:
    try:
        return rule(value)
    except rules.RuleError as exc:
        errors[name] = exc.message
        return None
