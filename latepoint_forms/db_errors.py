"""What a database's refusal says, the same way on PostgreSQL and SQLite."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

# PostgreSQL's SQLSTATE for a write in a read-only transaction: a standby, a failed-over
# primary, or default_transaction_read_only set on the database or the role.
_READ_ONLY_SQLSTATE = "25006"
_SQLITE_READONLY = 8  # SQLITE_READONLY; extended codes keep it in their low byte


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


def is_read_only(exc: DBAPIError) -> bool:
    """Whether the database refused a write because it is read-only (PostgreSQL or SQLite)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _READ_ONLY_SQLSTATE:
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == _SQLITE_READONLY
