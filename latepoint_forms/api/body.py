"""Reading a JSON request body strictly: media type, size, syntax, no name twice in an
object, and an object at the top.
"""

from __future__ import annotations

from typing import Any

from flask import request

from .. import strict_json
from ..errors import InvalidJson, UnsupportedMediaType
from ..problems import N_


def read_json_object() -> dict[str, Any]:
    """The body as a dict, or the documented 415/413/400 error."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(N_("JSON must be sent as UTF-8"))
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug raises 413
    try:
        data = strict_json.loads(raw.decode("utf-8"))
    except (strict_json.DuplicateName, strict_json.InvalidName) as exc:
        raise InvalidJson(f"The request body {exc}") from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidJson(N_("The request body is not valid JSON")) from exc
    if not isinstance(data, dict):
        raise InvalidJson(N_("The request body must be a JSON object"))
    return data
