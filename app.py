"""Entry point for ``flask`` and ``gunicorn app:app``."""

from latepoint_forms import create_app

app = create_app()
