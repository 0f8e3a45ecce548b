"""Each language's pages leave no English behind (SPEC section 11): the registration page, every
step of /book, a refused form, the sign-in pages and the account, asked for with ``?lang=``,
are checked against the English of the catalog: no message id of four words or more that the
language translates differently may appear in the page's text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.i18n import TRANSLATIONS

from .test_i18n_catalogs import CATALOGS
from .web_support import build_web_catalog, csrf_token, make_customer, page, sign_in

pytestmark = pytest.mark.skipif(not CATALOGS, reason="no catalogs yet")

_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def english_sentences(language: str) -> list[str]:
    """The English fragments (between placeholders) of every long message the language
    writes differently: any of them on a page is English left behind."""
    with (TRANSLATIONS / "messages.pot").open("rb") as file:
        template = read_po(file)
    with CATALOGS[language].open("rb") as file:
        catalog = read_po(file, locale=language)
    fragments = set()
    for message in template:
        if not message.id or not isinstance(message.id, str):
            continue
        translated = catalog.get(message.id)
        if translated is None or translated.string == message.id:
            continue
        for fragment in _PLACEHOLDER.split(_TAG.sub(" ", message.id)):
            fragment = " ".join(fragment.split())
            if len(fragment.split()) >= 4:
                fragments.add(fragment)
    return sorted(fragments)


def text_of(response: Any) -> str:
    body = page(response)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(_TAG.sub(" ", body)).split())


@pytest.fixture(params=sorted(CATALOGS))
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pages(app: Flask, client: FlaskClient, language: str) -> Iterator[tuple[str, Any]]:
    catalog = build_web_catalog(app)
    lang = f"lang={language}"
    yield "/", client.get(f"/?{lang}")
    yield "/register", client.get(f"/register?{lang}")
    token = csrf_token(client, "/register")
    yield (
        "/register refused",
        client.post("/register", data={"csrf_token": token, "first_name": "A", "email": "nope"}),
    )
    yield "/book", client.get("/book")
    yield "/book agent", client.get(f"/book?service={catalog.service}")
    start = catalog.start(2, 10)
    yield "/book time", client.get(f"/book?service={catalog.service}&agent=any")
    yield "/book details", client.get(catalog.book_path(start))
    yield "/sign-in", client.get("/sign-in")
    yield "/password/forgot", client.get("/password/forgot")
    yield "/sign-in/link", client.get("/sign-in/link")
    make_customer(app, email="ada@example.com", first_name="Ada", last_name="Lovelace")
    sign_in(client)
    yield "/account", client.get("/account")
    yield "/account/profile", client.get("/account/profile")
    yield "/account/password", client.get("/account/password")
    yield "404", client.get("/no-such-page")


def test_every_page_is_in_the_chosen_language(
    app: Flask, client: FlaskClient, language: str
) -> None:
    english = english_sentences(language)
    assert english, "the check needs the catalog's English to look for"
    left: dict[str, list[str]] = {}
    for name, response in pages(app, client, language):
        assert response.status_code < 500, name
        assert f'<html lang="{language}">' in page(response), name
        text = text_of(response)
        found = [sentence for sentence in english if sentence in text]
        if found:
            left[name] = found
    assert left == {}
