"""Extensions, created unbound and bound to the app in ``create_app``."""

from typing import Any

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Named constraints make migrations portable and let us tell *which* unique index a
# database refused (see customers/service.py).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Every column has a Python-side default and ids come back from the INSERT, so an object is
# complete after commit; not expiring it saves a SELECT per write on the hot path.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()


# Rate limits: in memory by default, shared through Redis when REDIS_URL is set (the
# factory sets RATELIMIT_STORAGE_URI), so several workers and hosts share one budget.
limiter = Limiter(key_func=get_remote_address)

# SQLite shared by several workers: WAL lets readers go on while one writes, NORMAL is
# durable across application crashes in WAL mode (only an OS crash can lose the last
# commits), a writer waits for the lock instead of failing at once, and the foreign keys
# the schema declares are enforced (SQLite ignores them unless told).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def tune_sqlite(engine: Engine) -> None:
    """Set ``SQLITE_PRAGMAS`` on every new connection of a SQLite engine."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
