"""Accent folding: one definition of "the same letters, ignoring case and accents".

Used to compare area names (``rules.normalise_state``), to sort the country list, and as the
first step of the customers' search text (``models.customer.fold_for_search``, which adds its
own frozen transliteration on top: stored text depends on it, see migration 0004).
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case-folded, compatibility-decomposed (NFKD) text without its combining marks.

    ``"Québec"`` -> ``"quebec"``, ``"Straße"`` -> ``"strasse"``, ``"ﬁ"`` -> ``"fi"``. Letters
    that are not a base letter plus a mark (ø, ł, đ …) stay as they are. Spacing is kept.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():
        return decomposed  # no combining marks to drop (the common case, checked in C)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
