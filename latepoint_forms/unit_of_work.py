"""One unit of work per request and per CLI command: the one place that commits.

Services ``add()`` and ``flush()`` and never commit; a flush is where the database's unique
indexes and constraints answer, so a service can still turn a refusal into a domain error.
Whatever a request or a command did is then committed here, once, or rolled back as a whole:

- every view runs inside ``unit_of_work_view`` (``install`` wraps them all when the app is
  built, so a new view cannot forget it): the response is built first (templates and the JSON
  representation may still read), then the session is committed if the response is a success
  (status below 400) and rolled back otherwise or on any exception. A page that answers
  "that time was just taken" therefore never keeps the guest customer it created on the way;
- a CLI command runs inside ``unit_of_work()`` (or the ``commits`` decorator).

What must be written with the change joins the same transaction: the API's idempotency record
(api/idempotency.py adds it before the view returns), and later the outbox's messages.

The documented exceptions commit *steps* of a unit with ``commit_step``, each named where it
is used:

- an ``Idempotency-Key`` is claimed in a short transaction of its own before its request runs
  (so a concurrent retry sees it in flight, on SQLite and PostgreSQL alike); the claim's
  release and a stored refusal (422/409) are steps of that protocol too (api/idempotency.py);
- a bulk request commits each item on its own (one bad item never blocks or half-writes the
  others, and an item committed before a crash stays);
- an import commits a *batch* of rows at a time (customers/import_batch.py): its rows are
  judged one by one, then stored by one multi-row insert whose unique indexes refuse a row
  without aborting the statement, so a bad row is reported and never blocks or half-writes
  the rest of its batch, and the batches committed before a crash stay;
- an API key's last use is noted at most once a minute, before the request's work begins, so
  that a failing request still counts as a use.
- the outbox worker (outbox/delivery.py, webhooks/delivery.py) claims a due message or
  webhook delivery in a short transaction, sends it outside any transaction, then records
  the outcome in another: a slow mail server or receiver never holds a lock, and a claim
  left by a crash expires, so the item is sent later, once;
- a booking over the API with a publishable key that fair use refuses for the address's
  owner keeps the "booking not made" message to that owner (the person at the web page may
  not be them), committed before the refusal answers (api/bookings.py).

A committed step that must not outlive a failed unit registers its undo with ``on_failure``.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, current_app, g
from flask.globals import request_ctx

from .extensions import db

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


_ON_FAILURE = "unit_of_work_on_failure"  # in ``g``: see ``on_failure``


def on_failure(undo: Callable[[], None]) -> None:
    """Run ``undo`` if this request's unit of work fails after all (its commit included):
    for a step committed earlier that must not outlive it (an idempotency claim)."""
    g.setdefault(_ON_FAILURE, []).append(undo)


def _run_failure_hooks() -> None:
    for undo in g.pop(_ON_FAILURE, []):
        try:
            undo()
        except Exception:
            log.exception("Undoing a step of a failed unit of work failed")


def commit_step() -> None:
    """Commit one step of a unit that is documented to need several (see the module)."""
    db.session.commit()


def roll_back() -> None:
    """Give up what the unit holds (a refused write): nothing of it is kept."""
    db.session.rollback()


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit once at the end of the block; roll back on any exception."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def commits(command: Callable[P, R]) -> Callable[P, R]:
    """Run a CLI command (or any function) as one unit of work."""

    @functools.wraps(command)
    def in_unit_of_work(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return command(*args, **kwargs)

    return in_unit_of_work


def unit_of_work_view(view: Callable[..., Any]) -> Callable[..., Response]:
    """A view as one unit of work: commit on a successful response, else roll back.

    When the unit fails (an exception, the commit included), what the view wrote into the
    browser's session is undone too: a customer must not be signed in, or told "welcome",
    on the strength of a row that was never stored.
    """

    @functools.wraps(view)
    def in_unit_of_work(*args: Any, **kwargs: Any) -> Response:
        # The cookie session as the request context holds it: through ``session`` (the proxy,
        # or the context's property) it would count as accessed, and every response, the
        # API's too, would say "Vary: Cookie". dict.copy reads it without a mark either;
        # deep, since flash() appends to a list that is already there.
        cookie_session: dict[str, Any] | None = request_ctx._session  # type: ignore[assignment]
        before: dict[str, Any] = {}
        if cookie_session is not None:
            before = copy.deepcopy(dict.copy(cookie_session))
        try:
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code < 400:
                db.session.commit()
            else:
                db.session.rollback()
        except BaseException:
            _roll_back_quietly()  # the error at hand is the one to report, not the rollback's
            if cookie_session is not None and getattr(cookie_session, "modified", False):
                cookie_session.clear()
                cookie_session.update(before)
            _run_failure_hooks()
            raise
        return response

    return in_unit_of_work


def _roll_back_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the session is discarded at teardown
        log.debug("Rollback of a failed unit of work failed", exc_info=True)


F = TypeVar("F", bound=Callable[..., Any])


def without_unit_of_work(view: F) -> F:
    """Mark a view that never touches the database (static files served by a view, such as
    /widget.js): ``install`` leaves it unwrapped, so it does not read the cookie session
    either, and its response does not vary by cookie (shared caches can keep it)."""
    view.without_unit_of_work = True  # type: ignore[attr-defined]
    return view


def install(app: Flask) -> None:
    """Wrap every view of ``app`` (call after the blueprints are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and not getattr(view, "without_unit_of_work", False):
            app.view_functions[endpoint] = unit_of_work_view(view)


def ensure_transaction() -> None:
    """Make sure the database itself is inside a transaction before a SAVEPOINT.

    Python's sqlite3 sends BEGIN only before its first write. A SAVEPOINT outside a
    transaction starts one of its own on SQLite, and its RELEASE commits it: the savepoint's
    work would be committed before (and whatever) the unit of work decides. So on SQLite,
    open the transaction explicitly when the driver has not yet.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        driver_connection = connection.connection.driver_connection
        if driver_connection is not None and not driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN")
