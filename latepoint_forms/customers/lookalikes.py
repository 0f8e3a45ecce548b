"""Text that looks like other text: the character checks behind SPEC section 7 ("Identities
that look like another"), used by the name and email rules in ``rules``.

The Unicode data comes from maintained packages, not from lists kept here: Script_Extensions
from fontTools' copy of the Unicode Character Database (``fontTools.unicodedata``), and the
Default_Ignorable_Code_Point property from the ``regex`` module's. The restriction level is
the one UTS #39 (Unicode Security Mechanisms) section 5.2 defines; its "augmented script
sets" (section 5.1) are what let Japanese mix Han, Hiragana and Katakana in one word.
Pure functions: no Flask, no database.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

import regex
from fontTools import unicodedata as ucd

# UTS #39 section 5.1: a Han, Hiragana, Katakana, Hangul or Bopomofo character also counts as
# the writing systems that combine them (Jpan = Han + Hiragana + Katakana, Kore = Han + Hangul,
# Hanb = Han + Bopomofo).
_AUGMENTED = {
    "Hani": ("Hanb", "Jpan", "Kore"),
    "Hira": ("Jpan",),
    "Kana": ("Jpan",),
    "Hang": ("Kore",),
    "Bopo": ("Hanb",),
}
_EVERY_SCRIPT = ("Zyyy", "Zinh")  # Common and Inherited: digits, punctuation, combining marks
# "Highly restrictive" (UTS #39 section 5.2) also allows Latin beside one of these.
_LATIN = "Latn"
_LATIN_COMPANIONS = frozenset({"Jpan", "Hanb", "Kore"})

_DEFAULT_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
_INVISIBLE_LETTER = regex.compile(r"[\p{L}&&\p{Default_Ignorable_Code_Point}]", regex.V1)
_MARKS = regex.compile(r"\p{M}+")

# The most combining marks one base character may carry (SPEC section 7: no "zalgo" stacks).
# Names in living scripts rarely carry more than two or three (Vietnamese, Tibetan stacks).
MAX_MARKS_PER_CHARACTER = 4


@functools.lru_cache(maxsize=4096)
def _scripts(char: str) -> frozenset[str] | None:
    """The character's augmented Script_Extensions; None for Common/Inherited (any script)."""
    extensions = ucd.script_extension(char)
    if extensions & set(_EVERY_SCRIPT):
        return None
    augmented = set(extensions)
    for script in extensions:
        augmented.update(_AUGMENTED.get(script, ()))
    return frozenset(augmented)


def is_highly_restrictive(text: str) -> bool:
    """Whether ``text`` is at most "highly restrictive" (UTS #39 section 5.2): ASCII, one
    script (counting Common and Inherited characters as every script), or Latin beside
    Japanese (Han, Hiragana, Katakana), Chinese with Bopomofo, or Korean (Han, Hangul)."""
    if text.isascii():
        return True
    common: frozenset[str] | None = None  # the resolved script set; None: every script
    without_latin: frozenset[str] | None = None
    for char in text:
        scripts = _scripts(char)
        if scripts is None:
            continue
        common = scripts if common is None else common & scripts
        if _LATIN not in scripts:
            without_latin = scripts if without_latin is None else without_latin & scripts
    if common is None or common:
        return True
    return without_latin is not None and bool(without_latin & _LATIN_COMPANIONS)


def script_codes(text: str) -> list[str]:
    """The ISO 15924 codes of the scripts of ``text``'s letters, in order of first use
    ("Latn", "Cyrl"): what CLDR names in other languages."""
    codes: dict[str, None] = {}
    for char in text:
        script = ucd.script(char)
        if script not in (*_EVERY_SCRIPT, "Zzzz"):
            codes.setdefault(script, None)
    return list(codes)


def script_names(text: str) -> list[str]:
    """The scripts of ``text``'s letters, in order of first use ("Latin", "Cyrillic")."""
    return [ucd.script_name(code) for code in script_codes(text)]


def invisible_characters(text: str) -> list[str]:
    """The characters of ``text`` that are Default_Ignorable_Code_Point, each once, in order:
    shown as nothing at all (Hangul fillers, zero-width joiners, variation selectors)."""
    if text.isascii():
        return []
    return list(dict.fromkeys(_DEFAULT_IGNORABLE.findall(text)))


def has_invisible_letter(text: str) -> bool:
    """Whether ``text`` has a letter (L*) that nothing draws: the default-ignorable letters,
    which are the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0)."""
    return not text.isascii() and _INVISIBLE_LETTER.search(text) is not None


def compatibility_characters(text: str) -> list[str]:
    """Characters with a compatibility decomposition (NFKC differs from NFC): full-width
    letters, ligatures such as "ﬁ", circled and superscript forms. Each once, in order."""
    if text.isascii():
        return []
    return list(
        dict.fromkeys(
            char
            for char in text
            if unicodedata.normalize("NFKC", char) != unicodedata.normalize("NFC", char)
        )
    )


def longest_mark_run(text: str) -> int:
    """The most combining marks (M*) in a row: what one base character carries."""
    if text.isascii():
        return 0
    return max(map(len, _MARKS.findall(text)), default=0)


def listed(items: Iterable[str]) -> str:
    """ "Latin and Cyrillic", "Latin, Greek and Cyrillic"."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
