"""Database wiring: SQLite pragmas and the write transaction used by the service layer.

On PostgreSQL the service layer locks the invoice row with SELECT ... FOR UPDATE.  SQLite has
no row locks, so there a service transaction starts with BEGIN IMMEDIATE, which takes the
database's write lock up front: two concurrent payments are serialised instead of both
reading the same balance.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from .extensions import db

IMMEDIATE = "ais_begin_immediate"
BEFORE_COMMIT = "ais_before_commit"  # callbacks run just before a write transaction commits
WROTE = "ais_wrote"  # on a connection's info: this transaction sent something other than a SELECT


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        _watch_for_writes(engine)
    # Flask runs teardown functions in the reverse order of registration: this one, registered
    # after Flask-SQLAlchemy's, runs before the session is removed.
    app.teardown_appcontext(end_read_only_transaction)


def _watch_for_writes(engine) -> None:
    @event.listens_for(engine, "begin")
    def forget(connection):
        connection.info.pop(WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def note(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() not in ("SELECT", "BEGIN"):
            connection.info[WROTE] = True


def end_read_only_transaction(error: BaseException | None) -> None:
    """End a request's transaction with COMMIT when all it did was read.

    Flask-SQLAlchemy ends every request by closing the session, which rolls its transaction back.
    For a transaction that only ran SELECTs, COMMIT and ROLLBACK leave the database the same, but
    not the driver: psycopg forgets every prepared statement of the connection on ROLLBACK (and
    has the server deallocate them), so PostgreSQL would parse and plan each page's statements
    afresh on every request.  Anything else (an error, unsaved ORM changes, an INSERT/UPDATE/DELETE
    that was not committed) still ends in the rollback, as before.
    """
    if error is not None or not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    try:
        if session.connection().info.get(WROTE):
            return
        session.commit()
    except Exception:  # the connection failed: the usual close rolls back what is left
        session.rollback()


def _configure_sqlite(engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's own
        # handling would defeat BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


@contextmanager
def write_transaction():
    """One transaction for one change to the books: commit on success, roll back on any error.

    Whatever the session had open (the request's reads) is ended first, so that the change
    starts from fresh rows and holds its lock from its first read.
    """
    session = db.session()  # the scoped session's current Session (the proxy has no in_transaction)
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        yield session
        # Work the service layer asked to do last (e.g. posting monthly totals), in this transaction.
        for callback in session.info.pop(BEFORE_COMMIT, []):
            callback()
        session.commit()
    except BaseException:
        session.info.pop(BEFORE_COMMIT, None)
        session.info.pop("ais_monthly_snapshots", None)
        session.rollback()
        raise
