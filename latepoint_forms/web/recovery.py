"""Getting into an account with the address alone (SPEC section 9): password reset, the
sign-in link, and confirming an address.

- ``/password/forgot`` and ``/sign-in/link`` take an email and always answer alike (a
  redirect to one "check your email" page), whether the address is on file or not, pending,
  a guest's or an inactive customer's; only a known, not inactive customer is sent a link.
  They carry the bot traps (a tripped one sends nothing and gets the same answer) and the
  web limits per client address and per email address.
- ``/password/reset/<token>``, ``/sign-in/link/<token>``, ``/confirm-email/<token>``: the
  page (GET) changes nothing, because mail scanners follow links; its button POSTs (CSRF)
  and the POST spends the link (once: of two racing POSTs one wins). Using a link proves the
  address (a ``pending`` customer becomes ``active``) and signs the person in with a new
  session. A reset or a sign-in link of a ``pending`` customer ends every session of it and
  the unproven password goes (accounts/links.py ``prove_address``), so either takes back an
  account someone registered under an address that is not theirs. The confirmation link
  confirms the registrant's password, so it asks for it unless the browser is the
  registrant's own signed-in one; the owner of the address is pointed to the reset instead.

The link pages carry no fill-time trap: the one-time token already shows that whoever posts
it reads the mailbox, and a silent "success" that did nothing would strand a quick person.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ..accounts import tokens
from ..accounts.links import BY_MAILBOX, BY_REGISTRANT, link_customer, redeem_link, request_link
from ..accounts.service import set_password
from ..clock import now
from ..i18n import _, ngettext
from ..messages import service as messages
from ..models import Customer
from ..passwords import verify_password
from ..problems import N_
from ..settings import rule_settings
from . import bp
from .abuse import STALE_PAGE_MESSAGE, screened_out
from .auth import current_customer, sign_in
from .forms import ActionForm
from .limits import limit_web_door
from .recovery_forms import ConfirmRegistrationForm, EmailLinkForm, NewPasswordForm
from .responses import FormOnOutage, private_page, say_on_outage

LINK_NOT_WORKING = N_(
    "This link does not work any more: it was used already, a newer one was sent, or it "
    "expired. You can ask for a new one below."
)
NOT_THE_REGISTRANT = N_(
    "This is not the password of this account. Did not make this account? Choose a new "
    "password instead."
)
ASK_THE_REGISTRANT = N_("Enter the password chosen when the account was made")
NOT_SAVED = N_("We could not finish that just now. Nothing changed — please try again.")
# A link's page must not pass its token on (a link to elsewhere, a resource it loads).
NO_REFERRER = {"Referrer-Policy": "no-referrer"}


# --- asking for a link ---------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"], endpoint="password_forgot")
@limit_web_door
def password_forgot() -> ResponseReturnValue:
    return _ask_for_link("password_forgot.html", messages.PASSWORD_RESET, "web.password_link_sent")


@bp.route("/sign-in/link", methods=["GET", "POST"], endpoint="sign_in_link")
@limit_web_door
def sign_in_link() -> ResponseReturnValue:
    return _ask_for_link("sign_in_link.html", messages.SIGN_IN_LINK, "web.sign_in_link_sent")


def _ask_for_link(template: str, kind: str, sent_endpoint: str) -> ResponseReturnValue:
    """One email in, one answer out (a redirect to the "check your email" page) for every
    address: on file or not, and for a tripped trap too."""
    form = EmailLinkForm()
    FormOnOutage(template, lambda: form)
    if not form.is_submitted():
        form.stamp_start()
        return render_template(template, form=form)
    if screened_out(form):  # a bot: nothing sent, and the answer everyone gets
        return redirect(url_for(sent_endpoint), 303)
    if form.restamp_if_stale():
        flash(_(STALE_PAGE_MESSAGE), "error")
        return render_template(template, form=form), 422
    email = form.checked_email()
    if email is None:
        return render_template(template, form=form), 422
    request_link(kind, email, now())
    return redirect(url_for(sent_endpoint), 303)


@bp.get("/password/forgot/sent", endpoint="password_link_sent")
def password_link_sent() -> ResponseReturnValue:
    return render_template(
        "link_sent.html", what="reset", validity=ngettext("%(num)d hour", "%(num)d hours", 1)
    )


@bp.get("/sign-in/link/sent", endpoint="sign_in_link_sent")
def sign_in_link_sent() -> ResponseReturnValue:
    return render_template(
        "link_sent.html",
        what="sign_in",
        validity=ngettext("%(num)d minute", "%(num)d minutes", 15),
    )


@bp.get("/confirm-email/sent", endpoint="confirmation_link_sent")
def confirmation_link_sent() -> ResponseReturnValue:
    """Where a right password of a pending account leads (web/auth.py)."""
    return render_template(
        "link_sent.html", what="confirm", validity=ngettext("%(num)d day", "%(num)d days", 7)
    )


# --- using a link --------------------------------------------------------------------------


def _link_gone(ask_again: str) -> ResponseReturnValue:
    page = render_template("link_gone.html", message=_(LINK_NOT_WORKING), ask_again=ask_again)
    return page, 410, NO_REFERRER


def _signed_in_by_link(customer: Customer, message: str) -> ResponseReturnValue:
    """``message``: in the page's language already (a flash message is a plain str)."""
    sign_in(customer)  # a new session: nothing from before the link carries over
    flash(message, "success")
    return redirect(url_for("web.account"), 303)


