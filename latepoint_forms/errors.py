"""Errors as exceptions, turned into responses in one place.

Under the API paths every error is the JSON envelope of SPEC section 3; elsewhere an HTML page.
The choice is made by path, because a 404 or 405 from routing carries no blueprint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, SecurityError

from .db_errors import is_read_only
from .i18n import localise
from .problems import N_, Problem

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/v1", "/wp-json/latepoint-api/v1")


class AppError(Exception):
    """An error with a status, a stable machine code and a human message.

    ``message`` is English and a message id (``N_``), shown in the request's language by
    ``localised_message``; a sentence with values is given as a ``Problem`` (its English is
    ``message``, the problem is what is translated)."""

    status: int = 500
    code: str = "server_error"
    message: str = N_("Something went wrong on our side. Please try again.")
    message_problem: Problem | None = None

    def __init__(
        self,
        message: str | Problem | None = None,
        details: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(message, Problem):
            self.message_problem = message
            message = message.english()
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        self.details = details
        self.headers = headers or {}

    def localised_message(self) -> str:
        """``message`` in the request's language."""
        return localise(self.message_problem or self.message)


class InvalidJson(AppError):
    status, code, message = 400, "invalid_json", N_("The request body must be a JSON object")


class Unauthorized(AppError):
    status, code, message = 401, "unauthorized", N_("A valid API key is required")


class InsufficientPermissions(AppError):
    status, code = 403, "insufficient_permissions"
    message = N_("This API key does not have the permission for this action")


class OriginNotAllowed(AppError):
    status, code = 403, "origin_not_allowed"
    message = N_("This publishable key may only be used from the pages of its allowed origins")


class NotFound(AppError):
    status, code, message = 404, "not_found", N_("The requested resource was not found")


class MethodNotAllowed(AppError):
    status, code, message = 405, "method_not_allowed", N_("This method is not allowed here")


class PayloadTooLarge(AppError):
    status, code, message = 413, "payload_too_large", N_("The request body is too large")


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"
    message = N_("The request body must be sent as application/json")


class TooManyRequests(AppError):
    status, code = 429, "rate_limit_exceeded"
    message = N_("Too many requests. Please wait a moment and try again.")


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"
    message = N_("The service is temporarily unavailable. Please try again shortly.")


_HTTP_ERRORS: dict[int, type[AppError]] = {
    400: InvalidJson,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: TooManyRequests,
    # Flask's own 500 (an error handler that failed in turn): still SPEC's server_error.
    500: AppError,
}


# What a page says for an HTTP error when nothing more specific was given (Werkzeug's stock
# sentences, "The requested URL was not found on the server…", are the framework's voice).
_PAGE_MESSAGES: dict[int, str] = {
    400: N_(
        "Your browser sent something we could not read. Please go back, reload the page and "
        "try again."
    ),
    403: N_("This page is not open to you. If you think it should be, sign in and try again."),
    404: N_(
        "We could not find that page. The link may be incomplete, or the page may have moved. "
        "You can start again from the booking page."
    ),
    405: N_(
        "That page cannot be used that way. If you pressed a button on an old page, please go "
        "back, reload it and try again."
    ),
    413: N_("That was more than we can take in one go. Please send less and try again."),
    415: N_(
        "Your browser sent the form in a way we do not understand. Please reload the page and "
        "try again."
    ),
}


def _page_message(error: HTTPException) -> str:
    stock = error.description is None or error.description == type(error).description
    if stock and error.code in _PAGE_MESSAGES:
        return _PAGE_MESSAGES[error.code]
    return error.description or error.name


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def error_envelope(error: AppError) -> dict[str, Any]:
    """SPEC section 3's error body, in the request's language (SPEC section 11): a
    validation failure also lists each field's ``{field, code, message}`` in ``errors``,
    stable codes a client can translate itself."""
    body: dict[str, Any] = {"code": error.code, "message": error.localised_message()}
    problems = getattr(error, "problems", None)
    if problems:
        messages = {key: localise(problem) for key, problem in problems.items()}
        body["details"] = messages
        body["errors"] = [
            {
                "field": key,
                "code": problem.code,
                "message": messages[key],
                "params": problem.parameters(),
            }
            for key, problem in problems.items()
        ]
    elif error.details:
        body["details"] = {key: localise(message) for key, message in error.details.items()}
    return {"status": "error", "error": body}


