"""No customer-facing text in a template escapes translation (SPEC section 11).

Every template a customer sees (pages and messages; not the developer's mailbox) is parsed
with Jinja, and its literal text nodes (outside ``{{ _(…) }}`` and ``{% trans %}``) must hold
no words: markup, punctuation and the brand name only. Literal words in the attributes people
read (``aria-label``, ``placeholder``, ``title``, ``alt``) are refused too. With
test_i18n.py's check that messages.pot is current, a string that is not wrapped, or wrapped
but not extracted, fails a test.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# A developer's tool, never shown to customers.
NOT_FOR_CUSTOMERS = ("dev/",)
BRAND = "Harbour Studio"
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&[a-zA-Z#0-9]+;")
_WORD = re.compile(r"[^\W\d_]{2,}")
_READ_ATTRIBUTES = re.compile(r"""\b(aria-label|placeholder|title|alt)=(["'])(.*?)\2""", re.S)


def customer_templates() -> list[Path]:
    return sorted(
        path
        for path in TEMPLATES.rglob("*")
        if path.suffix in (".html", ".txt")
        and not str(path.relative_to(TEMPLATES)).startswith(NOT_FOR_CUSTOMERS)
    )


def _literal_text(source: str) -> str:
    """The template's literal text in order, outside ``{% trans %}`` blocks; every Jinja
    construct (an expression, a tag) stands as one NUL, so markup split by an expression
    (``<a href="{{ url }}" class="x">``) is still one tag to the regex."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # lexing only
    parts: list[str] = []
    in_trans = False
    expecting_tag_name = False
    for _, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == "block_begin":
            expecting_tag_name = True
            continue
        if kind == "name" and expecting_tag_name:
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        expecting_tag_name = False
        if kind == "data":
            if not in_trans:
                parts.append(value)
        elif kind in ("variable_begin", "block_end"):
            parts.append("\x00")
    return "".join(parts)


def literal_words(source: str) -> list[str]:
    """The literal text of ``source`` that holds words (outside gettext and trans blocks)."""
    # base.html's page_class block holds CSS class names, not text.
    source = re.sub(r"{%-?\s*block page_class\s*-?%}.*?{%-?\s*endblock", "", source, flags=re.S)
    text = _literal_text(source)
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S | re.I)
    found = [
        f"{match.group(1)}={match.group(3)!r}"
        for match in _READ_ATTRIBUTES.finditer(text)
        if _WORD.search(match.group(3).replace("\x00", " "))
    ]
    for chunk in _TAG.split(text):
        chunk = _ENTITY.sub(" ", chunk).replace(BRAND, " ").replace("\x00", " ")
        if _WORD.search(chunk):
            found.append(" ".join(chunk.split())[:80])
    return found


@pytest.mark.parametrize("path", customer_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_a_template_has_no_text_outside_translation(path: Path) -> None:
    assert literal_words(path.read_text()) == []


def test_the_check_finds_literal_text() -> None:
    assert literal_words("<p>Hello there</p>") == ["Hello there"]
    assert literal_words('<input placeholder="Your name">') == ["placeholder='Your name'"]
    assert literal_words("<p>{{ _('Hello there') }}</p>") == []
    assert literal_words("<p>{% trans %}Hello there{% endtrans %}</p>") == []
    assert literal_words(f"<p>{BRAND} · {{{{ _('Appointments') }}}}</p>") == []
