"""WTForms forms. Validators call the rules in ``customers/rules.py``; nothing is re-implemented.

Two layers check a submission, and both run the same rule functions:

1. field validators (``Rule``) give each field the rule's own message — the one the API gives;
2. ``CustomerForm.customer_input`` passes the whole form through ``parse_customer_input``, which
   adds what a single field cannot know (a postcode or phone read against the chosen country),
   and through the service's ``check_business_rules`` (custom fields against their definitions);
   the service says the same again on create, and adds a duplicate email, via ``apply_errors``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.core import Field
from wtforms.validators import EqualTo, InputRequired, StopValidation
from wtforms.widgets import DateInput, TelInput

from ..accounts.service import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, check_password
from ..customers import rules
from ..customers.errors import ValidationFailed
from ..customers.input import STRING_FIELDS, CustomerInput, RuleSettings, parse_customer_input
from ..customers.service import check_business_rules
from . import fields as markup
from .custom_fields import CustomFieldSet

RuleCall = Callable[[str, RuleSettings], object]


class Rule:
    """Run a rule from ``customers/rules.py`` on a non-blank value; show the rule's message."""

    def __init__(self, rule: RuleCall) -> None:
        self.rule = rule

    def __call__(self, form: Any, field: Field) -> None:
        value = field.data
        if not isinstance(value, str) or not value.strip():
            return
        try:
            self.rule(value, form.settings)
        except rules.RuleError as err:
            raise StopValidation(err.message) from None


def _first_name(value: str, settings: RuleSettings) -> str:
    return rules.normalise_name(value, label="First name", min_length=settings.name_min_length)


def _last_name(value: str, settings: RuleSettings) -> str:
    return rules.normalise_name(value, label="Last name", min_length=settings.name_min_length)


def _email(value: str, settings: RuleSettings) -> str:
    return rules.normalise_email(value, check_deliverability=settings.check_deliverability)


def _date_of_birth(value: str, settings: RuleSettings) -> datetime.date:
    return rules.normalise_date_of_birth(
        value, today=settings.current_date(), min_age=settings.min_customer_age
    )


def _password(value: str, settings: RuleSettings) -> str:
    return check_password(value)


def _required(message: str) -> InputRequired:
    return InputRequired(message)


PASSWORD_ATTRIBUTES = {"minlength": PASSWORD_MIN_LENGTH, "maxlength": PASSWORD_MAX_LENGTH}

# Form field -> key of the customer record (the JSON names of SPEC section 2). Status is the
# business's to set, never the visitor's.
CUSTOMER_FIELDS = tuple(name for name in STRING_FIELDS if name != "status")


class PageForm(FlaskForm):
    """A form on a page: its errors, listed for the summary at the top."""

    def has_errors(self) -> bool:
        return bool(self.form_errors) or any(field.errors for field in self)

    def error_summary(self) -> list[tuple[str | None, str, str]]:
        """(input id or None, label, message) for the summary at the top of the page."""
        items: list[tuple[str | None, str, str]] = [(None, "", m) for m in self.form_errors]
        for field in self:
            items.extend((field.id, str(field.label.text), message) for message in field.errors)
        return items


