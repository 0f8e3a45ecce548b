"""The widget's own words in every language (latepoint_forms/web/widget_text.py): written into
``/widget.js`` for each language with a catalog, taken from the catalogs (whose completeness
tests/test_i18n_catalogs.py holds), the placeholders kept, each plural message in the forms of
the language's CLDR categories, and the script's version a new one when a catalog changes.
The browser side (the widget choosing and showing them) is in
tests/e2e/test_widget_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.support import NullTranslations, Translations
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.i18n import SOURCE_LANGUAGE, TRANSLATIONS, available_languages
from latepoint_forms.web import widget as widget_files
from latepoint_forms.web.widget_text import MESSAGES, plural_forms, texts_for

from .test_i18n import compiled_catalog, make_app
from .test_i18n_catalogs import CATALOGS, PLACEHOLDER

_TEXTS = re.compile(r"var TEXTS = (\{.*?\});\n", re.S)


def served_texts(client: FlaskClient) -> dict[str, Any]:
    script = client.get("/widget.js").get_data(as_text=True)
    found = _TEXTS.search(script)
    assert found is not None, "no TEXTS in the served script"
    texts: dict[str, Any] = json.loads(found.group(1))
    return texts


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def test_the_raw_script_holds_the_mark_the_server_replaces() -> None:
    script = (
        Path(widget_files.__file__).parents[2] / "static" / "widget" / "widget.js"
    ).read_text()
    assert script.count(widget_files.TEXT_MARK) == 1


def test_the_script_carries_every_language_s_words(app: Flask, client: FlaskClient) -> None:
    texts = served_texts(client)

    with app.app_context():
        assert sorted(texts) == sorted(available_languages())
    assert set(texts) == {SOURCE_LANGUAGE, *CATALOGS}
    for language, words in texts.items():
        assert set(words) == set(MESSAGES), language
    english = texts[SOURCE_LANGUAGE]
    assert english["next"] == "Continue"
    assert english["timesShown"] == {"one": "%(num)d free time", "other": "%(num)d free times"}
    if "de" in texts:
        assert texts["de"]["next"] == "Weiter"
        assert texts["de"]["bookedCode"] == "Ihr Buchungscode lautet %(code)s."
    if "pl" in texts:  # Polish counts in three forms
        assert texts["pl"]["timesShown"]["one"] == "%(num)d wolny termin"
        assert texts["pl"]["timesShown"]["few"] == "%(num)d wolne terminy"
        assert texts["pl"]["timesShown"]["many"] == "%(num)d wolnych terminów"


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_each_language_keeps_the_placeholders_and_writes_its_own_words(language: str) -> None:
    words = texts_for(Translations.load(str(TRANSLATIONS), [language]), language)
    english = texts_for(NullTranslations(), SOURCE_LANGUAGE)
    same = []
    for key, message in MESSAGES.items():
        mine, theirs = words[key], english[key]
        if isinstance(message, tuple):
            assert isinstance(mine, dict)
            assert isinstance(theirs, dict)
            for form in mine.values():
                assert placeholders(form) == placeholders(theirs["other"]), (key, form)
            continue
        assert isinstance(mine, str)
        assert isinstance(theirs, str)
        assert placeholders(mine) == placeholders(theirs), (key, mine)
        if mine == theirs:
            same.append(mine)
    # Only words a language writes as English does may stay as they are.
    assert all(len(PLACEHOLDER.sub("", text).split()) <= 1 for text in same), same


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_each_catalog_s_plural_forms_follow_cldr_s_categories(language: str) -> None:
    translations = Translations.load(str(TRANSLATIONS), [language])
    locale = Locale.parse(language)
    for message in MESSAGES.values():
        if isinstance(message, tuple):
            forms, conflicts = plural_forms(translations, locale, message)
            assert conflicts == [], (message, conflicts)
            # Every category the language has for whole numbers has its form.
            assert {locale.plural_form(n) for n in range(200)} <= set(forms)
            assert "other" in forms


def test_an_untranslated_plural_is_served_not_refused() -> None:
    """English's two forms under French's categories (0 is "one" there) are a conflict:
    logged, the first form of each category used, and the script still served."""
    pair = MESSAGES["timesShown"]
    assert isinstance(pair, tuple)
    forms, conflicts = plural_forms(NullTranslations(), Locale.parse("fr"), pair)
    assert conflicts == [1]  # 0 took "free times" for "one" first; 1 says "free time"
    assert forms == {"one": "%(num)d free times", "other": "%(num)d free times"}


def test_a_changed_catalog_is_a_new_version_with_its_words(sqlite_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "catalogs"
    compiled_catalog(directory, {"Continue": "Weiter"})
    for app in make_app(sqlite_url, TRANSLATIONS_DIRECTORY=str(directory)):
        client = app.test_client()
        before = client.get("/widget.js").headers["ETag"]
        assert served_texts(client)["de"]["next"] == "Weiter"
        assert served_texts(client)["de"]["back"] == "Back"  # not in this catalog: English

        mo = directory / "de" / "LC_MESSAGES" / "messages.mo"
        mo.unlink()
        mo.parent.rmdir()
        compiled_catalog(directory, {"Continue": "Fortfahren"})

        after = client.get("/widget.js")
        assert after.headers["ETag"] != before
        assert served_texts(client)["de"]["next"] == "Fortfahren"
        assert after.get_data(as_text=True).count("Fortfahren") == 1
