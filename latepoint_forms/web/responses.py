"""What the web views share: the page shown when the database goes away, and keeping
personal pages out of caches."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from flask import Response, make_response, render_template, request, session
from flask.typing import ResponseReturnValue

from ..errors import AppError, ServiceUnavailable, answer_outage_with, render_error_page
from ..i18n import _
from ..problems import N_
from .forms import PageForm

DATABASE_UNAVAILABLE = N_(
    "We could not save your details just now. Nothing was lost — please try again."
)
FORM_INCOMPLETE = N_(
    "Part of this form could not be loaded just now. Please reload the page shortly."
)

FormT = TypeVar("FormT", bound=PageForm)


class FormOnOutage(Generic[FormT]):
    """A form page that comes back with everything typed (and a 503) if the database goes
    away while it is served (errors.py renders it). Until the view hands over its real form
    (``form``), a plain one made by ``fallback`` (from the request, without database reads)
    stands in."""

    def __init__(
        self,
        template: str,
        fallback: Callable[[], FormT],
        **context: Any,
    ) -> None:
        self.template, self.fallback, self.context = template, fallback, context
        self.form: FormT | None = None
        answer_outage_with(self.render)

    def render(self) -> ResponseReturnValue:
        """A refused submission is a 503; a page merely shown without its database parts
        (the custom fields) still serves its form, saying what is missing."""
        form = self.form if self.form is not None else self.fallback()
        submitted = request.method == "POST"
        form.form_errors.append(_(DATABASE_UNAVAILABLE if submitted else FORM_INCOMPLETE))
        page = render_template(self.template, form=form, **self.context)
        return page, ServiceUnavailable.status if submitted else 200


def say_on_outage(message: str) -> None:
    """If the database goes away while this request is served, the error page says this
    (a message id: it is shown in the page's language)."""

    def render() -> ResponseReturnValue:
        page: AppError = ServiceUnavailable(message)
        return render_error_page(page), page.status

    answer_outage_with(render)


# A page with someone's details must not be kept by the browser's cache (the back button on a
# shared computer) or any cache on the way.
NO_STORE = "no-store"


def private_page(view: Callable[..., ResponseReturnValue]) -> Callable[..., Response]:
    """Send ``Cache-Control: no-store`` with every response of a page showing personal data."""

    @functools.wraps(view)
    def private_view(*args: Any, **kwargs: Any) -> Response:
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = NO_STORE
        return response

    return private_view


def no_store_while_signed_in(response: Response) -> Response:
    """Every HTML page names the signed-in customer (the header links to their account)."""
    # The type first: reading the session marks the response "Vary: Cookie", not for JSON.
    if response.mimetype == "text/html" and session.get("customer_id") is not None:
        response.headers["Cache-Control"] = NO_STORE
    return response
