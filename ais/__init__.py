"""AIS: an accounting information system for businesses that sell on installments."""

from __future__ import annotations

import os

from flask import Flask

from .config import check_owner_email, check_production, fallback_keys, load_settings

__version__ = "0.9.0.dev0"  # the next release; CHANGELOG.md says what it holds


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: settings, extensions, blueprints, commands, error pages."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_settings(app.instance_path))
    app.config.from_prefixed_env()  # any Flask setting as FLASK_<NAME>
    if test_config:
        app.config.update(test_config)
    app.config["SECRET_KEY_FALLBACKS"] = fallback_keys(app.config.get("SECRET_KEY_FALLBACKS"))
    check_production(app.config)  # after every source of settings, so none can slip past it
    check_owner_email(app.config)
    if not (test_config and "SQLALCHEMY_ENGINE_OPTIONS" in test_config):
        from .config import engine_options

        # For the database finally chosen (a test or FLASK_ setting may have replaced DATABASE_URL's).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    wrap_proxy(app)

    from .logs import configure_logging

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_web(app)
    register_documents(app)
    return app


def wrap_proxy(app: Flask) -> None:
    """Behind PROXY_COUNT trusted reverse proxies, take the client's address, scheme and host
    from their X-Forwarded-* headers (and never trust those headers without a proxy)."""
    hops = int(app.config.get("PROXY_COUNT") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to add middleware
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def register_extensions(app: Flask) -> None:
    from . import database, models  # noqa: F401 - models registers the tables
    from .extensions import bootstrap, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    database.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    bootstrap.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .params import IdConverter

    # Every <int:...> in a route is an id: ASCII digits within the ids' range, or 404 (ais.params).
    app.url_map.converters["int"] = IdConverter
    from .accounting import bp as accounting_bp
    from .auth import bp as auth_bp
    from .backoffice import bp as backoffice_bp
    from .collections import bp as collections_bp
    from .collections import calendar_bp
    from .payments import bp as payments_bp
    from .payments import webhooks_bp
    from .payments.configured import check_settings
    from .portal import bp as portal_bp

    check_settings(app.config)  # an unclear payment provider stops the start (docs/PAYMENTS.md)

    app.register_blueprint(auth_bp)
    app.register_blueprint(backoffice_bp)
    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(payments_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(collections_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(accounting_bp)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


def register_documents(app: Flask) -> None:
    from .documents import attachments

    attachments.init_app(app)


def register_web(app: Flask) -> None:
    from .web import init_app

    init_app(app)
