"""Settings: defaults in code, secrets and URLs from the environment (12-factor)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .booleans import FALSE_WORDS, TRUE_WORDS, parse_bool

DEVELOPMENT_ENVIRONMENTS = frozenset({"development", "testing"})
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:5000"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from exc
    if not value >= 0:  # also refuses nan
        raise RuntimeError(f"{name} must not be negative, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = parse_bool(raw)
    if value is None:
        # Refused like a bad integer: a typo must not quietly switch a check on or off.
        words = "/".join(sorted(TRUE_WORDS)) + " or " + "/".join(sorted(FALSE_WORDS))
        raise RuntimeError(f"{name} must be {words}, got {raw!r}")
    return value


def _list(env: Mapping[str, str], name: str) -> list[str] | None:
    """A comma-separated list, or None when unset."""
    items = [item.strip() for item in env.get(name, "").split(",") if item.strip()]
    return items or None


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def database_url(url: str | None) -> str | None:
    """Point plain ``postgres://`` URLs at the psycopg 3 driver this project installs."""
    if url is None:
        return None
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def public_url(env: Mapping[str, str], environment: str) -> str | None:
    """``PUBLIC_URL`` without a trailing slash (an absolute http(s) URL with a host); the
    development default when unset in development, else None (``load_config`` refuses it)."""
    raw = _optional(env, "PUBLIC_URL")
    if raw is None:
        return DEVELOPMENT_PUBLIC_URL if environment in DEVELOPMENT_ENVIRONMENTS else None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise RuntimeError(f"PUBLIC_URL must be an absolute http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment (``os.environ`` by default)."""
    env = os.environ if env is None else env
    environment = env.get("LATEPOINT_ENV", env.get("FLASK_ENV", "development")).strip()
    config: dict[str, Any] = {
        "ENV_NAME": environment,
        "SECRET_KEY": _optional(env, "SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": database_url(_optional(env, "DATABASE_URL")),
        "REDIS_URL": _optional(env, "REDIS_URL"),
        "MIN_CUSTOMER_AGE": _int(env, "MIN_CUSTOMER_AGE", 13),
        "DEFAULT_PHONE_REGION": (_optional(env, "DEFAULT_PHONE_REGION") or "").upper() or None,
        "DEFAULT_COUNTRY": (_optional(env, "DEFAULT_COUNTRY") or "").upper() or None,
        # The language of a page when the visitor's choice, browser and location say nothing
        # (SPEC section 11; latepoint_forms/i18n.py).
        "DEFAULT_LANGUAGE": (_optional(env, "DEFAULT_LANGUAGE") or "en").lower(),
        "NAME_MIN_LENGTH": _int(env, "NAME_MIN_LENGTH", 2),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 1024 * 1024),
        "EMAIL_CHECK_DELIVERABILITY": _bool(env, "EMAIL_CHECK_DELIVERABILITY", False),
        # Faster password hashing is only ever switched on by the test suite.
        "FAST_PASSWORD_HASHING": False,
        # No ping before each checkout (a round trip per request): a connection found dead
        # invalidates the whole pool at once (SQLAlchemy's disconnect handling), so after a
        # database restart one request per worker answers 503 and the next ones reconnect.
        # DATABASE_PRE_PING=1 buys that request back for the round trip.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": _bool(env, "DATABASE_PRE_PING", False)},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environment == "production",
        "WTF_CSRF_TIME_LIMIT": None,
        # Links built outside a request (and HSTS) assume TLS in production.
        "PREFERRED_URL_SCHEME": "https" if environment == "production" else "http",
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto: their
        # client address is what per-client rate limits count (0: no proxy, trust nothing).
        "TRUSTED_PROXY_HOPS": _int(env, "TRUSTED_PROXY_HOPS", 0),
        # Rate limits (SPEC section 3), "N/period" joined by ";". Per API key by mode; requests
        # without a well-formed key are counted per client address.
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # When the shared store (Redis) is down, serve without limits and log the error,
        # rather than refuse every request: an outage of the limiter is not an API outage.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATE_LIMIT_LIVE": _optional(env, "RATE_LIMIT_LIVE") or "60/minute;3600/hour",
        "RATE_LIMIT_TEST": _optional(env, "RATE_LIMIT_TEST") or "100/minute;1000/hour",
        "RATE_LIMIT_ANONYMOUS": _optional(env, "RATE_LIMIT_ANONYMOUS") or "30/minute",
        # CORS preflights, per client address: a widget preflights each URL it fetches.
        "RATE_LIMIT_PREFLIGHT": _optional(env, "RATE_LIMIT_PREFLIGHT") or "600/minute",
        # A publishable key's requests also spend a budget of their client address (SPEC
        # section 10): one visitor of the site cannot use up the whole key.
        "RATE_LIMIT_PUBLISHABLE": _optional(env, "RATE_LIMIT_PUBLISHABLE") or "20/minute;300/hour",
        # How long an Idempotency-Key and its stored response are kept (SPEC: 24 hours).
        "IDEMPOTENCY_TTL_SECONDS": _int(env, "IDEMPOTENCY_TTL_SECONDS", 24 * 60 * 60),
        # How long a claimed key stays "in flight" without an answer before a retry may take
        # it over (its request died): longer than any request may run (gunicorn's timeout).
        "IDEMPOTENCY_LEASE_SECONDS": _int(env, "IDEMPOTENCY_LEASE_SECONDS", 60),
        # Self-service bookings (SPEC section 9): the manage link and /account stop moving or
        # cancelling a booking this many hours before its start.
        "CANCEL_CUTOFF_HOURS": _int(env, "CANCEL_CUTOFF_HOURS", 2),
        # Fair use of the calendar (SPEC section 9): confirmed bookings one customer may hold
        # on one day (the location's local calendar day of the start), through any door.
        "MAX_BOOKINGS_PER_DAY": _int(env, "MAX_BOOKINGS_PER_DAY", 3),
        # Faults answer, never hang (SPEC section 7). The limiter's Redis store: how long to
        # wait to connect and for each reply (seconds), and, once it failed, for how long
        # requests skip the limits before the store is tried again (api/limit_store.py).
        "REDIS_SOCKET_TIMEOUT": _float(env, "REDIS_SOCKET_TIMEOUT", 0.5),
        "RATELIMIT_STORE_RETRY_SECONDS": _float(env, "RATELIMIT_STORE_RETRY_SECONDS", 5.0),
        # Pooled PostgreSQL connections (seconds; see postgres_connect_args): fail fast (503)
        # rather than hang a worker until gunicorn kills it (GUNICORN_TIMEOUT, 30 s).
        "DATABASE_CONNECT_TIMEOUT": _int(env, "DATABASE_CONNECT_TIMEOUT", 5),
        "DATABASE_TCP_USER_TIMEOUT": _float(env, "DATABASE_TCP_USER_TIMEOUT", 10.0),
        "DATABASE_KEEPALIVES_IDLE": _int(env, "DATABASE_KEEPALIVES_IDLE", 10),
        "DATABASE_KEEPALIVES_INTERVAL": _int(env, "DATABASE_KEEPALIVES_INTERVAL", 5),
        "DATABASE_KEEPALIVES_COUNT": _int(env, "DATABASE_KEEPALIVES_COUNT", 3),
        "DATABASE_STATEMENT_TIMEOUT": _float(env, "DATABASE_STATEMENT_TIMEOUT", 15.0),
        # --- Serving at the edge: hosts, bodies, operations ---
        # Host headers answered; others are a 400 (Flask's TRUSTED_HOSTS). Production
        # defaults to the host of PUBLIC_URL; development and tests answer any host.
        "TRUSTED_HOSTS": _list(env, "TRUSTED_HOSTS"),
        # Seconds a request body may take to arrive whole (request_body.py): 408 after.
        "REQUEST_BODY_TIMEOUT": _int(env, "REQUEST_BODY_TIMEOUT", 10),
        # Prometheus metrics at /metrics (operations.py); off unless asked for.
        "METRICS_ENABLED": _bool(env, "METRICS_ENABLED", False),
        # --- outbox: links in messages (SPEC sections 8 and 9) ---
        # The absolute base of every link in a message: never taken from the request's Host
        # (which a client chooses). Required in production; see public_url().
        "PUBLIC_URL": public_url(env, environment),
        # SMTP (Flask-Mailman). Without MAIL_SERVER, development keeps every message in the
        # development mailbox (/dev/mailbox); in production the worker refuses to run without
        # it (messages wait in the outbox until it is set).
        "MAIL_SERVER": _optional(env, "MAIL_SERVER"),
        "MAIL_PORT": _int(env, "MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool(env, "MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool(env, "MAIL_USE_SSL", False),
        "MAIL_USERNAME": _optional(env, "MAIL_USERNAME"),
        "MAIL_PASSWORD": _optional(env, "MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": _optional(env, "MAIL_DEFAULT_SENDER") or "bookings@localhost",
        "MAIL_TIMEOUT": _int(env, "MAIL_TIMEOUT", 30),
        # Where the development mailbox keeps messages (default: instance/dev_mailbox).
        "DEV_MAILBOX_PATH": _optional(env, "DEV_MAILBOX_PATH"),
        # Hours before a booking that its reminder is due; 0 sends no reminders.
        "REMINDER_HOURS": _int(env, "REMINDER_HOURS", 24),
        # Attempts at one message before it is marked failed (listed, retryable).
        "OUTBOX_MAX_ATTEMPTS": _int(env, "OUTBOX_MAX_ATTEMPTS", 8),
        # Webhooks (SPEC section 10): private, loopback and link-local receivers only when
        # allowed (development and tests); seconds each connect and read may take; attempts.
        "WEBHOOKS_ALLOW_PRIVATE": _bool(env, "WEBHOOKS_ALLOW_PRIVATE", False),
        "WEBHOOK_TIMEOUT": _float(env, "WEBHOOK_TIMEOUT", 5.0),
        "WEBHOOK_MAX_ATTEMPTS": _int(env, "WEBHOOK_MAX_ATTEMPTS", 8),
        # --- signed-in web sessions, ended on the server (SPEC section 9; accounts/sessions.py) ---
        # A session ends this long after its sign-in (Flask's cookie max-age too), or after
        # this long without a request (idle; its last use is noted at most once a minute).
        "PERMANENT_SESSION_LIFETIME": _int(env, "SESSION_LIFETIME_SECONDS", 31 * 24 * 60 * 60),
        "SESSION_IDLE_SECONDS": _int(env, "SESSION_IDLE_SECONDS", 7 * 24 * 60 * 60),
        # --- abuse on the public web forms (SPEC section 9, web/abuse.py, web/limits.py) ---
        # Seconds a person takes at least to fill a form; sooner is a bot (0: no fill time).
        "FORM_MIN_SECONDS": _float(env, "FORM_MIN_SECONDS", 2.0),
        # Submissions of each web form per client address and per email address.
        "RATE_LIMIT_WEB": _optional(env, "RATE_LIMIT_WEB") or "10/minute;50/day",
        # Refuse throw-away email domains (the disposable-email-domains list) on every door.
        "BLOCK_DISPOSABLE_EMAILS": _bool(env, "BLOCK_DISPOSABLE_EMAILS", False),
    }
    for key in ("PERMANENT_SESSION_LIFETIME", "SESSION_IDLE_SECONDS"):
        if config[key] < 60:
            name = "SESSION_LIFETIME_SECONDS" if key == "PERMANENT_SESSION_LIFETIME" else key
            raise RuntimeError(f"{name} must be 60 or more")
    if config["FORM_MIN_SECONDS"] < 0:
        raise RuntimeError("FORM_MIN_SECONDS must be 0 or more")
    if config["CANCEL_CUTOFF_HOURS"] < 0:
        raise RuntimeError("CANCEL_CUTOFF_HOURS must be 0 or more")
    if config["MAX_BOOKINGS_PER_DAY"] < 1:
        raise RuntimeError("MAX_BOOKINGS_PER_DAY must be 1 or more")
    if config["SECRET_KEY"] is None and environment not in DEVELOPMENT_ENVIRONMENTS:
        raise RuntimeError("SECRET_KEY must be set outside development")
    if config["PUBLIC_URL"] is None:
        raise RuntimeError("PUBLIC_URL must be set outside development (https://your.host)")
    if config["TRUSTED_HOSTS"] is None and environment not in DEVELOPMENT_ENVIRONMENTS:
        config["TRUSTED_HOSTS"] = [urlsplit(config["PUBLIC_URL"]).hostname]
    return config


def postgres_connect_args(
    config: Mapping[str, Any], url_options: str | None = None
) -> dict[str, Any]:
    """libpq parameters for every pooled PostgreSQL connection, so a fault answers in seconds:

    - ``connect_timeout``: an unreachable host refuses the connection attempt;
    - ``tcp_user_timeout``: a silent network (a partition, a host gone without a word) drops
      a connection whose sent bytes stay unacknowledged that long, instead of after the
      kernel's ~15 minutes of retransmissions;
    - keepalives: an idle connection across such a network is found dead before it is used;
    - ``statement_timeout`` (server side): a statement stuck behind a lock or running away is
      cancelled. 0 sends no setting at all (a long migration may need that, and a
      connection pooler that refuses startup options, such as PgBouncer, needs it: then set
      ``statement_timeout`` on the database role instead).

    ``url_options`` are the ``options`` the database URL itself carries (``?options=-c …``):
    kept, ahead of ours, since ``connect_args`` would otherwise replace them.
    """
    args: dict[str, Any] = {
        "connect_timeout": int(config["DATABASE_CONNECT_TIMEOUT"]),
        "keepalives": 1,
        "keepalives_idle": int(config["DATABASE_KEEPALIVES_IDLE"]),
        "keepalives_interval": int(config["DATABASE_KEEPALIVES_INTERVAL"]),
        "keepalives_count": int(config["DATABASE_KEEPALIVES_COUNT"]),
        "tcp_user_timeout": round(float(config["DATABASE_TCP_USER_TIMEOUT"]) * 1000),
    }
    statement_ms = round(float(config["DATABASE_STATEMENT_TIMEOUT"]) * 1000)
    options = [url_options] if url_options else []
    if statement_ms > 0:
        options.append(f"-c statement_timeout={statement_ms}")
    if options:
        args["options"] = " ".join(options)
    return args


def instance_secret_key(folder: str) -> str:
    """A random key kept in the instance folder, made on first use.

    Development gets a working key with nothing to configure, and never one that anybody
    else knows: there is no hard-coded fallback to forge sessions with. The file is written
    whole under another name and then linked into place, so concurrent first starts agree on
    one key and nobody reads a half-written file.
    """
    path = os.path.join(folder, "secret_key")
    os.makedirs(folder, exist_ok=True)
    if not os.path.exists(path):
        staging = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(staging, path)
        except FileExistsError:
            pass  # another process got there first: use theirs
        except OSError:
            # A file system without hard links: an exclusive create is the next best thing.
            with contextlib.suppress(FileExistsError):
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w") as file:
                    file.write(secrets.token_hex(32))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging)
    with open(path, encoding="ascii") as file:
        key = file.read().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key: delete it to have a new one made")
    return key
