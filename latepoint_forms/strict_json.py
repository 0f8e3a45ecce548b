"""JSON read strictly, the same way at every door that takes it (API bodies, JSON-lines files).

Python's ``json`` accepts ``NaN`` and ``Infinity`` and keeps the last of repeated member
names; JSON has neither, and a name given twice ("first_name": "Ann", "first_name": "Bob")
silently loses what the sender meant. Both are refused.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateName(ValueError):
    """An object names the same member twice; str(err) names it."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _refuse_duplicate_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise DuplicateName(f"names {name[:100]!r} more than once")
        obj[name] = value
    return obj


def loads(text: str) -> Any:
    """Parse ``text``; ``ValueError`` (``DuplicateName`` for a repeated name) or
    ``RecursionError`` when it is not strict JSON."""
    return json.loads(
        text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicate_names
    )
