"""Keeping bots off the public forms (SPEC section 9, "Abuse").

Each public form (``/register``, ``/book``'s details) carries two traps:

- a honeypot: a text input people never see (visually hidden, ``aria-hidden``, out of the
  tab order, labelled "leave this empty"); bots that fill every input fill it;
- a fill time: the page signs the moment it was served (``form_started``, signed with the
  app's secret, so it cannot be forged or moved); a submission sooner than
  ``FORM_MIN_SECONDS`` after it, or without a valid stamp, came from a script.

A submission that trips either stores nothing and sends nothing, and gets what a success
gets (a redirect to a page thanking them), so the bot learns nothing. The time is read
through ``clock.now()``, so tests set the app's ``CLOCK`` instead of sleeping.
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

HONEYPOT_LABEL = "Leave this field empty"
STARTED_SALT = "latepoint_forms.form-started"
# The session remembers, for a while, that this browser's last booking was screened out, so
# the confirmation page thanks it as it would thank a real booker.
SCREENED_KEY = "screened_since"
SCREENED_WINDOW_SECONDS = 10 * 60

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
    return float(value)


class ScreenedForm:
    """The traps, mixed into a public form (before ``FlaskForm`` in the bases)."""

    website = StringField(
        HONEYPOT_LABEL,
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
        if started is None:
            return "no fill time"
        if clock.now().timestamp() - started < min_seconds:
            return "too fast"
        return None


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
