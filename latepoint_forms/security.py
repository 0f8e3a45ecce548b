"""Security headers on every response, and trusting a known number of reverse proxies.

The CSP allows no inline script or style at all (the templates use static files only), and
no framing (clickjacking): ``frame-ancestors 'none'`` plus ``X-Frame-Options`` for old
browsers. HSTS is sent in production, where the app is served over HTTPS, and on any HTTPS
request.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import is_api_path

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    hops = app.config.get("TRUSTED_PROXY_HOPS", 0)
    if hops:
        # Only as many X-Forwarded-* entries as there are proxies we run are believed; a
        # client cannot pick its own address for the rate limits by sending the header.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    production = app.config.get("ENV_NAME") == "production"

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production or request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if is_api_path(request.path):
            # API responses carry customer data: no shared or browser cache may keep them.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
