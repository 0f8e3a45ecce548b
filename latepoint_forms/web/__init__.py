"""HTML blueprint: the pages people use (registration, quick booking, the customer area)."""

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError

from ..errors import AppError, render_error_page
from ..problems import N_

bp = Blueprint("web", __name__)


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError) -> ResponseReturnValue:
    # Raised before the view for a form without a valid token: say what to do, plainly.
    page = AppError(
        N_(
            "This form has expired or did not come from this site. "
            "Please go back, reload the page and try again."
        )
    )
    page.status = 400
    return render_error_page(page), 400


from . import (  # noqa: E402,F401  (routes)
    account,
    account_pending,
    account_profile,
    auth,
    booking,
    changes,
    manage,
    recovery,
    registration,
    views,
)
from .display import register_filters  # noqa: E402
from .responses import no_store_while_signed_in  # noqa: E402

register_filters(bp)
# App-wide: error pages outside this blueprint (a 404) show the header too.
bp.after_app_request(no_store_while_signed_in)
