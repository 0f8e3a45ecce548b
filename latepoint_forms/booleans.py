"""Yes/no words, read the same way wherever text has to become a boolean.

One word list for the environment (``config.py``), a CSV cell (``customers/importer.py``) and a
web form's checkbox (``customers/custom_fields.form_values_to_json``), so a value that means
"yes" in one place cannot mean "no", or be an error, in another. JSON bodies are not read
through it: there a boolean is a JSON ``true`` or ``false`` (SPEC section 2).
"""

from __future__ import annotations

# "y" is what a WTForms checkbox submits, "on" what a bare HTML checkbox does.
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})


def parse_bool(text: str) -> bool | None:
    """True or False for a word of ``TRUE_WORDS`` or ``FALSE_WORDS`` (any case, surrounding
    spaces ignored); None for anything else, blank included: the caller decides what that is."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
