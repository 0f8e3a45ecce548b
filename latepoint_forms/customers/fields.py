"""The customer's own fields (SPEC section 2), declared once.

``CUSTOMER_FIELDS`` lists them in the SPEC's order. Each ``CustomerField`` says what the
field is wherever it appears, and these derive from it:

- ``input.CustomerInput`` (written out for the type checker, and checked against this list
  when ``input`` is imported), ``STRING_FIELDS``, ``KNOWN_FIELDS``, ``REQUIRED_FIELDS``, the
  strict JSON type of each key and its "… is required" message;
- ``input._apply_rules``: which rule runs on which field, and which ones read the country;
- ``customers.representation.input_as_json`` (and so ``customer_as_json``);
- the customer properties of the OpenAPI schemas ``CustomerInput``, ``Customer`` and
  ``NormalisedCustomer`` (``api/openapi_schemas.py``).

For the web forms (to derive their inputs from): a field is on the customer forms when it
has an ``html_input`` (``text``, ``email``, ``tel``, ``date``, ``select``, ``textarea``).
Its ``label`` is the input's label; ``required_on_web`` makes it required there (the email);
the render attributes are ``maxlength`` = ``max_length``, ``minlength`` =
``min_length(settings)``, ``pattern`` = ``html_pattern``, ``autocomplete``, and
``html_attributes`` (``spellcheck``, ``autocapitalize``, ``rows``). A select offers
``choices`` (the gender), or for the country ``web.fields.country_choices()``; the date of
birth's ``min`` and ``max`` depend on the settings (``web.fields.date_of_birth_bounds``).

Adding a field: a line here, the attribute on ``CustomerInput``, the model's column and its
migration.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..ids import MAX_ID
from ..problems import N_
from . import lookalikes, rules

if TYPE_CHECKING:
    from .input import RuleSettings

# A field's rule, given the raw value (already of the field's JSON type), the settings and
# the customer's country (normalised; None when not given). Returns the normalised value or
# raises rules.RuleError.
FieldRule = Callable[[Any, "RuleSettings", "str | None"], Any]

# The field whose value the country-reading rules get (phone region, areas, postal codes).
COUNTRY = "country"


@dataclass(frozen=True)
class CustomerField:
    """One field of the customer record: what it is to the input, the API and the forms."""

    key: str  # the JSON name, CustomerInput's attribute and the model's column
    json_type: type  # str, bool, int or dict: what a JSON value must be, strictly
    label: str  # a message id (N_): the form's label and the "… is required" message's
    rule: FieldRule | None = None  # None: kept as given (the service checks dicts)
    reads_country: bool = False  # judged against COUNTRY (not at all if that is unreadable)
    required: bool = False  # by the API and every door
    required_on_web: bool = False  # by the web forms only (SPEC: the email)
    default: Any = None  # when not given
    default_factory: Callable[[], Any] | None = None  # a fresh default (dicts)
    max_length: int | None = None  # of the raw text, as the rule counts it
    min_length: Callable[[RuleSettings], int] | None = None  # set by configuration
    choices: tuple[str, ...] | None = None  # the exact values allowed
    minimum: int | None = None  # for integers
    maximum: int | None = None
    # The web forms (see the module docstring); no html_input: not on them.
    html_input: str | None = None
    autocomplete: str | None = None  # the HTML autocomplete token
    html_pattern: str | None = None  # HTML pattern (the browser compiles it with the v flag)
    html_attributes: Mapping[str, str | int] = field(default_factory=dict)
    # The API document. Patterns are matched against the whole value (fullmatch) and are
    # the rules' own compiled regexes where the rule has one.
    description: str | None = None
    pattern: re.Pattern[str] | None = None  # what the input must match
    stored_pattern: re.Pattern[str] | None = None  # what the normalised value matches
    format: str | None = None  # JSON Schema format of the value ("date")

    def default_value(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


def _alone(rule: Callable[[Any], Any]) -> FieldRule:
    """A rule that needs neither the settings nor the country."""
    return lambda value, settings, country: rule(value)


def _name_field(key: str, label: str, autocomplete: str) -> CustomerField:
    def rule(value: str, settings: RuleSettings, country: str | None) -> str:
        return rules.normalise_name(value, label=label, min_length=settings.name_min_length)

    return CustomerField(
        key,
        str,
        label,
        rule,
        required=True,
        max_length=rules.NAME_MAX_LENGTH,
        min_length=lambda settings: settings.name_min_length,
        html_input="text",
        autocomplete=autocomplete,
        html_pattern=rules.NAME_HTML_PATTERN,
        html_attributes={"spellcheck": "false"},
        description="Letters of any script (with combining marks), spaces, hyphens and "
        "apostrophes; must contain a letter; no invisible letters (Hangul fillers) and at "
        f"most {lookalikes.MAX_MARKS_PER_CHARACTER} combining marks on one letter after NFC; "
        f"NAME_MIN_LENGTH (default 2)-{rules.NAME_MAX_LENGTH} characters after trimming and "
        "collapsing spaces.",
    )


def _email(value: str, settings: RuleSettings, country: str | None) -> str:
    return rules.normalise_email(
        value,
        check_deliverability=settings.check_deliverability,
        block_disposable=settings.block_disposable_emails,
    )


def _phone(value: str, settings: RuleSettings, country: str | None) -> str:
    return rules.normalise_phone(value, region=settings.phone_region(country))


def _date_of_birth(value: str, settings: RuleSettings, country: str | None) -> datetime.date:
    return rules.normalise_date_of_birth(
        value, today=settings.current_date(), min_age=settings.min_customer_age
    )


def _state(value: str, settings: RuleSettings, country: str | None) -> str:
    return rules.normalise_state(value, country=country or settings.default_country)


def _zipcode(value: str, settings: RuleSettings, country: str | None) -> str:
    return rules.normalise_zipcode(value, country=country or settings.default_country)


CUSTOMER_FIELDS: tuple[CustomerField, ...] = (
    _name_field("first_name", N_("First name"), "given-name"),
    _name_field("last_name", N_("Last name"), "family-name"),
    CustomerField(
        "email",
        str,
        N_("Email"),
        _email,
        required_on_web=True,
        max_length=rules.EMAIL_MAX_LENGTH,
        html_input="email",
        autocomplete="email",
        html_attributes={"spellcheck": "false", "autocapitalize": "none"},
        description="Unique; stored normalised, lower case. The part before the @ and each "
        "domain label may not mix scripts (UTS #39 'highly restrictive': one script, or "
        "Latin with Han, Hiragana, Katakana, Hangul or Bopomofo); no full-width letters, "
        "ligatures or other compatibility forms (NFKC differs from NFC), no invisible "
        "characters",
    ),
    CustomerField(
        "phone",
        str,
        N_("Phone"),
        _phone,
        reads_country=True,
        max_length=rules.PHONE_MAX_LENGTH,
        html_input="tel",
        autocomplete="tel",
        description="International or national (read with country); stored as E.164",
        stored_pattern=rules.E164_RE,
    ),
    # The business's to set, never the visitor's: not on the web forms.
    CustomerField(
        "status",
        str,
        N_("Status"),
        _alone(rules.normalise_status),
        default="active",
        choices=rules.STATUSES,
    ),
    CustomerField(
        "date_of_birth",
        str,
        N_("Date of birth"),
        _date_of_birth,
        html_input="date",
        autocomplete="bday",
        description="YYYY-MM-DD, not in the future, at least MIN_CUSTOMER_AGE years ago",
        pattern=rules.DATE_RE,
        format="date",
    ),
    CustomerField(
        "gender",
        str,
        N_("Gender"),
        _alone(rules.normalise_gender),
        choices=rules.GENDERS,
        html_input="select",
        autocomplete="sex",
    ),
    CustomerField(
        "address",
        str,
        N_("Street address"),
        _alone(rules.normalise_address),
        max_length=rules.ADDRESS_MAX_LENGTH,
        html_input="text",
        autocomplete="address-line1",
        description="Street line; no control characters",
    ),
    CustomerField(
        "city",
        str,
        N_("Town or city"),
        _alone(rules.normalise_city),
        max_length=rules.CITY_MAX_LENGTH,
        html_input="text",
        autocomplete="address-level2",
        description="City",
    ),
    CustomerField(
        "state",
        str,
        N_("State, county or region"),
        _state,
        reads_country=True,
        max_length=rules.STATE_MAX_LENGTH,
        html_input="text",
        autocomplete="address-level1",
        description="Area name or code; the code is stored",
    ),
    CustomerField(
        "zipcode",
        str,
        N_("Postcode / ZIP code"),
        _zipcode,
        reads_country=True,
        max_length=rules.ZIPCODE_MAX_LENGTH,
        html_input="text",
        autocomplete="postal-code",
        html_attributes={"autocapitalize": "characters"},
        description="Postal code in the country's format",
    ),
    CustomerField(
        COUNTRY,
        str,
        N_("Country"),
        _alone(rules.normalise_country),
        html_input="select",
        autocomplete="country",
        description="ISO 3166-1 alpha-2, any case; stored in upper case",
        pattern=rules.COUNTRY_RE,
        stored_pattern=re.compile("[A-Z]{2}"),  # normalise_country returns upper case
    ),
    # Checked against the configured definitions by the service; the forms add an input
    # per definition (web/custom_fields.py).
    CustomerField(
        "custom_fields",
        dict,
        N_("Custom fields"),
        default_factory=dict,
        description="Keys and values as the configured custom-field definitions say",
    ),
    CustomerField(
        "notes",
        str,
        N_("Anything we should know?"),
        _alone(rules.normalise_notes),
        max_length=rules.NOTES_MAX_LENGTH,
        html_input="textarea",
        html_attributes={"rows": 3},
        description="Newlines allowed; other control characters not",
    ),
    CustomerField("is_guest", bool, N_("Guest"), default=False),
    CustomerField(
        "wordpress_user_id",
        int,
        N_("WordPress user ID"),
        _alone(rules.check_wordpress_user_id),
        minimum=1,
        maximum=MAX_ID,
    ),
    # Checked against the catalog by the service (customers/preferences.py).
    CustomerField(
        "preferences",
        dict,
        N_("Preferences"),
        description="service_id, location_id, agent_id and time_slots: at least one id; "
        "each id given exists and is active, and those given go together (the agent offers "
        "the service, works at the location, or offers the service there); time slots need "
        "a service and a location",
    ),
)

FIELDS_BY_KEY: Mapping[str, CustomerField] = {each.key: each for each in CUSTOMER_FIELDS}
