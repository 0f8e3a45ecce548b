"""The cookie session answers as Flask's does, with or without the cookie."""

from __future__ import annotations

from flask import Flask, request, session

from latepoint_forms.cookie_session import LazyCookieSessionInterface


def _app(secret_key: str | None) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret_key
    app.session_interface = LazyCookieSessionInterface()

    @app.post("/set")
    def set_value() -> str:
        session["name"] = "Ann"
        return "ok"

    @app.get("/get")
    def get_value() -> str:
        return str(session.get("name"))

    return app


def test_without_the_cookie_the_session_is_new_and_empty() -> None:
    client = _app("s" * 32).test_client()
    assert client.get("/get").get_data(as_text=True) == "None"


def test_with_the_cookie_the_session_is_read() -> None:
    client = _app("s" * 32).test_client()
    client.post("/set")
    assert client.get("/get").get_data(as_text=True) == "Ann"


def test_a_cookie_signed_with_another_key_is_an_empty_session() -> None:
    first, second = _app("a" * 32).test_client(), _app("b" * 32).test_client()
    first.post("/set")
    cookie = first.get_cookie("session")
    assert cookie is not None
    second.set_cookie("session", cookie.value)
    assert second.get("/get").get_data(as_text=True) == "None"


def test_without_a_secret_key_there_is_no_session() -> None:
    app = _app(None)
    with app.test_request_context("/get"):
        assert app.session_interface.open_session(app, request) is None
