"""The front page."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from . import bp


@bp.get("/", endpoint="index")
def index() -> ResponseReturnValue:
    return render_template("index.html")


@bp.get("/thank-you", endpoint="submission_received")
def submission_received() -> ResponseReturnValue:
    """Where a screened-out submission lands (web/abuse.py): a neutral thanks, as a real
    submission would get, that says nothing about what happened to it."""
    return render_template("thank_you.html")