@bp.route("/password/reset/<token>", methods=["GET", "POST"], endpoint="password_reset")
@limit_web_door
@private_page
def password_reset(token: str) -> ResponseReturnValue:
    at = now()
    settings = rule_settings()
    form = NewPasswordForm(settings)
    FormOnOutage("password_reset.html", lambda: form, customer=None)
    customer = link_customer(token, tokens.PASSWORD_RESET, at)
    if customer is None:
        return _link_gone(url_for("web.password_forgot"))
    if not form.is_submitted():
        return render_template("password_reset.html", form=form, customer=customer), NO_REFERRER
    if not form.validate():  # the link stays unused until the new password is acceptable
        page = render_template("password_reset.html", form=form, customer=customer)
        return page, 422, NO_REFERRER
    redeemed = redeem_link(token, tokens.PASSWORD_RESET, at)
    if redeemed is None:  # a rival request used it a moment ago
        return _link_gone(url_for("web.password_forgot"))
    # Ends every session of the customer (a registrant's of a stolen address too) and voids
    # the other reset and sign-in links.
    changed = set_password(redeemed.id, form.password.data or "", settings)
    return _signed_in_by_link(changed, _("Your new password is set, and you are signed in."))


UNCONFIRMED_CHOICE_GONE = N_(
    "The password chosen when this account was registered was never confirmed, so it no longer "
    "works: please set one now (Account, Set a password)."
)


@bp.route("/sign-in/link/<token>", methods=["GET", "POST"], endpoint="sign_in_by_link")
@limit_web_door
@private_page
def sign_in_by_link(token: str) -> ResponseReturnValue:
    return _link_button(
        token,
        tokens.SIGN_IN,
        template="sign_in_by_link.html",
        ask_again="web.sign_in_link",
        done=N_("You are signed in."),
    )


@bp.route("/confirm-email/<token>", methods=["GET", "POST"], endpoint="confirm_email")
@limit_web_door
@private_page
def confirm_email(token: str) -> ResponseReturnValue:
    """Confirm a registration: the link proves the mailbox, and the registrant shows they are
    the one who registered, by this browser's own session of the account or by its password.
    A wrong password changes nothing (the link stays unused)."""
    at = now()
    say_on_outage(NOT_SAVED)
    customer = link_customer(token, tokens.CONFIRM_EMAIL, at)
    if customer is None:
        return _link_gone(url_for("web.sign_in_link"))
    signed_in = current_customer()
    own_session = signed_in is not None and signed_in.id == customer.id
    form = ConfirmRegistrationForm(asks_password=not own_session and bool(customer.password_hash))
    if not form.is_submitted():
        return render_template("confirm_email.html", form=form, customer=customer), NO_REFERRER
    form.validate()  # CSRFProtect has already refused a missing token
    if form.asks_password:
        typed = form.password.data or ""
        if not typed:
            form.password.errors = [_(ASK_THE_REGISTRANT)]
        elif not verify_password(customer.password_hash or "", typed):
            form.password.errors = [_(NOT_THE_REGISTRANT)]
        if form.password.errors:
            page = render_template("confirm_email.html", form=form, customer=customer)
            return page, 422, NO_REFERRER
    # The registrant's session or password came with the link; a record without a password
    # has nothing to confirm but the address.
    by = BY_REGISTRANT if own_session or form.asks_password else BY_MAILBOX
    redeemed = redeem_link(token, tokens.CONFIRM_EMAIL, at, by=by)
    if redeemed is None:
        return _link_gone(url_for("web.sign_in_link"))
    return _signed_in_by_link(
        redeemed, _("Thank you: your email address is confirmed, and you are signed in.")
    )


def _link_button(
    token: str, purpose: str, *, template: str, ask_again: str, done: str
) -> ResponseReturnValue:
    """A link whose page is one button: GET shows it, POST spends the link and signs in
    (``done``: a message id, said then)."""
    at = now()
    say_on_outage(NOT_SAVED)
    form = ActionForm()
    customer = link_customer(token, purpose, at)
    if customer is None:
        return _link_gone(url_for(ask_again))
    if not form.is_submitted():
        return render_template(template, form=form, customer=customer), NO_REFERRER
    form.validate_on_submit()  # CSRFProtect has already refused a missing token
    # A pending registration's password is not proven by this link: it goes (accounts/links.py
    # prove_address), and the person is told, so that a genuine registrant sets one again.
    loses_password = customer.status == "pending" and customer.password_hash is not None
    redeemed = redeem_link(token, purpose, at)
    if redeemed is None:
        return _link_gone(url_for(ask_again))
    return _signed_in_by_link(
        redeemed, f"{_(done)} {_(UNCONFIRMED_CHOICE_GONE)}" if loses_password else _(done)
    )
