"""The floor for the black-box benchmark: the least a create-customer endpoint can do.

Flask, a JSON body in, one SQLAlchemy Core ``INSERT`` into a table shaped roughly like
``customers`` (with a unique index on the email), the stored row out as JSON with a 201. No
rules, no auth, no rate limit, no ORM. It uses the same database as the project app
(``DATABASE_URL``), connected the same way: on SQLite it sets the project's own per-connection
PRAGMAs (``latepoint_forms.extensions.SQLITE_PRAGMAS``: WAL, ``synchronous``, busy timeout),
when the project has them, and nothing of its own, so both run the file in the same mode.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 gunicorn -w 2 'bench.floor_app:from_environment()'

``POST /echo`` parses the same body and answers 201 without touching the database: the
driver uses it to show that wrk, gunicorn and Flask are not what caps the floor.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from latepoint_forms.extensions import SQLITE_PRAGMAS, tune_sqlite

metadata = sa.MetaData()

floor_customers = sa.Table(
    "bench_floor_customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("customer_code", sa.String(16), nullable=False, unique=True),
    sa.Column("first_name", sa.String(50), nullable=False),
    sa.Column("last_name", sa.String(50), nullable=False),
    sa.Column("email", sa.String(255), unique=True),
    sa.Column("phone", sa.String(20)),
    sa.Column("zipcode", sa.String(20)),
    sa.Column("country", sa.String(2)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("is_guest", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

COLUMNS = ("first_name", "last_name", "email", "phone", "zipcode", "country")


def engine_url(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg 3, as the project's own config does."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def project_sqlite_pragmas() -> tuple[str, ...]:
    """The PRAGMAs the project runs on every new SQLite connection (printed by the driver)."""
    return tuple(SQLITE_PRAGMAS)


def floor_engine(url: str) -> sa.Engine:
    """An engine on the project's database, with the project's SQLite settings (WAL …)."""
    engine = sa.create_engine(engine_url(url))
    tune_sqlite(engine)
    return engine


def create_table(url: str) -> None:
    """Create the floor's table (the driver calls this once, before any worker starts)."""
    engine = floor_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def create_floor_app(url: str) -> Flask:
    app = Flask(__name__)
    engine = floor_engine(url)

    @app.post("/customers")
    def create() -> ResponseReturnValue:
        body = request.get_json()
        now = datetime.now(UTC)
        row = {name: body.get(name) for name in COLUMNS}
        row.update(
            uuid=str(uuid.uuid4()),
            customer_code="CUS-" + secrets.token_hex(5).upper(),
            status="active",
            is_guest=False,
            source="api",
            created_at=now,
            updated_at=now,
        )
        try:
            with engine.begin() as conn:
                row["id"] = conn.execute(
                    floor_customers.insert().values(row).returning(floor_customers.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError:
            return jsonify({"status": "error", "error": {"code": "email_exists"}}), 409
        row["created_at"] = row["updated_at"] = now.isoformat()
        return jsonify({"status": "success", "data": row}), 201

    @app.post("/echo")
    def echo() -> ResponseReturnValue:
        body = request.get_json()
        return jsonify({"status": "success", "data": {"email": body.get("email")}}), 201

    return app


def from_environment() -> Flask:
    """The app for gunicorn: ``gunicorn 'bench.floor_app:from_environment()'``."""
    return create_floor_app(os.environ["DATABASE_URL"])
