"""The forms of getting back into an account (web/recovery.py): asking for a link by email
(``/password/forgot``, ``/sign-in/link``: public, so they carry the bot traps of
web/abuse.py), and choosing a new password from a reset link."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired

from ..accounts.service import PASSWORD_MAX_LENGTH
from ..customers.rules import RuleError, normalise_email
from ..i18n import lazy_gettext, localise
from ..settings import rule_settings
from . import fields as markup
from .abuse import ScreenedForm
from .forms import PageForm, SetPasswordForm


class EmailLinkForm(ScreenedForm, PageForm):
    """One email address, to mail a link to if it is on file."""

    email = EmailField(
        lazy_gettext("Email"), [InputRequired(lazy_gettext("Enter your email address"))]
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.email.render_kw = dict(markup.SIGN_IN_EMAIL_ATTRIBUTES)

    def checked_email(self) -> str | None:
        """The typed address if it could be anyone's (the email rule, once), else None with
        the rule's message beside the field. Whether it *is* someone's is never said."""
        if not self.validate():
            return None
        try:
            # BLOCK_DISPOSABLE_EMAILS on this door too (SPEC section 9, "every door"), with
            # the message the other doors give. Deliverability is not asked: an address on
            # file must not be turned away by a DNS hiccup.
            block = rule_settings().block_disposable_emails
            return normalise_email(self.email.data or "", block_disposable=block)
        except RuleError as err:
            self.email.errors = [*self.email.errors, localise(err.problem)]
            return None


class NewPasswordForm(SetPasswordForm):
    """A new password and its repetition, by the account's password rule (forms.py)."""


class ConfirmRegistrationForm(PageForm):
    """The confirmation link's button, and the account's password when the browser is not the
    registrant's own signed-in one: only the registrant can confirm a registration (the
    mailbox alone proves the address, not the password someone chose for it)."""

    password = PasswordField(lazy_gettext("Password of the account"))

    def __init__(self, *, asks_password: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asks_password = asks_password
        if not asks_password:
            del self.password
        else:
            self.password.render_kw = {
                "maxlength": PASSWORD_MAX_LENGTH,
                "autocomplete": "current-password",
                "required": True,
            }
