"""Translation plumbing, in one place (SPEC section 11).

Every customer-facing string of the messages is wrapped so that gettext tools (pybabel,
Flask-Babel) can extract it: ``_("…")`` / ``ngettext(...)`` in Python, ``{% trans %}`` and
``{{ _("…") }}`` in templates. Until catalogs exist, these are the identity (English);
Flask-Babel's ``gettext`` can replace them here without touching a caller or a template.
"""

from __future__ import annotations

import gettext as _gettext

from flask import Flask

_NULL = _gettext.NullTranslations()


def _(message: str, **variables: object) -> str:
    """``message`` translated (the identity for now), with ``%(name)s`` filled from
    ``variables`` (newstyle gettext, as Jinja's and Flask-Babel's)."""
    text = _NULL.gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = _NULL.ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def init_app(app: Flask) -> None:
    """``{% trans %}`` in templates, with the same (null) translations as ``_``."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