def _respond(error: AppError) -> Response | tuple[str, int, dict[str, str]]:
    if is_api_path(request.path):
        response = jsonify(error_envelope(error))
        response.status_code = error.status
        response.headers.update(error.headers)
        return response
    return render_error_page(error), error.status, error.headers


def render_error_page(error: AppError) -> str:
    """error.html for ``error``, its message in the page's language (the template shows
    ``error.message``; the error itself keeps its English message id)."""
    page = SimpleNamespace(
        status=error.status,
        code=error.code,
        message=error.localised_message(),
        details=error.details,
        headers=error.headers,
    )
    return render_template("error.html", error=page)


_OUTAGE_PAGE = "outage_page"  # in ``g``: set by ``answer_outage_with``


def answer_outage_with(render: Callable[[], ResponseReturnValue]) -> None:
    """How to answer if the database goes away while this request is served.

    A page holding what a visitor typed registers how to show it again; the database-outage
    handler below then renders it (``render`` gives its status: 503 for a refused submission)
    instead of the bare error page, so nothing typed is lost. ``render`` must not touch the
    database. The last registration wins.
    """
    setattr(g, _OUTAGE_PAGE, render)


def _unavailable() -> Response | tuple[str, int, dict[str, str]]:
    render: Callable[[], ResponseReturnValue] | None = g.pop(_OUTAGE_PAGE, None)
    if render is not None and not is_api_path(request.path):
        try:
            response = current_app.make_response(render())
        except Exception:
            log.exception("The page for a database outage could not be rendered")
        else:
            return response
    return _respond(ServiceUnavailable())


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> ResponseReturnValue:
        return _respond(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        kind = _HTTP_ERRORS.get(status)
        if kind is not None and is_api_path(request.path):
            app_error = kind()
        elif status == 429 and not getattr(getattr(error, "limit", None), "error_message", None):
            app_error = TooManyRequests()  # not the limiter's bare "10 per 1 minute"
        else:
            app_error = AppError(_page_message(error))
            app_error.status = status
            app_error.code = kind.code if kind else error.name.lower().replace(" ", "_")
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            app_error.headers["Allow"] = ", ".join(valid_methods)
        return _respond(app_error)

    @app.errorhandler(SecurityError)
    def handle_untrusted_host(error: SecurityError) -> ResponseReturnValue:
        # A Host outside TRUSTED_HOSTS: no URL can be built for it (links, redirects, the
        # error page's stylesheet), so the answer is a bare one, built without the host.
        app_error = AppError(N_("This host is not served here"))
        app_error.status, app_error.code = 400, "untrusted_host"
        if is_api_path(request.path):
            return _respond(app_error)
        text = localise(app_error.message) + "\n"
        return text, 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(DBAPIError)
    def handle_database_error(error: DBAPIError) -> ResponseReturnValue:
        _rollback_quietly()
        if is_read_only(error):
            # A standby or a failed-over primary: nothing can be written until it is promoted
            # (or the application is pointed at the new primary), which a retry may well see.
            log.error("Database read-only on %s %s: %s", request.method, request.path, error.orig)
            return _unavailable()
        if isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated:
            # The database is down or unreachable: a retry later may well succeed.
            # The driver's message, not str(error): that one lists the statement's parameters.
            log.error("Database unavailable on %s %s: %s", request.method, request.path, error.orig)
            return _unavailable()
        log.exception("Database error on %s %s", request.method, request.path)
        return _respond(AppError())

    @app.errorhandler(PoolTimeout)
    def handle_pool_timeout(error: PoolTimeout) -> ResponseReturnValue:
        # Every pooled connection stayed busy past the pool timeout: overloaded, retry later.
        log.error("No database connection free for %s %s", request.method, request.path)
        _rollback_quietly()
        return _unavailable()

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> ResponseReturnValue:
        # Never a traceback or internal detail to the client; the log has it all.
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return _respond(AppError())


def _rollback_quietly() -> None:
    """End the failed transaction, so rendering the error page cannot trip over it."""
    from .extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection may be gone: the session is discarded at teardown anyway
        log.debug("rollback after a database error failed", exc_info=True)
