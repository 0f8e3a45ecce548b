"""The account's own forms (SPEC section 9, "Account"): the profile, the password, the email.

The profile form is the registration form's personal details (``PersonalDetailsForm``, so the
same declaration and the same one validation pass) without the email, which changes only by a
confirmed link, and without the password, which has its own form.
"""

from __future__ import annotations

import datetime
from typing import Any

import phonenumbers
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from ..accounts.service import PASSWORD_MAX_LENGTH
from ..customers.fields import FIELDS_BY_KEY
from ..customers.input import RuleSettings
from ..customers.service import PROFILE_KEYS
from ..i18n import _, lazy_gettext
from ..models import Customer
from .custom_fields import PREFIX
from .fields import input_attributes
from .forms import (
    PASSWORD_ATTRIBUTES,
    WEB_FIELDS,
    PageForm,
    PersonalDetailsForm,
    input_for,
    password_rule,
)


class ProfileForm(PersonalDetailsForm):
    """The customer's details as the account page edits them."""

    email = None  # WTForms: a field set to None in a subclass is not on it
    requires_email = False

    def profile_keys(self) -> tuple[str, ...]:
        """The record's fields this form sets (``update_profile``'s ``keys``)."""
        keys = tuple(self.customer_fields())
        return (*keys, "custom_fields") if self.custom_fields.definitions else keys

    def fill_from(self, customer: Customer) -> None:
        """Show what is stored, as a person would type it."""
        for name in self.customer_fields():
            value = getattr(customer, name)
            if isinstance(value, datetime.date):
                value = value.isoformat()
            self[name].data = value if value is not None else ""
        self.phone.data = _phone_as_typed(customer.phone, self.settings, customer.country)
        stored = customer.custom_fields or {}
        for definition in self.custom_fields.definitions:
            value = stored.get(definition.key)
            field = self[PREFIX + definition.key]
            if definition.type == "checkbox":
                field.data = bool(value)
            else:
                field.data = "" if value is None else str(value)
        self.show_phone_example()


# Every profile field with an input is on the profile form, and nothing else of the record.
_offered = {key for key in WEB_FIELDS if key in PROFILE_KEYS}
_on_form = {key for key in WEB_FIELDS if getattr(ProfileForm, key, None) is not None}
if _offered != _on_form:
    raise RuntimeError(f"ProfileForm offers {sorted(_on_form)}, the profile is {sorted(_offered)}")


def _phone_as_typed(stored: str | None, settings: RuleSettings, country: str | None) -> str:
    """A stored E.164 number in the national format when the region it is read in has its
    country code, else as stored (a number from elsewhere keeps its country code)."""
    if not stored:
        return ""
    region = settings.phone_region(country)
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    # Read back in the region, the national form gives the same number (+44 is GB's, and
    # Guernsey's: the country code decides, not the number's own region).
    if region and number.country_code == phonenumbers.country_code_for_region(region):
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    return stored


class ChangePasswordForm(PageForm):
    """The password change: the current password, then the new one twice. Without a password
    yet (a guest who came by a sign-in link) there is no current one to ask for."""

    current_password = PasswordField(
        lazy_gettext("Current password"),
        [InputRequired(lazy_gettext("Enter your current password"))],
    )
    password = PasswordField(
        lazy_gettext("New password"),
        [InputRequired(lazy_gettext("Choose a password")), password_rule],
    )
    confirm_password = PasswordField(
        lazy_gettext("Repeat the new password"),
        [
            InputRequired(lazy_gettext("Repeat the password")),
            EqualTo("password", lazy_gettext("The passwords do not match")),
        ],
    )

    def __init__(self, *, has_password: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if has_password:
            self.current_password.render_kw = {
                "maxlength": PASSWORD_MAX_LENGTH,
                "autocomplete": "current-password",
            }
        else:
            del self.current_password
            self.password.label.text = _("Password")
            self.confirm_password.label.text = _("Repeat the password")
        for name in ("password", "confirm_password"):
            self[name].render_kw = {**PASSWORD_ATTRIBUTES, "autocomplete": "new-password"}

    @property
    def asks_current_password(self) -> bool:
        return "current_password" in self._fields


class ChangeEmailForm(PageForm):
    """The new address, and the current password (when the customer has one). Both are
    judged once, by ``request_email_change``, which reports every failure at once; the email
    input carries the email field's declared attributes."""

    email = input_for("email")
    current_password = PasswordField(lazy_gettext("Your password"))

    def __init__(self, settings: RuleSettings, *, has_password: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.email.label.text = _("New email address")
        self.email.render_kw = input_attributes(FIELDS_BY_KEY["email"], settings)
        if has_password:
            self.current_password.render_kw = {
                "required": True,
                "maxlength": PASSWORD_MAX_LENGTH,
                "autocomplete": "current-password",
            }
        else:
            del self.current_password

    @property
    def asks_current_password(self) -> bool:
        return "current_password" in self._fields

    def place_errors(self, details: dict[str, str]) -> None:
        """The service's errors, keyed by input name, beside their inputs."""
        for name, message in details.items():
            if name in self._fields:
                self[name].errors = [message]
            else:
                self.form_errors.append(message)
