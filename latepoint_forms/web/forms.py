"""WTForms forms: one validation pass, the same as the API's.

A customer form checks a submission once: ``CustomerForm.customer_input`` hands its fields to
``parse_customer_input`` (every field rule, a postcode or phone read against the chosen
country, every failure at once) and then to the service's ``check_customer`` (custom fields
against the definitions this form was built with), and places every error beside its input.
WTForms validators keep only what the form alone knows: CSRF, and the password with its
confirmation. The HTML attributes come from the rules' constants (``web/fields.py``), so the
browser checks first what the server will.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.core import Field
from wtforms.validators import EqualTo, InputRequired, StopValidation
from wtforms.widgets import DateInput, TelInput

from ..accounts.service import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, check_password
from ..customers import rules
from ..customers.errors import ValidationFailed
from ..customers.input import STRING_FIELDS, RuleSettings, parse_customer_input
from ..customers.service import CheckedCustomer, check_customer
from . import fields as markup
from .custom_fields import CustomFieldSet


def password_rule(form: Any, field: Field) -> None:
    """The account's password rule (``check_password``), with its message, on the field."""
    try:
        check_password(field.data or "")
    except rules.RuleError as err:
        raise StopValidation(err.message) from None


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

    first_name = StringField("First name")
    last_name = StringField("Last name")
    email = EmailField("Email")
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
        min_length = settings.name_min_length
        self.first_name.render_kw = {
            **markup.name_attributes(min_length, "given-name"),
            "required": True,
        }
        self.last_name.render_kw = {
            **markup.name_attributes(min_length, "family-name"),
            "required": True,
        }
        self.email.render_kw = {**markup.EMAIL_ATTRIBUTES, "required": True}
        self.phone.render_kw = dict(markup.PHONE_ATTRIBUTES)

    def customer_fields(self) -> Iterable[str]:
        return (name for name in CUSTOMER_FIELDS if name in self._fields)

    def raw_customer_data(self) -> dict[str, Any]:
        raw: dict[str, Any] = {name: self._fields[name].data for name in self.customer_fields()}
        custom = self.custom_fields.values(self)
        if custom:
            raw["custom_fields"] = custom
        return raw

    def customer_input(self, defaults: Mapping[str, Any] | None = None) -> CheckedCustomer | None:
        """The one validation pass: the checked customer, or None with every failure placed
        on its input. Custom fields are judged once the customer's own fields pass (they are
        read against the customer's country)."""
        try:
            data = parse_customer_input(
                self.raw_customer_data(), self.settings, require_email=True, defaults=defaults
            )
            checked = check_customer(data, self.settings, self.custom_fields.definitions)
        except ValidationFailed as failed:
            self.apply_errors(failed.details or {})
            return None
        return None if self.has_errors() else checked

    def apply_errors(self, details: Mapping[str, str]) -> None:
        """Put errors keyed by record field (``custom_fields.<key>`` too) beside their inputs."""
        for key, message in details.items():
            name = self.custom_fields.form_name(key) if key.startswith("custom_fields.") else key
            field = self._fields.get(name) if name else None
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]


class RegistrationForm(CustomerForm):
    """Every customer field a person may give about themselves, plus a password."""

    date_of_birth = StringField("Date of birth", widget=DateInput())
    # The rules judge the choices and give the API's messages.
    gender = SelectField("Gender", choices=markup.GENDER_CHOICES, validate_choice=False)
    address = StringField("Street address")
    city = StringField("Town or city")
    state = StringField("State, county or region")
    zipcode = StringField("Postcode / ZIP code")
    country = SelectField("Country", validate_choice=False)
    notes = TextAreaField("Anything we should know?")
    password = PasswordField("Password", [InputRequired("Choose a password"), password_rule])
    confirm_password = PasswordField(
        "Repeat the password",
        [InputRequired("Repeat the password"), EqualTo("password", "The passwords do not match")],
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
    email = EmailField("Email", [InputRequired("Enter your email address")])
    password = PasswordField("Password", [InputRequired("Enter your password")])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # "username" is what password managers look for beside a current password.
        self.email.render_kw = {**markup.EMAIL_ATTRIBUTES, "autocomplete": "username"}
        self.password.render_kw = {
            "maxlength": PASSWORD_MAX_LENGTH,
            "autocomplete": "current-password",
        }


class SetPasswordForm(PageForm):
    password = PasswordField("Password", [InputRequired("Choose a password"), password_rule])
    confirm_password = PasswordField(
        "Repeat the password",
        [InputRequired("Repeat the password"), EqualTo("password", "The passwords do not match")],
    )

    def __init__(self, settings: RuleSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}
        self.confirm_password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}


class ActionForm(FlaskForm):
    """A button that changes something (sign out, cancel): only its CSRF token."""
