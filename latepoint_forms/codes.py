"""Human-readable codes people read aloud or type from a confirmation e-mail."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# No 0/O, 1/I/L or U: nothing to confuse when spoken or handwritten.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class CodeShape:
    """One kind of code: its prefix and group sizes, for making codes and matching them."""

    prefix: str
    groups: tuple[int, ...]

    def new(self) -> str:
        return readable_code(self.prefix, *self.groups)

    def regex(self) -> re.Pattern[str]:
        return code_regex(self.prefix, *self.groups)


def readable_code(prefix: str, *groups: int) -> str:
    """``readable_code("BK", 4, 4)`` -> "BK-7KQ2-M9XD": random groups after a prefix."""
    # One draw for the whole code, written in base len(CODE_ALPHABET): the same uniform
    # choice per character as a draw per character, at a tenth of the cost (imports draw a
    # code per row).
    base = len(CODE_ALPHABET)
    number = secrets.randbelow(base ** sum(groups))
    parts = []
    for size in groups:
        chars = []
        for _ in range(size):
            number, digit = divmod(number, base)
            chars.append(CODE_ALPHABET[digit])
        parts.append("".join(chars))
    return "-".join((prefix, *parts))


def code_regex(prefix: str, *groups: int) -> re.Pattern[str]:
    """What every ``readable_code(prefix, *groups)`` matches in full (for the API document)."""
    parts = (f"[{CODE_ALPHABET}]{{{size}}}" for size in groups)
    return re.compile("-".join((re.escape(prefix), *parts)))


# 50 random bits per customer code, 40 per booking code.
CUSTOMER_CODE = CodeShape("CUS", (5, 5))
BOOKING_CODE = CodeShape("BK", (4, 4))
