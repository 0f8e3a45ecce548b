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
from typing import Any, Self

from flask import has_request_context, request
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.core import Field, UnboundField
from wtforms.validators import EqualTo, InputRequired, StopValidation
from wtforms.widgets import DateInput, TelInput

from ..accounts.service import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, check_password
from ..countries import country_names
from ..customers import rules
from ..customers.errors import ValidationFailed
from ..customers.fields import CUSTOMER_FIELDS, FIELDS_BY_KEY
from ..customers.input import RuleSettings, parse_customer_input
from ..customers.service import CheckedCustomer, check_customer
from ..i18n import lazy_gettext, localise, localised_details
from . import fields as markup
from .abuse import ScreenedForm
from .custom_fields import CustomFieldSet


def password_rule(form: Any, field: Field) -> None:
    """The account's password rule (``check_password``), with its message, on the field."""
    try:
        check_password(field.data or "")
    except rules.RuleError as err:
        raise StopValidation(localise(err.problem)) from None


PASSWORD_ATTRIBUTES = {"minlength": PASSWORD_MIN_LENGTH, "maxlength": PASSWORD_MAX_LENGTH}

# The customer record's fields that the web forms offer (each declared with its input in
# customers/fields.py); status and the rest are the business's or the API's to set.
WEB_FIELDS = tuple(field.key for field in CUSTOMER_FIELDS if field.html_input is not None)


def input_for(key: str) -> Any:
    """The form input for a customer field, as its declaration describes it."""
    field = FIELDS_BY_KEY[key]
    label = lazy_gettext(field.label)  # a message id (customers/fields.py), per request
    if field.html_input == "email":
        return EmailField(label)
    if field.html_input == "tel":
        return StringField(label, widget=TelInput())
    if field.html_input == "date":
        return StringField(label, widget=DateInput())
    if field.html_input == "select":
        # The rules judge the choice and give the API's message.
        return SelectField(label, validate_choice=False)
    if field.html_input == "textarea":
        return TextAreaField(label)
    return StringField(label)


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

    first_name = input_for("first_name")
    last_name = input_for("last_name")
    email = input_for("email")
    phone = input_for("phone")
    # The web forms require an email (SPEC); the account's profile form has none.
    requires_email = True

    def __init__(
        self,
        settings: RuleSettings,
        custom_fields: CustomFieldSet | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.custom_fields = custom_fields or CustomFieldSet.empty()
        for name in self.customer_fields():
            self[name].render_kw = markup.input_attributes(FIELDS_BY_KEY[name], settings)
        if "phone" in self._fields and "country" not in self._fields:
            # A local example, in the region the number will be read in: where no country is
            # asked (/book), the default region (there, the location's country). A form with
            # a country shows the chosen country's (PersonalDetailsForm.show_phone_example).
            example = markup.phone_example(settings.phone_region(None))
            if example is not None:
                self.phone.render_kw = {**self.phone.render_kw, "placeholder": example}

    @classmethod
    def build(cls, settings: RuleSettings, custom_fields: CustomFieldSet | None = None) -> Self:
        """This form with an input for each custom field given."""
        custom_fields = custom_fields or CustomFieldSet.empty()
        return custom_fields.form_class(cls)(settings, custom_fields=custom_fields)

    def customer_fields(self) -> Iterable[str]:
        return (name for name in WEB_FIELDS if name in self._fields)

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
                self.raw_customer_data(),
                self.settings,
                require_email=self.requires_email,
                defaults=defaults,
            )
            checked = check_customer(data, self.settings, self.custom_fields.definitions)
        except ValidationFailed as failed:
            self.apply_errors(localised_details(failed.problems))
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


