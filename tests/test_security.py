"""Security headers, production settings, request ids, and no traceback ever to a client."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask

from latepoint_forms import create_app
from latepoint_forms.config import load_config
from latepoint_forms.extensions import db
from latepoint_forms.security import CONTENT_SECURITY_POLICY

from .conftest import base_config

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def test_csp_allows_no_inline_script_and_no_framing() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/", "/api/v1/status", "/no-such-page", "/api/v1/nope"])
def test_every_response_carries_the_security_headers(client: Any, path: str) -> None:
    response = client.get(path)
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, name
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain http in development


def test_api_responses_are_not_cached(client: Any) -> None:
    assert client.get("/api/v1/status").headers["Cache-Control"] == "no-store"


def test_hsts_over_https(client: Any) -> None:
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_production_requires_a_secret_key() -> None:
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config({"LATEPOINT_ENV": "production"})


def test_production_settings(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("PUBLIC_URL", "http://localhost")  # the test client's host
    app = create_app({**base_config(database), "ENV_NAME": "production", "TESTING": False})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    assert "Strict-Transport-Security" in app.test_client().get("/").headers
    with app.app_context():
        db.engine.dispose()


def test_a_request_id_is_made_and_returned(client: Any) -> None:
    first = client.get("/api/v1/status").headers["X-Request-ID"]
    second = client.get("/api/v1/status").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_sane_incoming_request_id_is_kept(client: Any) -> None:
    response = client.get("/", headers={"X-Request-ID": "lb-7f3a.42"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42"


@pytest.mark.parametrize("incoming", ["x" * 200, "two words", "<script>", "ünïcode"])
def test_an_odd_incoming_request_id_is_replaced(client: Any, incoming: str) -> None:
    response = client.get("/", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def _boom() -> str:
    raise RuntimeError("secret internal detail: password=hunter2")


@pytest.mark.parametrize("path", ["/api/v1/boom-for-test", "/boom-for-test"])
def test_unexpected_errors_show_no_traceback_and_are_logged_with_the_request_id(
    app: Flask, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    app.add_url_rule(path, view_func=_boom)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get(path, headers={"X-Request-ID": "req-boom-1"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-boom-1"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "hunter2" not in text
    if path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "server_error"
    logged = [r for r in caplog.records if r.exc_info and "boom-for-test" in r.getMessage()]
    assert logged
    assert logged[0].request_id == "req-boom-1"


def test_api_answers_do_not_vary_by_cookie(api: Any) -> None:
    """The API authenticates by key: its answers do not depend on a cookie, and a response
    that said so would keep shared caches from reusing a public one."""
    response = api.get("/status")

    assert "Cookie" not in response.headers.get("Vary", "")
