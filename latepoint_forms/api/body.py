"""Reading a JSON request body strictly: media type, size, syntax, no name twice in an
object, and an object at the top.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from ..errors import InvalidJson, UnsupportedMediaType


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not.
    raise ValueError(f"{name} is not valid JSON")


class DuplicateKey(ValueError):
    """An object names the same member twice."""


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python's json keeps the last of repeated names; RFC 8259 leaves it to the parser. Taking
    # either silently loses what the client meant ("first_name" twice: which one?), so refuse.
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise DuplicateKey(f"The request body names {name[:100]!r} more than once")
        obj[name] = value
    return obj


def read_json_object() -> dict[str, Any]:
    """The body as a dict, or the documented 415/413/400 error."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("JSON must be sent as UTF-8")
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug raises 413
    try:
        data = json.loads(
            raw.decode("utf-8"),
            parse_constant=_refuse_constant,
            object_pairs_hook=_refuse_duplicate_keys,
        )
    except DuplicateKey as exc:
        raise InvalidJson(str(exc)) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidJson("The request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidJson("The request body must be a JSON object")
    return data