class PersonalDetailsForm(CustomerForm):
    """The customer fields beyond the name, email and phone that a person gives about
    themselves (the registration form and the account's profile form share them)."""

    date_of_birth = input_for("date_of_birth")
    gender = input_for("gender")
    address = input_for("address")
    city = input_for("city")
    state = input_for("state")
    zipcode = input_for("zipcode")
    country = input_for("country")

    def __init__(self, settings: RuleSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.country.choices = markup.country_choices()
        earliest, latest = markup.date_of_birth_bounds(
            settings.current_date(), settings.min_customer_age
        )
        self.date_of_birth.render_kw = {
            **self.date_of_birth.render_kw,
            "min": earliest,
            "max": latest,
        }
        self.gender.choices = markup.GENDER_CHOICES
        self.show_phone_example()

    def show_phone_example(self) -> None:
        """The phone's placeholder: a local example of the region the number will be read in
        (the chosen country, else the default region). Call again after setting the country."""
        example = markup.phone_example(self.settings.phone_region(self.country.data or None))
        kw = {k: v for k, v in self.phone.render_kw.items() if k != "placeholder"}
        self.phone.render_kw = {**kw, "placeholder": example} if example else kw


def country_from_accept_language() -> str | None:
    """The region of the browser's most preferred language that names one (``en-GB`` → GB),
    when it is a country the form offers; None without one."""
    if not has_request_context():
        return None
    countries = country_names()
    for tag, _quality in request.accept_languages:
        for part in tag.replace("_", "-").split("-")[1:]:
            if len(part) == 2 and part.upper() in countries:
                return part.upper()
    return None


# On /register, behind the "more about you" disclosure (everything optional); name, email,
# phone with its country, the required custom fields and the password are up front.
OPTIONAL_DETAILS = (
    "date_of_birth",
    "gender",
    "address",
    "city",
    "state",
    "zipcode",
    "notes",
)


class RegistrationForm(ScreenedForm, PersonalDetailsForm):
    """Every customer field a person may give about themselves, plus a password."""

    notes = input_for("notes")
    password = PasswordField(
        lazy_gettext("Password"), [InputRequired(lazy_gettext("Choose a password")), password_rule]
    )
    confirm_password = PasswordField(
        lazy_gettext("Repeat the password"),
        [
            InputRequired(lazy_gettext("Repeat the password")),
            EqualTo("password", lazy_gettext("The passwords do not match")),
        ],
    )

    def __init__(self, settings: RuleSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        if not self.is_submitted() and not self.country.data:
            # The phone's country, said up front: the configured one, else the browser's.
            self.country.data = settings.default_country or country_from_accept_language() or ""
            self.show_phone_example()
        self.password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}
        self.confirm_password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}

    def required_custom_fields(self) -> list[Field]:
        """The custom inputs that must be filled in: up front, beside the name."""
        return [f for f, d in self._custom_inputs() if d.required]

    def optional_fields(self) -> list[Field]:
        """What the disclosure holds: the optional details and custom fields, notes last."""
        details = [self[name] for name in OPTIONAL_DETAILS if name != "notes"]
        custom = [f for f, d in self._custom_inputs() if not d.required]
        return [*details, *custom, self.notes]

    def error_summary(self) -> list[tuple[str | None, str, str]]:
        """As ``PageForm``'s, in the order the page shows the inputs (the essentials first)."""
        up_front = [
            *(self[name] for name in ("first_name", "last_name", "email", "phone", "country")),
            *self.required_custom_fields(),
            self.password,
            self.confirm_password,
        ]
        shown = [*up_front, *self.optional_fields()]
        rest = [f for f in self if all(f is not s for s in shown)]
        items: list[tuple[str | None, str, str]] = [(None, "", m) for m in self.form_errors]
        for field in [*shown, *rest]:
            items.extend((field.id, str(field.label.text), message) for message in field.errors)
        return items

    def details_open(self) -> bool:
        """The disclosure starts open when something in it was typed or is wrong."""
        return any(f.errors or (f.data not in (None, "", False)) for f in self.optional_fields())

    def password_needs_retyping(self) -> bool:
        """A refused submission without a password error of its own: the password fields come
        back empty (never echoed), and the page says so beside them."""
        return self.is_submitted() and self.has_errors() and not self.password.errors

    def _custom_inputs(self) -> list[tuple[Field, Any]]:
        definitions = self.custom_fields.definitions
        return list(zip(self.custom_fields.fields(self), definitions, strict=True))


# Every customer field with an input is on the registration form: adding one to the
# declaration without its input here would leave it unreachable from the web.
_missing = [
    key for key in WEB_FIELDS if not isinstance(getattr(RegistrationForm, key), UnboundField)
]
if _missing:
    raise RuntimeError(f"RegistrationForm lacks the inputs of {_missing}")


class GuestDetailsForm(ScreenedForm, CustomerForm):
    """The few details quick booking asks for: name, email, phone, and the required custom
    fields it is given (see ``booking._guest_form``)."""


class SignInForm(PageForm):
    email = EmailField(
        lazy_gettext("Email"), [InputRequired(lazy_gettext("Enter your email address"))]
    )
    password = PasswordField(
        lazy_gettext("Password"), [InputRequired(lazy_gettext("Enter your password"))]
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # "username" is what password managers look for beside a current password.
        self.email.render_kw = dict(markup.SIGN_IN_EMAIL_ATTRIBUTES)
        self.password.render_kw = {
            "maxlength": PASSWORD_MAX_LENGTH,
            "autocomplete": "current-password",
        }


class SetPasswordForm(PageForm):
    password = PasswordField(
        lazy_gettext("Password"), [InputRequired(lazy_gettext("Choose a password")), password_rule]
    )
    confirm_password = PasswordField(
        lazy_gettext("Repeat the password"),
        [
            InputRequired(lazy_gettext("Repeat the password")),
            EqualTo("password", lazy_gettext("The passwords do not match")),
        ],
    )

    def __init__(self, settings: RuleSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}
        self.confirm_password.render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}


class ActionForm(FlaskForm):
    """A button that changes something (sign out, cancel): only its CSRF token."""
