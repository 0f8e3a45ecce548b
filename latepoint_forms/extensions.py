"""Extensions, created unbound and bound to the app in ``create_app``."""

from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
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


def _client_address() -> str:
    from flask_limiter.util import get_remote_address

    return get_remote_address()


# Rate limits: in memory by default, shared through Redis when REDIS_URL is set (the
# factory sets RATELIMIT_STORAGE_URI), so several workers and hosts share one budget.
limiter = Limiter(key_func=_client_address, headers_enabled=True)
