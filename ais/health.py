"""Readiness (``GET /readyz``) and what the app does when the database cannot serve.

``/healthz`` (ais.web) is liveness: the process answers and reaches the database.  ``/readyz``
says whether this server should get traffic:

* the database answers **and accepts writes** (PostgreSQL: ``SHOW transaction_read_only``, which
  is ``on`` on a standby or under ``default_transaction_read_only``; SQLite: ``PRAGMA
  query_only``): otherwise 503;
* Redis (``RATELIMIT_STORAGE_URI=redis://…``): reported, but not a reason for 503: sign-in then
  counts failures in each process's memory (ais.auth.throttle), and taking every server out of
  the load balancer because Redis is down would turn a degraded service into an outage;
* the outbox: the number of unsent messages that are due; above ``AIS_OUTBOX_READY_BACKLOG`` it
  is reported as ``"backlog"`` (the outbox worker is down or SMTP is failing), again not a 503.

A database that cannot be reached, or refuses a write because it is read-only, makes any page
answer 503 with ``Retry-After`` and the app's own error page, which needs nothing from the
database.  A connection that found the database read-only is dropped from the pool, so the
workers use fresh ones once the database accepts writes again.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, InternalError, OperationalError

from .extensions import db

log = logging.getLogger("ais.health")
RETRY_AFTER_SECONDS = 30


def database_state() -> str:
    """ "up", "read-only" or "down"."""
    try:
        if db.engine.dialect.name == "postgresql":
            read_only = db.session.scalar(text("SHOW transaction_read_only")) == "on"
            if read_only:
                # Not back in the pool: the next probe (or request) opens a fresh connection,
                # which sees the database writable as soon as it is.
                db.session.connection().invalidate()
        else:
            read_only = bool(db.session.scalar(text("PRAGMA query_only")))
    except Exception:  # any failure to reach the database
        db.session.rollback()
        return "down"
    finally:
        db.session.rollback()
    return "read-only" if read_only else "up"


def redis_state() -> str | None:
    """ "up" or "down" when the throttle is stored in Redis; None when it is not."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if not uri.startswith(("redis://", "rediss://", "redis+")):
        return None
    from .extensions import limiter

    try:
        return "up" if limiter.storage.check() else "down"
    except Exception:  # noqa: BLE001 - an unreachable storage may raise instead of answering False
        return "down"


def outbox_backlog() -> int | None:
    from .clock import utcnow
    from .models import OutboxMessage

    try:
        return db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= utcnow())
        )
    except Exception:
        return None
    finally:
        db.session.rollback()


def is_read_only_error(error: BaseException) -> bool:
    original = getattr(error, "orig", None)
    return type(original).__name__ == "ReadOnlySqlTransaction" or "readonly database" in str(original)


def render_server_error(code: int, title: str, message: str) -> str:
    """The error page without the context processors: Flask-Login's would load the signed-in user
    from the database, which may be the very thing that failed."""
    from . import clock

    return current_app.jinja_env.get_template("error.html").render(
        code=code,
        title=title,
        message=message,
        today=clock.today(),
        business_name=current_app.config["AIS_BUSINESS_NAME"],
    )


def database_unavailable_page():
    response = current_app.make_response(
        (
            render_server_error(
                503, "The service is busy for a moment", "Nothing was changed. Please try again in a minute."
            ),
            503,
        )
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    @app.get("/readyz")
    def readyz():
        """200 when this server can serve (database up and writable), else 503; no sign-in."""
        database = database_state()
        body = {"database": database}
        redis = redis_state()
        if redis is not None:
            body["redis"] = redis
        backlog = outbox_backlog() if database != "down" else None
        if backlog is not None:
            body["outbox_due"] = backlog
            body["outbox"] = "backlog" if backlog > app.config.get("AIS_OUTBOX_READY_BACKLOG", 1000) else "ok"
        ready = database == "up"
        degraded = redis == "down" or body.get("outbox") == "backlog"
        body["status"] = "unavailable" if not ready else ("degraded" if degraded else "ok")
        response = app.make_response((body, 200 if ready else 503))
        if not ready:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(OperationalError)
    def database_down(error):
        """The database is unreachable, restarting, or (SQLite) read-only."""
        log.error("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
        db.session.rollback()
        return database_unavailable_page()

    @app.errorhandler(InternalError)
    def database_read_only(error):
        if not is_read_only_error(error):
            raise error
        log.error("database is read-only: a write was refused")
        db.session.rollback()
        return database_unavailable_page()

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "handle_error")
    def drop_read_only_connections(context):
        # A connection that found the database read-only (a standby, or default_transaction_read_only)
        # keeps that state for its life: treat it as broken so the pool replaces it.
        if context.original_exception is not None and is_read_only_error(
            DBAPIError(None, None, context.original_exception)
        ):
            context.is_disconnect = True
