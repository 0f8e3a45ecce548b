"""``GET /customers``: one page of customers, newest first (SPEC section 3).

Query parameters, each given at most once, and no others: ``page`` (1 to ``MAX_PAGE``, default 1),
``per_page`` (1 to ``MAX_PER_PAGE``, default ``DEFAULT_PER_PAGE``), ``search`` (up to
``SEARCH_MAX_LENGTH`` characters, free text by ``rules.clean_text``: no control characters;
blank means no filter; matches part of the name, email, phone or customer code, ignoring case
and accents, a phone also as written: see ``models.customer.search_terms``) and ``status``.
Any invalid parameter is a 422 ``validation_failed`` with one message per parameter. A page
past the last one is empty, not an error: the ``meta`` says how many pages there are.

Parameters whose name starts with ``_`` are ignored: clients add them to every request
without being asked (WordPress ``apiFetch`` adds ``_locale=user``, jQuery's cache-buster
``_=<timestamp>``, a WordPress nonce ``_wpnonce``), and SPEC section 3 wants a LatePoint widget
to work unchanged under ``/wp-json``. None of ours starts with ``_``, so a typo of a real
parameter (``statu=``) is still refused.
"""

from __future__ import annotations

import math
import re

from flask import request
from flask.typing import ResponseReturnValue

from ..customers import rules
from ..customers.errors import ValidationFailed
from ..customers.representation import customer_as_json
from ..customers.service import list_customers
from ..i18n import ngettext
from ..problems import N_, PLAIN, Problem
from . import bp
from .auth import require_key
from .envelope import success

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# Far beyond any real list; keeps OFFSET inside 64 bits on every database.
MAX_PAGE = 1_000_000
SEARCH_MAX_LENGTH = 100
# For the OpenAPI document only (the check is ``rules.clean_text``): the characters free text
# refuses, i.e. C0/C1 controls, line and paragraph separators and bidi controls.
# tests/test_listing.py holds this to the rule, character by character.
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
_INTEGER_RE = re.compile(r"[0-9]{1,7}")
PARAMETERS = ("page", "per_page", "search", "status")
# Names clients add on their own (see the module docstring): ignored, not refused.
IGNORED_PREFIX = "_"


UNKNOWN_PARAMETER = Problem("unknown_parameter", N_("Unknown parameter"))


def _single(name: str, errors: dict[str, str | Problem]) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        errors[name] = N_("Give this parameter once")
        return None
    return values[0] if values else None


def _integer(name: str, errors: dict[str, str | Problem], default: int, maximum: int) -> int:
    raw = _single(name, errors)
    if raw is None:
        return default
    if not _INTEGER_RE.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        errors[name] = Problem(
            PLAIN, N_("Must be a whole number from 1 to %(max)d"), {"max": maximum}
        )
        return default
    return int(raw)


def _search(errors: dict[str, str | Problem]) -> str | None:
    raw = _single("search", errors)
    if raw is None:
        return None
    try:
        # Counted as sent too (as the document's maxLength says): a term of 101 spaces is too
        # long, not "no filter".
        if len(raw) > SEARCH_MAX_LENGTH:
            raise rules.RuleError(
                "too_long",
                N_("%(label)s must be at most %(max)d characters"),
                label=N_("Search"),
                max=SEARCH_MAX_LENGTH,
            )
        return rules.clean_text(raw, label=N_("Search"), max_length=SEARCH_MAX_LENGTH) or None
    except rules.RuleError as exc:
        errors["search"] = exc.problem
        return None


def _status(errors: dict[str, str | Problem]) -> str | None:
    raw = _single("status", errors)
    if raw is not None and raw not in rules.STATUSES:
        choices = ", ".join(rules.STATUSES)
        errors["status"] = Problem(PLAIN, N_("Must be one of: %(choices)s"), {"choices": choices})
        return None
    return raw


@bp.get("/customers")
@require_key("customers:read")
def list_() -> ResponseReturnValue:
    # An unknown parameter is refused, not ignored: "?statu=pending" must not quietly
    # list everyone (as an unknown field of a body is an error, SPEC section 2). Names
    # starting with "_" are the clients' own (module docstring) and are ignored.
    errors: dict[str, str | Problem] = {
        str(name)[:100]: UNKNOWN_PARAMETER
        for name in request.args
        if name not in PARAMETERS and not name.startswith(IGNORED_PREFIX)
    }
    page = _integer("page", errors, 1, MAX_PAGE)
    per_page = _integer("per_page", errors, DEFAULT_PER_PAGE, MAX_PER_PAGE)
    search = _search(errors)
    status = _status(errors)
    if errors:
        raise ValidationFailed(errors)
    customers, total = list_customers(page, per_page, search=search, status=status)
    meta = {
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }
    message = ngettext("%(num)d customer found", "%(num)d customers found", total)
    return success(message, [customer_as_json(customer) for customer in customers], meta=meta)
