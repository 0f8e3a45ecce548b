"""Record ids as they arrive from outside (paths, query strings, JSON), checked in one place.

Every table's key is a signed 64-bit integer on PostgreSQL; a larger number would make the
driver raise instead of finding nothing.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
ID_TEXT = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit() also takes "²"


def is_valid_id(value: object) -> bool:
    """A positive integer a key column can hold (``True`` is not an id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """The id written in ``text`` ("42"), or None for anything else."""
    if text is None or not ID_TEXT.fullmatch(text):
        return None
    value = int(text)
    return value if is_valid_id(value) else None
