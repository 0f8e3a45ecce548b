"""Rate limits on the web forms' submissions (SPEC section 9, "Abuse"): ``RATE_LIMIT_WEB``.

Every POST to a web door (sign-in, registration, booking) spends two budgets of that door:
its client address's, and — when the form names one — its email address's, so a script
cannot try one address from many networks, nor many addresses from one. A form without an
email field whose submission still mails an address (the set-password offer after a booking)
names that address itself (``limit_web_door_for``). The counters live
where the API's do (Redis when ``REDIS_URL`` is set, api/ratelimits.py), so every worker and
host shares them. Reading a page (GET) is never limited.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from ..problems import N_

F = TypeVar("F", bound=Callable[..., Any])

# The limiter's refusal (a 429 page): a message id, shown in the page's language (errors.py).
TOO_MANY_ATTEMPTS = N_("Too many attempts just now. Please wait a while and try again.")


def web_rate_limit() -> str:
    """The web doors' limits, from the config ("10/minute;50/day")."""
    return str(current_app.config["RATE_LIMIT_WEB"])


def _typed_email() -> str:
    return budget_spelling(request.form.get("email"))


def budget_spelling(email: str | None) -> str:
    """An email in one spelling, so respellings of one address (case, NFC/NFD, the domain in
    Unicode or IDNA, a trailing dot) share one budget. Not the email rule itself: the form's
    one validation pass runs that, once (tests/test_single_pass.py)."""
    typed = unicodedata.normalize("NFC", (email or "").strip()).casefold()
    local, at, domain = typed.rpartition("@")
    if not at:
        return typed
    with contextlib.suppress(UnicodeError):  # a domain IDNA cannot write is kept as typed
        domain = domain.rstrip(".").encode("idna").decode("ascii")
    return f"{local}@{domain}"


def email_rate_key() -> str:
    return f"email:{_typed_email()}"


def _email_key(email_of: Callable[[], str | None]) -> Callable[[], str]:
    return lambda: f"email:{budget_spelling(email_of())}"


def address_rate_key() -> str:
    return f"addr:{get_remote_address()}"


def _no_email() -> bool:
    return not _typed_email()


def limit_web_door(view: F) -> F:
    """Put the per-address and the per-email budget on a web form's submissions."""
    return _limit(view, email_rate_key, _no_email)


def limit_web_door_for(email_of: Callable[[], str | None]) -> Callable[[F], F]:
    """``limit_web_door`` for a form without an email field: ``email_of()`` names the address
    its submission concerns (None: only the client address's budget is spent)."""

    def decorate(view: F) -> F:
        return _limit(view, _email_key(email_of), lambda: not budget_spelling(email_of()))

    return decorate


def _limit(view: F, email_key: Callable[[], str], no_email: Callable[[], bool]) -> F:
    per_email = limiter.limit(
        web_rate_limit,
        key_func=email_key,
        methods=["POST"],
        error_message=TOO_MANY_ATTEMPTS,
        exempt_when=no_email,
    )
    per_address = limiter.limit(
        web_rate_limit,
        key_func=address_rate_key,
        methods=["POST"],
        error_message=TOO_MANY_ATTEMPTS,
    )
    return per_address(per_email(view))  # type: ignore[return-value]
