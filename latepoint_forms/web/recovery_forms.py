"""The forms of getting back into an account (web/recovery.py): asking for a link by email
(``/password/forgot``, ``/sign-in/link``: public, so they carry the bot traps of
web/abuse.py), and choosing a new password from a reset link."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField
from wtforms.validators import InputRequired

from ..customers.rules import RuleError, normalise_email
from . import fields as markup
from .abuse import ScreenedForm
from .forms import PageForm, SetPasswordForm


class EmailLinkForm(ScreenedForm, PageForm):
    """One email address, to mail a link to if it is on file."""

    email = EmailField("Email", [InputRequired("Enter your email address")])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.email.render_kw = dict(markup.SIGN_IN_EMAIL_ATTRIBUTES)

    def checked_email(self) -> str | None:
        """The typed address if it could be anyone's (the email rule, once), else None with
        the rule's message beside the field. Whether it *is* someone's is never said."""
        if not self.validate():
            return None
        try:
            return normalise_email(self.email.data or "")
        except RuleError as err:
            self.email.errors = [*self.email.errors, err.message]
            return None


class NewPasswordForm(SetPasswordForm):
    """A new password and its repetition, by the account's password rule (forms.py)."""
