"""Security headers on every response, and trusting a known number of reverse proxies.

The CSP allows no inline script or style at all (the templates use static files only), and
no framing (clickjacking): ``frame-ancestors 'none'`` plus ``X-Frame-Options`` for old
browsers. HSTS is sent in production, where the app is served over HTTPS, and on any HTTPS
request.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import is_api_path

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
log = logging.getLogger(__name__)

# The X-Forwarded-* headers ProxyFix believes for TRUSTED_PROXY_HOPS; RFC 7239 ``Forwarded``
# is never read, so it is never trusted.
_PROXY_FIX_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO")
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
    _warn_on_untrusted_forwarding(app, hops)
    production = app.config.get("ENV_NAME") == "production"

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        defaults = list(HEADERS.items())
        if production or request.is_secure:
            defaults.append(("Strict-Transport-Security", HSTS))
        if is_api_path(request.path):
            # API responses carry customer data: no shared or browser cache may keep them.
            defaults.append(("Cache-Control", "no-store"))
        # ``headers.setdefault`` for each, in one pass over the response's headers rather
        # than one per default (each a scan of the whole list).
        present = {name.lower() for name, _ in response.headers}
        response.headers.extend([(n, v) for n, v in defaults if n.lower() not in present])
        return response


def _warn_on_untrusted_forwarding(app: Flask, hops: int) -> None:
    """Log once per process when requests carry forwarding headers that nobody trusts.

    Behind a proxy with ``TRUSTED_PROXY_HOPS=0`` every client has the proxy's address: one
    budget for everybody, so one attacker's failed sign-ins lock every customer out. The
    headers are there for the taking; the warning says so once, not on every request.
    """
    untrusted = ("HTTP_FORWARDED",) if hops else ("HTTP_FORWARDED", *_PROXY_FIX_HEADERS)
    warned = threading.Event()

    @app.before_request
    def warn_about_forwarded_headers() -> None:
        if warned.is_set():
            return
        seen = [name for name in untrusted if name in request.environ]
        if not seen:
            return
        warned.set()
        names = ", ".join(name[5:].replace("_", "-").title() for name in seen)
        log.warning(
            "Requests carry %s but TRUSTED_PROXY_HOPS=%d: those headers are ignored, so every "
            "client behind the proxy shares one address (and one rate-limit budget). Set "
            "TRUSTED_PROXY_HOPS to the number of proxies that set X-Forwarded-For (README, "
            "Production); this is logged once per process.",
            names,
            hops,
        )
