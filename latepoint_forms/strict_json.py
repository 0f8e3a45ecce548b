"""JSON read strictly, the same way at every door that takes it (API bodies, JSON-lines files).

Python's ``json`` accepts ``NaN`` and ``Infinity`` and keeps the last of repeated member
names; JSON has neither, and a name given twice ("first_name": "Ann", "first_name": "Bob")
silently loses what the sender meant. Both are refused, and so is a member name that is not
valid Unicode (a lone surrogate such as "\\ud800"): no field is named so, and the name could
not even be echoed back in an error message, logged or written to a report as UTF-8. (A lone
surrogate in a *value* is left to the field's rule, which refuses it with a field message.)
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateName(ValueError):
    """An object names the same member twice; str(err) names it."""


class InvalidName(ValueError):
    """A member name is not valid Unicode (a lone surrogate); str(err) says so."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _refuse_duplicate_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if not name.isascii() and not _is_unicode(name):
            raise InvalidName("has a member name that is not valid Unicode (a lone surrogate)")
        if name in obj:
            raise DuplicateName(f"names {name[:100]!r} more than once")
        obj[name] = value
    return obj


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads(text: str) -> Any:
    """Parse ``text``; ``ValueError`` (``DuplicateName`` for a repeated name, ``InvalidName``
    for a name with a lone surrogate) or
    ``RecursionError`` when it is not strict JSON."""
    return json.loads(
        text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicate_names
    )
