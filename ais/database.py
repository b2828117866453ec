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


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)


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
