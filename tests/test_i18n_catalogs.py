"""Each language's catalog is whole (SPEC section 11): every message id of messages.pot
translated, none fuzzy, every placeholder kept, the plural forms the language has.

A catalog that lacks one message would show English in the middle of another language; a
translation that drops or renames a ``%(name)s`` would lose a value (``i18n.localise`` falls
back to English rather than fail, but the page would still be wrong).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from latepoint_forms.i18n import LANGUAGES, SOURCE_LANGUAGE, TRANSLATIONS

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
CATALOGS = {
    language: TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    for language in LANGUAGES
    if language != SOURCE_LANGUAGE
    and (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").is_file()
}


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def ids(message: object) -> tuple[str, ...]:
    value = getattr(message, "id", "")
    return tuple(value) if isinstance(value, tuple | list) else (str(value),)


def texts(message: object) -> tuple[str, ...]:
    value = getattr(message, "string", "")
    return tuple(value) if isinstance(value, tuple | list) else (str(value),)


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_a_catalog_translates_every_message(language: str) -> None:
    template = read(TRANSLATIONS / "messages.pot")
    catalog = read(CATALOGS[language], locale=language)
    wanted = {ids(m) for m in template if m.id}
    translated = {ids(m): m for m in catalog if m.id}

    assert wanted - set(translated) == set(), "run `make messages` to merge the new ids"
    forms = Locale.parse(language).plural_form
    for key in sorted(wanted):
        message = translated[key]
        where = f"{language}: {key[0][:60]!r}"
        assert not message.fuzzy, f"{where} is fuzzy"
        strings = texts(message)
        assert all(s.strip() for s in strings), f"{where} is not translated"
        if message.pluralizable:
            assert len(strings) == catalog.num_plurals, f"{where}: {forms}"
        names = set().union(*(PLACEHOLDER.findall(i) for i in key))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= names, f"{where}: unknown placeholder"
            if not message.pluralizable:
                assert set(PLACEHOLDER.findall(string)) == names, f"{where}: a placeholder lost"


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_a_catalog_leaves_no_english_sentence_as_it_was(language: str) -> None:
    """A long sentence whose translation is the English itself was not translated (short
    ids such as "OK", "E-mail" or a brand may stay as they are)."""
    catalog = read(CATALOGS[language], locale=language)
    untouched = [
        m.id
        for m in catalog
        if m.id
        and not m.pluralizable
        and isinstance(m.id, str)
        and len(m.id.split()) >= 4
        and m.string == m.id
    ]
    assert untouched == []
