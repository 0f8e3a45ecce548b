"""Flask's signed-cookie session, without its per-request set-up when there is no cookie.

Flask's ``SecureCookieSessionInterface.open_session`` builds its signing serializer (a key
derivation and an HMAC object) for every request before it looks for the cookie. The API's
requests, and every first visit, carry none: for them this answers what Flask answers for a
missing cookie, a new empty session (or no session without a secret key), and skips the
serializer. A request with the cookie is read by Flask itself, exactly as before.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class LazyCookieSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            if not app.secret_key:  # as Flask: no serializer, no session
                return None
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = LazyCookieSessionInterface()
