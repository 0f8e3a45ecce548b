"""A request id on every request, in every log line and in the ``X-Request-ID`` response header.

A proxy's ``X-Request-ID`` is kept when it looks sane (so one id follows a request through
the load balancer, gunicorn and the app); otherwise one is made. A person who quotes the
header from a failed response lets us find the log lines of that very request.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from flask.logging import default_handler

HEADER = "X-Request-ID"
# Letters, digits and a little punctuation, at most 128 characters: anything else (newlines
# that would forge log lines, megabyte headers) is replaced by an id of our own.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")
LOG_FORMAT = "[%(asctime)s] %(levelname)s %(name)s [request %(request_id)s]: %(message)s"


def current_request_id() -> str:
    """This request's id (made on first use); "-" outside a request."""
    if not has_request_context():
        return "-"
    request_id = g.get("request_id")
    if request_id is None:
        incoming = request.headers.get(HEADER, "").strip()
        request_id = incoming if _SANE.fullmatch(incoming) else os.urandom(16).hex()
        g.request_id = request_id
    return str(request_id)


class RequestIdFilter(logging.Filter):
    """Give a record the current request id (for handlers configured by gunicorn or dictConfig)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def _install_record_factory() -> None:
    # Every record, whichever logger or handler it goes through, carries request_id, so a
    # format string with %(request_id)s never fails on a record from a third-party library.
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def init_app(app: Flask) -> None:
    _install_record_factory()
    # Flask attaches its handler (stderr, which gunicorn collects) when the app's logger is
    # first used, unless logging was configured; our modules log below that logger.
    app.logger  # noqa: B018  (attach it now, so records from module loggers reach it)
    default_handler.setFormatter(logging.Formatter(LOG_FORMAT))

    @app.after_request
    def add_request_id_header(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        return response