class CustomerForm(PageForm):
    """Fields shared by the customer forms, and the bridge to ``parse_customer_input``."""

    first_name = StringField("First name", [_required("First name is required"), Rule(_first_name)])
    last_name = StringField("Last name", [_required("Last name is required"), Rule(_last_name)])
    email = EmailField("Email", [_required("Email is required"), Rule(_email)])
    phone = StringField("Phone", widget=TelInput())

    def __init__(
        self,
        settings: RuleSettings,
        custom_fields: CustomFieldSet | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.custom_fields = custom_fields or CustomFieldSet.empty()
        self.first_name.render_kw = markup.name_attributes(settings.name_min_length, "given-name")
        self.last_name.render_kw = markup.name_attributes(settings.name_min_length, "family-name")
        self.email.render_kw = dict(markup.EMAIL_ATTRIBUTES)
        self.phone.render_kw = dict(markup.PHONE_ATTRIBUTES)

    def customer_fields(self) -> Iterable[str]:
        return (name for name in CUSTOMER_FIELDS if name in self._fields)

    def raw_customer_data(self) -> dict[str, Any]:
        raw: dict[str, Any] = {name: self._fields[name].data for name in self.customer_fields()}
        custom = self.custom_fields.values(self)
        if custom:
            raw["custom_fields"] = custom
        return raw

    def customer_input(self, defaults: Mapping[str, Any] | None = None) -> CustomerInput | None:
        """The checked input, or None with every failure placed on its field."""
        data = None
        try:
            data = parse_customer_input(
                self.raw_customer_data(), self.settings, require_email=True, defaults=defaults
            )
        except ValidationFailed as failed:
            self.apply_errors(failed.details or {})
        # The service's own verdict on the custom fields (read against the country, as the
        # service reads them), asked now so it comes beside the field rules' errors. It needs
        # the checked input, so custom fields are judged once the customer's fields pass.
        if data is not None and self.custom_fields.definitions:
            self.apply_errors(check_business_rules(data))
        return None if self.has_errors() else data

    def apply_errors(self, details: Mapping[str, str]) -> None:
        """Put errors keyed by record field (``custom_fields.<key>`` too) beside their inputs."""
        for key, message in details.items():
            name = self.custom_fields.form_name(key) if key.startswith("custom_fields.") else key
            field = self._fields.get(name) if name else None
            if field is None:
                self.form_errors.append(message)
            elif not field.errors:
                field.errors = [*field.errors, message]


class RegistrationForm(CustomerForm):
    """Every customer field a person may give about themselves, plus a password."""

    date_of_birth = StringField("Date of birth", [Rule(_date_of_birth)], widget=DateInput())
    gender = SelectField(
        "Gender",
        choices=markup.GENDER_CHOICES,
        validate_choice=False,  # the rule judges the value and gives the API's message
        validators=[Rule(lambda v, s: rules.normalise_gender(v))],
    )
    address = StringField("Street address", [Rule(lambda v, s: rules.normalise_address(v))])
    city = StringField("Town or city", [Rule(lambda v, s: rules.normalise_city(v))])
    state = StringField("State, county or region")
    zipcode = StringField("Postcode / ZIP code")
    country = SelectField(
        "Country",
        validate_choice=False,
        validators=[Rule(lambda v, s: rules.normalise_country(v))],
    )
    notes = TextAreaField("Anything we should know?", [Rule(lambda v, s: rules.normalise_notes(v))])
    password = PasswordField("Password", [_required("Choose a password"), Rule(_password)])
    confirm_password = PasswordField(
        "Repeat the password",
        [_required("Repeat the password"), EqualTo("password", "The passwords do not match")],
    )

    def __init__(self, settings: RuleSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.country.choices = markup.country_choices()
        earliest, latest = markup.date_of_birth_bounds(
            settings.current_date(), settings.min_customer_age
        )
        self.date_of_birth.render_kw = {"min": earliest, "max": latest, "autocomplete": "bday"}
        self.gender.render_kw = {"autocomplete": "sex"}
        self.address.render_kw = {
            "maxlength": rules.ADDRESS_MAX_LENGTH,
            "autocomplete": "address-line1",
        }
        self.city.render_kw = {"maxlength": rules.CITY_MAX_LENGTH, "autocomplete": "address-level2"}
        self.state.render_kw = {
            "maxlength": rules.STATE_MAX_LENGTH,
            "autocomplete": "address-level1",
        }
        self.zipcode.render_kw = {
            "maxlength": rules.ZIPCODE_MAX_LENGTH,
            "autocomplete": "postal-code",
            "autocapitalize": "characters",
        }
        self.country.render_kw = {"autocomplete": "country"}
        self.notes.render_kw = {"maxlength": rules.NOTES_MAX_LENGTH, "rows": 3}
        self.password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}
        self.confirm_password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}
        self.custom_fields.bind(self)


class GuestDetailsForm(CustomerForm):
    """The few details quick booking asks for: name, email, phone, and the required custom
    fields it is given (see ``booking._guest_form``)."""

    def __init__(self, settings: RuleSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.custom_fields.bind(self)


class SignInForm(PageForm):
    email = EmailField("Email", [_required("Enter your email address")])
    password = PasswordField("Password", [_required("Enter your password")])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # "username" is what password managers look for beside a current password.
        self.email.render_kw = {**markup.EMAIL_ATTRIBUTES, "autocomplete": "username"}
        self.password.render_kw = {
            "maxlength": PASSWORD_MAX_LENGTH,
            "autocomplete": "current-password",
        }


class SetPasswordForm(PageForm):
    password = PasswordField("Password", [_required("Choose a password"), Rule(_password)])
    confirm_password = PasswordField(
        "Repeat the password",
        [_required("Repeat the password"), EqualTo("password", "The passwords do not match")],
    )

    def __init__(self, settings: RuleSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}
        self.confirm_password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}


class ActionForm(FlaskForm):
    """A button that changes something (sign out, cancel): only its CSRF token."""
