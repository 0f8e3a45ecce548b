"""The front page."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from . import bp


@bp.get("/", endpoint="index")
def index() -> ResponseReturnValue:
    return render_template("index.html")
