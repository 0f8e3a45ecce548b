"""The success envelope of SPEC section 3, built in one place.

Errors have theirs in ``errors.error_envelope``; every successful API response is
``{"status": "success", "message": …, "data": …}``, plus any top-level extras (``meta``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def success(message: str, data: Any, status: int = 200, **extra: Any) -> Response:
    """The JSON response for a success: ``message`` for people, ``data`` for programs.

    ``extra`` adds top-level keys beside ``data`` (the list's ``meta``). Headers such as
    ``Location`` are set on the returned response.
    """
    response = jsonify({"status": "success", "message": message, "data": data, **extra})
    response.status_code = status
    return response
