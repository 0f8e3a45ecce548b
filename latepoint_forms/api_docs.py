"""``/api/v1/docs``: the OpenAPI document rendered for people, by Swagger UI from our own host.

The renderer is Swagger UI's packaged build as shipped in the ``flask-swagger-ui`` wheel
(its ``dist`` folder): no CDN, no npm at install time. We serve those files ourselves under a
versioned path (cacheable for a year) and use our own page and start-up script, because the
wheel's page starts Swagger UI from an inline ``<script>``, which the CSP of every page
forbids. The page reads the document from ``/api/v1/openapi.json`` on the same host, so "Try
it out" calls this server with the key the reader types.
"""

from __future__ import annotations

from importlib import metadata, resources

from flask import Blueprint, Response, render_template, send_from_directory, url_for

bp = Blueprint("api_docs", __name__)

SWAGGER_UI_VERSION = metadata.version("flask-swagger-ui")
ASSETS = str(resources.files("flask_swagger_ui") / "dist")
# The files the page loads; anything else in the folder is not served.
SERVED = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
A_YEAR = 365 * 24 * 3600


@bp.get("/api/v1/docs")
def page() -> str:
    return render_template(
        "api_docs.html",
        document_url=url_for("api.openapi_document"),
        version=SWAGGER_UI_VERSION,
    )


@bp.get("/api/v1/docs/assets/<version>/<name>")
def asset(version: str, name: str) -> Response:
    if version != SWAGGER_UI_VERSION or name not in SERVED:
        return Response("Not found", status=404, mimetype="text/plain")
    response = send_from_directory(ASSETS, name, max_age=A_YEAR)
    response.headers["Cache-Control"] = f"public, max-age={A_YEAR}, immutable"
    return response
