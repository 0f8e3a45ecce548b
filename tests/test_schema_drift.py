"""The migrations build exactly the schema the models declare, on SQLite and on PostgreSQL.

A model changed without a migration (or a migration that does not match its model) fails
here, not in production. Alembic's comparison covers tables, columns, types, nullability,
server defaults, indexes, unique and foreign-key constraints; it does not look at CHECK
constraints, so those are compared separately: same names, same values.
"""

from __future__ import annotations

import pprint
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from latepoint_forms import create_app
from latepoint_forms.api import keys
from latepoint_forms.extensions import db
from latepoint_forms.models import (
    API_KEY_MODES,
    GRANULE_MINUTES,
)

from .conftest import base_config

# The quoted strings and the integers of a CHECK's SQL: what a constant puts into it. Both
# backends keep them as written ("status IN ('a', 'b')" comes back from PostgreSQL as
# "status::text = ANY (ARRAY['a'::character varying, ...])").
_CHECK_VALUES = re.compile(r"'(?:[^']|'')*'|\b[0-9]+\b")


def schema_differences(url: str) -> list[Any]:
    """What autogenerate would write into a new migration for the database at ``url``."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def model_checks() -> dict[tuple[str, str], set[str]]:
    return {
        (table.name, str(constraint.name)): set(_CHECK_VALUES.findall(str(constraint.sqltext)))
        for table in db.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }


def database_checks(url: str) -> dict[tuple[str, str], set[str]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            (table, str(check["name"])): set(_CHECK_VALUES.findall(check["sqltext"]))
            for table in db.metadata.tables
            for check in inspector.get_check_constraints(table)
        }
    finally:
        engine.dispose()


def assert_schema_matches_models(url: str) -> None:
    differences = schema_differences(url)
    assert not differences, "the migrated schema differs from the models:\n" + pprint.pformat(
        differences
    )
    assert database_checks(url) == model_checks(), "CHECK constraints differ from the models"


def test_migrations_build_the_models_schema(database: str) -> None:
    assert_schema_matches_models(database)


def test_downgrade_to_base_and_upgrade_again(unmigrated_url: str) -> None:
    """Every downgrade undoes its upgrade: nothing is left at base, and the way back up
    builds the models' schema again."""
    app = create_app(base_config(unmigrated_url))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        db.engine.dispose()
    assert_schema_matches_models(unmigrated_url)


_INSERT_CUSTOMER = sa.text(
    "INSERT INTO customers (uuid, customer_code, first_name, last_name, email, status,"
    " custom_fields, is_guest, source, created_at, updated_at, search_text) VALUES"
    " (:uuid, :code, 'Zoë', 'Brown', :email, 'active', '{}', false, 'api',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '')"
)


def test_migration_0005_keeps_customers_and_refuses_emails_too_long_for_the_column(
    unmigrated_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """An email the new VARCHAR(100) cannot hold stops the upgrade, on both backends alike
    (SQLite would keep it silently); once fixed, the rows and the unique email survive."""
    app = create_app(base_config(unmigrated_url))
    long_email = "a" * 89 + "@example.com"  # 101 characters: more than the rule allows
    with app.app_context():
        upgrade(revision="0004_search_text_refold")
        with db.engine.begin() as conn:
            conn.execute(_INSERT_CUSTOMER, {"uuid": "u-1", "code": "C1", "email": long_email})
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits
            upgrade()
        assert "1 customer email(s) are longer than 100 characters" in capfd.readouterr().err
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE customers SET email = 'zoe@example.com'"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT email FROM customers")).scalars().all() == [
                "zoe@example.com"
            ]
        with pytest.raises(sa.exc.IntegrityError, match="email"), db.engine.begin() as conn:
            conn.execute(
                _INSERT_CUSTOMER, {"uuid": "u-2", "code": "C2", "email": "zoe@example.com"}
            )
        db.engine.dispose()


def test_api_key_modes_are_the_ones_the_schema_allows() -> None:
    # api/keys.py keeps its own MODES tuple; until it imports the models' one, this is the
    # guard that the two agree.
    assert keys.MODES == API_KEY_MODES


def test_upgrading_a_database_that_holds_bookings_keeps_them(unmigrated_url: str) -> None:
    """0005 rebuilds ``customers`` on SQLite (batch mode) while ``bookings`` refers to it: the
    migration must not trip over the foreign keys the app turns on for every connection. 0006
    adds columns to ``locations`` and ``bookings``: old rows get NULL contacts, SEQUENCE 0.

    The rows are written with SQL as the 0004 schema had them (the models describe the head)."""
    app = create_app(base_config(unmigrated_url))
    start = datetime(2030, 1, 7, 10, 0, tzinfo=UTC).replace(tzinfo=None)
    end = start + timedelta(minutes=GRANULE_MINUTES)
    with app.app_context():
        upgrade(revision="0004_search_text_refold")
        with db.engine.begin() as conn:
            conn.execute(
                _INSERT_CUSTOMER, {"uuid": "u-1", "code": "C1", "email": "zoe@example.com"}
            )
            for statement in _OLD_CATALOG:
                conn.execute(sa.text(statement))
            customer_id = conn.execute(sa.text("SELECT id FROM customers")).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO bookings (booking_code, customer_id, service_id, agent_id,"
                    " location_id, start_at, end_at, status, created_at) VALUES ('BK-TEST-0001',"
                    " :customer, 1, 1, 1, :start, :end, 'confirmed', :start)"
                ),
                {"customer": customer_id, "start": start, "end": end},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO booking_slot_claims (agent_id, slot_start, booking_id)"
                    " VALUES (1, :start, (SELECT id FROM bookings))"
                ),
                {"start": start},
            )

        upgrade()

        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT booking_code, customer_id, sequence FROM bookings")
            ).all()
            assert [tuple(row) for row in rows] == [("BK-TEST-0001", customer_id, 0)]
            assert conn.execute(sa.text("SELECT email FROM customers")).scalars().all() == [
                "zoe@example.com"
            ]
            contacts = conn.execute(sa.text("SELECT address, country, phone FROM locations"))
            assert [tuple(row) for row in contacts] == [(None, None, None)]
        db.engine.dispose()
    assert_schema_matches_models(unmigrated_url)


_OLD_CATALOG = (
    "INSERT INTO services (id, key, name, duration_minutes, slot_interval_minutes, active)"
    " VALUES (1, 'haircut', 'Haircut', 30, 15, true)",
    "INSERT INTO locations (id, key, name, timezone, opening_hours, active)"
    " VALUES (1, 'london', 'London', 'Europe/London', '{}', true)",
    "INSERT INTO agents (id, key, name, active) VALUES (1, 'alice', 'Alice', true)",
    "INSERT INTO agent_offers (agent_id, service_id, location_id) VALUES (1, 1, 1)",
)
