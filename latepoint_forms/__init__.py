"""latepoint_forms: customer registration for a booking business."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from .config import (
    DEVELOPMENT_ENVIRONMENTS,
    instance_secret_key,
    load_config,
    postgres_connect_args,
)
from .customers.input import RuleSettings
from .errors import API_PREFIXES, register_error_handlers
from .extensions import csrf, db, limiter, migrate, tune_sqlite
from .settings import RULES_EXTENSION_KEY


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory: config -> extensions -> blueprints -> errors -> cli."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
        instance_relative_config=True,
    )
    environment = dict(os.environ)
    if config and "ENV_NAME" in config:
        environment["LATEPOINT_ENV"] = config["ENV_NAME"]
    if config and config.get("PUBLIC_URL"):
        environment["PUBLIC_URL"] = config["PUBLIC_URL"]  # TRUSTED_HOSTS defaults to its host
    app.config.update(load_config(environment))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):  # development only: load_config refuses elsewhere
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "latepoint_forms.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Timeouts on every pooled connection (config.py); what the config already gives wins.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        url_options = url.query.get("options")
        options["connect_args"] = {
            **postgres_connect_args(
                app.config, url_options if isinstance(url_options, str) else None
            ),
            **options.get("connect_args", {}),
        }
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    # Keep the envelope's order (status, message, data) and send non-ASCII names as UTF-8.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=os.path.join(root, "migrations"))
    csrf.init_app(app)
    from .api import limit_store

    # Redis when configured; else each process's memory (limit_store.SweptMemoryStorage).
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or limit_store.MEMORY_URI
    )

    limit_store.init_app(app)  # the Redis store's short timeouts, before the limiter reads them
    limiter.init_app(app)

    from . import i18n
    from .outbox import mail

    i18n.init_app(app)  # {% trans %} in templates (the messages')
    mail.init_app(app)  # Flask-Mailman: SMTP, or the development mailbox without MAIL_SERVER

    from . import models  # noqa: F401  (register the tables with the metadata)
    from .api import bp as api_bp
    from .web import bp as web_bp

    csrf.exempt(api_bp)  # the API authenticates with X-API-Key, never the session cookie
    for prefix, name in zip(API_PREFIXES, ("api", "api_wp"), strict=True):
        app.register_blueprint(api_bp, url_prefix=prefix, name=name)

    app.register_blueprint(web_bp)
    from .web.widget import bp as widget_bp

    app.register_blueprint(widget_bp)  # /widget.js: the embeddable widget (SPEC section 10)
    if app.config["ENV_NAME"] in DEVELOPMENT_ENVIRONMENTS:
        from .web.dev_mailbox import bp as dev_mailbox_bp

        app.register_blueprint(dev_mailbox_bp)  # /dev/mailbox: never in production

    from .api_docs import bp as api_docs_bp

    app.register_blueprint(api_docs_bp)

    register_error_handlers(app)

    from . import cookie_session, operations, request_body, request_id, security
    from .api import ratelimits

    cookie_session.init_app(app)  # no signing set-up for requests without the cookie
    security.init_app(app)
    request_id.init_app(app)
    ratelimits.init_app(app)
    request_body.init_app(app)  # bodies read whole, in time and size, before any view
    operations.init_app(app)  # /healthz, /readyz, /metrics (METRICS_ENABLED)
    from .outbox.service import outbox_depth

    operations.register_gauge(
        app, "outbox_depth", "Messages pending in the outbox and due to go out", outbox_depth
    )

    from .cli import register_cli

    register_cli(app)

    # The rules' settings, read once: the doors hand them to the services explicitly.
    app.extensions[RULES_EXTENSION_KEY] = RuleSettings.from_config(app.config)

    from . import unit_of_work

    unit_of_work.install(app)  # last: every view above commits (or rolls back) in one place
    return app
