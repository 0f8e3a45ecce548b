"""CSV written for people to open in a spreadsheet (SPEC section 7): no cell runs as a formula.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some,
one that starts with a tab or a carriage return before one of those) as a formula: a
``=HYPERLINK(…)`` or ``=cmd|…`` that came in with an imported row would run on the machine of
whoever opens the report. Following OWASP's advice on CSV injection, such a cell gets a
leading single quote (shown as text, the quote hidden) and every cell is quoted. Every CSV
report the project writes goes through ``ReportWriter``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def spreadsheet_safe(cell: object) -> object:
    """``cell`` as it may be written: text a spreadsheet would run gets a leading quote.
    Numbers are left as they are (a negative number is a number, not a formula)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


class ReportWriter:
    """``csv.writer`` whose every row goes through ``spreadsheet_safe``, every cell quoted."""

    def __init__(self, file: _Writable) -> None:
        self._writer = csv.writer(file, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])
