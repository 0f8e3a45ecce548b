"""Keeping bots off the public forms (SPEC section 9, "Abuse").

Each public form (``/register``, ``/book``'s details) carries two traps:

- a honeypot: a text input people never see (visually hidden, ``aria-hidden``, out of the
  tab order, labelled "leave this empty"); bots that fill every input fill it;
- a fill time: the page signs the moment it was served (``form_started``, signed with the
  app's secret, so it cannot be forged or moved); a submission sooner than
  ``FORM_MIN_SECONDS`` after it came from a script.

A submission that trips either stores nothing and sends nothing, and gets what a success
gets (a redirect to a page thanking them), so the bot learns nothing. A stamp that is
missing, does not verify (a page served before a deploy or a key change) or is older than
``STAMP_MAX_AGE_SECONDS`` is not taken for a bot — a person may have left the page open —
the form comes back (422) with a fresh stamp and a note to send it again
(``restamp_if_stale``). The time is read through ``clock.now()``, so tests set the app's
``CLOCK`` instead of sleeping.
``FORM_MIN_SECONDS=0`` switches the fill time off (the browser tests fill forms at once).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import current_app, request, session
from itsdangerous import BadData, URLSafeSerializer
from wtforms import HiddenField, StringField

from .. import clock
from ..i18n import lazy_gettext
from ..problems import N_

HONEYPOT_LABEL = N_("Leave this field empty")
STARTED_SALT = "latepoint_forms.form-started"
# The session remembers, for a while, that this browser's last booking was screened out, so
# the confirmation page thanks it as it would thank a real booker.
SCREENED_KEY = "screened_since"
SCREENED_WINDOW_SECONDS = 10 * 60
# A stamp older than this proves nothing (one harvested stamp must not serve for ever).
STAMP_MAX_AGE_SECONDS = 24 * 60 * 60
STALE_PAGE_MESSAGE = N_(
    "This page was open for a long time, so nothing was sent yet. Please check the form "
    "and send it again."
)

log = logging.getLogger(__name__)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=STARTED_SALT)


def started_stamp() -> str:
    """The signed moment (seconds since the epoch) a form is served."""
    return str(_serializer().dumps(round(clock.now().timestamp(), 3)))


def _started_at(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        value = _serializer().loads(stamp)
    except BadData:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None
    if clock.now().timestamp() - float(value) > STAMP_MAX_AGE_SECONDS:
        return None
    return float(value)


class ScreenedForm:
    """The traps, mixed into a public form (before ``FlaskForm`` in the bases)."""

    website = StringField(
        lazy_gettext(HONEYPOT_LABEL),
        render_kw={"tabindex": "-1", "autocomplete": "off", "aria-hidden": "true"},
    )
    form_started = HiddenField()

    def stamp_start(self) -> None:
        """Sign the moment this form is served (only on a fresh page: a form shown again
        with its errors keeps the moment it was first served)."""
        field: Any = self.form_started
        if not field.data:
            field.data = started_stamp()

    def tripped(self) -> str | None:
        """Why this submission looks like a bot's ("honeypot", "too fast"), or None."""
        website: Any = self.website
        if (website.data or "").strip():
            return "honeypot"
        min_seconds = float(current_app.config["FORM_MIN_SECONDS"])
        if min_seconds <= 0:
            return None
        started = _started_at(self.form_started.data)
        if started is not None and clock.now().timestamp() - started < min_seconds:
            return "too fast"
        return None  # no valid stamp: restamp_if_stale, not a bot's silent success

    def restamp_if_stale(self) -> bool:
        """True when the submission carries no valid stamp: the form is given a fresh one and
        should be shown again (422) with ``STALE_PAGE_MESSAGE``."""
        if float(current_app.config["FORM_MIN_SECONDS"]) <= 0:
            return False
        if _started_at(self.form_started.data) is not None:
            return False
        field: Any = self.form_started
        field.data = started_stamp()
        return True


def screened_out(form: ScreenedForm) -> bool:
    """True (and logged) when a submission tripped a trap: the view then stores nothing."""
    reason = form.tripped()
    if reason is None:
        return False
    log.info("Screened out a submission to %s (%s)", request.path, reason)
    return True


def remember_screened() -> None:
    session[SCREENED_KEY] = clock.now().timestamp()


def was_screened() -> bool:
    since = session.get(SCREENED_KEY)
    if not isinstance(since, int | float) or isinstance(since, bool):
        return False
    return 0 <= clock.now().timestamp() - since <= SCREENED_WINDOW_SECONDS
