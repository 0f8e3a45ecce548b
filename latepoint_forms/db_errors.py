"""What a database's refusal says, the same way on PostgreSQL and SQLite."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError


def violated_unique_column(exc: IntegrityError, table: str) -> str | None:
    """The column whose unique index refused an insert, on PostgreSQL or SQLite, else None."""
    diag = getattr(exc.orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint:  # PostgreSQL names the constraint: uq_<table>_<column>
        prefix = f"uq_{table}_"
        return constraint[len(prefix) :] if constraint.startswith(prefix) else None
    message = str(exc.orig)
    marker = f"UNIQUE constraint failed: {table}."
    if marker in message:  # SQLite names the column
        return message.split(marker, 1)[1].split(",")[0].strip()
    return None
