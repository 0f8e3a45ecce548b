"""A PostgreSQL database of one's own, created next to TEST_DATABASE_URL's and dropped after.

Test sessions, migration tests and benchmarks each get a fresh one, so parallel runs never
share rows and the shared server keeps nothing behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def scratch_postgres_database(admin_url: str, purpose: str) -> Iterator[str]:
    """Yield the URL of a new, empty database (``lpf_<purpose>_<pid>_<random>``)."""
    name = f"lpf_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
